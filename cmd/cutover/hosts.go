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

// connectAll dials every host the runbook uses, at most forks at a time, before the first step.
// A refused host key or login is bad input (exit 2): nothing runs. A host that does not answer is
// only a warning: its checks will be inconclusive, which the gates judge.
func (h *hostRunners) connectAll(ctx context.Context, names []string, forks int, warn io.Writer) error {
	var mu sync.Mutex
	var refused []string
	sem := make(chan struct{}, max(forks, 1))
	var wg sync.WaitGroup
	for _, n := range names {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			err := h.ssh.Connect(ctx, h.target(n))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
			case errors.Is(err, remote.ErrHostKey), errors.Is(err, remote.ErrAuth):
				refused = append(refused, fmt.Sprintf("host %s: %v", n, err))
			default:
				fmt.Fprintf(warn, "cutover: WARNING: host %s: %s (its checks will be inconclusive)\n", n, termsafe.Text(err.Error()))
			}
		}()
	}
	wg.Wait()
	if len(refused) > 0 {
		return errors.New(strings.Join(refused, "\n"))
	}
	return nil
}
