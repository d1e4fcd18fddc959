package transcript

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/hiddeco/sshsig"
	"golang.org/x/crypto/ssh"

	"github.com/cutover/cutover/runbook"
)

var update = flag.Bool("update", false, "rewrite the golden journal")

// everyEvent is a scripted run that emits every event type the journal knows, with data in each
// field a reader uses.
func everyEvent() []runbook.Event {
	t0 := time.Date(2026, 11, 28, 22, 0, 0, 0, time.UTC)
	move := runbook.Move{VM: "app-01", Host: "esx-b-01"}
	from := &runbook.Placement{Host: "esx-a-01", Cluster: "SITE-A", Pool: "Resources", Datastore: "ds-a"}
	to := &runbook.Placement{Host: "esx-b-01", Cluster: "SITE-B", Pool: "Resources", Datastore: "ds-a"}
	stats := runbook.WatchStats{Sent: 10, Received: 9, Lost: 1, LongestRun: 1, LongestOutage: 200, RTTP95: 0.4}
	span := &runbook.WatchSpan{From: t0.Add(time.Second), ActionEnd: t0.Add(4 * time.Second), To: t0.Add(9 * time.Second)}
	evs := []runbook.Event{
		{Type: runbook.EvRunStart, Data: runbook.RunStartData{Runbook: "rb", File: "runbooks.yaml", FileSHA256: "ab", Operator: "alice@noc", Steps: []string{"pre", "migrate"}, Vars: map[string]string{"vm": "app-01", "token": "[secret]"},
			Window: &runbook.WindowData{Start: t0, End: t0.Add(4 * time.Hour), RollbackEstimate: runbook.Millis(45 * 60 * 1000)}}},
		{Type: runbook.EvCheckpoint},
		{Type: runbook.EvWindow, Data: runbook.WindowEventData{Phase: "closing", Left: 1_700_000}},
		{Type: runbook.EvStepStart, Step: "pre", Data: runbook.StepStartData{Index: 1, Of: 2, Phase: runbook.PhaseRun, Checks: 1, Description: "checks"}},
		{Type: runbook.EvCmd, Step: "pre", Data: runbook.CmdData{Index: 0, Check: "unit", Host: "app", Command: "systemctl is-active nginx", Attempt: 1}},
		{Type: runbook.EvOutput, Step: "pre", Data: runbook.OutputData{Index: 0, Check: "unit", Host: "app", Lines: []runbook.Line{{Stream: "stdout", Text: "active"}, {Stream: "stderr", Text: "warn", Cut: true}}, Dropped: 2, DroppedBytes: 10}},
		{Type: runbook.EvCheck, Step: "pre", Data: runbook.CheckData{Index: 0, Check: "unit", Kind: "unit_active", Host: "app", Attempt: 1, ID: "u", Duration: 12, Result: runbook.Result{Outcome: runbook.Inconclusive, Summary: "timed out", Evidence: []string{"e"}, Baseline: []string{"b"}}}},
		{Type: runbook.EvGate, Step: "pre", Data: runbook.GateData{Attempt: 1, Attempts: 1, Require: "all", Verdict: runbook.Inconclusive, Inconclusive: 1}},
		{Type: runbook.EvQuestion, Step: "pre", Data: runbook.QuestionData{Kind: runbook.AskGate, Prompt: "step pre: unit timed out", Verdict: runbook.Inconclusive, Options: []runbook.Choice{runbook.Proceed, runbook.Abort}, NeedReason: []runbook.Choice{runbook.Abort}, OnFail: runbook.OnFailAsk, Unattended: "proceed"}},
		{Type: runbook.EvDecision, Step: "pre", Data: runbook.DecisionData{Choice: runbook.Proceed, Reason: "--yes: the gate says unattended: proceed", By: "--yes"}},
		{Type: runbook.EvStepEnd, Step: "pre", Data: runbook.StepEndData{Status: runbook.StepOverridden, Reason: "proceeded", Duration: 1200}},
		{Type: runbook.EvCheckpoint, Step: "pre"},
		{Type: runbook.EvPause, Data: runbook.PauseData{Paused: true}},
		{Type: runbook.EvPause, Data: runbook.PauseData{Paused: false}},
		{Type: runbook.EvStepStart, Step: "migrate", Data: runbook.StepStartData{Index: 2, Of: 2, Phase: runbook.PhaseRun, Action: "migrate"}},
		{Type: runbook.EvApprovalRq, Step: "migrate", Data: runbook.ApprovalRequest{Needed: 1, Message: "approve migrate of run r1"}},
		{Type: runbook.EvApproval, Step: "migrate", Data: runbook.ApprovalData{Message: "approve migrate of run r1", Key: "ssh-ed25519 AAAA", Fingerprint: "SHA256:x", Sig: "sig"}},
		{Type: runbook.EvMigrate, Step: "migrate", Data: runbook.MigrateData{Phase: "origin", Move: move, From: from}},
		{Type: runbook.EvWatch, Step: "migrate", Data: runbook.WatchData{Phase: "start", Target: "10.20.0.1", From: "app", Limits: runbook.WatchLimits{MaxLost: 1, MaxOutage: 1000}}},
		{Type: runbook.EvMigrate, Step: "migrate", Data: runbook.MigrateData{Phase: "start", Move: move, From: from}},
		{Type: runbook.EvProgress, Step: "migrate", Data: runbook.ProgressData{VM: "app-01", Percent: 55, Stage: "Copying memory", Elapsed: 1700}},
		{Type: runbook.EvPing, Step: "migrate", Data: runbook.PingData{Target: "10.20.0.1", From: "app", Samples: [][3]int64{{1, t0.UnixMilli(), 300}, {2, t0.UnixMilli() + 200, -1}}, Stats: stats, Span: &stats}},
		{Type: runbook.EvWatch, Step: "migrate", Data: runbook.WatchData{Phase: "breach", Target: "10.20.0.1", From: "app", Reason: "2 packets lost, limit 1", Window: [][3]int64{{2, t0.UnixMilli() + 200, -1}}}},
		{Type: runbook.EvNote, Step: "migrate", Data: runbook.NoteData{Source: "vcenter", Text: "logged in again"}},
		{Type: runbook.EvMigrate, Step: "migrate", Data: runbook.MigrateData{Phase: "done", Move: move, From: from, To: to, Duration: 3100}},
		{Type: runbook.EvWatch, Step: "migrate", Data: runbook.WatchData{Phase: "settle", Target: "10.20.0.1", From: "app", Limits: runbook.WatchLimits{MaxLost: 1, MaxRTTIncrease: 5}, Span: span}},
		{Type: runbook.EvWatch, Step: "migrate", Data: runbook.WatchData{Phase: "end", Target: "10.20.0.1", From: "app", Stats: &stats, Whole: &stats, Verdict: "fail", Reason: "2 packets lost, limit 1", Span: span,
			Latency: &runbook.WatchLatency{Before: runbook.RTTFigures{Answers: 12, P50: 0.31, P95: 0.45}, After: runbook.RTTFigures{Answers: 25, P50: 2.3, P95: 2.41}}}},
		{Type: runbook.EvAction, Step: "migrate", Data: runbook.CheckData{Index: runbook.ActionIndex, Check: "migrate app-01", Kind: "migrate", Attempt: 1, Result: runbook.Result{Outcome: runbook.Fail, Summary: "gateway watch failed"}}},
		{Type: runbook.EvStepEnd, Step: "migrate", Data: runbook.StepEndData{Status: runbook.StepFailed, Reason: "watch", Duration: 4000}},
		{Type: runbook.EvCheckpoint, Step: "migrate"},
		{Type: runbook.EvRollback, Data: runbook.RollbackData{Trigger: "migrate", Reason: "watch", Steps: []string{"migrate-back"}}},
		{Type: runbook.EvStepStart, Step: "migrate-back", Data: runbook.StepStartData{Index: 1, Of: 1, Phase: runbook.PhaseRollback, Undoes: "migrate", Action: "migrate"}},
		{Type: runbook.EvMigrate, Step: "migrate-back", Data: runbook.MigrateData{Phase: "skipped", Move: runbook.Move{VM: "app-01", Host: "esx-a-01"}}},
		{Type: runbook.EvStepEnd, Step: "migrate-back", Data: runbook.StepEndData{Status: runbook.StepPassed, Duration: 10}},
		{Type: runbook.EvCheckpoint, Step: "migrate-back"},
		{Type: runbook.EvRunEnd, Data: runbook.RunEndData{Status: runbook.RunInterrupted, Reason: "interrupted: hangup signal received", Duration: 9000}},
		{Type: runbook.EvCheckpoint},
		{Type: runbook.EvResume, Data: runbook.ResumeData{Operator: "bob@noc", Completed: []string{"pre"}, InFlight: "migrate-back", Rollback: true, Dropped: 12}},
		{Type: runbook.EvCheckpoint},
		{Type: runbook.EvRunEnd, Data: runbook.RunEndData{Status: runbook.RunRolledBack, Reason: "watch", Duration: 1000}},
		{Type: runbook.EvCheckpoint},
	}
	for i := range evs {
		evs[i].Seq, evs[i].Run, evs[i].Time = int64(i+1), "20261128T220000Z-rb-golden", t0.Add(time.Duration(i)*time.Second)
	}
	return evs
}

