package runbook

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// stepResult is how runStep ended and, when it did not pass, what the run does next.
type stepResult struct {
	status StepStatus
	next   Choice // Rollback or Abort when the step failed; empty when interrupted
	reason string
}

// runStep runs one step: confirmation, action, then the gate with its retries, and on failure the
// step's policy or the operator's decision.
func (e *Engine) runStep(ctx context.Context, st *Step, phase Phase, index, of int, undoes string) stepResult {
	start := e.cfg.Clock()
	ss := StepStartData{Index: index, Of: of, Phase: phase, Undoes: undoes, Description: st.Description, Checks: len(st.Checks)}
	ss.Action = st.actionKind()
	e.emit(EvStepStart, st.Name, ss)
	r := e.stepBody(ctx, st, phase)
	if r.status == "" {
		// Interrupted (Ctrl-C): that is the operator's abort, and the journal says so, with what
		// the interrupted action left behind (where a VM is mid-move).
		why := interruption(ctx)
		if r.reason != "" {
			why += "; " + r.reason
		}
		r.status, r.reason = StepInterrupted, why
		e.emit(EvDecision, st.Name, DecisionData{Choice: Abort, Reason: r.reason, By: e.cfg.Operator})
	}
	e.emit(EvStepEnd, st.Name, StepEndData{Status: r.status, Reason: r.reason, Duration: ms(e.cfg.Clock().Sub(start))})
	e.emit(EvCheckpoint, st.Name, nil)
	return r
}

// interruption names why ctx ended: the operator's interrupt, or the journal failing.
func interruption(ctx context.Context) string {
	// Compared by identity: a signal's cause also says Is(context.Canceled), and it is the one
	// worth naming.
	if err := context.Cause(ctx); err != nil && err != context.Canceled { //nolint:errorlint
		return "interrupted: " + err.Error()
	}
	return "interrupted by the operator"
}

func (e *Engine) stepBody(ctx context.Context, st *Step, phase Phase) stepResult {
	if st.Confirm.Text != "" {
		a, ok := e.ask(ctx, st.Name, QuestionData{Kind: AskConfirm, Prompt: st.Confirm.Render(e.values(), nil), Options: []Choice{Proceed, Abort}, NeedReason: []Choice{Abort}}, nil)
		if !ok {
			return stepResult{}
		}
		if a.Choice == Abort {
			return stepResult{status: StepAborted, next: Abort, reason: a.Reason}
		}
	}
	if st.Approval != nil {
		if r, ok := e.approve(ctx, st); !ok {
			return r
		}
	}
	if st.Wave != nil {
		if r := e.runWave(ctx, st); r.status != StepPassed || len(st.Checks) == 0 {
			return r
		}
	}
	actionDone := !st.hasAction() || e.takeSkipAction(st.Name)
	for attempt := 1; ; attempt++ {
		var (
			verdict Verdict
			evid    []CheckData
			what    string
			action  bool
		)
		if !actionDone {
			action = true
			res := e.runWatchedAction(ctx, st, attempt)
			verdict, evid, what = res.Outcome, []CheckData{res}, "action "+res.Summary
			actionDone = verdict == Pass
		}
		if actionDone {
			verdict, evid, what = e.runGate(ctx, st)
		}
		if ctx.Err() != nil {
			if action && st.Migrate != nil { // where the VM is, asked of vCenter after the interrupt
				return stepResult{reason: what}
			}
			return stepResult{}
		}
		if verdict == Pass {
			return stepResult{status: StepPassed}
		}

		policy := OnFailRollback
		if phase == PhaseRollback {
			policy = OnFailAsk
		}
		if st.Gate != nil && st.Gate.OnFail != "" {
			policy = st.Gate.OnFail
		}
		written := policy
		if verdict == Inconclusive {
			policy = OnFailAsk // nobody but a human may decide on what could not be observed
		}
		reason := fmt.Sprintf("step %s: %s", st.Name, what)
		switch policy {
		case OnFailRollback:
			return stepResult{status: StepFailed, next: Rollback, reason: reason}
		case OnFailAbort:
			return stepResult{status: StepFailed, next: Abort, reason: reason}
		}

		q := QuestionData{Kind: AskGate, Verdict: verdict, Prompt: reason, Action: action && !actionDone, Options: []Choice{Proceed, Retry, Rollback, Abort}, NeedReason: []Choice{Abort}, OnFail: written}
		if st.Gate != nil {
			q.Unattended = st.Gate.Unattended
		}
		if phase == PhaseRollback {
			q.Kind, q.Options = AskRollback, []Choice{Retry, Proceed, Abort}
		}
		if verdict == Fail || phase == PhaseRollback || q.Action {
			q.NeedReason = append(q.NeedReason, Proceed) // proceeding past an action skips the change
		}
		a, ok := e.ask(ctx, st.Name, q, evid)
		if !ok {
			return stepResult{}
		}
		switch a.Choice {
		case Proceed:
			return stepResult{status: StepOverridden, reason: fmt.Sprintf("%s; operator proceeded: %s", reason, a.Reason)}
		case Rollback:
			return stepResult{status: StepFailed, next: Rollback, reason: reason}
		case Abort:
			return stepResult{status: StepFailed, next: Abort, reason: fmt.Sprintf("%s; operator aborted: %s", reason, a.Reason)}
		}
		// Retry: the action again if it failed, else the gate again.
	}
}

