package runbook

import (
	"context"
	"sync"
)

// pause is the operator's pause, which holds every item of a wave too.
type pause struct {
	pauseMu sync.Mutex
	paused  bool
	resume  chan struct{} // closed when a pause ends
}

// SetPaused asks the engine to stop before the next step (true) or to go on (false). A step that
// is running finishes; the pause is journaled.
func (e *Engine) SetPaused(p bool) {
	e.pauseMu.Lock()
	defer e.pauseMu.Unlock()
	if p == e.paused {
		return
	}
	e.paused = p
	if p {
		e.resume = make(chan struct{})
	} else {
		close(e.resume)
	}
}

// waitIfPaused holds the run before a step while the operator has it paused.
func (e *Engine) waitIfPaused(ctx context.Context, next string) {
	e.pauseMu.Lock()
	paused, resume := e.paused, e.resume
	e.pauseMu.Unlock()
	if !paused {
		return
	}
	e.emit(EvPause, next, PauseData{Paused: true})
	select {
	case <-resume:
		e.emit(EvPause, next, PauseData{Paused: false})
	case <-ctx.Done():
	}
}
