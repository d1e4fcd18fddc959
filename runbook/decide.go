package runbook

import (
	"context"
	"fmt"
	"slices"
)

// Choice is an operator's answer to a question.
type Choice string

// The choices. Not every question offers every choice.
const (
	Proceed  Choice = "proceed"
	Retry    Choice = "retry"
	Rollback Choice = "rollback"
	Abort    Choice = "abort"
)

// QuestionKind says why the engine asks.
type QuestionKind string

// The kinds of question.
const (
	AskConfirm  QuestionKind = "confirm"  // a step's confirm: before its action
	AskGate     QuestionKind = "gate"     // a gate failed (on_fail: ask) or was inconclusive
	AskRollback QuestionKind = "rollback" // a rollback step's gate did not hold
	AskWarning  QuestionKind = "warning"  // vCenter's pre-flight warns about a migration
	AskWindow   QuestionKind = "window"   // the window's hard stop: past the point of no return
)

// Question is what the engine asks a Decider.
type Question struct {
	Run  string
	Step string
	QuestionData
	Checks []CheckData // the evidence: the last attempt's check results
}

// Answer is a Decider's reply. By names who decided, for the journal (default: the operator).
type Answer struct {
	Choice Choice
	Reason string
	By     string
}

// Decider takes operator decisions: the TUI, --plain prompts on stdin, or --yes.
type Decider interface {
	Decide(ctx context.Context, q Question) (Answer, error)
}

// check reports why an answer does not fit its question.
func (q Question) check(a Answer) error {
	if !slices.Contains(q.Options, a.Choice) {
		return fmt.Errorf("%q is not one of %v", a.Choice, q.Options)
	}
	if slices.Contains(q.NeedReason, a.Choice) && a.Reason == "" {
		return fmt.Errorf("%s needs a reason", a.Choice)
	}
	return nil
}

// AutoDecider answers for --yes. It answers confirmations; it never turns what it does not know
// into a pass. Its rules, each named in the reason it journals:
//   - an action that could not tell whether it ran is never skipped: abort;
//   - a gate that says unattended: X gets X;
//   - a failed gate is never overridden: rollback;
//   - an inconclusive gate ends the run as its on_fail says for a failure (abort where that is ask);
//   - a failed rollback step is proceeded past (the run still ends rollback-failed);
//   - the window's hard stop is not passed: abort; confirmations and vCenter's warnings: proceed.
type AutoDecider struct{}

// Decide picks the answer --yes gives.
func (AutoDecider) Decide(_ context.Context, q Question) (Answer, error) {
	yes := func(c Choice, rule string) (Answer, error) {
		if !slices.Contains(q.Options, c) {
			c, rule = Abort, rule+"; "+string(c)+" is not a choice here, so abort"
		}
		return Answer{Choice: c, Reason: "--yes: " + rule, By: "--yes"}, nil
	}
	switch {
	case q.Kind == AskGate && q.Action:
		return yes(Abort, "an action whose outcome is unknown is not skipped") // whatever unattended says
	case q.Kind == AskGate && q.Unattended != "":
		return yes(Choice(q.Unattended), "the gate says unattended: "+string(q.Unattended))
	case q.Kind == AskGate && q.Verdict == Fail:
		return yes(Rollback, "a failed gate is never overridden")
	case q.Kind == AskGate:
		switch q.OnFail {
		case OnFailAbort, OnFailAsk:
			return yes(Abort, fmt.Sprintf("nothing was proven (inconclusive), so the run ends as for a failure, and on_fail is %s", q.OnFail))
		}
		return yes(Rollback, "nothing was proven (inconclusive), so the run ends as on_fail says for a failure: rollback")
	case q.Kind == AskWindow:
		return yes(Abort, "the window's hard stop is not passed unattended")
	case q.Kind == AskRollback:
		return yes(Proceed, "a rollback step that did not hold is passed; the run ends rollback-failed")
	}
	return yes(Proceed, "answers "+string(q.Kind))
}
