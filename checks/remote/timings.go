package remote

import (
	"fmt"
	"strings"
	"sync"
	"time"
)

// Timings adds up where SSH time goes across a run, phase by phase: the TCP connect, the key
// exchange (version exchange, KEXINIT, key agreement, host key check), user authentication,
// opening a session and the command itself (remote shell start included). A nil *Timings
// records nothing.
type Timings struct {
	mu     sync.Mutex
	phases [numPhases]phaseTotal
}

type phase int

const (
	phaseTCP phase = iota
	phaseKex
	phaseAuth
	phaseSession
	phaseExec
	numPhases
)

var phaseNames = [numPhases]string{"tcp connect", "key exchange", "auth", "session open", "command"}

type phaseTotal struct {
	n           int
	sum         time.Duration
	first, last time.Time // the wall span the phase covered, across hosts
}

func (t *Timings) add(p phase, start time.Time) {
	if t == nil {
		return
	}
	end := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	pt := &t.phases[p]
	pt.n++
	pt.sum += end.Sub(start)
	if pt.first.IsZero() || start.Before(pt.first) {
		pt.first = start
	}
	if end.After(pt.last) {
		pt.last = end
	}
}

// String is one line per phase: how many, the summed time, the mean, and the wall-clock span
// from the first start to the last end (phases overlap across hosts).
func (t *Timings) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var b strings.Builder
	for p, pt := range t.phases {
		if pt.n == 0 {
			continue
		}
		fmt.Fprintf(&b, "%-13s %5d × mean %8s  sum %9s  wall span %8s\n", phaseNames[p], pt.n,
			(pt.sum / time.Duration(pt.n)).Round(10*time.Microsecond), pt.sum.Round(time.Millisecond), pt.last.Sub(pt.first).Round(time.Millisecond))
	}
	return b.String()
}
