package runbook

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/cutover/cutover/checks/remote"
)

// A wave runs its steps for every item: batch after batch, the items of a batch at once, each on an
// engine of its own (forItem) whose events carry the item in every step name ("wave[vm]/step").
// A failed item is rolled back by the wave's rule; failures count over the whole wave, and one past
// max_failures stops it: no batch starts after that.

// GuestRunners reaches a host the runbook does not name: a wave item's own guest.
type GuestRunners interface {
	Guest(name string, t remote.Target) (remote.Runner, error)
}

// itemRun is one item's engine and how far its steps got.
type itemRun struct {
	wave      string
	item      Item
	batch     int
	eng       *Engine
	completed []int // indexes of its steps that passed
	status    string
	reason    string
	undo      bool // a resumed run found it failed with its rollback unfinished
}

// The outcomes of an item.
const (
	ItemMoved          = "moved"
	ItemFailed         = "failed"          // failed, not rolled back (stop, or rollback steps absent)
	ItemRolledBack     = "rolled back"     // failed or undone, and its rollback held
	ItemRollbackFailed = "rollback failed" // its rollback did not hold: look at it
	ItemSkipped        = "skipped"         // the wave stopped before its batch
)

// ItemStep names an item's step as the journal does.
func ItemStep(wave, vm, step string) string { return wave + "[" + vm + "]/" + step }

// SplitItemStep undoes ItemStep; an item's own events (its rollback plan) name "wave[vm]", with no
// step. ok is false for a step of no item.
func SplitItemStep(name string) (wave, vm, step string, ok bool) {
	i := strings.IndexByte(name, '[')
	j := strings.LastIndex(name, "]/")
	if j < 0 && strings.HasSuffix(name, "]") {
		j = len(name) - 1
	}
	if i <= 0 || j < i {
		return "", "", name, false
	}
	if j+2 <= len(name) {
		step = name[j+2:]
	}
	return name[:i], name[i+1 : j], step, true
}

// forItem is the engine of one item of wave st: the run's stream and pause, the item's fields as
// vars, its own runtime vars (origin_host...), baselines and watches.
func (e *Engine) forItem(st *Step, it Item) *Engine {
	e.baseMu.Lock()
	baselines := maps.Clone(e.baselines)
	e.baseMu.Unlock()
	c := &Engine{cfg: e.cfg, redaction: e.redaction, stream: e.stream, pause: e.pause, prefix: ItemStep(st.Name, it.Key, ""),
		baselines: baselines, runtime: Values{}, skipAction: map[string]bool{}, moveSlots: e.moveSlots}
	vals := maps.Clone(e.values())
	for k, v := range it.Fields {
		vals[k] = Value{Text: v}
	}
	rb := *e.cfg.Runbook
	rb.Steps = st.Wave.Steps
	c.cfg.Runbook, c.cfg.Values, c.cfg.Resume = &rb, vals, nil
	c.cfg.Runners = itemRunners{Runners: e.cfg.Runners, item: it}
	if rs := e.cfg.Resume; rs != nil {
		if ir := rs.Items[st.Name+"["+it.Key+"]"]; ir != nil {
			c.cfg.Resume = &Resume{RunID: rs.RunID, Completed: ir.Completed, ActionDone: ir.ActionDone, ActionBegan: ir.ActionBegan, InFlight: ir.InFlight, Runtime: ir.Runtime}
			maps.Copy(c.runtime, ir.Runtime) // its rollback goes back to where it was, not to where a resumed move found it
		}
	}
	return c
}

// qualify names an item engine's events after its item: step names, and the names a rollback plan
// and a rollback step refer to. A run-level event of an item (its rollback plan) names the item.
func (e *Engine) qualify(step string, data any) (string, any) {
	if e.prefix == "" {
		return step, data
	}
	if step == "" {
		step = strings.TrimSuffix(e.prefix, "/")
	} else {
		step = e.prefix + step
	}
	switch d := data.(type) {
	case RollbackData:
		d.Trigger = e.prefix + d.Trigger
		d.Steps = slices.Clone(d.Steps)
		for i := range d.Steps {
			d.Steps[i] = e.prefix + d.Steps[i]
		}
		return step, d
	case StepStartData:
		if d.Undoes != "" {
			d.Undoes = e.prefix + d.Undoes
		}
		return step, d
	}
	return step, data
}

