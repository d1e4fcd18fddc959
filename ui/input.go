package ui

import (
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
)

// Input: what each key does, in each state of the console (a question open, the full view, a
// search, browsing).

func (m App) key(msg tea.KeyMsg) (tea.Model, tea.Cmd) {
	if key.Matches(msg, m.keys.Abort) {
		switch {
		case m.done, m.opts.Mode != "":
			return m, tea.Quit
		case m.confirm == "abort": // the second press aborts
			return m.abortRun(false)
		}
		m.confirm = "abort"
		return m, nil
	}
	if m.confirm != "" {
		switch msg.String() {
		case "y", "Y":
			return m.abortRun(m.confirm == "quit")
		case "n", "N", "esc":
			m.confirm = ""
		}
		return m, nil
	}
	if m.note != nil {
		switch msg.Type {
		case tea.KeyEsc:
			m.note = nil
		case tea.KeyEnter:
			text := strings.TrimSpace(m.note.Value())
			if text == "" {
				return m, nil
			}
			m.note = nil
			note := m.opts.Note
			return m, func() tea.Msg { return noteMsg{ok: note(text)} }
		default:
			ti, cmd := m.note.Update(msg)
			m.note = &ti
			return m, cmd
		}
		return m, nil
	}
	if m.asking() && m.askOpen {
		if !m.prompt.typing {
			switch {
			case key.Matches(msg, m.keys.Help):
				m.showHelp = !m.showHelp
				return m, nil
			case key.Matches(msg, m.keys.Leave):
				m.askOpen = false // browse; d brings the question back
				return m, nil
			case key.Matches(msg, m.keys.Pause):
				return m.pause()
			}
		}
		cmd, sent := m.prompt.update(msg)
		if sent {
			// Decided: the console follows the run again, to what the answer set going.
			m.prompt, m.askOpen, m.follow = nil, false, true
			if m.run.Current >= 0 {
				m.selected = m.run.Current
			}
		}
		return m, cmd
	}
	if m.fullOpen {
		switch {
		case key.Matches(msg, m.keys.Close):
			m.fullOpen = false
		case key.Matches(msg, m.keys.Up):
			m.full.ScrollUp(1)
		case key.Matches(msg, m.keys.Down):
			m.full.ScrollDown(1)
		case m.keys.scroll(&m.full, msg):
		default:
			return m.common(msg)
		}
		return m, nil
	}
	if m.replay != nil {
		if cmd, ok := m.replayKey(msg); ok {
			return m, cmd
		}
	}
	if m.search.Focused() {
		switch msg.Type {
		case tea.KeyEsc:
			m.search.Blur()
			m.search.SetValue("")
			m.query = ""
		case tea.KeyEnter:
			m.search.Blur()
			if m.query == "" {
				m.search.SetValue("")
			}
		default:
			var cmd tea.Cmd
			m.search, cmd = m.search.Update(msg)
			m.query, m.scrollToOutput = m.search.Value(), true
			return m, cmd
		}
		return m, nil
	}
	if m.waveShown() {
		switch {
		case key.Matches(msg, m.keys.Up) && m.focus == 0:
			m.waveSel = max(0, m.waveSel-1)
			return m, nil
		case key.Matches(msg, m.keys.Down) && m.focus == 0:
			m.waveSel = max(0, min(len(m.waveRows())-1, m.waveSel+1))
			return m, nil
		case key.Matches(msg, m.keys.Open):
			m.openItem()
			return m, nil
		case key.Matches(msg, m.keys.Order):
			m.waveBadFirst = !m.waveBadFirst
			return m, nil
		case key.Matches(msg, m.keys.Show):
			m.waveShow = (m.waveShow + 1) % len(waveShows)
			m.waveSel = 0
			return m, nil
		case key.Matches(msg, m.keys.Search): // filters the VMs; the focus stays on them
			m.waveSel = 0
			return m, m.search.Focus()
		}
	}
	switch {
	case key.Matches(msg, m.keys.Wave):
		if m.wave() == nil {
			m.flash = "no wave has started in this run (yet)"
			return m, nil
		}
		m.waveView = !m.waveView
	case key.Matches(msg, m.keys.Order), key.Matches(msg, m.keys.Show):
		m.flash = msg.String() + " is for the wave's VMs: v shows them"
	case key.Matches(msg, m.keys.Tab):
		m.focus = 1 - m.focus
		if m.focus == 1 && m.selCheck < 0 && len(m.run.Steps) > 0 && len(checkRows(m.run.Steps[m.fullStep()])) > 0 {
			m.selCheck = 0
		}
	case key.Matches(msg, m.keys.Up):
		if m.focus == 1 {
			m.moveCheck(-1)
		} else if m.selected > 0 {
			m.selectStep(m.selected - 1)
		}
	case key.Matches(msg, m.keys.Down):
		if m.focus == 1 {
			m.moveCheck(1)
		} else if m.selected < len(m.run.Steps)-1 {
			m.selectStep(m.selected + 1)
		}
	case m.keys.scroll(&m.detail, msg):
	case key.Matches(msg, m.keys.Open):
		if len(m.run.Steps) > 0 {
			m.fullOpen, m.scrollToCheck = true, true
			m.full.GotoTop()
		}
	case key.Matches(msg, m.keys.Follow):
		m.follow = true
		if m.run.Current >= 0 {
			m.selected = m.run.Current
			m.selCheck, m.scrollToCheck = worstRow(m.run.Steps[m.selected]), true
		}
	case key.Matches(msg, m.keys.Search):
		m.focus = 1
		return m, m.search.Focus()
	case key.Matches(msg, m.keys.Leave):
		m.search.SetValue("") // esc clears a search from any state
		m.query = ""
	default:
		return m.common(msg)
	}
	return m, nil
}

