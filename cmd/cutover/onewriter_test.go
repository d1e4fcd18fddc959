package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// waitingLab starts the real binary on a lab run that stops at its first question, and returns
// once the question is on screen. The process is killed at cleanup.
func waitingLab(t *testing.T, args ...string) (*exec.Cmd, io.WriteCloser) {
	t.Helper()
	cmd := exec.Command(cutoverBin(t), append([]string{"lab", "--plain", "--relocate-time", "300ms"}, args...)...)
	cmd.Env = append(os.Environ(), "TMPDIR="+shortTempDir(t)) // killed at cleanup: its lab dir goes with the test's
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "?? ") {
			go io.Copy(io.Discard, stdout)
			return cmd, stdin
		}
	}
	t.Fatalf("the lab run ended before asking: %s", stderr.String())
	return nil, nil
}

// Two processes never drive one change: while a resumed run waits at a question, a second resume
// of the same journal is refused, naming the holder, and writes nothing. Once the holder is killed
// with SIGKILL the kernel has dropped the lock, and the journal resumes.
func TestSecondResumeIsRefusedWhileTheFirstRuns(t *testing.T) {
	t.Parallel() // waits on lab moves and settles: beside the other slow ones (CI runs the package under -race)
	dir := t.TempDir()
	tr := filepath.Join(dir, "tr")
	book := mustAbs(t, "../../runbooks.yaml")
	first, _ := waitingLab(t, "--file", book, "--transcript", tr, "--operator", "first@lab")
	journal := journalOf(t, tr)
	first.Process.Kill()
	first.Wait()

	allowed := "--allowed-signers=" + strings.TrimSuffix(journal, ".jsonl") + ".allowed_signers"
	second, _ := waitingLab(t, "--resume", journal, "--operator", "second@lab", allowed)
	before, _ := os.ReadFile(journal)
	third := exec.Command(cutoverBin(t), "lab", "--resume", journal, "--plain", "--yes", "--operator", "third@lab", "--relocate-time", "300ms", allowed)
	out, err := third.CombinedOutput()
	if code := third.ProcessState.ExitCode(); code != exitBadInput {
		t.Fatalf("second writer: exit %d (%v), want %d\n%s", code, err, exitBadInput, out)
	}
	for _, want := range []string{fmt.Sprintf("pid %d", second.Process.Pid), "second@lab", "one writer"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("refusal does not say %q:\n%s", want, out)
		}
	}
	if after, _ := os.ReadFile(journal); !bytes.Equal(before, after) {
		t.Fatalf("the refused process changed the journal")
	}

	second.Process.Kill() // kill -9: the kernel releases the lock
	second.Wait()
	res := exec.Command(cutoverBin(t), "lab", "--resume", journal, "--plain", "--yes", "--operator", "third@lab", "--relocate-time", "300ms", allowed)
	if out, err := res.CombinedOutput(); err != nil {
		t.Fatalf("resume after the holder died: %v\n%s", err, out)
	}
	if out, err := exec.Command(cutoverBin(t), "verify", journal, allowed).CombinedOutput(); err != nil {
		t.Fatalf("verify: %v\n%s", err, out)
	}
	if _, err := os.Stat(journal + ".lock"); !os.IsNotExist(err) {
		t.Errorf("lock file left after the run: %v", err)
	}
}
