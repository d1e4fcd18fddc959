package runbook

import (
	"context"
	"strings"
	"testing"
	"time"
)

// killedAfter runs a runbook with the harness and keeps the record up to and including the first
// event that matches, as a kill right after it would.
func killedAfter(t *testing.T, book string, script map[string][]reply, at string, answers ...Answer) []Event {
	t.Helper()
	h := newHarness(t, book, script, answers...)
	h.run(t, context.Background())
	for i, line := range trace(h.rec.events) {
		if line == at {
			return h.rec.events[:i+1]
		}
	}
	t.Fatalf("no event %q", at)
	return nil
}

func TestResumeAfterAKillInsideTheMigration(t *testing.T) {
	// The first run dies right after the vMotion began: the VM did land on esx-b-01.
	vc := &fakeVCenter{on: map[string]string{"app-01": "esx-a-01"}}
	h := newHarness(t, migrateBook, map[string][]reply{"curl app": {{}}})
	h.cfg.VSphere = vc
	h.run(t, context.Background())
	cut := 0
	for i, ev := range h.rec.events {
		if d, ok := ev.Data.(MigrateData); ok && d.Phase == "start" {
			cut = i + 1
		}
	}
	rs, err := RebuildResume(h.rec.events[:cut])
	if err != nil {
		t.Fatal(err)
	}
	if rs.InFlight != "migrate" || rs.Runtime["origin_host"].Text != "esx-a-01" || rs.ActionDone["migrate"] || !rs.ActionBegan["migrate"] {
		t.Fatalf("rebuilt %+v", rs)
	}
	// Resume: vCenter says the VM is on esx-b-01 already, so nothing moves again.
	moves := len(vc.moves)
	h2 := newHarness(t, migrateBook, map[string][]reply{"curl app": {{}}})
	h2.cfg.VSphere, h2.cfg.Resume, h2.cfg.RunID = vc, rs, rs.RunID
	out := h2.run(t, context.Background())
	if out.Status != RunDone || len(vc.moves) != moves {
		t.Fatalf("outcome %+v, moves %v", out, vc.moves)
	}
	got := strings.Join(trace(h2.rec.events), "\n")
	for _, want := range []string{"resume", "migrate\nmigrate", "action migrate migrate app-01 to esx-b-01 pass", "step.start post run", "run.end done"} {
		if !strings.Contains(got, want) {
			t.Errorf("resumed events lack %q:\n%s", want, got)
		}
	}
	if h2.rec.events[0].Seq != rs.Seq+1 {
		t.Errorf("resumed seq starts at %d after %d", h2.rec.events[0].Seq, rs.Seq)
	}
}

func TestResumeContinuesAPendingRollback(t *testing.T) {
	events := killedAfter(t, rollbackBook, map[string][]reply{
		"do a": {{}}, "do b": {{}}, "do c": {{}}, "check c": {{exit: 1}},
		"undo c": {{}}, "undo b1": {{}}, "undo b2": {{}}, "check b": {{}}, "undo a": {{}},
	}, "step.start undo-b1 rollback") // killed inside undo-b1
	rs, err := RebuildResume(events)
	if err != nil {
		t.Fatal(err)
	}
	if rs.Rollback == nil || !rs.RollbackDone["undo-c"] || rs.RollbackDone["undo-b1"] {
		t.Fatalf("rebuilt %+v", rs)
	}
	h := newHarness(t, rollbackBook, map[string][]reply{"undo b1": {{}}, "undo b2": {{}}, "check b": {{}}, "undo a": {{}}})
	h.cfg.Resume, h.cfg.RunID = rs, rs.RunID
	if out := h.run(t, context.Background()); out.Status != RunRolledBack {
		t.Fatalf("outcome %+v", out)
	}
	h.runner.assertDone() // undo c is not run again; the rest of the rollback is
}

func TestResumeAsksBeforeRerunningACommandOfUnknownOutcome(t *testing.T) {
	events := killedAfter(t, rollbackBook, map[string][]reply{
		"do a": {{}}, "do b": {{}}, "do c": {{}}, "check c": {{}}, "do d": {{}},
	}, "cmd c do c") // "do c" started, its result not journaled
	rs, err := RebuildResume(events)
	if err != nil || rs.InFlight != "c" || !rs.ActionBegan["c"] || rs.ActionDone["c"] {
		t.Fatalf("rebuilt %+v %v", rs, err)
	}
	h := newHarness(t, rollbackBook, nil, Answer{Choice: Abort, Reason: "checking c by hand"})
	h.cfg.Resume, h.cfg.RunID = rs, rs.RunID
	out := h.run(t, context.Background())
	if out.Status != RunAborted || h.decider.questions[0].Kind != AskConfirm || !strings.Contains(h.decider.questions[0].Prompt, "Run the action again?") {
		t.Errorf("outcome %+v, questions %+v", out, h.decider.questions)
	}
	if _, err := RebuildResume(append(events, Event{Run: rs.RunID, Type: EvRunEnd, Data: RunEndData{Status: RunDone}})); err != ErrRunEnded {
		t.Errorf("a finished run: %v", err)
	}
}

// A run resumed past the point of no return meets the window's hard stop, as the first run would.
func TestResumeMeetsTheHardStop(t *testing.T) {
	book := `
version: 1
runbooks:
  - name: t
    window: {start: "2026-11-28T20:00:00Z", end: "2026-11-28T22:40:00Z", rollback_estimate: 30m, hard_stop: true}
    steps:
      - name: a
        command: {run: "do a"}
      - name: b
        command: {run: "do b"}
`
	now := time.Date(2026, 11, 28, 21, 0, 0, 0, time.UTC)
	clock := func() time.Time { now = now.Add(time.Millisecond); return now }
	h := newHarness(t, book, map[string][]reply{"do a": {{}}, "do b": {{}}})
	h.cfg.Clock = clock
	h.run(t, context.Background())
	var events []Event
	for i, line := range trace(h.rec.events) {
		if line == "step.end a passed" {
			events = h.rec.events[:i+1]
		}
	}
	rs, err := RebuildResume(events)
	if err != nil || !rs.Completed["a"] {
		t.Fatalf("rebuilt %+v %v (trace %q)", rs, err, trace(h.rec.events))
	}
	now = time.Date(2026, 11, 28, 22, 20, 0, 0, time.UTC) // the engineer resumes 80 minutes later
	h2 := newHarness(t, book, nil, Answer{Choice: Abort, Reason: "too late; next window"})
	h2.cfg.Clock, h2.cfg.Resume, h2.cfg.RunID = clock, rs, rs.RunID
	out := h2.run(t, context.Background())
	if out.Status != RunAborted || len(h2.decider.questions) != 1 || h2.decider.questions[0].Kind != AskWindow {
		t.Fatalf("outcome %+v, questions %+v", out, h2.decider.questions)
	}
}
