package runbook

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/cutover/cutover/checks/remote"
	"github.com/cutover/cutover/internal/shellctx"
)

// scriptVar is the shell variable that carries var name into a script. Values never stand in the
// script's text: a prologue assigns each one, single-quoted, and each reference becomes an
// expansion of its variable, which the shell does not evaluate again (except in arithmetic, where
// only integers are let through).
func scriptVar(name string) string { return "cutover_" + name }

// scriptRefs places every reference of a script template.
func scriptRefs(t Tmpl) []shellctx.Ref {
	var spans [][2]int
	for _, l := range refPattern.FindAllStringIndex(t.Text, -1) {
		spans = append(spans, [2]int{l[0], l[1]})
	}
	return shellctx.Analyze(t.Text, spans)
}

func refName(t Tmpl, r shellctx.Ref) string {
	return refPattern.FindStringSubmatch(t.Text[r.Start:r.End])[1]
}

var integer = regexp.MustCompile(`^[+-]?[0-9]{1,18}$`)

// renderScript turns a script template into the script a shell runs: a prologue that assigns the
// referenced values, then the script with each reference replaced by its variable's expansion.
func renderScript(t Tmpl, vals Values) (string, error) {
	refs := scriptRefs(t)
	if len(refs) == 0 {
		return t.Text, nil
	}
	var prologue, body strings.Builder
	var assigned []string
	last := 0
	for _, r := range refs {
		name := refName(t, r)
		if r.Refused() {
			return "", fmt.Errorf("script line %d: {{ .%s }} %s", r.Line, name, r.Reason())
		}
		v := vals[name].Text
		if r.Context == shellctx.Arithmetic && !integer.MatchString(v) {
			return "", fmt.Errorf("script line %d: {{ .%s }} stands in arithmetic (%s), where bash evaluates text as code: its value must be an integer, and %q is not", r.Line, name, r.Detail, clip(v, 40))
		}
		if !slices.Contains(assigned, name) {
			assigned = append(assigned, name)
			prologue.WriteString(scriptVar(name) + "=" + remote.Quote(v) + "; ")
		}
		body.WriteString(t.Text[last:r.Start])
		if r.Quoted() {
			body.WriteString(`"${` + scriptVar(name) + `}"`)
		} else {
			body.WriteString("${" + scriptVar(name) + "}")
		}
		last = r.End
	}
	body.WriteString(t.Text[last:])
	return prologue.String() + body.String(), nil
}

// scriptRules places a script's references once and says what validate must refuse: references
// no value can be carried in, and the vars used in arithmetic (which must hold integers).
func scriptRules(t Tmpl) (problems, arithmetic []string) {
	for _, r := range scriptRefs(t) {
		name := refName(t, r)
		switch {
		case r.Refused():
			problems = append(problems, fmt.Sprintf("script line %d: {{ .%s }} %s", r.Line, name, r.Reason()))
		case r.Context == shellctx.Arithmetic && !slices.Contains(arithmetic, name):
			arithmetic = append(arithmetic, name)
		}
	}
	return problems, arithmetic
}

// argvProblems lists references in an argv that a word of it runs as code ([sh, -c, "{{ .v }}"]):
// argv words are passed as they are, so only a program that evaluates them can run a value.
func argvProblems(argv []Tmpl) []string {
	words := make([]string, len(argv))
	for i, w := range argv {
		if len(w.Refs) == 0 {
			words[i] = w.Text
		}
	}
	evaluator, ok := shellctx.Evaluates(words)
	if !ok {
		return nil
	}
	var out []string
	for i, w := range argv {
		for _, ref := range w.Refs {
			r := shellctx.Ref{Context: shellctx.Evaluated, Detail: evaluator}
			out = append(out, fmt.Sprintf("run[%d]: {{ .%s }} %s", i, ref, r.Reason()))
		}
	}
	return out
}
