package ui

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/cutover/cutover/runbook"
	"github.com/cutover/cutover/runbook/transcript"
)

// longWatch is a move watched with a five-minute settle: three requests lost at the switch-over,
// a spike as the fabric settles, then the round trip of the other site (the gateway two
// milliseconds further away), at 200 ms a request.
func longWatch(settle time.Duration) []runbook.Event {
	t0 := time.Date(2026, 12, 1, 11, 40, 0, 0, time.UTC)
	seq := int64(0)
	ev := func(at time.Duration, typ runbook.EventType, step string, d any) runbook.Event {
		seq++
		return runbook.Event{Seq: seq, Time: t0.Add(at), Run: "r1", Type: typ, Step: step, Data: d}
	}
	move := runbook.Move{VM: "app-01", Host: "esx-b-01"}
	limits := runbook.WatchLimits{MaxLost: 3}
	evs := []runbook.Event{
		ev(0, runbook.EvRunStart, "", runbook.RunStartData{Runbook: "stretched-vlan-vmotion", Operator: "oncall@noc", Steps: []string{"migrate"}}),
		ev(0, runbook.EvStepStart, "migrate", runbook.StepStartData{Index: 1, Of: 1, Phase: runbook.PhaseRun, Action: "migrate"}),
		ev(0, runbook.EvWatch, "migrate", runbook.WatchData{Phase: runbook.WatchStart, Target: "10.20.0.1", From: "app", Limits: limits}),
		ev(200*time.Millisecond, runbook.EvMigrate, "migrate", runbook.MigrateData{Phase: runbook.MigrateStart, Move: move}),
	}
	actionEnd := 22 * time.Second
	end := actionEnd + settle
	var batch [][3]int64
	sent, lost := 0, 0
	for at := time.Duration(0); at <= end; at += 200 * time.Millisecond {
		rtt := int64(300 + (at.Milliseconds()/200*37)%90)
		switch {
		case at >= 20*time.Second && at < 20600*time.Millisecond:
			rtt = -1
			lost++
		case at == 20600*time.Millisecond:
			rtt = 2900
		case at > 21*time.Second:
			rtt += 2000
		}
		sent++
		batch = append(batch, [3]int64{int64(sent - 1), t0.Add(at).UnixMilli(), rtt})
		if at%time.Second == 0 && at > 0 {
			st := runbook.WatchStats{Sent: sent, Lost: lost, Received: sent - lost}
			evs = append(evs, ev(at, runbook.EvPing, "migrate", runbook.PingData{Target: "10.20.0.1", From: "app", Samples: batch, Stats: st, Span: &st}))
			batch = nil
		}
		if at == 19800*time.Millisecond {
			evs = append(evs, ev(at, runbook.EvProgress, "migrate", runbook.ProgressData{VM: "app-01", Percent: 92, Stage: "Switching over to the destination"}))
		}
		if at == actionEnd {
			evs = append(evs, ev(at, runbook.EvMigrate, "migrate", runbook.MigrateData{Phase: runbook.MigrateDone, Move: move, To: &runbook.Placement{Host: "esx-b-01", Cluster: "SITE-B"}}),
				ev(at, runbook.EvWatch, "migrate", runbook.WatchData{Phase: runbook.WatchSettle, Target: "10.20.0.1", From: "app", Limits: limits,
					Span: &runbook.WatchSpan{From: t0, ActionEnd: t0.Add(actionEnd), To: t0.Add(end)}}))
		}
	}
	st := runbook.WatchStats{Sent: sent, Lost: lost, Received: sent - lost}
	evs = append(evs, ev(end, runbook.EvWatch, "migrate", runbook.WatchData{Phase: runbook.WatchEnd, Target: "10.20.0.1", From: "app", Limits: limits, Verdict: "pass",
		Stats: &st, Whole: &st, Span: &runbook.WatchSpan{From: t0, ActionEnd: t0.Add(actionEnd), To: t0.Add(end)},
		Latency: &runbook.WatchLatency{Before: runbook.RTTFigures{Answers: 99, P50: 0.34}, After: runbook.RTTFigures{Answers: 1500, P50: 2.34}}}))
	return evs
}

// The graph of a five-minute settle after a move that lost three requests: x is time, the axes are
// labelled, the move's stages and the settle's end are marked, and the losses are still in view
// at the end (not scrolled away): at 80 columns all three in one column ("3"), at 200 each its own.
func TestGraphKeepsTheWholeWatch(t *testing.T) {
	evs := longWatch(5 * time.Minute)
	for _, size := range [][2]int{{80, 24}, {200, 50}} {
		m := console(t, Options{}, size[0], size[1], evs, time.Second)
		frame := ansi.Strip(m.View())
		checkFrame(t, frame, size[0], size[1])
		golden(t, "graph-settle-"+itoa(size[0])+"x"+itoa(size[1]), frame)
		graph := frame[strings.Index(frame, "────\n")+5:]
		lostMarks := strings.Count(graph, "✗") - strings.Count(graph, "✗ lost")
		switch {
		case size[0] == 80 && !regexp.MustCompile(`(?m)^     0 ┤.*3`).MatchString(graph):
			t.Errorf("%v: the three losses are not in view:\n%s", size, graph)
		case size[0] == 200 && lostMarks+3*strings.Count(regexp.MustCompile(`(?m)^     0 ┤.*$`).FindString(graph), "3") < 3:
			t.Errorf("%v: the three losses are not in view:\n%s", size, graph)
		}
		axis := regexp.MustCompile(`(?m)^       └.*$`).FindString(graph)
		for _, l := range []string{"S", "X", "E", "T"} {
			if !strings.Contains(axis, l) {
				t.Errorf("%v: the time axis lacks the mark %s: %q", size, l, axis)
			}
		}
		if !strings.Contains(graph, "11:40:00") || size[0] == 200 && !strings.Contains(graph, "RTT 0.34 → 2.34 ms (+2.00)") ||
			!strings.Contains(graph, "gated 1611 sent, 3 lost · whole 1611 sent, 3 lost") && !strings.Contains(graph, "gated span: 1611 sent, 3 lost · whole watch: 1611 sent, 3 lost") {
			t.Errorf("%v: the graph lacks its clock, latency or counts:\n%s", size, graph)
		}
	}
}

