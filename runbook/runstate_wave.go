package runbook

import (
	"fmt"
	"strings"
)

// WaveState is a wave as the journal tells it: each item's batch, where its VM went, what its
// watch saw and how it ended.
type WaveState struct {
	Step            string
	BatchSize       int
	Batches         int
	MaxFailures     int
	Rule            string
	ParallelPerHost int
	Items           []*ItemState
	byVM            map[string]*ItemState
}

// ItemState is one VM of a wave.
type ItemState struct {
	VM      string
	Batch   int
	Status  string // pending, running, then moved, failed, rolled back, rollback failed, skipped
	Reason  string
	Step    string // the item step running or last run
	Origin  string // the host it was on
	Target  string // the host it was moved to
	Host    string // where the journal last saw it
	Watch   *WatchStats
	Latency *WatchLatency
	Verdict string // its move's watch verdict
	Undone  bool   // a rollback of it ran
	// Runtime is what its first move recorded (origin_host, …): where its rollback takes it.
	Runtime map[string]string
}

// Item finds a wave's item by VM.
func (w *WaveState) Item(vm string) *ItemState { return w.byVM[vm] }

// Counts are the items by status, in the order a summary bar shows them.
func (w *WaveState) Counts() map[string]int {
	n := map[string]int{}
	for _, it := range w.Items {
		n[it.Status]++
	}
	return n
}

// Summary says the wave in one line: "50 VMs in 3 batches of 20: 48 moved, 1 rolled back, 1 pending".
func (w *WaveState) Summary() string {
	n := w.Counts()
	var parts []string
	for _, s := range []string{ItemMoved, ItemRolledBack, ItemFailed, ItemRollbackFailed, "running", "pending", ItemSkipped} {
		if n[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n[s], s))
		}
	}
	return fmt.Sprintf("%d VMs in %d batch(es) of %d (max_failures %d, on_failure %s): %s", len(w.Items), w.Batches, w.BatchSize, w.MaxFailures, w.Rule, strings.Join(parts, ", "))
}

// Wave finds a wave by its step.
func (s *RunState) Wave(step string) *WaveState {
	for _, w := range s.Waves {
		if w.Step == step {
			return w
		}
	}
	return nil
}

// applyWave folds the wave events and what an item's own events say of it.
func (s *RunState) applyWave(ev Event) {
	switch d := ev.Data.(type) {
	case WaveData:
		w := &WaveState{Step: ev.Step, BatchSize: d.BatchSize, Batches: d.Batches, MaxFailures: d.MaxFailures, Rule: d.Rule, ParallelPerHost: d.ParallelPerHost, byVM: map[string]*ItemState{}}
		for i, vm := range d.Items {
			it := &ItemState{VM: vm, Batch: i/max(d.BatchSize, 1) + 1, Status: "pending"}
			w.Items = append(w.Items, it)
			w.byVM[vm] = it
		}
		if old := s.Wave(ev.Step); old != nil { // a resumed run opens its wave again: its items stay as they were
			return
		}
		s.Waves = append(s.Waves, w)
		return
	case WaveItemData:
		if w := s.Wave(ev.Step); w != nil {
			if it := w.Item(d.Item); it != nil {
				it.Status, it.Reason, it.Batch = d.Status, d.Reason, d.Batch
				it.Undone = it.Undone || d.Status == ItemRolledBack || d.Status == ItemRollbackFailed
				s.moment(ev, "wave", fmt.Sprintf("%s: %s%s", d.Item, d.Status, prefixed("; ", d.Reason)), "")
			}
		}
		return
	}
	wave, vm, step, ok := SplitItemStep(ev.Step)
	if !ok {
		return
	}
	w := s.Wave(wave)
	if w == nil {
		return
	}
	it := w.Item(vm)
	if it == nil {
		return
	}
	switch d := ev.Data.(type) {
	case StepStartData:
		it.Step = step
		if it.Status == "pending" {
			it.Status = "running"
		}
	case MigrateData:
		switch d.Phase {
		case MigrateOrigin:
			if it.Origin == "" && d.From != nil {
				it.Origin, it.Host = d.From.Host, d.From.Host
			}
			if it.Runtime == nil && d.From != nil { // the first move is the forward one
				it.Runtime = d.From.origin()
			}
		case MigrateDone:
			if d.To != nil {
				it.Host = d.To.Host
				if it.Target == "" {
					it.Target = d.To.Host
				}
			}
		}
	case WatchData:
		if d.Phase == WatchEnd && it.Watch == nil { // the move's watch, not the way back's
			it.Watch, it.Latency, it.Verdict = d.Stats, d.Latency, d.Verdict
		}
	}
}

func prefixed(sep, s string) string {
	if s == "" {
		return ""
	}
	return sep + s
}