// common are the keys that mean the same in every view.
func (m App) common(msg tea.KeyMsg) (tea.Model, tea.Cmd) {
	switch {
	case key.Matches(msg, m.keys.Quit):
		if m.done || m.opts.Mode != "" {
			return m, tea.Quit // a shadow or a replay changes nothing: quit at once
		}
		if m.run.HasEnded() {
			// The journal says the run ended; the engine is closing and signing it. Nothing is
			// left to abort: quit as soon as it returns.
			m.quitting = true
			return m, nil
		}
		m.confirm = "quit"
	case key.Matches(msg, m.keys.Help):
		m.showHelp = !m.showHelp
	case key.Matches(msg, m.keys.Pause):
		return m.pause()
	case key.Matches(msg, m.keys.Span):
		m.graph.gatedOnly = !m.graph.gatedOnly
	case key.Matches(msg, m.keys.LogScale):
		m.graph.log = !m.graph.log
	case key.Matches(msg, m.keys.Watches):
		if n := len(m.run.Watches); n > 1 {
			m.watchBack = (m.watchBack + 1) % n
		}
	case key.Matches(msg, m.keys.Note):
		if m.opts.Note == nil || m.run.HasEnded() {
			m.flash = "the run has ended: add a note with cutover note JOURNAL \"text\""
			return m, nil
		}
		ti := textinput.New()
		ti.Placeholder = "what the next shift should know"
		ti.CharLimit = 500
		ti.Width = max(10, min(90, m.width-16))
		ti.PlaceholderStyle = m.s.dim
		m.note = &ti
		return m, ti.Focus()
	case key.Matches(msg, m.keys.Answer):
		if m.asking() {
			m.askOpen, m.fullOpen = true, false
		} else {
			m.flash = "no question is waiting"
		}
	case m.asking() && m.prompt.answers(msg):
		// A prompt's key outside the prompt answers nothing: the operator may be browsing.
		m.flash = "the question is not open: d opens it, then " + msg.String() + " answers"
	}
	return m, nil
}

// pause asks the engine to hold before its next step (again: not to). The console says so at once;
// the journal records the pause when the engine takes it.
func (m App) pause() (tea.Model, tea.Cmd) {
	if m.opts.Pause == nil || m.done || m.run.HasEnded() {
		m.flash = "nothing to pause"
		return m, nil
	}
	m.pauseWant = !m.pauseWant
	pause, want := m.opts.Pause, m.pauseWant
	return m, func() tea.Msg { pause(want); return nil }
}

func (m *App) selectStep(i int) {
	m.selected, m.follow = i, false
	m.selCheck, m.scrollToCheck = worstRow(m.run.Steps[i]), true
	m.detail.GotoTop()
}

func (m *App) moveCheck(d int) {
	if m.selected < 0 || m.selected >= len(m.run.Steps) {
		return
	}
	n := len(checkRows(m.run.Steps[m.selected]))
	if n == 0 {
		return
	}
	m.selCheck = max(0, min(n-1, m.selCheck+d))
	m.scrollToCheck = true
}

// abortRun ends the run through the engine, in a command so Update never blocks.
func (m App) abortRun(thenQuit bool) (tea.Model, tea.Cmd) {
	m.confirm = ""
	m.quitting = m.quitting || thenQuit
	if m.done {
		return m, tea.Quit
	}
	abort := m.opts.Abort
	if abort == nil {
		return m, tea.Quit
	}
	return m, func() tea.Msg { abort(); return nil }
}
