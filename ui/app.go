package ui

import (
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/progress"
	"github.com/charmbracelet/bubbles/spinner"
	"github.com/charmbracelet/bubbles/textinput"
	"github.com/charmbracelet/bubbles/viewport"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/cutover/cutover/runbook"
)

// Minimum terminal size the console lays out in.
const minWidth, minHeight = 80, 24

// Options wire the console to a run.
type Options struct {
	Mode    string               // "" for a live run, "SHADOW" or "REPLAY": read-only, marked in the header
	Replay  *Replay              // the events of a finished run, for REPLAY
	Events  <-chan runbook.Event // the engine's event stream (Feed)
	Decider *Decider             // questions from the engine; nil for a read-only console
	Abort   func()               // ends the run through the engine (journaled, signed)
	Pause   func(bool)           // holds the run before its next step
	Now     func() time.Time
	// Lab marks a lab run, Unsigned a run whose journal is not signed: both stay in the header.
	Lab, Unsigned bool
}

// App is the console's root model.
type App struct {
	opts     Options
	s        styles
	keys     keyMap
	help     help.Model
	bar      progress.Model
	spin     spinner.Model
	run      *run
	width    int
	height   int
	selected int
	follow   bool
	focus    int // 0 steps, 1 detail
	detail   viewport.Model
	search   textinput.Model
	query    string
	prompt   *prompt
	showHelp bool
	confirm  string // "", "abort", "quit"
	quitting bool   // quit once the run has ended
	done     bool
	now      time.Time
	replay   *replayState
}

// New builds the console.
func New(o Options) App {
	if o.Now == nil {
		o.Now = time.Now
	}
	si := textinput.New()
	si.Prompt = "/"
	var rp *replayState
	if o.Replay != nil {
		rp = &replayState{Replay: o.Replay}
		if rp.Speed <= 0 {
			rp.Speed = 1
		}
		o.Mode = "REPLAY"
	}
	spin := spinner.New(spinner.WithSpinner(spinner.Spinner{Frames: []string{"◐", "◓", "◑", "◒"}, FPS: 250 * time.Millisecond}))
	return App{opts: o, s: newStyles(), keys: newKeys(), help: help.New(), bar: progress.New(progress.WithDefaultGradient(), progress.WithoutPercentage()), spin: spin,
		run: newRun(), follow: true, detail: viewport.New(40, 10), search: si, now: o.Now(), replay: rp}
}

func tick() tea.Cmd {
	return tea.Tick(time.Second, func(t time.Time) tea.Msg { return tickMsg(t) })
}

// Init starts reading events and questions.
func (m App) Init() tea.Cmd {
	if m.replay != nil {
		return tea.Batch(m.replay.next(), m.spin.Tick)
	}
	cmds := []tea.Cmd{waitForEvent(m.opts.Events), tick(), m.spin.Tick}
	if m.opts.Decider != nil {
		cmds = append(cmds, waitForAsk(m.opts.Decider.asks))
	}
	return tea.Batch(cmds...)
}

// Update applies one message.
func (m App) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.help.Width = msg.Width
		m.layout()
	case engineEventMsg:
		m.run.apply(msg.ev)
		if m.follow && m.run.Current >= 0 {
			m.selected = m.run.Current
		}
		m.refreshDetail()
		return m, waitForEvent(m.opts.Events)
	case runDoneMsg:
		m.done = true
		m.prompt, m.confirm = nil, ""
		if m.quitting {
			return m, tea.Quit
		}
	case askMsg:
		m.prompt = newPrompt(msg.ask)
		return m, waitForAsk(m.opts.Decider.asks)
	case tickMsg:
		m.now = time.Time(msg)
		return m, tick()
	case replayMsg:
		rp := m.replay
		if rp == nil || msg.gen != rp.gen || rp.paused || rp.pos >= len(rp.Events) {
			return m, nil
		}
		ev := rp.Events[rp.pos]
		rp.pos++
		m.run.apply(ev)
		m.now = ev.Time
		if m.follow && m.run.Current >= 0 {
			m.selected = m.run.Current
		}
		m.refreshDetail()
		if rp.pos == len(rp.Events) {
			m.done = true
		}
		return m, rp.next()
	case spinner.TickMsg:
		if m.done {
			return m, nil // nothing runs any more: stop redrawing
		}
		var cmd tea.Cmd
		m.spin, cmd = m.spin.Update(msg)
		return m, cmd
	case tea.KeyMsg:
		return m.key(msg)
	}
	return m, nil
}

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
	if m.prompt != nil && !m.done {
		if key.Matches(msg, m.keys.Help) && !m.prompt.typing {
			m.showHelp = !m.showHelp
			m.layout()
			return m, nil
		}
		cmd, sent := m.prompt.update(msg)
		if sent {
			m.prompt = nil
		}
		return m, cmd
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
		default:
			var cmd tea.Cmd
			m.search, cmd = m.search.Update(msg)
			m.query = m.search.Value()
			m.refreshDetail()
			return m, cmd
		}
		m.refreshDetail()
		return m, nil
	}
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
		m.layout()
	case key.Matches(msg, m.keys.Tab):
		m.focus = 1 - m.focus
	case key.Matches(msg, m.keys.Up):
		if m.focus == 1 {
			m.detail.ScrollUp(1)
		} else if m.selected > 0 {
			m.selected--
			m.follow = false
			m.refreshDetail()
		}
	case key.Matches(msg, m.keys.Down):
		if m.focus == 1 {
			m.detail.ScrollDown(1)
		} else if m.selected < len(m.run.Steps)-1 {
			m.selected++
			m.follow = false
			m.refreshDetail()
		}
	case key.Matches(msg, m.keys.Enter):
		m.follow = true
		if m.run.Current >= 0 {
			m.selected = m.run.Current
		}
		m.refreshDetail()
	case key.Matches(msg, m.keys.Search):
		m.focus = 1
		return m, m.search.Focus()
	case key.Matches(msg, m.keys.Pause):
		if m.opts.Pause != nil && !m.done {
			pause, want := m.opts.Pause, !m.run.Paused
			return m, func() tea.Msg { pause(want); return nil }
		}
	}
	return m, nil
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
	return nil, true
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

// Sizes of the fixed parts of the screen.
const (
	stepsWidth  = 34
	headerLines = 2
	bottomLines = 9 // migration (2) + graph (7)
)
