package ui

import (
	"slices"
	"time"

	"github.com/charmbracelet/bubbles/help"
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
	waveView                      bool // v: the wave, a row per VM
	waveSel                       int  // the VM selected in it
	waveBadFirst                  bool // o: the VMs that did not move first
	waveShow                      int  // x: which VMs show, an index of waveShows
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
		for _, ev := range msg.evs {
			m.foldEvent(ev)
		}
		m.refresh() // once for the batch
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
		m.foldEvent(ev)
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

// foldEvent folds one event and keeps the selection on the running step and its worst check.
func (m *App) foldEvent(ev runbook.Event) {
	m.run.apply(ev)
	if m.follow && m.run.Current >= 0 {
		if m.selected != m.run.Current {
			m.selected, m.selCheck = m.run.Current, -1
		}
		if w := worstRow(m.run.Steps[m.selected]); w >= 0 && w != m.selCheck && (ev.Type == runbook.EvGate || ev.Type == runbook.EvStepEnd || ev.Type == runbook.EvQuestion) {
			m.selCheck, m.scrollToCheck = w, true
		}
	}
}

// stepIndex is the row of the newest step of that name (the fold's one lookup), -1 for none.
func (m *App) stepIndex(name string) int { return slices.Index(m.run.Steps, m.run.Step(name)) }

// refresh re-lays the panes after any change.
func (m *App) refresh() {
	m.refreshDetail()
	if m.fullOpen && len(m.run.Steps) > 0 {
		m.refreshFull()
	}
}

// asking reports whether a question waits on this console's operator.
func (m *App) asking() bool { return m.prompt != nil && !m.done }

// Sizes of the fixed parts of the screen.
const (
	stepsWidth  = 34
	headerLines = 2
	// The graph's rows: its head, the plot, the time axis and its labels; taller on a tall terminal.
	graphRows, graphRowsTall = 7, 11
)
