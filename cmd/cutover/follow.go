package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/cutover/cutover/runbook"
	"github.com/cutover/cutover/runbook/transcript"
	"github.com/cutover/cutover/ui"
)

// watchOptions are the flags shadow and replay share.
type watchOptions struct {
	plain bool
}

func (o watchOptions) useConsole(s streams) bool {
	return s.console != nil || (!o.plain && isTerminal(s.out))
}

func replayCommand(s streams) *cobra.Command {
	var o watchOptions
	var speed float64
	cmd := &cobra.Command{
		Use:   "replay JOURNAL",
		Short: "Replay a finished run in the console, with its own timing (for training and post-mortems)",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			v, err := transcript.Verify(args[0], transcript.VerifyOptions{})
			if err != nil {
				return withCode(exitBadInput, err)
			}
			if err := isJournal(args[0], v); err != nil {
				return err
			}
			if v.Verdict() == transcript.Failed {
				fmt.Fprintf(s.err, "cutover: WARNING: %s does not verify (cutover verify says why); replaying what it holds\n", args[0])
			}
			events, err := transcript.ReadEvents(args[0])
			if err != nil {
				return withCode(exitBadInput, err)
			}
			if err := startsARun(args[0], events); err != nil {
				return err
			}
			if !o.useConsole(s) {
				p := newPrinter(s.out, args[0], nil, "", "")
				for _, ev := range events {
					p.print(ev)
				}
				return nil
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
			defer stop()
			return program(ctx, s)(ui.New(ui.Options{Replay: &ui.Replay{Events: events, Speed: speed}, NoColor: noColor()}))
		},
	}
	cmd.Flags().Float64Var(&speed, "speed", 1, "play back this many times faster than the run went")
	cmd.Flags().BoolVar(&o.plain, "plain", false, "print the events instead of opening the console")
	return cmd
}

func shadowCommand(s streams) *cobra.Command {
	var o watchOptions
	cmd := &cobra.Command{
		Use:   "shadow JOURNAL",
		Short: "Follow a live run read-only, from its journal as it grows (verifying every line)",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			return shadow(s, args[0], o)
		},
	}
	cmd.Flags().BoolVar(&o.plain, "plain", false, "print the events instead of opening the console")
	return cmd
}

func shadow(s streams, journal string, o watchOptions) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	if _, err := os.Stat(journal); errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(s.err, "cutover: waiting for %s to appear: the run has not started it yet (Ctrl-C to stop)\n", journal)
	}
	if !o.useConsole(s) {
		p := newPrinter(s.out, journal, nil, "", "")
		if err := transcript.Follow(ctx, journal, 100*time.Millisecond, p.print); err != nil {
			return withCode(exitFailed, err)
		}
		return nil
	}
	feed := ui.NewFeed(4096)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	followErr := make(chan error, 1)
	go func() {
		followErr <- transcript.Follow(ctx, journal, 100*time.Millisecond, feed.Watch)
		feed.Close()
	}()
	err := program(ctx, s)(ui.New(ui.Options{Mode: "SHADOW", Events: feed.Events(), NoColor: noColor()}))
	cancel()
	go func() {
		for range feed.Events() {
		}
	}()
	if ferr := <-followErr; ferr != nil {
		return withCode(exitFailed, fmt.Errorf("shadow: %w", ferr))
	}
	return err
}

// isJournal refuses a file none of whose lines verifies: it is not a cutover journal, or nothing
// of it can be trusted to show.
func isJournal(path string, v *transcript.Report) error {
	if v.Lines == 0 && !v.Truncated {
		why := "no line"
		if v.Problem != nil {
			why = v.Problem.String()
		}
		return withCode(exitBadInput, fmt.Errorf("%s: %w (%s)", path, transcript.ErrNotJournal, why))
	}
	return nil
}

// startsARun refuses a chain that does not begin with a run's start: it may verify as a chain,
// but it is no cutover journal to report or replay.
func startsARun(path string, events []runbook.Event) error {
	if len(events) == 0 || events[0].Type != runbook.EvRunStart {
		return withCode(exitBadInput, fmt.Errorf("%s: %w (it does not begin with run.start)", path, transcript.ErrNotJournal))
	}
	return nil
}
