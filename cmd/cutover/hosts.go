package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/cutover/cutover/checks/remote"
	"github.com/cutover/cutover/internal/termsafe"
	"github.com/cutover/cutover/runbook"
)

// hostRunners maps the runbook's host names to runners: local for "local", SSH for the rest.
type hostRunners struct {
	hosts map[string]runbook.Host
	ssh   *remote.SSH
}

var _ runbook.Runners = (*hostRunners)(nil)

func (h *hostRunners) target(name string) remote.Target {
	hh := h.hosts[name]
	return remote.Target{Address: hh.Address, User: hh.User, Port: hh.Port}
}

// Runner returns the runner of a host of the runbook.
func (h *hostRunners) Runner(name string) (remote.Runner, error) {
	if name == runbook.LocalHost {
		return remote.Local{}, nil
	}
	if _, ok := h.hosts[name]; !ok {
		return nil, fmt.Errorf("host %s is not defined in the runbook", name)
	}
	return h.ssh.Runner(name, h.target(name)), nil
}

// Zone is the host's network zone; local has none.
func (h *hostRunners) Zone(name string) string { return h.hosts[name].Zone }

var _ runbook.GuestRunners = (*hostRunners)(nil)

// Guest is the runner of a wave item's own guest, over the same pool: one connection per host.
func (h *hostRunners) Guest(name string, t remote.Target) (remote.Runner, error) {
	return h.ssh.Runner(name, t), nil
}

// connectAll dials every host the runbook uses, at most forks at a time, before the first step.
// A refused host key or login is bad input (exit 2): nothing runs. A host that does not answer is
// only a warning: its checks will be inconclusive, which the gates judge.
func (h *hostRunners) connectAll(ctx context.Context, names []string, guests []runbook.Guest, forks int, warn io.Writer) error {
	type dial struct {
		name string
		t    remote.Target
	}
	var dials []dial
	for _, n := range names {
		dials = append(dials, dial{"host " + n, h.target(n)})
	}
	for _, g := range guests { // a wave's VMs, each by its own guest: before step one, as the hosts
		dials = append(dials, dial{"vm " + g.VM + " of wave " + g.Wave, g.Target})
	}
	var mu sync.Mutex
	var refused []string
	sem := make(chan struct{}, max(forks, 1))
	var wg sync.WaitGroup
	for _, d := range dials {
		n := d.name
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			err := h.ssh.Connect(ctx, d.t)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
			case errors.Is(err, remote.ErrHostKey), errors.Is(err, remote.ErrAuth):
				refused = append(refused, fmt.Sprintf("%s: %v", n, err))
			default:
				fmt.Fprintf(warn, "cutover: WARNING: %s: %s (its checks will be inconclusive)\n", n, termsafe.Text(err.Error()))
			}
		}()
	}
	wg.Wait()
	if len(refused) > 0 {
		return errors.New(strings.Join(refused, "\n"))
	}
	return nil
}
