package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cutover/cutover/internal/realhost"
)

const realHostRunbook = `version: 1
runbooks:
  - name: real-host
    hosts:
      app: {address: app, zone: site-a}
    steps:
      - name: pre-checks
        checks:
          - {kind: journal_baseline, host: app, id: errs}
          - {kind: unit_active, host: app, unit: ssh}
          - {kind: listeners_baseline, host: app, id: ports}
          - {kind: command, host: app, name: hangs, run: "sleep 30", timeout: 500ms}
        gate: {require: 3}
      - name: post-checks
        checks:
          - {kind: journal_regressions, host: app, baseline: errs}
          - {kind: listeners_unchanged, host: app, baseline: ports}
`

// cutover run against a real systemd host: as root the run's own timeouts leave no err-level line
// in the host's journal (journal_regressions passes and the journal is unchanged after); as a user
// who cannot read the system journal the run does not pass what it cannot see.
func TestRunAgainstARealSystemdHost(t *testing.T) {
	h := realhost.Start(t)
	h.AddUser(t, "ops")
	dir := t.TempDir()
	book := filepath.Join(dir, "runbooks.yaml")
	os.WriteFile(book, []byte(realHostRunbook), 0o600)
	for _, user := range []string{"root", "ops"} {
		t.Run(user, func(t *testing.T) {
			config := filepath.Join(t.TempDir(), "ssh_config")
			os.WriteFile(config, []byte(h.SSHConfig("app", user)), 0o600)
			before := h.ErrorLines(t)
			tr := t.TempDir()
			code, out, errs := cli(t, "", "run", book, "--plain", "--yes", "--transcript", tr, "--ssh-config", config, "--known-hosts", h.KnownHosts)
			if user == "root" {
				if code != 0 || !strings.Contains(out, "no new errors since the baseline") || !strings.Contains(out, "hangs") {
					t.Fatalf("exit %d\n%s\n%s", code, out, errs)
				}
				if after := h.ErrorLines(t); !slices.Equal(before, after) {
					t.Errorf("the run left err-level lines in the host's journal:\nbefore %q\nafter  %q", before, after)
				}
				return
			}
			if code == 0 || !strings.Contains(out, "usermod -aG systemd-journal ops") {
				t.Errorf("as ops: exit %d\n%s\n%s", code, out, errs)
			}
		})
	}
}
