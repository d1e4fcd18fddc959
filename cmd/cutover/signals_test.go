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
	"syscall"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/testenv"
)

// Every signal that ends a run — a lost terminal (HUP), a kill (TERM), Ctrl-\ (QUIT), Ctrl-C
// (INT) — is journaled as the interruption it is, the journal signed, the exit 128+signal, and
// the lab's temporary files (its private keys among them) are gone.
func TestEverySignalIsJournaledAndSigned(t *testing.T) {
	book := mustAbs(t, "../../runbooks.yaml")
	for _, sig := range []syscall.Signal{syscall.SIGHUP, syscall.SIGTERM, syscall.SIGQUIT, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			tmp := filepath.Join(dir, "tmp")
			os.Mkdir(tmp, 0o700)
			tr := filepath.Join(dir, "tr")
			cmd := exec.Command(cutoverBin(t), "lab", "--file", book, "--plain", "--relocate-time", "300ms", "--transcript", tr, "--operator", "trainee@lab")
			cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
			stdin, _ := cmd.StdinPipe() // held open: the run waits at its question
			defer stdin.Close()
			stdout, _ := cmd.StdoutPipe()
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			sc := bufio.NewScanner(stdout)
			asked := false
			for sc.Scan() {
				if strings.HasPrefix(sc.Text(), "?? ") {
					asked = true
					break
				}
			}
			if !asked {
				t.Fatalf("no question: %s", stderr.String())
			}
			cmd.Process.Signal(sig)
			rest, _ := io.ReadAll(stdout)
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				t.Fatalf("still running 30 s after %s", sig)
			}
			if code := cmd.ProcessState.ExitCode(); code != 128+int(sig) {
				t.Errorf("exit %d, want %d\n%s\n%s", code, 128+int(sig), rest, stderr.String())
			}
			journal := journalOf(t, tr)
			got := strings.Join(types(t, journal), "\n")
			if !strings.HasSuffix(got, "run.end\ncheckpoint") {
				t.Errorf("journal does not end with run.end and its checkpoint:\n%s", got)
			}
			want := fmt.Sprintf(`"status":"interrupted","reason":"interrupted: %s signal received`, sig)
			if data := mustRead(t, journal); !bytes.Contains(data, []byte(want)) {
				t.Errorf("the journal does not name the %s: want %s", sig, want)
			}
			allowed := strings.TrimSuffix(journal, ".jsonl") + ".allowed_signers"
			if code, out, _ := cli(t, "", "verify", journal, "--allowed-signers", allowed); code != 0 {
				t.Errorf("verify: exit %d\n%s", code, out)
			}
			if left, _ := os.ReadDir(tmp); len(left) > 0 {
				t.Errorf("left behind in TMPDIR: %v", left)
			}
			if _, err := os.Stat(journal + ".sig.tmp"); err == nil {
				t.Error(".sig.tmp left behind")
			}
			// An interrupted run is taken up again where it stopped, and ends clean.
			res := exec.Command(cutoverBin(t), "lab", "--resume", journal, "--plain", "--yes", "--relocate-time", "300ms", "--operator", "second@lab", "--allowed-signers", allowed)
			res.Env = cmd.Env
			if out, err := res.CombinedOutput(); err != nil {
				t.Fatalf("resume after %s: %v\n%s", sig, err, out)
			}
			if code, out, _ := cli(t, "", "verify", journal, "--allowed-signers", allowed); code != 0 {
				t.Errorf("verify after the resume: exit %d\n%s", code, out)
			}
		})
	}
}

// A disk that fills mid-run stops the run; it leaves no half-written signature (.sig.tmp) and
// prints no verify line for a signature that does not exist. The journal lives on a 64 KiB tmpfs
// in a mount namespace of the test's own.
func TestDiskFullLeavesNoHalfSignature(t *testing.T) {
	testenv.Root(t, "mounting a small tmpfs")
	testenv.Tool(t, "unshare", "util-linux")
	dir := t.TempDir()
	key, _ := newSigningKey(t, dir, "op@test")
	book := filepath.Join(dir, "runbooks.yaml")
	os.WriteFile(book, []byte(`version: 1
runbooks:
  - name: fill
    steps:
      - name: chatty
        command: {run: "for i in $(seq 400); do head -c 1000 /dev/zero | tr '\\0' x; echo; done"}
      - name: after
        command: {run: "echo never"}
`), 0o600)
	tr := filepath.Join(dir, "tr")
	os.Mkdir(tr, 0o700)
	// The listing comes from inside the namespace, where the tmpfs is.
	script := fmt.Sprintf("mount -t tmpfs -o size=64k tmpfs %s && %s run %s --plain --yes --transcript %s --sign-key %s; echo EXIT=$?; ls -a %s",
		tr, cutoverBin(t), book, tr, key, tr)
	cmd := exec.Command("unshare", "--mount", "sh", "-c", script)
	out, _ := cmd.CombinedOutput()
	text := string(out)
	if !strings.Contains(text, "EXIT=1") || strings.Contains(text, "never") {
		t.Fatalf("the run did not stop on the full disk:\n%s", text[max(0, len(text)-3000):])
	}
	if strings.Contains(text, ".sig.tmp") || strings.Contains(text, "ssh-keygen -Y verify") || !strings.Contains(text, "signature: NOT written") {
		t.Errorf("after a full disk:\n%s", text[max(0, len(text)-3000):])
	}
}