// Every event type is pinned: the scripted run's journal is byte for byte the golden file, reads
// back to the same events, and folds into the state every reader shows.
func TestGoldenJournalOfEveryEventType(t *testing.T) {
	evs := everyEvent()
	seen := map[runbook.EventType]bool{}
	for _, ev := range evs {
		seen[ev.Type] = true
	}
	for _, typ := range []runbook.EventType{runbook.EvRunStart, runbook.EvStepStart, runbook.EvCmd, runbook.EvOutput, runbook.EvAction, runbook.EvCheck, runbook.EvGate, runbook.EvQuestion, runbook.EvDecision,
		runbook.EvRollback, runbook.EvStepEnd, runbook.EvCheckpoint, runbook.EvMigrate, runbook.EvProgress, runbook.EvPing, runbook.EvWatch, runbook.EvPause, runbook.EvWindow, runbook.EvResume,
		runbook.EvApprovalRq, runbook.EvApproval, runbook.EvRunEnd, runbook.EvNote} {
		if !seen[typ] {
			t.Errorf("the golden run has no %s event", typ)
		}
	}
	// Fixed keys: ed25519 signatures are deterministic, so the golden bytes are too.
	operator, approver := fixedSigner(t, 1), fixedSigner(t, 2)
	for i := range evs {
		if d, ok := evs[i].Data.(runbook.ApprovalData); ok {
			sig, err := sshsig.Sign(bytes.NewReader([]byte(d.Message)), approver.key, sshsig.HashSHA512, ApprovalNamespace)
			if err != nil {
				t.Fatal(err)
			}
			d.Key, d.Fingerprint, d.Sig = approver.PublicKey(), approver.Fingerprint(), string(sshsig.Armor(sig))
			evs[i].Data = d
		}
	}
	dir := t.TempDir()
	w, err := Create(dir, evs[0].Run, "golden", operator, nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := Recorder{W: w}
	for i := range evs {
		ev := evs[i]
		if ev.Type == runbook.EvCheckpoint {
			ev.Data = rec.Checkpoint()
			evs[i].Data = ev.Data
		}
		if err := rec.Record(&ev); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	got, _ := os.ReadFile(w.Path())
	golden := filepath.Join("testdata", "golden.jsonl")
	if *update {
		os.WriteFile(golden, got, 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("the journal's bytes changed (check, then go test ./runbook/transcript -run Golden -update):\n%s", got)
	}
	back, err := ReadEvents(golden)
	if err != nil {
		t.Fatal(err)
	}
	if len(back) != len(evs) {
		t.Fatalf("%d events read back, %d written", len(back), len(evs))
	}
	for i := range evs {
		a, _ := json.Marshal(evs[i].Data)
		b, _ := json.Marshal(back[i].Data)
		if back[i].Type != evs[i].Type || back[i].Step != evs[i].Step || !back[i].Time.Equal(evs[i].Time) || !bytes.Equal(a, b) || reflect.TypeOf(back[i].Data) != reflect.TypeOf(evs[i].Data) && evs[i].Data != nil {
			t.Errorf("event %d (%s) read back as %T %s, written %T %s", i+1, evs[i].Type, back[i].Data, b, evs[i].Data, a)
		}
	}
	s := runbook.FoldEvents(back)
	if s.Status != string(runbook.RunRolledBack) || len(s.Resumes) != 1 || s.Step("migrate").Status != "rolled back" || s.Migration() == nil || s.Migration().To != "esx-b-01" ||
		s.Watch == nil || s.Watch.Breach == "" || len(s.Notes) != 1 || len(s.Decisions) != 1 || s.Step("migrate").Approval == "" || len(s.Problems()) != 2 {
		t.Errorf("fold: %+v", s)
	}
	if rep, err := Verify(golden, VerifyOptions{}); err != nil || rep.Problem != nil || rep.Lines != len(evs) || rep.Checkpoints != 7 || len(rep.Approvals) != 1 {
		t.Errorf("verify: %+v %v", rep, err)
	}
}

func fixedSigner(t *testing.T, seed byte) *Signer {
	t.Helper()
	k, err := ssh.NewSignerFromKey(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize)))
	if err != nil {
		t.Fatal(err)
	}
	return &Signer{key: k, from: "fixed test key"}
}

// A journal of the format before the watch's figures moved to milliseconds (they were in
// nanoseconds, *_ns) still verifies and reads to the same figures.
func TestOlderJournalFormatReads(t *testing.T) {
	old := filepath.Join("testdata", "golden-ns-2026-12-01.jsonl")
	if rep, err := Verify(old, VerifyOptions{}); err != nil || rep.Problem != nil {
		t.Fatalf("verify: %+v %v", rep, err)
	}
	events, err := ReadEvents(old)
	if err != nil {
		t.Fatal(err)
	}
	var stats []runbook.WatchStats
	var limits runbook.WatchLimits
	for _, ev := range events {
		switch d := ev.Data.(type) {
		case runbook.PingData:
			stats = append(stats, d.Stats)
		case runbook.WatchData:
			if d.Phase == runbook.WatchStart {
				limits = d.Limits
			}
		}
	}
	want := runbook.WatchStats{Sent: 10, Received: 9, Lost: 1, LongestRun: 1, LongestOutage: 200, RTTP95: 0.4}
	if len(stats) != 1 || stats[0] != want || limits.MaxLost != 1 || limits.MaxOutage != 1000 {
		t.Errorf("read %+v, limits %+v; want %+v", stats, limits, want)
	}
}
