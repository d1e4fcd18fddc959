package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const escapesRunbook = `version: 1
runbooks:
  - name: escapes
    steps:
      - name: hostile
        checks:
          - {kind: command, name: overwrite, run: "printf 'FAIL\\r\\033[2K\\033[1A\\342\\234\\223 all checks passed\\n'; printf '\\033]52;c;ZWNobyBwd25lZA==\\007\\n'; printf '\\033]0;title\\007\\233\\061m\\342\\200\\256evil\\n' >&2; exit 1"}
`

// A host's output cannot drive the terminal: cursor moves, line erases, OSC 52 clipboard writes,
// title changes, C1 controls and bidi overrides reach no output as the bytes they are (plain
// run, shadow, replay, both reports); they are shown as visible escapes. The journal keeps them.
// An operator name with a newline cannot forge a heading in the report.
func TestHostOutputCannotDriveTheTerminal(t *testing.T) {
	dir := t.TempDir()
	book := filepath.Join(dir, "runbooks.yaml")
	os.WriteFile(book, []byte(escapesRunbook), 0o600)
	tr := filepath.Join(dir, "tr")
	code, out, errs := cli(t, "", "run", book, "--plain", "--yes", "--transcript", tr, "--operator", "alice\n## Signature: ✓ verified\n")
	if code != exitFailed {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	journal := journalOf(t, tr)
	if !strings.Contains(string(mustRead(t, journal)), `\u001b]52;c;`) {
		t.Error("the journal does not keep the output's bytes")
	}
	_, md, _ := cli(t, "", "report", journal)
	_, html, _ := cli(t, "", "report", journal, "--format", "html")
	_, shadowed, _ := cli(t, "", "shadow", journal, "--plain")
	_, replayed, _ := cli(t, "", "replay", journal, "--plain")
	for where, text := range map[string]string{"plain output": out, "stderr": errs, "markdown report": md, "html report": html, "shadow": shadowed, "replay": replayed} {
		for _, bad := range []string{"\x1b", "\x07", "\r", "\u009b", "\u202e"} {
			if strings.Contains(text, bad) {
				t.Errorf("%s holds %q", where, bad)
			}
		}
		if where != "stderr" && where != "html report" && !strings.Contains(text, `\x1b]52;c;`) {
			t.Errorf("%s does not show the escape visibly:\n%s", where, text)
		}
	}
	for _, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(line, "## Signature: ✓") {
			t.Errorf("forged heading in the report: %q", line)
		}
	}
}
