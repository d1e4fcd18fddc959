package remote

import (
	"context"
	"sync"
	"testing"
	"time"
)

// pendingOn waits until n commands wait in the target's pending batch and returns the batch's
// number.
func pendingOn(t *testing.T, s *SSH, target Target, n int) uint64 {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		s.mu.Lock()
		g := s.gather[target]
		s.mu.Unlock()
		if g != nil {
			g.mu.Lock()
			got, batch := len(g.pending), g.batch
			g.mu.Unlock()
			if got == n {
				return batch
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d commands never waited together in one batch", n)
		}
	}
}

// A gate's checks share one session however far apart their commands come: the batch waits until
// every member has run a command or ended, not for a pause, and a member that ends without a
// command lets it go.
func TestGatheringHoldsTheBatch(t *testing.T) {
	f := newFixture(t)
	tm := &Timings{}
	s := f.pool(t, func(o *SSHOptions) { o.Timings = tm })
	s.held = time.Minute // only the gathering starts this batch
	target := Target{Address: "app"}
	if err := s.Connect(context.Background(), target); err != nil {
		t.Fatal(err)
	}
	r := s.Runner("app", target)
	g := NewGathering(3)
	var wg sync.WaitGroup
	got := make([]string, 2)
	run := func(i int, word string) {
		ctx, done := g.Join(context.Background())
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer done()
			res, err := r.Run(ctx, Command{Argv: []string{"echo", word}, Gather: true}, func(l Line) { got[i] += l.Text })
			if err != nil || res.ExitCode != 0 {
				t.Errorf("%s: exit %d, %v", word, res.ExitCode, err)
			}
		}()
	}
	run(0, "first")
	batch := pendingOn(t, s, target, 1)
	time.Sleep(2 * gatherMost) // far past the pause that starts a batch without a gathering
	run(1, "second")
	if b := pendingOn(t, s, target, 2); b != batch {
		t.Fatalf("the first command's batch (%d) started before the gathering's members were in (now %d)", batch, b)
	}
	_, done := g.Join(context.Background()) // a member that asks vCenter, say, and ends
	done()
	wg.Wait()
	if got[0] != "first" || got[1] != "second" {
		t.Errorf("answers %q", got)
	}
	if n := tm.phases[phaseSession].n; n != 1 {
		t.Errorf("%d sessions for a gathering's two commands, want 1", n)
	}
}

// A member that never runs a command holds the batch for s.held at most.
func TestGatheringHoldsAtMostHeld(t *testing.T) {
	f := newFixture(t)
	s := f.pool(t)
	s.held = 300 * time.Millisecond
	target := Target{Address: "app"}
	if err := s.Connect(context.Background(), target); err != nil {
		t.Fatal(err)
	}
	g := NewGathering(2)
	ctx, done := g.Join(context.Background())
	defer done()
	_, never := g.Join(context.Background())
	defer never()
	start := time.Now()
	res, err := s.Runner("app", target).Run(ctx, Command{Argv: []string{"true"}, Gather: true}, nil)
	took := time.Since(start)
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("exit %d, %v", res.ExitCode, err)
	}
	if took < s.held {
		t.Errorf("answered after %s: the batch did not wait for the other member", took)
	}
}
