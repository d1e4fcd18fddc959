package runbook

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/cutover/cutover/checks/remote"
)

// Where a wave's items run: their guests, and how many vMotions go through an ESXi host at once.

// itemRunners adds the item's guest (host: vm) to the run's hosts.
type itemRunners struct {
	Runners
	item Item
}

func (r itemRunners) Runner(host string) (remote.Runner, error) {
	if host != GuestHost {
		return r.Runners.Runner(host)
	}
	g, ok := r.Runners.(GuestRunners)
	if !ok {
		return nil, fmt.Errorf("host vm of item %s: this run cannot reach a guest the runbook does not name", r.item.Key)
	}
	return g.Guest(r.item.Key, r.item.Target())
}

// Target is how to reach an item's guest over SSH: its host field (else its vm name, which may be
// an ssh_config alias), user and port.
func (it Item) Target() remote.Target {
	t := remote.Target{Address: it.Fields["host"], User: it.Fields["user"]}
	if t.Address == "" {
		t.Address = it.Key
	}
	if p := it.Fields["port"]; p != "" {
		fmt.Sscan(p, &t.Port)
	}
	return t
}

// Guest is a wave item whose steps run on its own guest (host: vm).
type Guest struct {
	Wave, VM, Zone string
	Target         remote.Target
}

// Guests lists the guests a run reaches, to be dialled before step one with the runbook's hosts.
func (rb *Runbook) Guests() []Guest {
	var out []Guest
	for _, st := range rb.Steps {
		if st.Wave == nil || !usesGuest(st.Wave.Steps) {
			continue
		}
		for _, it := range st.Wave.Items {
			out = append(out, Guest{Wave: st.Name, VM: it.Key, Zone: it.Fields["zone"], Target: it.Target()})
		}
	}
	return out
}

func usesGuest(steps []Step) bool {
	rb := Runbook{Steps: steps}
	for _, h := range rb.hostRefs() {
		if h == GuestHost {
			return true
		}
	}
	return false
}

func (r itemRunners) Zone(host string) string {
	if host == GuestHost {
		return r.item.Fields["zone"]
	}
	return r.Runners.Zone(host)
}

// hostSlots bounds the vMotions at once through one ESXi host, as source or destination.
type hostSlots struct {
	per int
	mu  sync.Mutex
	sem map[string]chan struct{}
}

func newHostSlots(per int) *hostSlots { return &hostSlots{per: per, sem: map[string]chan struct{}{}} }

func (h *hostSlots) slot(host string) chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	s, ok := h.sem[host]
	if !ok {
		s = make(chan struct{}, h.per)
		h.sem[host] = s
	}
	return s
}

// acquire waits for a slot on each host (in name order, so two moves never wait on each other) and
// returns the release.
func (h *hostSlots) acquire(ctx context.Context, hosts ...string) (func(), error) {
	if h == nil {
		return func() {}, nil
	}
	hosts = slices.Compact(slices.Sorted(slices.Values(hosts)))
	var held []chan struct{}
	release := func() {
		for _, s := range held {
			<-s
		}
	}
	for _, name := range hosts {
		if name == "" {
			continue
		}
		s := h.slot(name)
		select {
		case s <- struct{}{}:
			held = append(held, s)
		case <-ctx.Done():
			release()
			return nil, ctx.Err()
		}
	}
	return release, nil
}
