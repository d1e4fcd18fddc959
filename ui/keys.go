package ui

import (
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/viewport"
	tea "github.com/charmbracelet/bubbletea"
)

// keyMap is every key the console answers; `?` shows them all with what they do. One key, one
// meaning: the keys that answer a question (p r b a) act only while the question is open, and
// pausing has a key of its own that never answers one.
type keyMap struct {
	mode                                         string
	Up, Down, PageUp, PageDown, Top, Bottom, Tab key.Binding
	Open, Close, Follow, Search, Leave, Answer   key.Binding
	Pause, Help, Quit, Abort                     key.Binding
	Span, LogScale, Watches, Note                key.Binding
	Proceed, Retry, Rollback, AbortRun           key.Binding
	Play, Event, StepJump, Speed                 key.Binding
	Wave, Order, Show                            key.Binding
}

func newKeys(mode string) keyMap {
	k := keyMap{
		mode:     mode,
		Up:       key.NewBinding(key.WithKeys("k", "up"), key.WithHelp("k/↑", "previous step (in the detail: previous check)")),
		Down:     key.NewBinding(key.WithKeys("j", "down"), key.WithHelp("j/↓", "next step (in the detail: next check)")),
		PageUp:   key.NewBinding(key.WithKeys("pgup", "ctrl+u"), key.WithHelp("pgup/pgdn", "scroll the detail half a page")),
		PageDown: key.NewBinding(key.WithKeys("pgdown", "ctrl+d")),
		Top:      key.NewBinding(key.WithKeys("g", "home"), key.WithHelp("g/G", "top / bottom of the detail")),
		Bottom:   key.NewBinding(key.WithKeys("G", "end")),
		Tab:      key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "switch pane (steps ↔ detail)")),
		Open:     key.NewBinding(key.WithKeys("enter", "z"), key.WithHelp("enter/z", "the selected step in full: every check's command, evidence, output")),
		Close:    key.NewBinding(key.WithKeys("esc", "z", "enter")),
		Follow:   key.NewBinding(key.WithKeys("f"), key.WithHelp("f", "follow the running step again")),
		Search:   key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "search the output, or in the wave filter the VMs (esc clears)")),
		Leave:    key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "leave the question to look around / close / clear the search")),
		Answer:   key.NewBinding(key.WithKeys("d"), key.WithHelp("d", "back to the waiting question")),
		Pause:    key.NewBinding(key.WithKeys(" "), key.WithHelp("space", "pause after this step (again: resume); never answers a question")),
		Help:     key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "all keys")),
		Span:     key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "graph: the gated span only / the whole watch")),
		LogScale: key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "graph: logarithmic / linear RTT axis")),
		Note:     key.NewBinding(key.WithKeys("n"), key.WithHelp("n", "write a handoff note (journaled, in the report)")),
		Watches:  key.NewBinding(key.WithKeys("w"), key.WithHelp("w", "graph: the other watch (the way there / the way back)")),
		Quit:     key.NewBinding(key.WithKeys("q"), key.WithHelp("q", "quit (asks while a run is active)")),
		Abort:    key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "abort the run (asks first; twice aborts)")),
		Proceed:  key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "in a question: proceed")),
		Retry:    key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "in a question: retry")),
		Rollback: key.NewBinding(key.WithKeys("b"), key.WithHelp("b", "in a question: roll back")),
		AbortRun: key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "in a question: abort")),
		Play:     key.NewBinding(key.WithKeys(" "), key.WithHelp("space", "play / pause the replay")),
		Event:    key.NewBinding(key.WithKeys("right", "left", "l", "h"), key.WithHelp("→/←", "next / previous event")),
		StepJump: key.NewBinding(key.WithKeys("]", "["), key.WithHelp("]/[", "next / previous step")),
		Speed:    key.NewBinding(key.WithKeys("+", "-"), key.WithHelp("+/-", "faster / slower")),
		Wave:     key.NewBinding(key.WithKeys("v"), key.WithHelp("v", "the wave: a row per VM, its watch in the graph (again: the steps)")),
		Order:    key.NewBinding(key.WithKeys("o"), key.WithHelp("o", "in the wave: the VMs that did not move first / as planned")),
		Show:     key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "in the wave: all VMs / in trouble / moving / to go / moved (/ filters by name, host, state)")),
	}
	switch mode {
	case "":
		for _, b := range []*key.Binding{&k.Play, &k.Event, &k.StepJump, &k.Speed} {
			b.SetEnabled(false)
		}
	default: // a shadow or a replay changes nothing: no pause, no question, no abort
		for _, b := range []*key.Binding{&k.Pause, &k.Answer, &k.Note, &k.Proceed, &k.Retry, &k.Rollback, &k.AbortRun} {
			b.SetEnabled(false)
		}
		k.Quit.SetHelp("q", "quit")
		k.Abort.SetHelp("ctrl+c", "quit")
		k.Leave.SetHelp("esc", "close / clear the search")
		if mode != "REPLAY" {
			for _, b := range []*key.Binding{&k.Play, &k.Event, &k.StepJump, &k.Speed} {
				b.SetEnabled(false)
			}
		}
	}
	return k
}

// ShortHelp is the status bar's help, each key with a word or two.
func (k keyMap) ShortHelp() []key.Binding {
	short := func(b key.Binding, what string) key.Binding {
		return key.NewBinding(key.WithKeys(b.Keys()...), key.WithHelp(b.Help().Key, what))
	}
	if k.mode == "REPLAY" {
		return []key.Binding{short(k.Play, "play/pause"), short(k.Event, "event"), short(k.StepJump, "step"), short(k.Speed, "speed"), short(k.Open, "in full"), short(k.Help, "keys"), short(k.Quit, "quit")}
	}
	out := []key.Binding{short(k.Down, "step"), short(k.Tab, "pane"), short(k.Open, "in full"), short(k.Search, "search")}
	if k.Pause.Enabled() {
		out = append(out, short(k.Pause, "pause"))
	}
	return append(out, short(k.Help, "keys"), short(k.Quit, "quit"))
}

// FullHelp is `?`: every key of this mode (bindings disabled for it are left out).
func (k keyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Up, k.Down, k.PageUp, k.Top, k.Tab, k.Open, k.Follow, k.Search, k.Leave, k.Wave, k.Order, k.Show},
		{k.Span, k.LogScale, k.Watches, k.Pause, k.Note, k.Answer, k.Proceed, k.Retry, k.Rollback, k.AbortRun, k.Help, k.Quit, k.Abort},
		{k.Play, k.Event, k.StepJump, k.Speed},
	}
}

// All is every key with help text this mode answers, in FullHelp's order: README's key table is
// held to it.
func (k keyMap) All() []key.Binding {
	var out []key.Binding
	for _, col := range k.FullHelp() {
		for _, b := range col {
			if b.Enabled() && b.Help().Key != "" {
				out = append(out, b)
			}
		}
	}
	return out
}

// replayOnly are the keys only a replay has.
func (k keyMap) replayOnly() []key.Binding {
	return []key.Binding{k.Play, k.Event, k.StepJump, k.Speed}
}

// scroll pages a viewport by the page keys; false for any other key.
func (k keyMap) scroll(vp *viewport.Model, msg tea.KeyMsg) bool {
	switch {
	case key.Matches(msg, k.PageUp):
		vp.HalfPageUp()
	case key.Matches(msg, k.PageDown):
		vp.HalfPageDown()
	case key.Matches(msg, k.Top):
		vp.GotoTop()
	case key.Matches(msg, k.Bottom):
		vp.GotoBottom()
	default:
		return false
	}
	return true
}
