package ui

import (
	"github.com/cutover/cutover/internal/termsafe"
	"github.com/cutover/cutover/runbook"
)

// run is what the console knows about the run: the journal's one fold, runbook.RunState, fed
// terminal-safe events. The console keeps only view state of its own (selection, scroll, search).
type run struct {
	*runbook.RunState
}

func newRun() *run { return &run{runbook.NewRunState()} }

// apply folds one event. Every string of it is made terminal-safe first: a host's output must not
// move the cursor over the console, set the title or write the clipboard.
func (r *run) apply(ev runbook.Event) {
	ev.Step, ev.Data = termsafe.Text(ev.Step), termsafe.Value(ev.Data)
	r.Apply(ev)
}

// operator is who started the run.
func (r *run) operator() string {
	if len(r.Operators) == 0 {
		return ""
	}
	return r.Operators[0]
}

// gateText is a step's latest gate verdict, with what comes next.
func gateText(st *runbook.StepState) string {
	g := st.Gate
	if g == nil {
		return ""
	}
	s := string(g.Verdict)
	if g.Next != "" {
		s += " (" + g.Next + ")"
	}
	return s
}

// stepNote is what a step waits for or why it ended as it did.
func stepNote(st *runbook.StepState) string {
	switch {
	case st.Approval != "" && st.Status == "running":
		return st.Approval
	case st.Reason != "":
		return st.Reason
	}
	return st.Approval
}
