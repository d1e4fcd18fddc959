package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/teatest"
	"golang.org/x/crypto/ssh"

	"github.com/cutover/cutover/lab"
)

// The console drives the seed runbook in the lab as an engineer would: confirm the move, watch the
// graph fill, answer a failed post-check gate with a rollback, and see the VM back on SITE-A.
// screenWaiter waits, up to 30 s each, for the console's output to show a text; each wait reads
// only the output that came after the previous one.
func screenWaiter(t *testing.T, tm *teatest.TestModel) func(what string) {
	return func(what string) {
		t.Helper()
		// WaitFor hands the condition everything read since the call began.
		teatest.WaitFor(t, tm.Output(), func(b []byte) bool {
			return bytes.Contains(b, []byte(what))
		}, teatest.WithDuration(30*time.Second), teatest.WithCheckInterval(20*time.Millisecond))
	}
}

func TestConsoleDrivesARollbackInTheLab(t *testing.T) {
	seed, err := os.ReadFile("../../runbooks.yaml")
	if err != nil {
		t.Fatal(err)
	}
	book := filepath.Join(t.TempDir(), "runbooks.yaml")
	text := strings.NewReplacer("interval: 2s", "interval: 100ms", "settle: 5s", "settle: 600ms",
		"gate: {require: all, retries: 1, interval: 2s, on_fail: rollback}", "gate: {require: all, on_fail: ask}").Replace(string(seed))
	os.WriteFile(book, []byte(text), 0o600)

	var final []byte
	o := runOptions{transcript: t.TempDir(), operator: "trainee@lab", forks: 50}
	console := func(m tea.Model) error {
		tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(120, 40))
		wait := screenWaiter(t, tm)
		wait("CONFIRM · migrate")
		tm.Type("p")
		wait("gateway 10.20.0.1 from app")
		wait("GATE FAILED · post-checks")
		tm.Type("b")
		wait("on esx-a-01 (SITE-A)")
		wait("ROLLED-BACK")
		tm.Type("q")
		tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))
		final = []byte(tm.FinalModel(t).View())
		return nil
	}
	var out, errs bytes.Buffer
	err = runLab(streams{in: strings.NewReader(""), out: &out, err: &errs, console: console}, book, seedRunbook, o, lab.Faults{UnitDown: "nginx"}, 300*time.Millisecond, "", 0)
	if code := exitCodeOf(err); code != exitFailed {
		t.Fatalf("exit %d (%v)\n%s\n%s", code, err, out.String(), errs.String())
	}
	if !bytes.Contains(final, []byte("run ended: rolled-back")) {
		t.Errorf("final screen:\n%s", final)
	}
	if !strings.Contains(out.String(), "rolled-back") || !strings.Contains(out.String(), "verify:") {
		t.Errorf("after the console, the summary says where the proof is:\n%s", out.String())
	}
	// The printed ssh-keygen line works when pasted into a shell (it once had an empty -I).
	line := ""
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.Contains(l, "ssh-keygen -Y verify") {
			line = strings.TrimSpace(l)
		}
	}
	if got, err := exec.Command("sh", "-c", line).CombinedOutput(); line == "" || err != nil || !strings.Contains(string(got), `Good "cutover-transcript" signature for trainee@lab`) {
		t.Errorf("the printed verify line %q: %v\n%s", line, err, got)
	}
}

func exitCodeOf(err error) int {
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exitError); ok {
		return ee.code
	}
	return -1
}

