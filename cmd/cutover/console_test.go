package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/teatest"

	"github.com/cutover/cutover/lab"
)

// The console drives the seed runbook in the lab as an engineer would: confirm the move, watch the
// graph fill, answer a failed post-check gate with a rollback, and see the VM back on SITE-A.
func TestConsoleDrivesARollbackInTheLab(t *testing.T) {
	seed, err := os.ReadFile("../../runbooks.yaml")
	if err != nil {
		t.Fatal(err)
	}
	book := filepath.Join(t.TempDir(), "runbooks.yaml")
	text := strings.NewReplacer("timeout: 10s", "timeout: 1s", "interval: 2s", "interval: 100ms", "settle: 5s", "settle: 600ms",
		"gate: {require: all, retries: 1, interval: 2s, on_fail: rollback}", "gate: {require: all, on_fail: ask}").Replace(string(seed))
	os.WriteFile(book, []byte(text), 0o600)

	var final []byte
	o := runOptions{transcript: t.TempDir(), operator: "trainee@lab", forks: 50, console: func(m tea.Model) error {
		tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(120, 40))
		var seen bytes.Buffer
		wait := func(what string) {
			t.Helper()
			teatest.WaitFor(t, tm.Output(), func(b []byte) bool {
				seen.Write(b)
				return bytes.Contains(seen.Bytes(), []byte(what))
			}, teatest.WithDuration(30*time.Second), teatest.WithCheckInterval(20*time.Millisecond))
			seen.Reset()
		}
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
	}}
	var out, errs bytes.Buffer
	err = runLab(streams{in: strings.NewReader(""), out: &out, err: &errs}, book, seedRunbook, o, lab.Faults{UnitDown: "nginx"}, 300*time.Millisecond)
	if code := exitCodeOf(err); code != exitFailed {
		t.Fatalf("exit %d (%v)\n%s\n%s", code, err, out.String(), errs.String())
	}
	if !bytes.Contains(final, []byte("run ended: rolled-back")) {
		t.Errorf("final screen:\n%s", final)
	}
	if !strings.Contains(out.String(), "rolled-back") || !strings.Contains(out.String(), "verify:") {
		t.Errorf("after the console, the summary says where the proof is:\n%s", out.String())
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
