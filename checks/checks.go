// Package checks holds the check kinds: what each one runs and how it reads the output into a
// verdict with evidence. Parsers here are pure; commands go through a remote.Runner.
package checks

import (
	"context"
	"fmt"

	"github.com/cutover/cutover/checks/remote"
)

// Outcome is a check's verdict.
type Outcome int

// The three verdicts. Inconclusive means the check could not tell (no connection, timeout): a human
// has to look.
const (
	Pass Outcome = iota + 1
	Fail
	Inconclusive
)

var outcomeNames = map[Outcome]string{Pass: "pass", Fail: "fail", Inconclusive: "inconclusive"}

func (o Outcome) String() string {
	if s, ok := outcomeNames[o]; ok || o == 0 {
		return s // the zero Outcome, "no verdict", is the empty string
	}
	return fmt.Sprintf("outcome(%d)", int(o))
}

// Result is what a check found. Summary is one line for a step list; Evidence holds the lines a
// person needs to believe the verdict. Baseline, when set, is what later checks compare against.
// It is not the journal's format: the engine converts it to runbook.Result.
type Result struct {
	Outcome  Outcome
	Summary  string
	Evidence []string
	Baseline []string
}

// Baselines gives read access to what earlier checks recorded under their id.
type Baselines interface {
	Baseline(id string) ([]string, bool)
}

// Hosts gives checks that look from several places (endpoint) the runners and zones of other hosts.
type Hosts interface {
	Runner(host string) (remote.Runner, error)
	Zone(host string) string
}

// Env is what a running check may use: a runner for its host, sinks for the commands it runs and
// their live output, the baselines recorded so far, and the runbook's other hosts.
type Env struct {
	Host      string
	AsRoot    bool // run every command on Host through sudo -n (the runbook's sudo: true)
	Runner    remote.Runner
	OnCommand func(host string, cmd remote.Command) // called before each command starts, for the journal
	OnLine    func(host string, l remote.Line)
	Baselines Baselines
	Hosts     Hosts
	Inventory Inventory // vCenter, for the vm_* checks; nil when the runbook needs none
	IPAM      IPAM      // NetBox, for the ipam check; nil when the runbook needs none
}

// Check is one runnable check with all its values resolved.
type Check interface {
	Run(ctx context.Context, env Env) Result
}
