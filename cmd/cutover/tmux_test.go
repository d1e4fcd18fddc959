package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/testenv"
)

// tmuxPane is the real binary in a tmux pane, driven by keys and read by capture-pane, as a person
// at a terminal would use it.
type tmuxPane struct {
	t      *testing.T
	socket string
	dir    string
}

func (p *tmuxPane) tmux(args ...string) string {
	p.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-L", p.socket}, args...)...).CombinedOutput()
	if err != nil {
		p.t.Fatalf("tmux %v: %v %s", args, err, out)
	}
	return string(out)
}

// waitFor polls the screen until it shows all of want, or fails with the last screen.
func (p *tmuxPane) waitFor(timeout time.Duration, want ...string) string {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	var screen string
	for time.Now().Before(deadline) {
		screen = p.tmux("capture-pane", "-p", "-t", "console")
		ok := true
		for _, w := range want {
			ok = ok && strings.Contains(screen, w)
		}
		if ok {
			return screen
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.t.Fatalf("screen never showed %q:\n%s", want, screen)
	return ""
}

// waitGone waits until the screen no longer shows text.
func (p *tmuxPane) waitGone(timeout time.Duration, text string) {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if !strings.Contains(p.tmux("capture-pane", "-p", "-t", "console"), text) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.t.Fatalf("screen still shows %q", text)
}

func TestConsoleInTmux(t *testing.T) {
	testenv.Tool(t, "tmux", "tmux")
	dir := t.TempDir()
	bin := cutoverBin(t)
	p := &tmuxPane{t: t, socket: fmt.Sprintf("cutover-test-%d", os.Getpid()), dir: dir}
	t.Cleanup(func() { exec.Command("tmux", "-L", p.socket, "kill-server").Run() })
	status := filepath.Join(dir, "status")
	cmd := fmt.Sprintf("cd %s && TERM=xterm-256color %s lab --file %s --fault ping-loss=3 --relocate-time 1s --transcript %s; echo $? > %s; sleep 30",
		dir, bin, mustAbs(t, "../../runbooks.yaml"), filepath.Join(dir, "tr"), status)
	p.tmux("new-session", "-d", "-s", "console", "-x", "120", "-y", "40", cmd)

	screen := p.waitFor(30*time.Second, "CONFIRM · migrate", "Move app-01 from esx-a-01 (SITE-A) to esx-b-01 (SITE-B)?", "✓ pre-checks")
	if !strings.Contains(screen, "[p] proceed") {
		t.Errorf("confirm prompt:\n%s", screen)
	}
	p.tmux("send-keys", "-t", "console", "?")
	p.waitFor(10*time.Second, "KEYS", "pause after this step (again: resume); never answers a question")
	// Close the key list again: the question is back.
	p.tmux("send-keys", "-t", "console", "?")
	p.waitGone(10*time.Second, "never answers a question")
	p.waitFor(10*time.Second, "[p] proceed")

	// esc leaves the question open but out of the way: the pre-checks' evidence can be read.
	p.tmux("send-keys", "-t", "console", "Escape")
	p.waitGone(10*time.Second, "[p] proceed")
	p.waitFor(10*time.Second, "WAITING FOR YOU", "d answers: CONFIRM · migrate")
	p.tmux("send-keys", "-t", "console", "k")
	p.waitFor(10*time.Second, "✓ unit_active nginx [app]: nginx.service active (running)", "f: follow the run")
	// p outside the question answers nothing, and says so.
	p.tmux("send-keys", "-t", "console", "p")
	p.waitFor(10*time.Second, "the question is not open: d opens it, then p answers")
	// Pausing has a key of its own that never answers, and it says so at once (space again: don't).
	p.tmux("send-keys", "-t", "console", "Space")
	p.waitFor(10*time.Second, "pausing after this step (space: don't)")
	p.tmux("send-keys", "-t", "console", "Space")
	p.waitGone(10*time.Second, "pausing after this step")
	if screen := p.tmux("capture-pane", "-p", "-t", "console"); strings.Contains(screen, "vMotion app-01") {
		t.Fatalf("a key outside the question started the vMotion:\n%s", screen)
	}
	// d brings the question back; p answers it now.
	p.tmux("send-keys", "-t", "console", "d")
	p.waitFor(10*time.Second, "CONFIRM · migrate", "[p] proceed")
	p.tmux("send-keys", "-t", "console", "p")
	p.waitFor(30*time.Second, "vMotion app-01", "gateway 10.20.0.1 from app")
	// The header turns ROLLED-BACK with the run's last event; the status bar says the run ended once
	// the engine has returned (journal closed and signed), a moment later.
	p.waitFor(60*time.Second, "ROLLED-BACK", "on esx-a-01 (SITE-A)", "[2/2 migrate-back]", "✓ pass (≤1 lost)", "↶ migrate-back", "run ended: rolled-back")
	// The way back was watched; w shows the move's watch, the one that broke.
	p.tmux("send-keys", "-t", "console", "w")
	p.waitFor(10*time.Second, "[1/2 migrate]", "✗ fail: 2 packets lost, limit 1")
	// The reason, in full, where the console already looks (wrapped: its words in order).
	if screen := p.tmux("capture-pane", "-p", "-t", "console"); !regexp.MustCompile(`step migrate: action gateway watch: 2 packets lost, limit 1 \(gated span: \d+ sent, \d+ lost \([0-9.]+%\), longest outage \S+, RTT p50 \S+ p95 \S+ max \S+\)`).MatchString(detailColumn(strings.Split(screen, "\n"))) {
		t.Errorf("the reason is not readable:\n%s", screen)
	}
	p.tmux("send-keys", "-t", "console", "q")
	deadline := time.Now().Add(10 * time.Second)
	for {
		if b, err := os.ReadFile(status); err == nil {
			if code := strings.TrimSpace(string(b)); code != "1" {
				t.Errorf("exit %s, want 1 (rolled back)", code)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("cutover did not exit after q:\n%s", p.tmux("capture-pane", "-p", "-t", "console"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	after := p.tmux("capture-pane", "-p", "-t", "console")
	if !strings.Contains(after, "rolled-back: step migrate") || !strings.Contains(after, "ssh-keygen -Y verify") {
		t.Errorf("after the console, the terminal shows the summary:\n%s", after)
	}
}

func mustAbs(t *testing.T, p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// A lost terminal (the jump host's SSH session dropped, the tmux server killed) ends a console run
// as SIGHUP ends a plain one: the run is journaled as interrupted and signed, the lab's temporary
// files go, and no cutover is left waiting for a key nobody can press.
func TestLostTerminalEndsTheConsoleRun(t *testing.T) {
	testenv.Tool(t, "tmux", "tmux")
	dir := t.TempDir()
	tmp := shortTempDir(t)
	tr := filepath.Join(dir, "tr")
	p := &tmuxPane{t: t, socket: fmt.Sprintf("cutover-hup-%d", os.Getpid()), dir: dir}
	t.Cleanup(func() { exec.Command("tmux", "-L", p.socket, "kill-server").Run() })
	cmd := fmt.Sprintf("cd %s && TMPDIR=%s TERM=xterm-256color exec %s lab --file %s --relocate-time 1s --transcript %s --operator trainee@lab",
		dir, tmp, cutoverBin(t), mustAbs(t, "../../runbooks.yaml"), tr)
	p.tmux("new-session", "-d", "-s", "console", "-x", "100", "-y", "30", cmd)
	p.waitFor(30*time.Second, "CONFIRM · migrate")
	pid, err := strconv.Atoi(strings.TrimSpace(p.tmux("display-message", "-p", "-t", "console", "#{pane_pid}")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
	p.tmux("kill-server") // the pane's terminal goes: the kernel hangs its session leader up

	deadline := time.Now().Add(30 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("cutover %d still runs 30 s after its terminal went", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
	journal := journalOf(t, tr)
	if got := strings.Join(types(t, journal), "\n"); !strings.HasSuffix(got, "run.end\ncheckpoint") {
		t.Errorf("journal does not end with run.end and its checkpoint:\n%s", got)
	}
	if data := mustRead(t, journal); !bytes.Contains(data, []byte(`"status":"interrupted","reason":"interrupted: hangup signal received`)) {
		t.Errorf("the journal does not name the hangup:\n%s", data)
	}
	allowed := strings.TrimSuffix(journal, ".jsonl") + ".allowed_signers"
	if code, out, _ := cli(t, "", "verify", journal, "--allowed-signers", allowed); code != 0 {
		t.Errorf("verify: exit %d\n%s", code, out)
	}
	if left, _ := os.ReadDir(tmp); len(left) > 0 {
		t.Errorf("left behind in TMPDIR: %v", left)
	}
}