// runWave is a wave step's body.
func (e *Engine) runWave(ctx context.Context, st *Step) stepResult {
	w := st.Wave
	size, budget, rule := w.BatchSize(), w.FailureBudget(), w.Rule()
	keys := make([]string, len(w.Items))
	for i, it := range w.Items {
		keys[i] = it.Key
	}
	batches := (len(w.Items) + size - 1) / size
	e.emit(EvWave, st.Name, WaveData{Items: keys, BatchSize: size, Batches: batches, MaxFailures: budget, Rule: rule, ParallelPerHost: w.ParallelPerHost()})
	e.moveSlots = newHostSlots(w.ParallelPerHost()) // this wave's limit, for its items' engines
	runs := make([]*itemRun, len(w.Items))
	for i, it := range w.Items {
		runs[i] = &itemRun{wave: st.Name, item: it, batch: i/size + 1, eng: e.forItem(st, it)}
		e.resumeItem(runs[i])
	}
	e.setWave(st.Name, runs)
	if rule != WaveStop {
		var undo []*itemRun
		for _, r := range runs {
			if r.undo {
				undo = append(undo, r)
			}
		}
		e.undoItems(ctx, undo, "the run stopped before its rollback ended")
		if ctx.Err() != nil {
			return stepResult{}
		}
	}
	failed, stopped := 0, ""
	steps := st.Wave.Steps
	pre := preSteps(steps)
	if pre > 0 && pre < len(steps) {
		e.preCheck(ctx, st, runs, pre)
		if ctx.Err() != nil {
			return stepResult{}
		}
		if n := countBad(slices.DeleteFunc(slices.Clone(runs), func(r *itemRun) bool { return r.status == "" })); n > budget {
			stopped = fmt.Sprintf("%d VM(s) failed their pre-checks, more than max_failures %s allows (%d of %d): nothing was moved", n, w.MaxFailures, budget, len(runs))
		}
	}
	for b := 0; b < batches && stopped == ""; b++ {
		batch := runs[b*size : min((b+1)*size, len(runs))]
		if !slices.ContainsFunc(batch, func(r *itemRun) bool { return r.status == "" }) {
			failed += countBad(batch) // a resumed run's batch that had ended
			continue
		}
		e.waitIfPaused(ctx, st.Name)
		var wg sync.WaitGroup
		for _, r := range batch {
			if r.status != "" {
				continue // ended before the run was resumed: never moved twice
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				e.runItem(ctx, st, r, rule == RollbackVM, pre%len(steps), len(steps))
			}()
		}
		wg.Wait()
		if ctx.Err() != nil {
			return stepResult{}
		}
		var bad []string
		for _, r := range batch {
			if r.status != ItemMoved {
				bad = append(bad, r.item.Key)
			}
		}
		failed += len(bad)
		switch {
		case len(bad) == 0:
		case rule == RollbackBatch:
			e.undoItems(ctx, batch, fmt.Sprintf("batch %d: %s failed", b+1, strings.Join(bad, ", ")))
		case rule == RollbackWave:
			e.undoItems(ctx, runs[:min((b+1)*size, len(runs))], fmt.Sprintf("batch %d: %s failed", b+1, strings.Join(bad, ", ")))
			stopped = fmt.Sprintf("%s failed in batch %d; on_failure rollback_wave moved every item back", strings.Join(bad, ", "), b+1)
		case rule == WaveStop:
			stopped = fmt.Sprintf("%s failed in batch %d; on_failure stop", strings.Join(bad, ", "), b+1)
		}
		if stopped == "" && failed > budget {
			stopped = fmt.Sprintf("%d item(s) failed, more than max_failures %s allows (%d of %d)", failed, w.MaxFailures, budget, len(runs))
		}
		if ctx.Err() != nil {
			return stepResult{}
		}
	}
	for _, r := range runs {
		if r.status == "" {
			r.status, r.reason = ItemSkipped, "the wave stopped before batch "+fmt.Sprint(r.batch)
			e.emit(EvWaveItem, st.Name, WaveItemData{Item: r.item.Key, Batch: r.batch, Status: r.status, Reason: r.reason})
		}
	}
	if stopped != "" {
		return stepResult{status: StepFailed, next: Abort, reason: fmt.Sprintf("wave %s stopped: %s; %s", st.Name, stopped, tally(runs))}
	}
	return stepResult{status: StepPassed, reason: tally(runs)}
}

