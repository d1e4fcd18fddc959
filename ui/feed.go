package ui

import (
	"context"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/cutover/cutover/internal/termsafe"
	"github.com/cutover/cutover/runbook"
)

// Feed carries the engine's events to the console in order. The engine calls Watch after each
// event is journaled; a full buffer holds the engine back rather than dropping an event.
type Feed struct {
	ch chan runbook.Event
}

// NewFeed makes a feed that buffers n events.
func NewFeed(n int) *Feed { return &Feed{ch: make(chan runbook.Event, n)} }

// Watch is the engine's Watch hook.
func (f *Feed) Watch(ev runbook.Event) { f.ch <- ev }

// Send is the feed's input, for senders that must give up when their context ends.
func (f *Feed) Send() chan<- runbook.Event { return f.ch }

// Events is the stream the console reads.
func (f *Feed) Events() <-chan runbook.Event { return f.ch }

// Close ends the feed after the run's last event.
func (f *Feed) Close() { close(f.ch) }

// eventGather is how long the feed gathers events after the first before the console applies
// them and draws one frame: a wave's hundreds of events a second are a few frames, not hundreds
// (the console draws after every message it gets). Less than a frame of a 30 Hz screen.
const (
	eventGather  = 30 * time.Millisecond
	eventsAtMost = 512
)

// waitForEvent is re-armed after every batch, so events arrive in order: the first one that comes,
// and those that follow it within eventGather.
func waitForEvent(ch <-chan runbook.Event) tea.Cmd {
	return func() tea.Msg {
		ev, ok := <-ch
		if !ok {
			return runDoneMsg{}
		}
		evs := []runbook.Event{ev}
		gather := time.NewTimer(eventGather)
		defer gather.Stop()
		for len(evs) < eventsAtMost {
			select {
			case ev, ok := <-ch:
				if !ok { // the run's end: the next wait says so
					return engineEventMsg{evs}
				}
				evs = append(evs, ev)
			case <-gather.C:
				return engineEventMsg{evs}
			}
		}
		return engineEventMsg{evs}
	}
}

// ask is a question the engine waits on.
type ask struct {
	q     runbook.Question
	reply chan runbook.Answer
}

// Decider hands the engine's questions to the console and waits for the operator's answer.
type Decider struct {
	asks chan *ask
}

var _ runbook.Decider = (*Decider)(nil)

// NewDecider makes a decider for one console.
func NewDecider() *Decider { return &Decider{asks: make(chan *ask)} }

// Decide blocks until the operator answers in the console or ctx ends.
func (d *Decider) Decide(ctx context.Context, q runbook.Question) (runbook.Answer, error) {
	a := &ask{q: termsafe.Value(q), reply: make(chan runbook.Answer, 1)}
	select {
	case d.asks <- a:
	case <-ctx.Done():
		return runbook.Answer{}, ctx.Err()
	}
	select {
	case ans := <-a.reply:
		return ans, nil
	case <-ctx.Done():
		return runbook.Answer{}, ctx.Err()
	}
}

func waitForAsk(ch <-chan *ask) tea.Cmd {
	return func() tea.Msg { return askMsg{<-ch} }
}
