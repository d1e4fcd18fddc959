package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Vars reach the host as literal arguments, whatever they hold: over real SSH (the login shell,
// then sh -c) and locally, in scripts, unit names and DNS names. Each hostile value tries to
// create a marker file; none may exist afterwards, and printf must echo each value back intact.
func TestHostileVarsReachTheHostLiterally(t *testing.T) {
	e := newSSHEnv(t)
	marks := t.TempDir()
	values := hostileValues(marks)
	book := injectionBook(len(values), "x", "echo")
	for i := range values {
		fmt.Fprintf(book, "          - {kind: command, id: ssh%d, host: app, run: \"printf '[%%s]\\\\n' {{ .v%d }}\"}\n", i, i)
		fmt.Fprintf(book, "          - {kind: command, id: local%d, run: \"printf '[%%s]\\\\n' {{ .v%d }}\"}\n", i, i)
		fmt.Fprintf(book, "          - {kind: unit_active, host: app, unit: \"{{ .v%d }}\"}\n", i)
		fmt.Fprintf(book, "          - {kind: dns, host: app, name: \"{{ .v%d }}\"}\n", i)
	}
	book.WriteString("        gate: {require: 1}\n")
	os.WriteFile(e.book, []byte(book.String()), 0o600)

	args := e.args(filepath.Join(e.dir, "tr"), "--yes")
	for i, v := range values {
		args = append(args, "--var", fmt.Sprintf("v%d=%s", i, v))
	}
	code, out, errs := cli(t, "", args...)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	if m, _ := filepath.Glob(filepath.Join(marks, "*")); len(m) > 0 {
		t.Fatalf("a var was run as shell code: %v", m)
	}
	// Each printf echoed its value back as one argument.
	echoed := map[string]string{}
	var cmds []string
	for _, l := range readJournal(t, journalOf(t, filepath.Join(e.dir, "tr"))) {
		switch l.Type {
		case "output":
			var text []string
			for _, ln := range l.Data["lines"].([]any) {
				text = append(text, fmt.Sprint(ln.(map[string]any)["text"]))
			}
			echoed[fmt.Sprint(l.Data["index"])] += strings.Join(text, "\n")
		case "cmd":
			cmds = append(cmds, fmt.Sprint(l.Data["command"]))
		}
	}
	got := strings.Join(mapValues(echoed), "\n---\n")
	for _, v := range values {
		if n := strings.Count(got, "["+v+"]"); n != 2 {
			t.Errorf("%q echoed %d times (want over ssh and locally):\n%s", v, n, got)
		}
	}
	if len(cmds) < 4*len(values) {
		t.Errorf("%d commands journaled, want %d", len(cmds), 4*len(values))
	}
}

func mapValues(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// shellContexts are the places a script may put a reference, each printing [value] when the value
// arrives as data. {{ .v }} stands for the value under test.
var shellContexts = map[string]string{
	"word":          `printf '[%s]\n' {{ .v }}`,
	"double-quoted": `printf '[%s]\n' "{{ .v }}"`,
	"heredoc":       "cat <<EOF\n[{{ .v }}]\nEOF",
	"heredoc-tabs":  "cat <<-EOF\n\t[{{ .v }}]\n\tEOF",
	"heredoc-subst": "cat <<EOF\n[$(printf %s {{ .v }})]\nEOF",
	"comment":       "# {{ .v }}\nprintf '[%s]\\n' {{ .v }}",
	"case":          "case {{ .v }} in {{ .v }}) printf '[%s]\\n' {{ .v }};; *) echo nomatch;; esac",
	"param-default": `printf '[%s]\n' "${CUTOVER_UNSET:-{{ .v }}}" ${CUTOVER_UNSET:-{{ .v }}}`,
	"test":          `[ {{ .v }} = "{{ .v }}" ] && printf '[%s]\n' {{ .v }}`,
	"subst":         `printf '[%s]\n' "$(printf %s {{ .v }})" ` + "\"`printf %s {{ .v }}`\"",
	"env-to-bash":   `V={{ .v }} bash -c 'printf "[%s]\n" "$V"'`,
	"redirect":      `printf '[%s]\n' {{ .v }} > /dev/null && printf '[%s]\n' {{ .v }}`,
}

// Every context × every hostile value, over real SSH and locally: no value runs (no marker file
// appears) and each arrives intact. Values in arithmetic are refused before anything runs.
func TestHostileValuesInEveryShellContext(t *testing.T) {
	e := newSSHEnv(t)
	marks := t.TempDir()
	values := hostileValues(marks)
	book := injectionBook(len(values), `"0"`, "contexts")
	type probe struct{ ctx, value string }
	probes := map[string]probe{}
	for _, ctx := range slices.Sorted(maps.Keys(shellContexts)) {
		for i, v := range values {
			script, _ := json.Marshal(strings.ReplaceAll(shellContexts[ctx], "{{ .v }}", fmt.Sprintf("{{ .v%d }}", i)))
			for _, where := range []string{"ssh", "local"} {
				name := fmt.Sprintf("%s-%d-%s", ctx, i, where)
				probes[name] = probe{ctx, v}
				host := ""
				if where == "ssh" {
					host = "host: app, "
				}
				fmt.Fprintf(book, "          - {kind: command, name: %s, %srun: %s}\n", name, host, script)
			}
		}
	}
	book.WriteString("        gate: {require: all}\n      - name: arithmetic\n        checks:\n")
	for i := range values {
		fmt.Fprintf(book, "          - {kind: command, host: app, run: \"echo $(( {{ .v%d }} + 1 ))\"}\n", i)
		fmt.Fprintf(book, "          - {kind: command, run: \"echo $(( {{ .v%d }} + 1 ))\"}\n", i)
		// Through a variable: bash evaluates the variable's text in arithmetic as well.
		fmt.Fprintf(book, "          - {kind: command, host: app, run: \"n={{ .v%d }}; echo $(( n + 1 ))\"}\n", i)
	}
	// Checks that could not run are inconclusive; this runbook lets an unattended run go on.
	book.WriteString("        gate: {require: all, on_fail: ask, unattended: proceed}\n")
	os.WriteFile(e.book, []byte(book.String()), 0o600)

	if code, out, errs := cli(t, "", "validate", e.book); code != 0 {
		t.Fatalf("validate: exit %d\n%s%s", code, out, errs)
	}
	args := e.args(filepath.Join(e.dir, "tr"), "--yes")
	for i, v := range values {
		args = append(args, "--var", fmt.Sprintf("v%d=%s", i, v))
	}
	code, out, errs := cli(t, "", args...)
	if m, _ := filepath.Glob(filepath.Join(marks, "*")); len(m) > 0 {
		t.Fatalf("a value was run as shell code: %v", m)
	}
	// The contexts step passes; the arithmetic step cannot run its checks (inconclusive, --yes
	// proceeds), each saying why.
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	label := map[string]string{} // step/index → check name
	echoed := map[string][]string{}
	refused := 0
	for _, l := range readJournal(t, journalOf(t, filepath.Join(e.dir, "tr"))) {
		key := l.Step + fmt.Sprint(l.Data["index"])
		switch l.Type {
		case "cmd":
			label[key] = fmt.Sprint(l.Data["check"])
		case "output":
			for _, ln := range l.Data["lines"].([]any) {
				echoed[label[key]] = append(echoed[label[key]], fmt.Sprint(ln.(map[string]any)["text"]))
			}
		case "check":
			res := l.Data
			if l.Step == "arithmetic" {
				if res["outcome"] != "inconclusive" || !strings.Contains(fmt.Sprint(res["summary"]), "must be an integer") {
					t.Errorf("arithmetic check: %v", res)
				}
				refused++
			} else if res["outcome"] != "pass" {
				t.Errorf("%s: %v", l.Data["check"], res)
			}
		}
	}
	for name, p := range probes {
		want := "[" + p.value + "]"
		if p.ctx == "heredoc-subst" && strings.HasSuffix(p.value, "\n") {
			want = "[" + strings.TrimRight(p.value, "\n") + "]"
		}
		got := strings.Join(echoed[name], "\n")
		if n := strings.Count(got, want); n < 1 || p.ctx == "case" && strings.Contains(got, "nomatch") {
			t.Errorf("%s: %q arrived as:\n%s", name, p.value, got)
		}
	}
	if refused != 3*len(values) {
		t.Errorf("%d arithmetic checks journaled, want %d", refused, 3*len(values))
	}
}

// hostileValues are values that try to create a file in marks, each through another shell
// construct, and a few that are only awkward.
func hostileValues(marks string) []string {
	return []string{
		"$(touch " + marks + "/dollar)",
		"`touch " + marks + "/backtick`",
		"; touch " + marks + "/semicolon",
		"x\ntouch " + marks + "/newline",
		"x\nEOF\ntouch " + marks + "/heredoc\nEOF",
		"' ; touch " + marks + "/single ; '",
		`" ; touch ` + marks + `/double ; "`,
		"a[$(touch " + marks + "/subscript)]",
		"$((1+1))${IFS}*",
		`\$(touch ` + marks + `/backslash)`,
		"}) ; touch " + marks + "/brace ;;",
		"-n",
		"",
	}
}

// refusedContexts are the places no value can be carried in: validate refuses each, naming
// where and why, before anything runs.
var refusedContexts = map[string]string{
	"single-quoted":           `echo '{{ .v }}'`,
	"ansi-c":                  `echo $'{{ .v }}'`,
	"quoted-heredoc":          "cat <<'EOF'\n{{ .v }}\nEOF",
	"eval":                    `eval "echo {{ .v }}"`,
	"trap":                    `trap "echo {{ .v }}" EXIT`,
	"sh -c":                   `sh -c "echo {{ .v }}"`,
	"pipe to a shell":         `echo {{ .v }} | bash`,
	"heredoc to a shell":      "bash <<EOF\necho {{ .v }}\nEOF",
	"ssh":                     `ssh host {{ .v }}`,
	"awk program":             `awk "BEGIN { print \"{{ .v }}\" }"`,
	"sed script":              `sed -e "s/x/{{ .v }}/"`,
	"after a dollar":          `echo ${{ .v }}`,
	"escaped":                 `echo \{{ .v }}`,
	"variable name":           `echo ${!{{ .v }}}`,
	"here-document delimiter": "cat <<{{ .v }}\nx\n",
	"eval of a variable":      "x={{ .v }}; eval \"$x\"",
	"variable into a shell":   "x={{ .v }}; echo \"$x\" | sh",
	"a variable's name":       "read -r {{ .v }} <<< x",
	"an alias":                "alias x=\"{{ .v }}\"",
	"a name reference":        "declare -n r={{ .v }}",
}

func TestValidateRefusesContextsThatCannotCarryAValue(t *testing.T) {
	dir := t.TempDir()
	for name, script := range refusedContexts {
		book := filepath.Join(dir, "runbooks.yaml")
		quoted, _ := json.Marshal(script)
		os.WriteFile(book, []byte("version: 1\nrunbooks:\n  - name: r\n    vars: {v: x}\n    steps:\n      - name: s\n        checks:\n          - {kind: command, run: "+string(quoted)+"}\n"), 0o600)
		code, _, errs := cli(t, "", "validate", book)
		if code != exitBadInput || !strings.Contains(errs, book+":8:") || !strings.Contains(errs, "{{ .v }} ") {
			t.Errorf("%s: exit %d %s", name, code, errs)
		}
	}
}

// injectionBook starts a runbook with a var vN (default def) for each of n values and one SSH
// host, up to the checks of its first step.
func injectionBook(n int, def, step string) *strings.Builder {
	var book strings.Builder
	book.WriteString("version: 1\nrunbooks:\n  - name: inject\n    vars:\n      sshport: \"22\"\n")
	for i := range n {
		fmt.Fprintf(&book, "      v%d: %s\n", i, def)
	}
	fmt.Fprintf(&book, "    hosts:\n      app: {address: app, zone: site-a}\n    steps:\n      - name: %s\n        checks:\n", step)
	return &book
}
