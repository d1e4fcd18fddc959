package runbook

import (
	"fmt"
	"strings"
)

// What a run's states mean, said once for every reader.

// Problems are the checks and actions whose latest result is not a pass, each once, with how
// many attempts it took (a gate that retried shows the check once, not once an attempt).
func (s *RunState) Problems() []*ProblemState {
	var out []*ProblemState
	for _, st := range s.Steps {
		for _, c := range append([]*CheckState{st.ActionCheck}, st.Checks...) {
			if c == nil || len(c.Attempts) == 0 || c.Result.Outcome == Pass {
				continue
			}
			out = append(out, &ProblemState{Step: st.Name, CheckState: c})
		}
	}
	return out
}

// ProblemState is a check or action that did not pass in its last attempt.
type ProblemState struct {
	Step string
	*CheckState
}

// AcceptedRollbackSteps are the rollback steps whose gate did not hold and that the operator
// (or --yes) passed, with the reason given.
func (s *RunState) AcceptedRollbackSteps() []*StepState {
	var out []*StepState
	for _, st := range s.Steps {
		if st.Phase == PhaseRollback && st.Status == string(StepOverridden) {
			out = append(out, st)
		}
	}
	return out
}

// Outcome says what the run's end means, in one line, the same for every reader.
func (s *RunState) Outcome() string {
	switch RunStatus(s.Status) {
	case "", "starting", "running":
		if len(s.Resumes) > 0 && !s.ended {
			return "running (resumed)"
		}
		return s.Status
	case RunRollbackFailed:
		if acc := s.AcceptedRollbackSteps(); len(acc) > 0 && !s.rollbackFailedOutright() {
			var names []string
			for _, a := range acc {
				names = append(names, a.Name)
			}
			return fmt.Sprintf("rolled back, with %s accepted by the operator though its gate did not hold", strings.Join(names, ", "))
		}
		return "the rollback did not complete: the system is between states"
	case RunDone:
		// Done, but not clean: a failure the operator (or a gate's own rule) proceeded over is
		// part of what "done" means here, and the next shift must see it at once.
		switch over := s.Overridden(); len(over) {
		case 0:
		case 1:
			return "done (1 failure overridden: " + over[0] + ")"
		default:
			return fmt.Sprintf("done (%d failures overridden: %s)", len(over), strings.Join(over, ", "))
		}
	}
	return s.Status
}

// Overridden names the forward steps the run proceeded over a failure of.
func (s *RunState) Overridden() []string {
	var over []string
	for _, st := range s.Steps {
		if st.Phase == PhaseRun && st.Status == string(StepOverridden) {
			over = append(over, st.Name)
		}
	}
	return over
}

// Headline is the run's state in a word, as a header shows it: the status in capitals, and a
// run done over failures says so ("DONE (1 failure overridden)"), so that "DONE" alone always
// means clean.
func (s *RunState) Headline() string {
	h := strings.ToUpper(s.Status)
	if RunStatus(s.Status) == RunDone {
		switch n := len(s.Overridden()); n {
		case 0:
		case 1:
			h += " (1 failure overridden)"
		default:
			h += fmt.Sprintf(" (%d failures overridden)", n)
		}
	}
	return h
}

// rollbackFailedOutright reports whether a rollback step failed and was not accepted.
func (s *RunState) rollbackFailedOutright() bool {
	for _, st := range s.Steps {
		if st.Phase == PhaseRollback && (st.Status == string(StepFailed) || st.Status == string(StepAborted) || st.Status == string(StepInterrupted) || st.Status == "pending" || st.Status == "skipped") {
			return true
		}
	}
	return false
}

// VMProof says where the migrated VM is now and what proved it: the newest passing vm_on_host
// check that names that host, else vCenter's word on the last move. Both are "" when the run
// migrated nothing.
func (s *RunState) VMProof() (where, proof string) {
	host := s.VMHost()
	if host == "" {
		return "", ""
	}
	vm := ""
	if m := s.Migration(); m != nil {
		vm = m.VM
	}
	where = vm + " on " + host
	var best *StepState
	var bestCheck *CheckState
	for _, st := range s.Steps {
		for _, c := range st.Checks {
			if c.Kind == "vm_on_host" && c.Result.Outcome == Pass && strings.Contains(c.Result.Summary, host) && (best == nil || st.Started.After(best.Started)) {
				best, bestCheck = st, c
			}
		}
	}
	if best != nil {
		return where, fmt.Sprintf("%s / %s: %s", best.Name, bestCheck.Check, bestCheck.Result.Summary)
	}
	if m := s.Migration(); m != nil && m.Result != "" {
		return where, "vCenter, at the end of the move: " + m.Result + " (no check confirmed it afterwards)"
	}
	return where, "where pre-flight found it (no move landed)"
}
