package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/sshtest"
)

// A host that breaks between or during steps: the run must journal a clear error, let the gate
// (or the failed action's rollback) decide, and never hang past a timeout.
const faultRunbook = `version: 1
runbooks:
  - name: ssh-faults
    vars: {sshport: "22"}
    hosts:
      app: {address: app, zone: site-a}
      dr: {address: dr, zone: site-b}
    steps:
      - name: before
        checks:
          - {kind: command, host: app, run: "echo before", match: before}
      - name: change
        confirm: Make the change?
        command: {host: app, run: "%s", timeout: %s}
        rollback:
          - {name: undo, command: {host: local, run: "echo undone"}}
      - name: after
        checks:
          - {kind: command, host: app, run: "echo after", match: after}
`

// faultAtConfirm breaks the host when the operator is asked to confirm the change, then answers.
type faultAtConfirm struct {
	once   sync.Once
	fault  func()
	answer *strings.Reader
}

func (f *faultAtConfirm) Read(p []byte) (int, error) {
	f.once.Do(f.fault)
	return f.answer.Read(p)
}

func TestSSHFaultsAreJournaledAndGated(t *testing.T) {
	type fault struct {
		change, timeout string
		atConfirm       func(t *testing.T, e *sshEnv)
		during          func(t *testing.T, e *sshEnv) // once the change's command runs on the host
		want            string                        // in the change's journaled error
		within          time.Duration                 // how long the change may take
	}
	for name, f := range map[string]fault{
		"host key changed between steps": {
			change: "true", timeout: "10s",
			atConfirm: func(t *testing.T, e *sshEnv) {
				newHostKey(t, e.srv)
				e.srv.KillConnections(t)
			},
			want: "HOST KEY MISMATCH", within: 10 * time.Second,
		},
		"auth refused between steps": {
			change: "true", timeout: "10s",
			atConfirm: func(t *testing.T, e *sshEnv) {
				os.WriteFile(filepath.Join(e.srv.Dir, "authorized_keys"), nil, 0o600)
				e.srv.KillConnections(t)
			},
			want: "login refused", within: 10 * time.Second,
		},
		"server stops answering between steps": {
			change: "true", timeout: "2s",
			atConfirm: func(t *testing.T, e *sshEnv) { e.srv.StopConnections() },
			want:      "timed out after 2s (the server did not open a session)", within: 10 * time.Second,
		},
		"server killed mid-command": {
			change: "sleep 31", timeout: "60s",
			during: func(t *testing.T, e *sshEnv) { e.srv.KillConnections(t) },
			want:   "connection lost", within: 10 * time.Second,
		},
		"server stops answering mid-command": {
			change: "sleep 32", timeout: "2s",
			during: func(t *testing.T, e *sshEnv) { e.srv.StopConnections() },
			want:   "timed out after 2s", within: 10 * time.Second,
		},
	} {
		t.Run(name, func(t *testing.T) {
			e := newSSHEnv(t)
			if strings.HasPrefix(f.change, "sleep ") {
				// One command line per run, so the test finds (and ends) its own command: a
				// command whose connection was killed lives on, as it would on a real host.
				f.change = fmt.Sprintf("%s.%06d", f.change, time.Now().UnixNano()%1e6)
				t.Cleanup(func() { exec.Command("pkill", "-KILL", "-xf", f.change).Run() })
			}
			os.WriteFile(e.book, []byte(fmt.Sprintf(faultRunbook, f.change, f.timeout)), 0o600)
			writeDRAlias(t, e, "127.0.0.1")
			in := &faultAtConfirm{answer: strings.NewReader("p\nb\n"), fault: func() {}}
			if f.atConfirm != nil {
				in.fault = func() { f.atConfirm(t, e) }
			}
			if f.during != nil {
				stop := make(chan struct{})
				defer close(stop)
				go func() {
					if waitForProcess(f.change, stop) {
						f.during(t, e)
					}
				}()
			}
			tr := filepath.Join(e.dir, "tr")
			var out, errb strings.Builder
			start := time.Now()
			code := run(e.args(tr), streams{in: in, out: &out, err: &errb})
			if code != exitFailed {
				t.Fatalf("exit %d after %v, want 1 (rolled back)\n%s\n%s", code, time.Since(start), out.String(), errb.String())
			}
			var action map[string]any
			var rolledBack bool
			for _, l := range readJournal(t, journalOf(t, tr)) {
				if l.Type == "action" && l.Step == "change" {
					action = l.Data
				}
				rolledBack = rolledBack || (l.Type == "step.end" && l.Step == "undo")
			}
			if action == nil || !strings.Contains(fmt.Sprint(action["summary"]), f.want) {
				t.Fatalf("the change's journaled outcome lacks %q: %v\n%s", f.want, action, out.String())
			}
			if d := time.Duration(action["duration_ms"].(float64)) * time.Millisecond; d > f.within {
				t.Errorf("the change took %v (limit %v)", d, f.within)
			}
			t.Logf("%s: %v", name, action["summary"])
			if !rolledBack {
				t.Errorf("the failed change was not rolled back:\n%s", out.String())
			}
		})
	}
}

