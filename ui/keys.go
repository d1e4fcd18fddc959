package ui

import "github.com/charmbracelet/bubbles/key"

// keyMap is every key the console answers; `?` shows them all with what they do.
type keyMap struct {
	Up, Down, Tab, Enter, Search, Pause, Help, Quit, Abort key.Binding
	Proceed, Retry, Rollback, AbortRun, Cancel             key.Binding
}

func newKeys() keyMap {
	return keyMap{
		Up:       key.NewBinding(key.WithKeys("k", "up"), key.WithHelp("k/↑", "previous step")),
		Down:     key.NewBinding(key.WithKeys("j", "down"), key.WithHelp("j/↓", "next step")),
		Tab:      key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "switch pane (steps ↔ detail)")),
		Enter:    key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "follow the running step / open the selected one")),
		Search:   key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "search the detail pane (esc clears)")),
		Pause:    key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "pause before the next step (again: resume)")),
		Help:     key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "all keys")),
		Quit:     key.NewBinding(key.WithKeys("q"), key.WithHelp("q", "quit (asks while a run is active)")),
		Abort:    key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "abort the run (asks first; twice aborts)")),
		Proceed:  key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "proceed")),
		Retry:    key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "retry")),
		Rollback: key.NewBinding(key.WithKeys("b"), key.WithHelp("b", "roll back")),
		AbortRun: key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "abort")),
		Cancel:   key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),
	}
}

// ShortHelp is the status bar's help.
func (k keyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Up, k.Down, k.Tab, k.Search, k.Pause, k.Help, k.Quit}
}

// FullHelp is `?`.
func (k keyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Up, k.Down, k.Tab, k.Enter, k.Search},
		{k.Pause, k.Help, k.Quit, k.Abort},
		{k.Proceed, k.Retry, k.Rollback, k.AbortRun, k.Cancel},
	}
}
