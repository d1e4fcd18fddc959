package runbook

import (
	"github.com/cutover/cutover/checks"
	"github.com/cutover/cutover/checks/remote"
)

// The journal's own value types. The signed format is the engine's: adapters (checks, remote,
// vsphere) convert to these at the engine, and their JSON tags shape nothing that is signed.

// Result is a check's or an action's verdict as journaled.
type Result struct {
	Outcome  Verdict  `json:"outcome"`
	Summary  string   `json:"summary"`
	Evidence []string `json:"evidence,omitempty"`
	Baseline []string `json:"baseline,omitempty"`
}

// Line is one line (or piece of a long one) of a command's output.
type Line struct {
	Stream string `json:"stream"` // stdout or stderr
	Text   string `json:"text"`
	Cut    bool   `json:"cut,omitempty"` // the line goes on in the next piece
}

// Placement is where a VM lives.
type Placement struct {
	Host      string `json:"host"`
	Cluster   string `json:"cluster,omitempty"`
	Pool      string `json:"pool,omitempty"`
	Datastore string `json:"datastore,omitempty"`
}

// Move is a migration request.
type Move struct {
	VM        string `json:"vm"`
	Host      string `json:"host"`
	Pool      string `json:"pool,omitempty"`
	Datastore string `json:"datastore,omitempty"`
	Priority  string `json:"priority,omitempty"`
}

func resultOf(r checks.Result) Result {
	return Result{Outcome: verdictOf(r.Outcome), Summary: r.Summary, Evidence: r.Evidence, Baseline: r.Baseline}
}

func lineOf(l remote.Line) Line { return Line{Stream: string(l.Stream), Text: l.Text, Cut: l.Cut} }

func placementOf(p checks.Placement) *Placement {
	return &Placement{Host: p.Host, Cluster: p.Cluster, Pool: p.Pool, Datastore: p.Datastore}
}

func moveOf(m checks.Move) Move {
	return Move{VM: m.VM, Host: m.Host, Pool: m.Pool, Datastore: m.Datastore, Priority: m.Priority}
}