// A host whose name does not resolve: the run starts (the other hosts are fine), its checks are
// inconclusive with the resolver's error, and the gate asks; the operator aborts.
func TestSSHUnresolvableHostIsInconclusive(t *testing.T) {
	e := newSSHEnv(t)
	book := strings.Replace(fmt.Sprintf(faultRunbook, "true", "5s"), `{kind: command, host: app, run: "echo before", match: before}`,
		`{kind: command, host: app, run: "echo before", match: before}`+"\n          - {kind: command, host: dr, run: \"echo dr\", match: dr}", 1)
	os.WriteFile(e.book, []byte(book), 0o600)
	// A label over 63 bytes: every resolver refuses it without sending a query.
	bad := strings.Repeat("x", 64) + ".example"
	writeDRAlias(t, e, bad)
	tr := filepath.Join(e.dir, "tr")
	var out, errb strings.Builder
	code := run(e.args(tr), streams{in: strings.NewReader("a\nhost dr unresolvable\n"), out: &out, err: &errb})
	if code != exitFailed {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	if !strings.Contains(errb.String(), "WARNING: host dr") {
		t.Errorf("no warning before the run:\n%s", errb.String())
	}
	var dr map[string]any
	var gate string
	for _, l := range readJournal(t, journalOf(t, tr)) {
		if l.Type == "check" && l.Step == "before" && strings.Contains(fmt.Sprint(l.Data["host"]), "dr") {
			dr = l.Data
		}
		if l.Type == "gate" && l.Step == "before" {
			gate = fmt.Sprint(l.Data["verdict"])
		}
	}
	if dr["outcome"] != "inconclusive" || !strings.Contains(fmt.Sprint(dr["summary"]), "no such host") {
		t.Errorf("dr's check: %v", dr)
	}
	if gate != "inconclusive" || !strings.Contains(out.String(), "ABORTED") {
		t.Errorf("gate %q, output:\n%s", gate, out.String())
	}
	// Unattended, a check that never ran is no pass: --yes ends the run as a failure would.
	out.Reset()
	errb.Reset()
	code = run(e.args(filepath.Join(e.dir, "tr-yes"), "--yes"), streams{in: strings.NewReader(""), out: &out, err: &errb})
	if code == exitOK || !strings.Contains(out.String(), "--yes: nothing was proven (inconclusive)") {
		t.Errorf("--yes with an unresolvable host: exit %d\n%s", code, out.String())
	}
}

// writeDRAlias adds the alias dr (HostName host) to e's ssh_config.
func writeDRAlias(t *testing.T, e *sshEnv, host string) {
	t.Helper()
	cfg, _ := os.ReadFile(e.config)
	key := filepath.Join(e.dir, "id_ed25519")
	cfg = append(cfg, fmt.Sprintf("Host dr\n  HostName %s\n  Port %d\n  User root\n  IdentityFile %s\n", host, e.srv.Port, key)...)
	os.WriteFile(e.config, cfg, 0o600)
}

// newHostKey replaces the server's host key on disk: sshd loads it for each new connection.
func newHostKey(t *testing.T, s *sshtest.Server) {
	t.Helper()
	path := filepath.Join(s.Dir, "host_ed25519")
	os.Remove(path)
	os.Remove(path + ".pub")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", path).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v %s", err, out)
	}
}

// waitForProcess waits until a process runs exactly cmdline.
func waitForProcess(cmdline string, stop <-chan struct{}) bool {
	for {
		if out, _ := exec.Command("pgrep", "-xf", cmdline).Output(); len(out) > 0 {
			return true
		}
		select {
		case <-stop:
			return false
		case <-time.After(10 * time.Millisecond):
		}
	}
}
