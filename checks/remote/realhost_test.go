package remote_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/cutover/cutover/checks/remote"
	"github.com/cutover/cutover/internal/realhost"
)

// cutover must not pollute what it measures: timeouts, aborts and closed connections leave no
// err-level line in a real host's journal (sshd logs a client's signal request, or a connection
// closed under its post-login messages, at err level; journal_regressions would then blame sshd).
func TestRealHostJournalKeepsNoTraceOfCutover(t *testing.T) {
	h := realhost.Start(t)
	h.AddUser(t, "ops")
	before := h.ErrorLines(t)
	for _, user := range []string{"root", "ops"} {
		pool := func() *remote.SSH { return h.SSH(t, "app", user) }
		ctx := context.Background()

		// Connected, then closed at once (an aborted start).
		s := pool()
		if err := s.Connect(ctx, remote.Target{Address: "app"}); err != nil {
			t.Fatal(err)
		}
		s.Close()

		s = pool()
		r := s.Runner("app", remote.Target{Address: "app"})
		// A command that outlives its timeout, then one whose context is cancelled.
		if _, err := r.Run(ctx, remote.Command{Argv: []string{"sleep", "30"}, Timeout: 300 * time.Millisecond}, nil); !errors.Is(err, remote.ErrTimeout) {
			t.Fatalf("as %s: want a timeout, got %v", user, err)
		}
		cctx, cancel := context.WithCancel(ctx)
		started := make(chan struct{})
		go func() { <-started; cancel() }()
		if _, err := r.Run(cctx, remote.Command{Script: "echo go; exec sleep 30"}, func(remote.Line) { close(started) }); err == nil {
			t.Fatalf("as %s: a cancelled command returned no error", user)
		}
		// A command that exits at once while its session closes, and a normal one.
		if _, err := r.Run(ctx, remote.Command{Argv: []string{"true"}}, nil); err != nil {
			t.Fatal(err)
		}
		s.Close()
		if procs, err := h.Try("pgrep", "-u", user, "-x", "sleep"); err == nil { // pgrep exits 1 when none is left
			t.Errorf("as %s: sleep still runs: %s", user, procs)
		}
	}
	if after := h.ErrorLines(t); !slices.Equal(before, after) {
		t.Errorf("cutover left err-level lines in the host's journal:\nbefore %q\nafter  %q", before, after)
	}
}
