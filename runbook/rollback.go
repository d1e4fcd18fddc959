package runbook

import (
	"context"
	"fmt"
	"slices"
)

// undo is a rollback step and the step it undoes.
type undo struct {
	step   *Step
	undoes string
	wave   *Step // a wave: each of its items that moved, by its own rollback steps
}

// rollback plans the rollback of a failed step and of every completed one, last first (each
// step's own rollback list in the order written), journals the plan and runs it.
func (e *Engine) rollback(ctx context.Context, failed int, completed []int, reason string) Outcome {
	rb := e.cfg.Runbook
	order := []int{failed}
	for _, i := range slices.Backward(completed) {
		order = append(order, i)
	}
	var plan []undo
	var names []string
	for _, i := range order {
		if w := &rb.Steps[i]; w.Wave != nil && len(e.waveRuns(w.Name)) > 0 {
			plan = append(plan, undo{wave: w})
			names = append(names, w.Name+" (every item that moved)")
		}
		for j := range rb.Steps[i].Rollback {
			plan = append(plan, undo{step: &rb.Steps[i].Rollback[j], undoes: rb.Steps[i].Name})
			names = append(names, rb.Steps[i].Rollback[j].Name)
		}
	}
	e.emit(EvRollback, "", RollbackData{Trigger: rb.Steps[failed].Name, Reason: reason, Steps: names})
	if len(plan) == 0 {
		// Nothing was undone: the run stopped where the failed step left the system, which is
		// what "aborted" says; "rolled back" would tell the next shift something that did not happen.
		return Outcome{Status: RunAborted, Reason: reason + "; no rollback steps to run: nothing was undone"}
	}
	return e.runRollback(ctx, plan, reason, nil)
}

// continueRollback takes up a rollback a resumed run found under way: its journaled plan, less the
// steps already done.
func (e *Engine) continueRollback(ctx context.Context, rs *Resume) Outcome {
	byName := map[string]undo{}
	for i := range e.cfg.Runbook.Steps {
		s := &e.cfg.Runbook.Steps[i]
		for j := range s.Rollback {
			byName[s.Rollback[j].Name] = undo{step: &s.Rollback[j], undoes: s.Name}
		}
	}
	var plan []undo
	for _, name := range rs.Rollback.Steps {
		u, ok := byName[name]
		if !ok {
			return Outcome{Status: RunRollbackFailed, Reason: fmt.Sprintf("%s; rollback step %s is not in the runbook any more", rs.Rollback.Reason, name)}
		}
		plan = append(plan, u)
	}
	return e.runRollback(ctx, plan, rs.Rollback.Reason, rs.RollbackDone)
}

// runRollback is the one rollback loop, for new and resumed runs: each step behind its own gate,
// skipping those done, and the outcome that the steps' ends add up to.
func (e *Engine) runRollback(ctx context.Context, plan []undo, reason string, done map[string]bool) Outcome {
	incomplete := ""
	for k, u := range plan {
		if u.wave != nil {
			runs := e.waveRuns(u.wave.Name)
			e.undoItems(ctx, runs, reason)
			if ctx.Err() != nil {
				return Outcome{Status: RunInterrupted, Reason: interruption(ctx)}
			}
			for _, r := range runs {
				if r.status == ItemRollbackFailed {
					incomplete = fmt.Sprintf("item %s of wave %s: %s", r.item.Key, u.wave.Name, r.reason)
				}
			}
			continue
		}
		if done[u.step.Name] {
			continue
		}
		r := e.runStep(ctx, u.step, PhaseRollback, k+1, len(plan), u.undoes)
		switch {
		case r.status == StepPassed:
		case r.status == StepOverridden:
			incomplete = fmt.Sprintf("rollback step %s did not hold", u.step.Name)
		case r.next == Abort:
			return Outcome{Status: RunRollbackFailed, Reason: fmt.Sprintf("%s; rollback stopped at %s: %s", reason, u.step.Name, r.reason)}
		default:
			return Outcome{Status: RunInterrupted, Reason: r.reason}
		}
	}
	if incomplete != "" {
		return Outcome{Status: RunRollbackFailed, Reason: reason + "; " + incomplete}
	}
	return Outcome{Status: RunRolledBack, Reason: reason}
}
