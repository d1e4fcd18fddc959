package runbook

import (
	"context"
	"errors"
	"fmt"

	"github.com/cutover/cutover/checks"
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
	Dropped      int64 // bytes of a torn last line cut from the journal
}

// ErrRunEnded means the journal holds the run's end: nothing to resume.
var ErrRunEnded = errors.New("the run already ended")

// RebuildResume reads a journal's events into the state a resumed run starts from.
func RebuildResume(events []Event) (*Resume, error) {
	r := &Resume{Completed: map[string]bool{}, ActionDone: map[string]bool{}, ActionBegan: map[string]bool{}, Baselines: map[string][]string{}, Runtime: Values{}, RollbackDone: map[string]bool{}}
	phase := map[string]Phase{}
	for _, ev := range events {
		r.Seq = ev.Seq
		switch d := ev.Data.(type) {
		case RunStartData:
			r.RunID, r.Operator = ev.Run, d.Operator
		case StepStartData:
			phase[ev.Step] = d.Phase
			r.InFlight = ev.Step
		case CmdData:
			if d.Index == ActionIndex {
				r.ActionBegan[ev.Step] = true
			}
		case MigrateData:
			r.ActionBegan[ev.Step] = true
			if d.Phase == "origin" && d.From != nil && phase[ev.Step] == PhaseRun {
				for k, v := range map[string]string{"origin_host": d.From.Host, "origin_pool": d.From.Pool, "origin_datastore": d.From.Datastore, "origin_cluster": d.From.Cluster} {
					if _, ok := r.Runtime[k]; !ok {
						r.Runtime[k] = Value{Text: v}
					}
				}
			}
		case CheckData:
			if ev.Type == EvAction && d.Kind != "restart" && d.Outcome == checks.Pass {
				r.ActionDone[ev.Step] = true
			}
			if ev.Type == EvCheck && d.ID != "" && d.Outcome == checks.Pass && d.Baseline != nil {
				r.Baselines[d.ID] = d.Baseline
			}
		case StepEndData:
			done := d.Status == StepPassed || d.Status == StepOverridden
			switch {
			case phase[ev.Step] == PhaseRollback && done:
				r.RollbackDone[ev.Step] = true
			case phase[ev.Step] == PhaseRun && done:
				r.Completed[ev.Step] = true
			}
			r.InFlight = ""
		case RollbackData:
			rb := d
			r.Rollback = &rb
		case RunEndData:
			return nil, ErrRunEnded
		}
	}
	if r.RunID == "" {
		return nil, errors.New("the journal has no run.start")
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
