package runbook

import (
	"context"
	"fmt"
	"time"
)

// closingSoon is when the window counts as closing.
const closingSoon = 30 * time.Minute

// windowPhaseAt names where now stands in the window.
func windowPhaseAt(w *Window, now time.Time) (string, time.Duration) {
	left := w.End.Sub(now)
	switch {
	case left <= 0:
		return "closed", left
	case w.RollbackEstimate > 0 && left < w.RollbackEstimate.Std():
		return "no-return", left
	case left < closingSoon:
		return "closing", left
	}
	return "open", left
}

// windowCheck journals the window's phase when it changed since the last look.
func (e *Engine) windowCheck() string {
	w := e.cfg.Runbook.Window
	if w == nil {
		return ""
	}
	phase, left := windowPhaseAt(w, e.cfg.Clock())
	e.windowMu.Lock()
	changed := phase != e.windowPhase
	e.windowPhase = phase
	e.windowMu.Unlock()
	if changed {
		e.emit(EvWindow, "", WindowEventData{Phase: phase, Left: ms(left), Rollback: ms(w.RollbackEstimate.Std())})
	}
	return phase
}

// watchWindow looks at the window every few seconds while steps run, so that a long step that
// crosses the point of no return says so when it happens.
func (e *Engine) watchWindow(ctx context.Context) func() {
	if e.cfg.Runbook.Window == nil {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				e.windowCheck()
			}
		}
	}()
	return cancel
}

// hardStop asks before a forward step once the window is past its point of no return, when the
// runbook says so. stop is true when the operator (or --yes) does not go on.
func (e *Engine) hardStop(ctx context.Context, next string) (bool, string) {
	w := e.cfg.Runbook.Window
	phase := e.windowCheck()
	if w == nil || !w.HardStop || (phase != "no-return" && phase != "closed") {
		return false, ""
	}
	left := w.End.Sub(e.cfg.Clock()).Round(time.Second)
	prompt := fmt.Sprintf("The change window ends in %s and a rollback takes about %s: the point of no return has passed. Start step %s anyway?", left, w.RollbackEstimate.Std(), next)
	if phase == "closed" {
		prompt = fmt.Sprintf("The change window closed %s ago. Start step %s anyway?", -left, next)
	}
	a, ok := e.ask(ctx, next, QuestionData{Kind: AskWindow, Prompt: prompt, Options: []Choice{Proceed, Abort}, NeedReason: []Choice{Proceed, Abort}}, nil)
	if !ok {
		return true, interruption(ctx)
	}
	if a.Choice == Abort {
		return true, "stopped at the window's hard stop before " + next + ": " + a.Reason
	}
	return false, ""
}
