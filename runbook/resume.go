package runbook

import (
	"context"
	"errors"
	"fmt"
)

// Resume is a run's state rebuilt from its journal, to continue it after a crash or kill.
type Resume struct {
	RunID        string
	Operator     string // who started it
	Seq          int64  // the last journaled event
	Completed    map[string]bool
	InFlight     string          // the step that was running when the run died
	ActionDone   map[string]bool // steps whose action had reported its result
	ActionBegan  map[string]bool // steps whose action had started
	Baselines    map[string][]string
	Runtime      Values
	Rollback     *RollbackData // a rollback that was under way
	RollbackDone map[string]bool
	Dropped      int64  // bytes of a torn last line cut from the journal
	VMHost       string // where the journal last saw the migrated VM ("" when nothing migrated)
	// Items are the waves' items by "wave[vm]": what each had done, so that none is moved twice and
	// each moved one can still go back to where it was.
	Items map[string]*ItemResume
}

// ItemResume is one wave item's part of a resume.
type ItemResume struct {
	VM          string
	Host        string // where the journal last saw it
	Status      string // how it ended, "" if it had not
	Completed   map[string]bool
	ActionDone  map[string]bool
	ActionBegan map[string]bool
	InFlight    string
	Failed      string // the step it failed at, when its rollback had not ended
	Runtime     Values // its origin_host, …
}

// ErrRunEnded means the journal holds the run's end: nothing to resume.
var ErrRunEnded = errors.New("the run already ended")

// RebuildResume reads a journal's events into the state a resumed run starts from: the journal's
// one fold, RunState, and what it says a resume stands on. A run that ended is not resumed, except
// one a signal interrupted (a lost terminal, a kill): that one is taken up again.
func RebuildResume(events []Event) (*Resume, error) {
	s := FoldEvents(events)
	if s.ID == "" {
		return nil, errors.New("the journal has no run.start")
	}
	if s.HasEnded() && s.Status != string(RunInterrupted) {
		return nil, ErrRunEnded
	}
	r := &Resume{RunID: s.ID, Seq: s.Seq, Completed: map[string]bool{}, ActionDone: map[string]bool{}, ActionBegan: map[string]bool{}, Baselines: s.Baselines, Runtime: Values{}, RollbackDone: map[string]bool{}}
	if len(s.Operators) > 0 {
		r.Operator = s.Operators[0]
	}
	for k, v := range s.Runtime {
		r.Runtime[k] = Value{Text: v}
	}
	r.Items = itemResumes(s)
	for _, st := range s.Steps {
		if _, _, _, item := SplitItemStep(st.Name); item {
			continue // an item's steps are its own (itemResumes)
		}
		switch {
		case st.Phase == PhaseRollback && (st.Status == string(StepPassed) || st.Status == string(StepOverridden)):
			r.RollbackDone[st.Name] = true
		case st.Phase == PhaseRun && st.Done():
			r.Completed[st.Name] = true
		case st.Status == "running" || st.Status == string(StepInterrupted):
			r.InFlight = st.Name
		}
		if st.ActionBegan {
			r.ActionBegan[st.Name] = true
		}
		if st.ActionDone {
			r.ActionDone[st.Name] = true
		}
	}
	r.VMHost = s.VMHost()
	if rb := s.Rollback; rb != nil {
		r.Rollback = &RollbackData{Trigger: rb.Trigger, Reason: rb.Reason, Steps: rb.Steps}
	}
	return r, nil
}

// ResumeData opens the resumed part of a journal.
type ResumeData struct {
	Operator  string   `json:"operator"`
	Completed []string `json:"completed"`
	InFlight  string   `json:"in_flight,omitempty"`
	Rollback  bool     `json:"rollback,omitempty"`
	Dropped   int64    `json:"dropped_bytes,omitempty"` // a torn last line, cut
}

// resumeStep decides a step of a resumed run before it runs: a completed step is done; an action
// that finished is not run again; one that was running when the run died is asked about (a
// migration needs no asking: it finds the VM where it is and moves it only if it is not there yet).
// A pending rollback never gets here: Run continues it instead.
func (e *Engine) resumeStep(ctx context.Context, st *Step) (done bool, stop *Outcome) {
	rs := e.cfg.Resume
	if rs.Completed[st.Name] {
		return true, nil
	}
	if st.Name != rs.InFlight || !st.hasAction() {
		return false, nil
	}
	switch {
	case rs.ActionDone[st.Name]:
		e.skipAction[st.Name] = true
	case rs.ActionBegan[st.Name] && st.Migrate == nil:
		a, ok := e.ask(ctx, st.Name, QuestionData{Kind: AskConfirm, Prompt: fmt.Sprintf("The run died while step %s's action was running; its result is unknown. Run the action again?", st.Name),
			Options: []Choice{Proceed, Abort}, NeedReason: []Choice{Abort}}, nil)
		if !ok {
			return false, &Outcome{Status: RunInterrupted, Reason: interruption(ctx)}
		}
		if a.Choice == Abort {
			return false, &Outcome{Status: RunAborted, Reason: a.Reason}
		}
	}
	return false, nil
}
