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

const rollingRunbook = `version: 1
runbooks:
  - name: rolling
    hosts:
      web-1: {address: web-1, zone: site-a}
      web-2: {address: web-2, zone: site-b}
    steps:
      - name: pre
        checks:
          - {kind: endpoint, url: "http://127.0.0.1:8080/", from: [web-1, web-2]}
      - name: restart
        staged_restart:
          unit: web
          hosts: [web-1, web-2]
          checks:
            - {kind: unit_active, unit: web}
            - {kind: listening, port: 8080, process: python3}
          gate: {retries: 50, interval: 100ms}
`

// A staged restart of a real unit on two real hosts, one at a time, each proven by its gate, and an
// endpoint probed with real curl from both zones; then a host whose unit does not come back stops
// the restart there.
func TestStagedRestartOnRealHosts(t *testing.T) {
	t.Parallel() // waits on lab moves and settles: beside the other slow ones (CI runs the package under -race)
	hosts := map[string]*realhost.Host{"web-1": realhost.Start(t), "web-2": realhost.Start(t)}
	dir := t.TempDir()
	var config, known strings.Builder
	for _, name := range []string{"web-1", "web-2"} {
		h := hosts[name]
		h.WriteFile(t, "/etc/systemd/system/web.service", "[Service]\nExecStart=/usr/bin/python3 -m http.server --bind 127.0.0.1 8080\n", 0o644)
		h.Script(t, `systemctl daemon-reload && systemctl start web && for i in $(seq 200); do ss -Htln 'sport = :8080' | grep -q . && exit 0; sleep 0.05; done; exit 1`)
		config.WriteString(h.SSHConfig(name, "root"))
		known.WriteString(h.KnownHostsLine() + "\n")
	}
	book, cfg, kh := filepath.Join(dir, "runbooks.yaml"), filepath.Join(dir, "ssh_config"), filepath.Join(dir, "known_hosts")
	os.WriteFile(book, []byte(rollingRunbook), 0o600)
	os.WriteFile(cfg, []byte(config.String()), 0o600)
	os.WriteFile(kh, []byte(known.String()), 0o600)
	mainPID := func(name string) string {
		return strings.TrimSpace(hosts[name].Exec(t, "systemctl", "show", "-p", "MainPID", "--value", "web"))
	}
	before := map[string]string{"web-1": mainPID("web-1"), "web-2": mainPID("web-2")}

	tr := t.TempDir()
	code, out, errs := cli(t, "", "run", book, "--plain", "--yes", "--transcript", tr, "--ssh-config", cfg, "--known-hosts", kh)
	if code != 0 || !strings.Contains(out, "reachable from 2 zone") || !strings.Contains(out, "web restarted on 2 hosts, each passed its gate") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	for name, pid := range before {
		if now := mainPID(name); now == pid || now == "0" {
			t.Errorf("%s: web's main PID %s before, %s after: not restarted", name, pid, now)
		}
	}
	if i1, i2 := strings.Index(out, "restart web on web-1"), strings.Index(out, "restart web on web-2"); i1 < 0 || i2 < i1 {
		t.Errorf("restart order:\n%s", out)
	}

	// web-2's unit will not come back: web-1 restarts, web-2 fails its gate, the step fails.
	hosts["web-2"].WriteFile(t, "/etc/systemd/system/web.service", "[Service]\nExecStart=/bin/sh -c 'echo cannot bind >&2; exit 1'\n", 0o644)
	hosts["web-2"].Exec(t, "systemctl", "daemon-reload")
	code, out, errs = cli(t, "", "run", book, "--plain", "--yes", "--transcript", t.TempDir(), "--ssh-config", cfg, "--known-hosts", kh)
	if code != 1 || !strings.Contains(out, "web-2 did not pass its gate after the restart") || !strings.Contains(out, "stopped after 2 of 2 hosts") || !strings.Contains(out, "ABORTED") || !strings.Contains(out, "nothing was undone") {
		t.Errorf("a host that does not come back: exit %d\n%s\n%s", code, out, errs)
	}
}
