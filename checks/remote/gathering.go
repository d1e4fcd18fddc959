package remote

import (
	"context"
	"sync"
)

// A Gathering is a gate's checks starting together. Gathering commands by time alone splits a
// gate's batch on a loaded machine (a check journals its command, durably, before running it,
// and the checks' goroutines reach their commands milliseconds apart): a batch that holds a
// member's command instead waits until every member has run a command or ended, at most
// gatherHeld after its first command.
type Gathering struct {
	mu      sync.Mutex
	left    int                  // members that have neither run a command nor ended
	holding map[*gatherer]uint64 // batches waiting for the members: their gatherer and batch number
}

// NewGathering is a gathering of n checks; each calls Join.
func NewGathering(n int) *Gathering {
	return &Gathering{left: n}
}

type memberKey struct{}

// member is one check of a gathering.
type member struct {
	g    *Gathering
	once sync.Once
}

// Join returns the context one member check runs its commands with, and the func it calls when
// it ends (a member that ends without a command must not hold the others' batch).
func (g *Gathering) Join(ctx context.Context) (context.Context, func()) {
	m := &member{g: g}
	return context.WithValue(ctx, memberKey{}, m), m.arrive
}

// arrive counts the member in, once: its first command has joined a batch or started alone, or
// it ended.
func (m *member) arrive() {
	m.once.Do(func() {
		g := m.g
		g.mu.Lock()
		g.left--
		var release map[*gatherer]uint64
		if g.left == 0 {
			release, g.holding = g.holding, nil
		}
		g.mu.Unlock()
		for gr, batch := range release {
			gr.released(g, batch)
		}
	})
}

// arrived counts in the member cmd runs for, if any: for a command that does not wait in a batch.
func arrived(ctx context.Context) {
	if m, ok := ctx.Value(memberKey{}).(*member); ok {
		m.arrive()
	}
}

// hold makes batch number batch of gr wait for the gathering, unless every member is in. The
// caller holds gr.mu.
func (g *Gathering) hold(gr *gatherer, batch uint64) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.left == 0 {
		return false
	}
	if g.holding == nil {
		g.holding = map[*gatherer]uint64{}
	}
	g.holding[gr] = batch
	return true
}