// runItem runs one item's steps from, up to to; a failed one, with rollbackNow, is rolled back at
// once. The item has moved when its last step passed.
func (e *Engine) runItem(ctx context.Context, st *Step, r *itemRun, rollbackNow bool, from, to int) {
	c := r.eng
	steps := c.cfg.Runbook.Steps
	for i := from; i < to; i++ {
		if c.cfg.Resume != nil {
			done, stop := c.resumeStep(ctx, &steps[i])
			if stop != nil {
				r.status, r.reason = ItemFailed, stop.Reason
				e.emit(EvWaveItem, st.Name, WaveItemData{Item: r.item.Key, Batch: r.batch, Status: r.status, Reason: r.reason})
				return
			}
			if done {
				r.completed = append(r.completed, i)
				continue
			}
		}
		c.waitIfPaused(ctx, steps[i].Name)
		res := c.runStep(ctx, &steps[i], PhaseRun, i+1, len(steps), "")
		if res.status == StepPassed || res.status == StepOverridden {
			r.completed = append(r.completed, i)
			continue
		}
		if ctx.Err() != nil {
			r.status, r.reason = ItemFailed, res.reason
			return
		}
		r.status, r.reason = ItemFailed, res.reason
		if rollbackNow && res.next != Abort {
			out := c.rollback(ctx, i, r.completed, res.reason)
			if ctx.Err() != nil {
				return // interrupted in its rollback: a resume finishes it
			}
			r.settle(out)
		}
		if r.status != ItemFailed {
			r.completed = nil // rolled back: nothing of it is left to undo
		}
		e.emit(EvWaveItem, st.Name, WaveItemData{Item: r.item.Key, Batch: r.batch, Status: r.status, Reason: r.reason})
		return
	}
	if to == len(steps) {
		r.status = ItemMoved
		e.emit(EvWaveItem, st.Name, WaveItemData{Item: r.item.Key, Batch: r.batch, Status: r.status})
	}
}

// preSteps counts a wave's leading steps that change nothing (checks only): they run for every
// item before the first batch moves anything.
func preSteps(steps []Step) int {
	for i := range steps {
		if steps[i].hasAction() || steps[i].Confirm.Text != "" || steps[i].Approval != nil {
			return i
		}
	}
	return len(steps)
}

// preCheck runs every waiting item's pre-check steps at once (Forks at a time), before the first
// batch: a wave whose VMs cannot all be trusted to start is stopped before anything moves.
func (e *Engine) preCheck(ctx context.Context, st *Step, runs []*itemRun, pre int) {
	sem := make(chan struct{}, max(e.cfg.Forks, 1))
	var wg sync.WaitGroup
	for _, r := range runs {
		if r.status != "" {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			e.runItem(ctx, st, r, true, 0, pre)
		}()
	}
	wg.Wait()
}

// settle turns a rollback's outcome into the item's status.
func (r *itemRun) settle(out Outcome) {
	switch out.Status {
	case RunRolledBack:
		r.status = ItemRolledBack
	case RunAborted: // no rollback steps: the item stays where it failed
		r.status = ItemFailed
	default:
		r.status = ItemRollbackFailed
	}
	r.reason = out.Reason
}

// undoItems rolls back every item of runs that moved or failed and was not rolled back yet, at
// once, each by its own rollback steps.
func (e *Engine) undoItems(ctx context.Context, runs []*itemRun, why string) {
	var wg sync.WaitGroup
	for _, r := range runs {
		if r.status != ItemMoved && r.status != ItemFailed {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			failed := -1
			if r.status == ItemFailed {
				failed = len(r.completed) // the step it stopped at, whose own rollback runs too
			}
			out := r.eng.rollbackItem(ctx, failed, r.completed, why)
			if ctx.Err() != nil {
				return // a resume finishes it
			}
			r.settle(out)
			e.emit(EvWaveItem, r.wave, WaveItemData{Item: r.item.Key, Batch: r.batch, Status: r.status, Reason: r.reason})
		}()
	}
	wg.Wait()
}

// rollbackItem rolls back an item's completed steps (and the one it failed at, failed ≥ 0).
func (e *Engine) rollbackItem(ctx context.Context, failed int, completed []int, reason string) Outcome {
	if failed >= 0 && failed < len(e.cfg.Runbook.Steps) {
		return e.rollback(ctx, failed, completed, reason)
	}
	if len(completed) == 0 {
		return Outcome{Status: RunAborted, Reason: reason}
	}
	last := completed[len(completed)-1]
	return e.rollback(ctx, last, completed[:len(completed)-1], reason)
}

// tally says how a wave's items ended, in numbers.
func tally(runs []*itemRun) string {
	n := map[string]int{}
	for _, r := range runs {
		n[r.status]++
	}
	var parts []string
	for _, s := range []string{ItemMoved, ItemRolledBack, ItemFailed, ItemRollbackFailed, ItemSkipped} {
		if n[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n[s], s))
		}
	}
	return strings.Join(parts, ", ")
}

// setWave remembers a wave's items, for a later rollback of the run.
func (e *Engine) setWave(step string, runs []*itemRun) {
	e.baseMu.Lock()
	defer e.baseMu.Unlock()
	if e.waves == nil {
		e.waves = map[string][]*itemRun{}
	}
	e.waves[step] = runs
}

// waveRuns are the items of a wave step that ran.
func (e *Engine) waveRuns(step string) []*itemRun {
	e.baseMu.Lock()
	defer e.baseMu.Unlock()
	return e.waves[step]
}
