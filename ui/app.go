package ui

import (
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
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
	// NoColor draws with glyphs and weight only: no colour code at all (NO_COLOR).
	NoColor bool
	// Shadows names who follows this run over --shadow-listen, asked once a second.
	Shadows func() []string
	// Note journals an operator's handoff note; false when the run has ended.
	Note func(text string) bool
}

// App is the console's root model.
type App struct {
	opts     Options
	s        styles
	keys     keyMap
	help     help.Model
	spin     spinner.Model
	run      *run
	width    int
	height   int
	selected int  // the step shown in the detail pane
	selCheck int  // the check selected in it (an index into checkRows), -1 for none
	follow   bool // the selection follows the running step
	focus    int  // 0 steps, 1 detail
	detail   viewport.Model
	search   textinput.Model
	query    string
	// full is the full-screen view of the selected step (z), fullOpen whether it shows.
	full     viewport.Model
	fullOpen bool
	// scrollToCheck asks the next refresh to bring the selected check into view, scrollToOutput
	// the output (a search's matches).
	scrollToCheck, scrollToOutput bool
	prompt                        *prompt // the question the engine waits on, nil when none
	askOpen                       bool    // the question has the keys; esc leaves it to browse, d comes back
	pauseWant                     bool    // what this console asked the engine: hold before the next step
	flash                         string  // the answer to a key that did nothing, until the next key
	watchers                      []string
	note                          *textinput.Model // a handoff note being written (n), nil otherwise
	watchBack                     int              // the watch the graph shows: 0 the newest, 1 the one before…
	graph                         graphView
	outCache                      *outputCache
	showHelp                      bool
	confirm                       string // "", "abort", "quit"
	quitting                      bool   // quit once the run has ended
	done                          bool
	now                           time.Time
	replay                        *replayState
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
	s := newStyles(!o.NoColor)
	si.PlaceholderStyle = s.dim
	h := help.New()
	h.Styles.ShortKey, h.Styles.FullKey = s.key, s.key
	h.Styles.ShortDesc, h.Styles.FullDesc, h.Styles.ShortSeparator, h.Styles.FullSeparator, h.Styles.Ellipsis = s.dim, s.dim, s.dim, s.dim, s.dim
	return App{opts: o, s: s, keys: newKeys(o.Mode), help: h, spin: spin, selCheck: -1, outCache: &outputCache{},
		run: newRun(), follow: true, detail: viewport.New(40, 10), full: viewport.New(80, 20), search: si, now: o.Now(), replay: rp}
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
		m.refresh()
	case engineEventMsg:
		m.applyEvent(msg.ev)
		return m, waitForEvent(m.opts.Events)
	case runDoneMsg:
		m.done = true
		m.prompt, m.askOpen, m.confirm = nil, false, ""
		m.refresh()
		if m.quitting {
			return m, tea.Quit
		}
	case noteMsg:
		m.flash = "note journaled (in the run's record and the handoff report)"
		if !msg.ok {
			m.flash = "the run had ended: the note was not journaled (cutover note JOURNAL \"text\")"
		}
	case askMsg:
		m.prompt, m.askOpen = newPrompt(msg.ask, m.opts.Now(), m.s), true
		if i := m.stepIndex(msg.ask.q.Step); i >= 0 && m.follow {
			m.selected, m.selCheck, m.scrollToCheck = i, worstRow(m.run.Steps[i]), true
		}
		m.refresh()
		return m, waitForAsk(m.opts.Decider.asks)
	case tickMsg:
		m.now = time.Time(msg)
		if m.opts.Shadows != nil {
			m.watchers = m.opts.Shadows()
		}
		m.refresh() // the step's clocks move
		return m, tick()
	case replayMsg:
		rp := m.replay
		if rp == nil || msg.gen != rp.gen || rp.paused || rp.pos >= len(rp.Events) {
			return m, nil
		}
		ev := rp.Events[rp.pos]
		rp.pos++
		m.applyEvent(ev)
		m.now = ev.Time
		if rp.pos == len(rp.Events) {
			m.done = true
		}
		m.refresh()
		return m, rp.next()
	case spinner.TickMsg:
		if m.done {
			return m, nil // nothing runs any more: stop redrawing
		}
		var cmd tea.Cmd
		m.spin, cmd = m.spin.Update(msg)
		return m, cmd
	case tea.KeyMsg:
		m.flash = ""
		next, cmd := m.key(msg)
		a := next.(App)
		a.refresh()
		return a, cmd
	}
	return m, nil
}

// applyEvent folds one event and keeps the selection on the running step and its worst check.
func (m *App) applyEvent(ev runbook.Event) {
	m.run.apply(ev)
	if m.follow && m.run.Current >= 0 {
		if m.selected != m.run.Current {
			m.selected, m.selCheck = m.run.Current, -1
		}
		if w := worstRow(m.run.Steps[m.selected]); w >= 0 && w != m.selCheck && (ev.Type == runbook.EvGate || ev.Type == runbook.EvStepEnd || ev.Type == runbook.EvQuestion) {
			m.selCheck, m.scrollToCheck = w, true
		}
	}
	m.refresh()
}

func (m *App) stepIndex(name string) int {
	for i := len(m.run.Steps) - 1; i >= 0; i-- {
		if m.run.Steps[i].Name == name {
			return i
		}
	}
	return -1
}

// refresh re-lays the panes after any change.
func (m *App) refresh() {
	m.refreshDetail()
	if m.fullOpen && len(m.run.Steps) > 0 {
		m.refreshFull()
	}
}

// asking reports whether a question waits on this console's operator.
func (m *App) asking() bool { return m.prompt != nil && !m.done }

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
	switch {
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
	// The graph's rows: its head, the plot, the time axis and its labels; taller on a tall terminal.
	graphRows, graphRowsTall = 7, 11
)
