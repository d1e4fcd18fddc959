package main

import (
	"context"
	"errors"
	"io"
	"os"

	tea "github.com/charmbracelet/bubbletea"
	"golang.org/x/term"

	"github.com/cutover/cutover/runbook"
	"github.com/cutover/cutover/ui"
)

// isTerminal tells whether w is a terminal the console can take over.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// runConsole runs the engine under the full-screen console: events flow to the UI through a feed,
// decisions come back through the UI's decider (or --yes), ctrl+c aborts through the engine.
func runConsole(signals context.Context, s streams, cfg runbook.Config, o runOptions) (runbook.Outcome, error) {
	ctx, cancel := context.WithCancel(signals)
	defer cancel()
	feed := ui.NewFeed(4096)
	decider := ui.NewDecider()
	cfg.Watch = feed.Watch
	cfg.Decider = decider
	if o.yes {
		cfg.Decider = runbook.AutoDecider{}
	}
	eng := runbook.New(cfg)
	type result struct {
		out runbook.Outcome
		err error
	}
	done := make(chan result, 1)
	go func() {
		out, err := eng.Run(ctx)
		feed.Close()
		done <- result{out, err}
	}()
	app := ui.New(ui.Options{Events: feed.Events(), Decider: decider, Abort: cancel, Pause: eng.SetPaused, Lab: o.lab, Unsigned: o.unsigned,
		NoColor: noColor(), Shadows: o.shadows, Note: func(text string) bool { return eng.Note(o.operator, text) }})
	// A signal (a lost terminal: SIGHUP) ends the run and the console with it; nobody could
	// read it or press q any more.
	if err := program(signals, s)(app); err != nil {
		cancel()
	}
	go func() { // nobody renders any more: keep the engine from blocking on a full feed
		for range feed.Events() {
		}
	}()
	r := <-done // the console quits only once the run ended, or after an abort it asked for
	return r.out, r.err
}

// noColor honours NO_COLOR (no-color.org): set and not empty, the console draws without colour.
func noColor() bool { return os.Getenv("NO_COLOR") != "" }

// program runs a console model: in the terminal, or through the test hook in streams. It ends when
// ctx does (a signal), quietly: the caller says why.
func program(ctx context.Context, s streams) func(tea.Model) error {
	if s.console != nil {
		return s.console
	}
	return func(m tea.Model) error {
		_, err := tea.NewProgram(m, tea.WithAltScreen(), tea.WithInput(s.in), tea.WithOutput(s.out), tea.WithContext(ctx)).Run()
		if errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
			return nil
		}
		return err
	}
}
