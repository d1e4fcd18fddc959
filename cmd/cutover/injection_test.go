package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Vars reach the host as literal arguments, whatever they hold: over real SSH (the login shell,
// then sh -c) and locally, in scripts, unit names and DNS names. Each hostile value tries to
// create a marker file; none may exist afterwards, and printf must echo each value back intact.
func TestHostileVarsReachTheHostLiterally(t *testing.T) {
	e := newSSHEnv(t)
	marks := t.TempDir()
	values := []string{
		"$(touch " + marks + "/dollar)",
		"`touch " + marks + "/backtick`",
		"; touch " + marks + "/semicolon",
		"x\ntouch " + marks + "/newline",
		"' ; touch " + marks + "/single ; '",
		`" ; touch ` + marks + `/double ; "`,
		"| touch " + marks + "/pipe",
		"&& touch " + marks + "/and",
		"${IFS}touch${IFS}" + marks + "/ifs",
		"-n",
	}
	var book strings.Builder
	book.WriteString("version: 1\nrunbooks:\n  - name: inject\n    vars:\n      sshport: \"22\"\n")
	for i := range values {
		fmt.Fprintf(&book, "      v%d: x\n", i)
	}
	book.WriteString("    hosts:\n      app: {address: app, zone: site-a}\n    steps:\n      - name: echo\n        checks:\n")
	for i := range values {
		fmt.Fprintf(&book, "          - {kind: command, id: ssh%d, host: app, run: \"printf '[%%s]\\\\n' {{ .v%d }}\"}\n", i, i)
		fmt.Fprintf(&book, "          - {kind: command, id: local%d, run: \"printf '[%%s]\\\\n' {{ .v%d }}\"}\n", i, i)
		fmt.Fprintf(&book, "          - {kind: unit_active, host: app, unit: \"{{ .v%d }}\"}\n", i)
		fmt.Fprintf(&book, "          - {kind: dns, host: app, name: \"{{ .v%d }}\"}\n", i)
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
