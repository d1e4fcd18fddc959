package runbook

import (
	"strings"
	"testing"
	"time"
)

// The fold keeps every watch of a run (the move's and the way back's), marks the move's stages, the
// settle's end and the breach on the watch beside them, and says the counts with their spans.
func TestRunStateWatches(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 11, 40, 0, 0, time.UTC)
	seq := int64(0)
	ev := func(at time.Duration, typ EventType, step string, d any) Event {
		seq++
		return Event{Seq: seq, Run: "r", Time: t0.Add(at), Type: typ, Step: step, Data: d}
	}
	move := Move{VM: "app-01", Host: "esx-b-01"}
	span := WatchStats{Sent: 9, Lost: 2}
	whole := WatchStats{Sent: 10, Lost: 2}
	s := FoldEvents([]Event{
		ev(0, EvRunStart, "", RunStartData{Runbook: "rb", Steps: []string{"migrate"}}),
		ev(0, EvStepStart, "migrate", StepStartData{Phase: PhaseRun, Action: "migrate"}),
		ev(0, EvWatch, "migrate", WatchData{Phase: WatchStart, Target: "gw", Limits: WatchLimits{MaxLost: 1}}),
		ev(time.Second, EvMigrate, "migrate", MigrateData{Phase: MigrateStart, Move: move}),
		ev(2*time.Second, EvProgress, "migrate", ProgressData{Percent: 92, Stage: "Switching over to the destination"}),
		ev(2*time.Second, EvProgress, "migrate", ProgressData{Percent: 98, Stage: "Switching over, ARP"}), // the first switch-over counts
		ev(2*time.Second, EvPing, "migrate", PingData{Samples: [][3]int64{{0, t0.UnixMilli(), 300}, {1, t0.UnixMilli() + 2000, -1}, {2, t0.UnixMilli() + 2200, -1}}, Stats: whole, Span: &span}),
		ev(2300*time.Millisecond, EvWatch, "migrate", WatchData{Phase: WatchBreach, Reason: "2 packets lost, limit 1", Stats: &span}),
		ev(3*time.Second, EvPing, "migrate", PingData{Samples: [][3]int64{{3, t0.UnixMilli() + 2400, -1}}, Stats: WatchStats{Sent: 11, Lost: 3}, Span: &WatchStats{Sent: 10, Lost: 3}}),
		ev(3*time.Second, EvMigrate, "migrate", MigrateData{Phase: MigrateDone, Move: move}),
		ev(3*time.Second, EvWatch, "migrate", WatchData{Phase: WatchSettle, Span: &WatchSpan{From: t0, ActionEnd: t0.Add(3 * time.Second), To: t0.Add(8 * time.Second)}}),
		ev(3*time.Second, EvWatch, "migrate", WatchData{Phase: WatchEnd, Verdict: "fail", Reason: "2 packets lost, limit 1", Stats: &WatchStats{Sent: 10, Lost: 3}, Whole: &WatchStats{Sent: 11, Lost: 3}}),
		ev(4*time.Second, EvStepStart, "migrate-back", StepStartData{Phase: PhaseRollback, Action: "migrate", Undoes: "migrate"}),
		ev(4*time.Second, EvWatch, "migrate-back", WatchData{Phase: WatchStart, Target: "gw", Limits: WatchLimits{MaxLost: 1}}),
		ev(5*time.Second, EvMigrate, "migrate-back", MigrateData{Phase: MigrateStart, Move: Move{VM: "app-01", Host: "esx-a-01"}}),
	})
	if len(s.Watches) != 2 || s.Watch != s.Watches[1] || s.Watches[1].Step != "migrate-back" {
		t.Fatalf("watches %+v", s.Watches)
	}
	w := s.Watches[0]
	var marks []string
	for _, m := range w.Marks {
		marks = append(marks, m.Kind.Letter()+m.At.Sub(t0).String())
	}
	if got := strings.Join(marks, " "); got != "S1s X2s B2.3s E3s T8s" {
		t.Errorf("marks %s", got)
	}
	// After the breach the gated span counts on; the gate line says it broke, and when.
	if got := w.Counts(); got != "gated span: 10 sent, 3 lost · whole watch: 11 sent, 3 lost" {
		t.Errorf("counts %q", got)
	}
	if got := w.GateLine(); got != "fail: 2 packets lost, limit 1" {
		t.Errorf("gate %q", got)
	}
	if sent, lost := w.History.Sent(); sent != 4 || lost != 3 {
		t.Errorf("history %d sent, %d lost", sent, lost)
	}
	// The way back's marks go on its own watch.
	if b := s.Watches[1]; len(b.Marks) != 1 || b.Marks[0].Kind != MarkMoveStart || b.GateLine() != "watching (≤1 lost)" {
		t.Errorf("the way back: %+v %q", b.Marks, b.GateLine())
	}
}

// A history merges neighbours when full: bounded, every request and every loss still counted, and
// time in order.
func TestHistoryHalves(t *testing.T) {
	var h History
	for i := range 3 * maxBuckets {
		rtt := int64(100 + i%50)
		if i%777 == 0 {
			rtt = -1
		}
		h.Add([3]int64{int64(i), int64(i) * 200, rtt})
	}
	if n := len(h.Buckets); n > maxBuckets || n < maxBuckets/4 {
		t.Errorf("%d buckets", n)
	}
	sent, lost := h.Sent()
	if sent != 3*maxBuckets || lost != (3*maxBuckets+776)/777 {
		t.Errorf("%d sent, %d lost", sent, lost)
	}
	for i := 1; i < len(h.Buckets); i++ {
		if h.Buckets[i].From <= h.Buckets[i-1].To {
			t.Fatalf("bucket %d overlaps its neighbour: %+v %+v", i, h.Buckets[i-1], h.Buckets[i])
		}
	}
}

// A rollback step that moves the VM back and has no watch of its own is watched as the move was,
// except that a breach lets it finish.
func TestRollbackMoveInheritsTheWatch(t *testing.T) {
	doc, err := Parse("r.yaml", []byte(`version: 1
runbooks:
  - name: rb
    hosts: {app: {address: 127.0.0.1}}
    steps:
      - name: migrate
        migrate: {vm: app-01, host: esx-b-01}
        watch: {ping: {from: app, target: auto, max_lost: 1, max_rtt_increase: 5ms, on_breach: cancel}}
        rollback:
          - name: migrate-back
            migrate: {vm: app-01, host: esx-a-01}
          - name: say-so
            command: {run: "true"}
`))
	if err != nil {
		t.Fatal(err)
	}
	st := doc.Runbooks[0].Steps[0]
	back, cmd := st.Rollback[0], st.Rollback[1]
	if back.Watch == nil || back.Watch.Ping.MaxRTTIncrease.Std() != 5*time.Millisecond || *back.Watch.Ping.MaxLost != 1 || back.Watch.Ping.OnBreach != "" {
		t.Errorf("the way back's watch: %+v", back.Watch)
	}
	if st.Watch.Ping.OnBreach != "cancel" || cmd.Watch != nil {
		t.Errorf("the move's watch changed (%+v) or a command inherited one (%+v)", st.Watch.Ping, cmd.Watch)
	}
}