// A trainee replays a finished lab run: it plays to the end, then steps back through it.
func TestReplayOfALabRun(t *testing.T) {
	t.Parallel() // waits on lab moves and settles: beside the other slow ones (CI runs the package under -race)
	code, out, errs, _, journal := labRun(t, "../../runbooks.yaml", "", "--yes", "--fault", "ping-loss=3")
	if code != exitFailed {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	console := func(m tea.Model) error {
		tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(120, 40))
		wait := screenWaiter(t, tm)
		wait("REPLAY · read-only")
		wait("ROLLED-BACK")
		tm.Type("[")
		wait("⏸")
		tm.Type("[")
		tm.Type("[")
		wait("RUNNING") // back before the end of the run
		tm.Type("q")
		tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
		return nil
	}
	var stdout, stderr bytes.Buffer
	cmd := replayCommand(streams{in: strings.NewReader(""), out: &stdout, err: &stderr, console: console})
	cmd.SetArgs([]string{journal, "--speed", "50"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
}

// A colleague shadows a live lab run from its journal, read-only, to its end.
func TestShadowALiveLabRun(t *testing.T) {
	tr := t.TempDir()
	done := make(chan int, 1)
	go func() {
		code, _, _ := cli(t, "", "lab", "--plain", "--yes", "--transcript", tr, "--relocate-time", "1s", "--file", "../../runbooks.yaml")
		done <- code
	}()
	var journal string
	deadline := time.Now().Add(20 * time.Second)
	for journal == "" && time.Now().Before(deadline) { // the run names its journal when it starts
		if m, _ := filepath.Glob(filepath.Join(tr, "*.jsonl")); len(m) == 1 {
			journal = m[0]
		}
		time.Sleep(20 * time.Millisecond)
	}
	if journal == "" {
		t.Fatal("the lab run wrote no journal")
	}
	var out bytes.Buffer
	if err := shadow(streams{in: strings.NewReader(""), out: &out, err: &out}, journal, watchOptions{plain: true}); err != nil {
		t.Fatal(err)
	}
	if code := <-done; code != 0 {
		t.Fatalf("lab run exit %d", code)
	}
	for _, want := range []string{"step     [1/4] pre-checks", "vcenter  app-01 now on esx-b-01 (SITE-B)", "run      DONE"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the shadow lacks %q:\n%s", want, out.String())
		}
	}
}

// A trainee shadows a live lab run over SSH: `ssh -t -p PORT host` with their own key gets the
// read-only console, which follows the run to its end.
func TestShadowOverSSH(t *testing.T) {
	dir, key, authorized, addr := shadowSetup(t)
	done := make(chan string, 1)
	go func() {
		code, out, errs := cli(t, "", "lab", "--plain", "--yes", "--file", "../../runbooks.yaml", "--transcript", filepath.Join(dir, "tr"), "--relocate-time", "1s",
			"--shadow-listen", addr, "--shadow-authorized-keys", authorized, "--shadow-host-key", filepath.Join(dir, "shadow_host_key"))
		done <- fmt.Sprintf("%d\n%s\n%s", code, out, errs)
	}()
	screen := shadowScreen(t, addr, key, filepath.Join(dir, "shadow_host_key.pub"), func() string { return <-done })
	for _, want := range []string{"SHADOW · read-only", "pre-checks", "DONE"} {
		waitScreen(t, screen, want)
	}
	if res := <-done; !strings.HasPrefix(res, "0\n") || !strings.Contains(res, "shadow this run read-only: ssh -t -p") {
		t.Errorf("lab run:\n%s", res)
	}
}

// shadowSetup is a trainee's key in an authorized_keys file and a free loopback address for the
// shadow server.
func shadowSetup(t *testing.T) (dir, key, authorized, addr string) {
	t.Helper()
	dir = t.TempDir()
	key, pub := sshtestKeygen(t, "trainee@lab")
	authorized = filepath.Join(dir, "authorized_keys")
	os.WriteFile(authorized, []byte(pub+"\n"), 0o600)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr = l.Addr().String()
	l.Close()
	return dir, key, authorized, addr
}

// shadowScreen logs in to a shadow server as a trainee would (ssh -t with their key, the server's
// host key checked) and returns what the shadow console draws.
func shadowScreen(t *testing.T, addr, key, hostKeyPub string, why func() string) *syncBuffer {
	t.Helper()
	signer := loadTestKey(t, key)
	var client *ssh.Client
	deadline := time.Now().Add(20 * time.Second)
	for client == nil && time.Now().Before(deadline) {
		client, _ = ssh.Dial("tcp", addr, &ssh.ClientConfig{User: "trainee", Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)}, HostKeyCallback: acceptFirstKey(t, hostKeyPub), Timeout: time.Second})
		if client == nil {
			time.Sleep(50 * time.Millisecond)
		}
	}
	if client == nil {
		t.Fatalf("could not reach the shadow server:\n%s", why())
	}
	t.Cleanup(func() { client.Close() })
	sess, err := client.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.RequestPty("xterm-256color", 40, 120, ssh.TerminalModes{}); err != nil {
		t.Fatal(err)
	}
	screen := &syncBuffer{}
	sess.Stdout = screen
	if err := sess.Shell(); err != nil {
		t.Fatal(err)
	}
	return screen
}

func waitScreen(t *testing.T, screen *syncBuffer, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(screen.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("the shadow never showed %q:\n%s", want, screen.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// While the operator is asked to confirm the move, a trainee shadowing over SSH sees the question
// and how long it has waited; the operator's header counts the shadow and ? names it by its key.
func TestOperatorAndShadowSeeEachOther(t *testing.T) {
	dir, key, authorized, addr := shadowSetup(t)
	o := runOptions{transcript: filepath.Join(dir, "tr"), operator: "oncall@lab", forks: 50,
		shadowListen: addr, shadowKeys: authorized, shadowHostKey: filepath.Join(dir, "shadow_host_key")}
	console := func(m tea.Model) error {
		tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(120, 40))
		wait := screenWaiter(t, tm)
		wait("CONFIRM · migrate")
		screen := shadowScreen(t, addr, key, filepath.Join(dir, "shadow_host_key.pub"), func() string { return "" })
		waitScreen(t, screen, "WAITING FOR THE OPERATOR")
		waitScreen(t, screen, "operator asked 0:")
		waitScreen(t, screen, "Move app-01 from esx-a-01 (SITE-A) to esx-b-01 (SITE-B)?")
		wait("1 watching")
		tm.Type("?")
		wait("trainee@lab (SHA256:")
		tm.Type("?")
		tm.Type("p")
		wait("on esx-b-01 (SITE-B)")
		wait("run ended: done")
		waitScreen(t, screen, "DONE")
		tm.Type("q")
		tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))
		return nil
	}
	var out, errs bytes.Buffer
	err := runLab(streams{in: strings.NewReader(""), out: &out, err: &errs, console: console}, "../../runbooks.yaml", seedRunbook, o, lab.Faults{}, 300*time.Millisecond, "", 0)
	if err != nil {
		t.Fatalf("%v\n%s\n%s", err, out.String(), errs.String())
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func loadTestKey(t *testing.T, path string) ssh.Signer {
	s, err := ssh.ParsePrivateKey(mustRead(t, path))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// acceptFirstKey checks the server's host key against the one the shadow server persisted.
func acceptFirstKey(t *testing.T, pubPath string) ssh.HostKeyCallback {
	return func(_ string, _ net.Addr, key ssh.PublicKey) error {
		want, err := os.ReadFile(pubPath)
		if err != nil {
			return err
		}
		k, _, _, _, err := ssh.ParseAuthorizedKey(want)
		if err != nil || !bytes.Equal(k.Marshal(), key.Marshal()) {
			return fmt.Errorf("host key is not the persisted one")
		}
		return nil
	}
}
