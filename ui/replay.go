package ui

import (
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/cutover/cutover/runbook"
)

// Replay plays a finished run back with its own timing scaled by Speed; the operator can pause,
// step event by event and jump from step to step, backwards too.
type Replay struct {
	Events []runbook.Event
	Speed  float64
}

// replayMsg advances the replay to the event at index (the timer that sent it carries its
// generation, so a stale timer after a jump does nothing).
type replayMsg struct{ gen int }

// replayState is the console's position in a replay.
type replayState struct {
	*Replay
	pos    int // events applied
	paused bool
	gen    int
}

func (r *replayState) next() tea.Cmd {
	if r.paused || r.pos >= len(r.Events) {
		return nil
	}
	var wait time.Duration
	if r.pos > 0 {
		wait = time.Duration(float64(r.Events[r.pos].Time.Sub(r.Events[r.pos-1].Time)) / r.Speed)
	}
	wait = min(max(wait, 0), 5*time.Second) // long idle stretches (an operator thinking) are cut short
	gen := r.gen
	return tea.Tick(wait, func(time.Time) tea.Msg { return replayMsg{gen} })
}

// seek rebuilds the view at position pos: folding events from the start makes going back exact.
func (m *App) seek(pos int) {
	rp := m.replay
	pos = max(0, min(pos, len(rp.Events)))
	m.run = newRun()
	for _, ev := range rp.Events[:pos] {
		m.run.apply(ev)
	}
	rp.pos = pos
	rp.gen++
	if m.follow && m.run.Current >= 0 {
		m.selected = m.run.Current
	}
	if pos > 0 {
		m.now = rp.Events[pos-1].Time
	}
	m.refreshDetail()
}

// stepBoundary finds the next (dir 1) or previous (dir -1) step start from pos.
func (rp *replayState) stepBoundary(dir int) int {
	for i := rp.pos + dir; i > 0 && i < len(rp.Events); i += dir {
		if rp.Events[i-1].Type == runbook.EvStepStart {
			return i
		}
	}
	if dir > 0 {
		return len(rp.Events)
	}
	return 0
}

// replayKey handles the replay's own keys; ok is false for keys it leaves to the console.
func (m *App) replayKey(msg tea.KeyMsg) (tea.Cmd, bool) {
	rp := m.replay
	switch msg.String() {
	case " ":
		rp.paused = !rp.paused
		rp.gen++
		return rp.next(), true
	case "right", "l":
		rp.paused = true
		m.seek(rp.pos + 1)
	case "left", "h":
		rp.paused = true
		m.seek(rp.pos - 1)
	case "]":
		rp.paused = true
		m.seek(rp.stepBoundary(1))
	case "[":
		rp.paused = true
		m.seek(rp.stepBoundary(-1))
	case "+":
		rp.Speed *= 2
		rp.gen++
		return rp.next(), true
	case "-":
		rp.Speed = max(0.25, rp.Speed/2)
		rp.gen++
		return rp.next(), true
	default:
		return nil, false
	}
	m.done = rp.pos == len(rp.Events)
	m.refresh()
	return nil, true
}
