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

// A wave in the lab, headless: six VMs over real SSH guests and the vCenter simulator, one whose
// vMotion fails; only that VM is rolled back, the rest move, and the report shows every VM.
func TestLabWave(t *testing.T) {
	t.Parallel() // waits on lab moves and settles: beside the other slow ones (CI runs the package under -race)
	dir := t.TempDir()
	tr := filepath.Join(dir, "tr")
	code, out, errs := cli(t, "", "lab", "--vms", "6", "--plain", "--yes", "--relocate-time", "300ms", "--fault", "relocate-fails@app-03", "--transcript", tr)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	if n := strings.Count(out, ": MOVED"); n != 5 {
		t.Errorf("%d VMs moved, want 5:\n%s", n, out)
	}
	if !strings.Contains(out, "vm app-03 batch 2: ROLLED BACK: step move: action relocate app-03 → esx-b-01") {
		t.Errorf("app-03's rollback is not said:\n%s", out)
	}
	for _, vm := range []string{"app-01", "app-02", "app-04", "app-05", "app-06"} {
		if !strings.Contains(out, "move-app-tier["+vm+"]/move") {
			t.Errorf("no line names %s's move", vm)
		}
	}
	journal := journalOf(t, tr)
	md := filepath.Join(dir, "r.md")
	if code, out, errs := cli(t, "", "report", journal, "-o", md); code != 0 {
		t.Fatalf("report: %d %s %s", code, out, errs)
	}
	b, _ := os.ReadFile(md)
	for _, want := range []string{"6 VMs in 3 batch(es) of 2 (max\\_failures 1, on\\_failure rollback\\_vm): 5 moved, 1 rolled back",
		"| app-01 | 1 | esx-a-01 → esx-b-01 | 1/", "| app-03 | 2 | esx-a-01 → — |"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("the report lacks %q", want)
		}
	}
}

// kill -9 in the middle of a wave and lab --resume: the wave finishes, no VM is moved twice, none
// is forgotten, and the journal verifies.
func TestLabWaveKillAndResume(t *testing.T) {
	t.Parallel() // waits on lab moves and settles: beside the other slow ones (CI runs the package under -race)
	bin := cutoverBin(t)
	tr := filepath.Join(t.TempDir(), "tr")
	run := exec.Command(bin, "lab", "--vms", "6", "--plain", "--yes", "--relocate-time", "400ms", "--transcript", tr, "--operator", "first@lab")
	run.Env = append(os.Environ(), "TMPDIR="+shortTempDir(t))
	run.Stdout, run.Stderr = new(bytes.Buffer), new(bytes.Buffer)
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { run.Wait(); close(exited) }()
	journal := ""
	deadline := time.Now().Add(60 * time.Second)
	for journal == "" || !bytes.Contains(readFile(journal), []byte(`"status":"moved"`)) {
		select {
		case <-exited:
			t.Fatalf("the run ended before the kill\n%s", run.Stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("no VM moved in 60 s")
		}
		if m, _ := filepath.Glob(filepath.Join(tr, "*.jsonl")); len(m) == 1 {
			journal = m[0]
		}
		time.Sleep(5 * time.Millisecond)
	}
	run.Process.Kill()
	<-exited
	before := readFile(journal)
	if bytes.Contains(before, []byte(`"type":"run.end"`)) {
		t.Fatal("the run ended before the kill")
	}
	allowed := strings.TrimSuffix(journal, ".jsonl") + ".allowed_signers"
	res := exec.Command(bin, "lab", "--resume", journal, "--vms", "6", "--plain", "--yes", "--relocate-time", "400ms", "--operator", "second@lab", "--allowed-signers", allowed)
	res.Env = append(os.Environ(), "TMPDIR="+shortTempDir(t))
	out, _ := res.CombinedOutput()
	if code := res.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("resume: exit %d\n%s", code, out)
	}
	after := readFile(journal)
	if !bytes.HasPrefix(after, before[:bytes.LastIndexByte(before, '\n')+1]) {
		t.Error("resume rewrote what the first run had journaled")
	}
	for i := 1; i <= 6; i++ {
		step := fmt.Sprintf(`"step":"move-app-tier[app-%02d]/move","data":{"phase":"done"`, i)
		if n := bytes.Count(after, []byte(step)); n != 1 {
			t.Errorf("app-%02d: %d finished moves in the journal, want 1", i, n)
		}
	}
	if n := strings.Count(string(out), ": MOVED"); n == 6 || n == 0 {
		t.Errorf("the resumed run moved %d VMs: the kill was not mid-wave or the resume started over\n%s", n, out)
	}
	if v, err := exec.Command(bin, "verify", journal, "--allowed-signers", allowed).CombinedOutput(); err != nil {
		t.Errorf("the resumed journal does not verify: %v\n%s", err, v)
	}
}

func readFile(p string) []byte {
	b, _ := os.ReadFile(p)
	return b
}