// ask records a question, gets a valid answer from the Decider and records it. ok is false when
// the run was interrupted while waiting.
func (e *Engine) ask(ctx context.Context, step string, q QuestionData, evidence []CheckData) (Answer, bool) {
	q.Prompt = e.redact(q.Prompt)
	asked := step
	if e.prefix != "" { // a wave's item: whoever answers must know which VM it is about
		_, vm, _, _ := SplitItemStep(e.prefix)
		q.Prompt, asked = "VM "+vm+": "+q.Prompt, e.prefix+step
	}
	e.emit(EvQuestion, step, q)
	question := Question{Run: e.cfg.RunID, Step: asked, QuestionData: q, Checks: evidence}
	a, err := e.cfg.Decider.Decide(ctx, question)
	if ctx.Err() != nil {
		return Answer{}, false
	}
	if err == nil {
		err = question.check(a)
	}
	if err != nil {
		// No way to ask (stdin closed, terminal gone) or no valid answer: the only safe answer is to stop.
		a = Answer{Choice: Abort, Reason: "no valid decision: " + err.Error(), By: "cutover"}
	}
	if a.By == "" {
		a.By = e.cfg.Operator
	}
	e.emit(EvDecision, step, DecisionData{Choice: a.Choice, Reason: e.redact(a.Reason), By: a.By})
	return a, true
}

// summarize joins the summaries of the checks that did not pass.
func summarize(results []CheckData) string {
	var bad []string
	for _, r := range results {
		if r.Outcome != Pass {
			bad = append(bad, fmt.Sprintf("%s: %s", r.Check, r.Summary))
		}
	}
	return strings.Join(bad, "; ")
}

// takeSkipAction reports (once) that a resumed step's action already finished before the crash.
func (e *Engine) takeSkipAction(step string) bool {
	if e.skipAction[step] {
		delete(e.skipAction, step)
		return true
	}
	return false
}

// approve holds the step until the sign-offs it needs are in, each journaled with its signature.
func (e *Engine) approve(ctx context.Context, st *Step) (stepResult, bool) {
	needed := st.Approval.Required - 1
	msg := fmt.Sprintf("cutover approval\nrun: %s\nstep: %s\nrequested: %s\n", e.cfg.RunID, st.Name, e.cfg.Clock().UTC().Format(time.RFC3339Nano))
	e.emit(EvApprovalRq, st.Name, ApprovalRequest{Needed: needed, Message: msg})
	if e.cfg.Approvals == nil {
		return stepResult{status: StepAborted, next: Abort, reason: "step " + st.Name + " needs approval and this run has no way to collect it"}, false
	}
	got, err := e.cfg.Approvals.Wait(ctx, msg, needed)
	if ctx.Err() != nil {
		return stepResult{}, false
	}
	if err != nil {
		return stepResult{status: StepAborted, next: Abort, reason: "approval of " + st.Name + ": " + err.Error()}, false
	}
	for _, a := range got {
		e.emit(EvApproval, st.Name, a)
	}
	return stepResult{}, true
}
