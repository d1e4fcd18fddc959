package runbook

import (
	"fmt"
	"time"
)

// The fold of a run's gateway watches: every watch (the move and the way back), its whole history
// in bounded buckets, its marks, and the figures of each span.

// WatchState is one gateway watch.
type WatchState struct {
	Step         string
	Target, From string
	Limits       WatchLimits
	Started      time.Time
	History      History
	AllSamples   int
	Stats        WatchStats  // the whole watch, as the latest batch or the end says
	Span         *WatchStats // the gated span (the action and settle): what the gate counts
	Bounds       *WatchSpan  // the gated span's bounds, once the action ended
	Latency      *WatchLatency
	Marks        []WatchMark
	Verdict      string
	Reason       string
	Breach       string
	BreachAt     time.Time
}

// WatchMark is a moment the graph marks: the move's stages, the settle's end, the breach.
type WatchMark struct {
	At   time.Time
	Kind MarkKind
}

// MarkKind names a mark.
type MarkKind string

// The marks of a watch, with the letter the graph draws them with.
const (
	MarkMoveStart  MarkKind = "move start"
	MarkSwitchover MarkKind = "switch-over"
	MarkMoveEnd    MarkKind = "move end"
	MarkSettleEnd  MarkKind = "settle end"
	MarkBreach     MarkKind = "breach"
)

// Letter is how the graph's axis shows the mark.
func (k MarkKind) Letter() string {
	switch k {
	case MarkMoveStart:
		return "S"
	case MarkSwitchover:
		return "X"
	case MarkMoveEnd:
		return "E"
	case MarkSettleEnd:
		return "T"
	case MarkBreach:
		return "B"
	}
	return "?"
}

// Short is the mark's name in a graph's legend.
func (k MarkKind) Short() string {
	switch k {
	case MarkMoveStart:
		return "start"
	case MarkSwitchover:
		return "switch"
	case MarkMoveEnd:
		return "end"
	case MarkSettleEnd:
		return "settled"
	}
	return string(k)
}

// GateStats are the figures the gate counts: the gated span's, or the whole watch's before the
// span's first figures arrived (a journal older than span figures).
func (w *WatchState) GateStats() WatchStats {
	if w.Span != nil {
		return *w.Span
	}
	return w.Stats
}

func (w *WatchState) mark(at time.Time, k MarkKind) {
	for _, m := range w.Marks {
		if m.Kind == k && k != MarkSettleEnd {
			return // the first of each counts; a settle end may move (the action's end is known late)
		}
	}
	for i, m := range w.Marks {
		if m.Kind == k {
			w.Marks[i].At = at
			return
		}
	}
	w.Marks = append(w.Marks, WatchMark{At: at, Kind: k})
}

// watchOf is the newest watch of a step, or nil.
func (s *RunState) watchOf(step string) *WatchState {
	for i := len(s.Watches) - 1; i >= 0; i-- {
		if s.Watches[i].Step == step {
			return s.Watches[i]
		}
	}
	return nil
}

func (s *RunState) applyWatch(ev Event, d WatchData) {
	w := s.watchOf(ev.Step)
	if d.Phase == WatchStart || w == nil {
		w = &WatchState{Step: ev.Step, Target: d.Target, From: d.From, Limits: d.Limits, Started: ev.Time}
		s.Watches = append(s.Watches, w)
		s.Watch = w
	}
	if d.Span != nil {
		w.Bounds = d.Span
		w.mark(d.Span.To, MarkSettleEnd)
	}
	switch d.Phase {
	case WatchBreach:
		w.Breach, w.Reason, w.BreachAt = d.Reason, d.Reason, ev.Time
		s.moment(ev, "breach", "the gateway watch broke its gate: "+d.Reason, "")
		w.mark(ev.Time, MarkBreach)
		if d.Stats != nil {
			st := *d.Stats
			w.Span = &st
		}
	case WatchEnd:
		w.Verdict, w.Reason, w.Latency = d.Verdict, d.Reason, d.Latency
		if d.Stats != nil {
			st := *d.Stats
			w.Span = &st
		}
		if d.Whole != nil {
			w.Stats = *d.Whole
		} else if d.Stats != nil {
			w.Stats = *d.Stats // older journals: the end's figures are all there is
		}
	}
}

func (s *RunState) applyPing(ev Event, d PingData) {
	w := s.watchOf(ev.Step)
	if w == nil {
		w = s.Watch
	}
	if w == nil {
		return
	}
	for _, x := range d.Samples {
		w.History.Add(x)
	}
	w.AllSamples += len(d.Samples)
	if w.Verdict == "" {
		w.Stats = d.Stats
		if d.Span != nil { // the gated span counts on after a breach; the gate line says it broke
			st := *d.Span
			w.Span = &st
		}
	}
}

// moveMark marks a move's stages on the watch beside it.
func (s *RunState) moveMark(ev Event, k MarkKind) {
	if w := s.watchOf(ev.Step); w != nil && w.Verdict == "" {
		w.mark(ev.Time, k)
	}
}

// Counts says the watch's counts, each with its span, the same in every reader: "gated span: 39
// sent, 1 lost · whole watch: 41 sent, 1 lost". The gate counts the gated span only (the action
// and its settle); the whole watch began a moment before the action.
func (w *WatchState) Counts() string {
	g := w.GateStats()
	return fmt.Sprintf("gated span: %d sent, %d lost · whole watch: %d sent, %d lost", g.Sent, g.Lost, w.Stats.Sent, w.Stats.Lost)
}

// GateLine is the gate's verdict as it stands: watching, breached (when, and why; it cannot
// un-break), then the verdict.
func (w *WatchState) GateLine() string {
	limit := fmt.Sprintf("≤%d lost", w.Limits.MaxLost)
	switch {
	case w.Verdict == "pass":
		return "pass (" + limit + ")"
	case w.Verdict != "":
		return "fail: " + w.Reason
	case w.Breach != "":
		return "breached at " + w.BreachAt.UTC().Format("15:04:05") + ": " + w.Breach
	}
	return "watching (" + limit + ")"
}