// A real lab run's breach (cutover lab --plain --yes --fault ping-loss=3): the breach marked where
// it happened, its losses drawn, the gate's verdict unambiguous; the way back has a watch of its
// own, one key away.
func TestGraphOfALabBreach(t *testing.T) {
	evs, err := transcript.ReadEvents(filepath.Join("testdata", "ping-loss.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range [][2]int{{80, 24}, {200, 50}} {
		m := console(t, Options{Lab: true}, size[0], size[1], evs, time.Second)
		m = send(m, "w") // the first watch: the move that breached
		frame := ansi.Strip(m.View())
		checkFrame(t, frame, size[0], size[1])
		golden(t, "graph-breach-"+itoa(size[0])+"x"+itoa(size[1]), frame)
		if !strings.Contains(frame, "[1/2 migrate]") || !strings.Contains(frame, "✗ fail: 2 packets lost, limit 1") {
			t.Errorf("%v: head:\n%s", size, frame)
		}
		axis := regexp.MustCompile(`(?m)^       └.*$`).FindString(frame)
		if !strings.Contains(axis, "B") || !strings.Contains(axis, "S") {
			t.Errorf("%v: the breach is not marked: %q", size, axis)
		}
		back := ansi.Strip(send(m, "w").View())
		if !strings.Contains(back, "[2/2 migrate-back]") || !strings.Contains(back, "✓ pass (≤1 lost)") {
			t.Errorf("%v: the way back:\n%s", size, back)
		}
	}
}

// The span key shows the gated span only; the log key a logarithmic axis.
func TestGraphKeys(t *testing.T) {
	m := console(t, Options{}, 200, 50, longWatch(5*time.Minute), time.Second)
	whole := ansi.Strip(m.View())
	gated := ansi.Strip(send(m, "s").View())
	if !strings.Contains(gated, "gated span shown") || whole == gated {
		t.Errorf("s does not switch to the gated span:\n%s", gated)
	}
	if logged := ansi.Strip(send(m, "y").View()); !strings.Contains(logged, "10µs") {
		t.Errorf("y does not switch to a log axis:\n%s", logged)
	}
}

// BenchmarkGraph4h renders the graph of a four-hour watch (72,000 requests at 200 ms, folded
// into the bounded history) at 200 columns.
func BenchmarkGraph4h(b *testing.B) {
	w := fourHours()
	s := newStyles(true)
	v := graphView{now: time.UnixMilli(w.History.Buckets[len(w.History.Buckets)-1].To), live: true}
	b.ResetTimer()
	for range b.N {
		_ = renderGraph(w, 200, graphRowsTall, s, v)
	}
}

func fourHours() *runbook.WatchState {
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	st := runbook.NewRunState()
	st.Apply(runbook.Event{Seq: 1, Run: "r", Time: t0, Type: runbook.EvRunStart, Data: runbook.RunStartData{Runbook: "x", Steps: []string{"migrate"}}})
	st.Apply(runbook.Event{Seq: 2, Run: "r", Time: t0, Type: runbook.EvWatch, Step: "migrate", Data: runbook.WatchData{Phase: runbook.WatchStart, Target: "gw"}})
	var batch [][3]int64
	for i := range 72000 {
		rtt := int64(300 + i%97)
		if i%5000 == 4999 {
			rtt = -1
		}
		batch = append(batch, [3]int64{int64(i), t0.UnixMilli() + int64(i)*200, rtt})
		if len(batch) == 5 {
			st.Apply(runbook.Event{Seq: int64(3 + i), Run: "r", Time: t0, Type: runbook.EvPing, Step: "migrate", Data: runbook.PingData{Samples: batch}})
			batch = nil
		}
	}
	return st.Watch
}

// The history of a four-hour watch stays bounded, and keeps every loss.
func TestHistoryBounded(t *testing.T) {
	w := fourHours()
	if n := len(w.History.Buckets); n > 4096 {
		t.Errorf("%d buckets", n)
	}
	if sent, lost := w.History.Sent(); sent != 72000 || lost != 14 {
		t.Errorf("history holds %d sent, %d lost", sent, lost)
	}
	g := ansi.Strip(renderGraph(w, 200, graphRowsTall, newStyles(false), graphView{now: time.UnixMilli(w.History.Buckets[len(w.History.Buckets)-1].To)}))
	bottom := regexp.MustCompile(`(?m)^     0 ┤.*$`).FindString(g)
	if n := strings.Count(bottom, "✗"); n != 14 {
		t.Errorf("%d of 14 losses drawn:\n%s", n, g)
	}
	_ = tea.Quit
}
