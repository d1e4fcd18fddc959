package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The real binary is killed (SIGKILL) at many points of a lab run; every resume must finish the
// run and leave a journal that verifies, signatures and all.
func TestKillAndResume(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and resumes several lab runs")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "cutover")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v %s", err, out)
	}
	book := mustAbs(t, "../../runbooks.yaml")
	for _, killAt := range []int{2, 9, 20, 30, 40, 52, 64, 76} {
		t.Run(fmt.Sprintf("line-%d", killAt), func(t *testing.T) {
			tr := filepath.Join(t.TempDir(), "tr")
			run := exec.Command(bin, "lab", "--file", book, "--plain", "--yes", "--relocate-time", "1s", "--transcript", tr, "--operator", "first@lab")
			run.Stdout, run.Stderr = new(bytes.Buffer), new(bytes.Buffer)
			if err := run.Start(); err != nil {
				t.Fatal(err)
			}
			journal := ""
			deadline := time.Now().Add(30 * time.Second)
			for time.Now().Before(deadline) {
				if journal == "" {
					if m, _ := filepath.Glob(filepath.Join(tr, "*.jsonl")); len(m) == 1 {
						journal = m[0]
					}
				}
				if journal != "" {
					if b, err := os.ReadFile(journal); err == nil && bytes.Count(b, []byte("\n")) >= killAt {
						break
					}
				}
				time.Sleep(2 * time.Millisecond)
			}
			run.Process.Kill()
			run.Wait()
			if journal == "" {
				t.Fatal("no journal")
			}
			before, _ := os.ReadFile(journal)
			if bytes.Contains(before, []byte(`"type":"run.end"`)) {
				t.Skipf("the run ended before line %d", killAt)
			}
			res := exec.Command(bin, "lab", "--resume", journal, "--plain", "--yes", "--relocate-time", "1s", "--operator", "second@lab")
			out, _ := res.CombinedOutput()
			// A clean run, killed anywhere, resumes to a clean end: nothing proceeded over.
			if code := res.ProcessState.ExitCode(); code != 0 || strings.Contains(string(out), "overridden") {
				t.Fatalf("resume after %d lines: exit %d\n%s", bytes.Count(before, []byte("\n")), code, out)
			}
			if !strings.Contains(string(out), "RESUME   by second@lab") {
				t.Errorf("resume output:\n%s", out)
			}
			v := exec.Command(bin, "verify", journal, "--allowed-signers", strings.TrimSuffix(journal, ".jsonl")+".allowed_signers")
			if vout, err := v.CombinedOutput(); err != nil {
				t.Errorf("the resumed journal does not verify: %v\n%s", err, vout)
			}
			after, _ := os.ReadFile(journal)
			if !bytes.HasPrefix(after, before[:bytes.LastIndexByte(before, '\n')+1]) {
				t.Error("resume rewrote what the first run had journaled")
			}
		})
	}
}
