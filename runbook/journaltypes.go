package runbook

import (
	"cmp"

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

// Placement is where a VM lives: names for people, and each object's reference (Type:value, what
// a rollback moves by: names repeat across clusters) and inventory path. Journals written before
// 2026-12-02 hold names only.
type Placement struct {
	Host          string `json:"host"`
	Cluster       string `json:"cluster,omitempty"`
	Pool          string `json:"pool,omitempty"`
	Datastore     string `json:"datastore,omitempty"`
	HostRef       string `json:"host_ref,omitempty"`
	ClusterRef    string `json:"cluster_ref,omitempty"`
	PoolRef       string `json:"pool_ref,omitempty"`
	DatastoreRef  string `json:"datastore_ref,omitempty"`
	HostPath      string `json:"host_path,omitempty"`
	ClusterPath   string `json:"cluster_path,omitempty"`
	PoolPath      string `json:"pool_path,omitempty"`
	DatastorePath string `json:"datastore_path,omitempty"`
}

// origin is what a rollback moves back to, by reference where the journal has one.
func (p *Placement) origin() map[string]string {
	return map[string]string{"origin_host": cmp.Or(p.HostRef, p.Host), "origin_pool": cmp.Or(p.PoolRef, p.Pool),
		"origin_datastore": cmp.Or(p.DatastoreRef, p.Datastore), "origin_cluster": p.Cluster}
}

// holds tells whether a move would leave the VM where this placement is: same host, and the same
// pool and datastore where the move names them (by reference, path, or, in old journals, name).
func (p *Placement) holds(m checks.Move) bool {
	same := func(want, name, ref, path string) bool {
		return want == "" || want == ref || want == path || ref == "" && want == name
	}
	return p.is(m.Host) && same(m.Pool, p.Pool, p.PoolRef, p.PoolPath) && same(m.Datastore, p.Datastore, p.DatastoreRef, p.DatastorePath)
}

// is tells whether host (a name, path or reference) names this placement's host.
func (p *Placement) is(host string) bool {
	return host != "" && (host == p.Host || host == p.HostRef || host == p.HostPath)
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
	return &Placement{Host: p.Host, Cluster: p.Cluster, Pool: p.Pool, Datastore: p.Datastore,
		HostRef: p.HostRef, ClusterRef: p.ClusterRef, PoolRef: p.PoolRef, DatastoreRef: p.DatastoreRef,
		HostPath: p.HostPath, ClusterPath: p.ClusterPath, PoolPath: p.PoolPath, DatastorePath: p.DatastorePath}
}

func moveOf(m checks.Move) Move {
	return Move{VM: m.VM, Host: m.Host, Pool: m.Pool, Datastore: m.Datastore, Priority: m.Priority}
}
