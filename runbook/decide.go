package runbook

import (
	"context"
	"fmt"
	"slices"

	"github.com/cutover/cutover/checks"
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

// AutoDecider answers for --yes: proceed through confirmations, inconclusive gates and failed
// rollback steps (the run still ends as rollback-failed), but a failed gate is never overridden:
// it rolls back; and an action that could not tell whether it ran is never skipped: it aborts.
type AutoDecider struct{}

// Decide picks the answer --yes gives.
func (AutoDecider) Decide(_ context.Context, q Question) (Answer, error) {
	switch {
	case q.Kind == AskGate && q.Verdict == checks.Fail:
		return Answer{Choice: Rollback, Reason: "--yes never overrides a failed gate", By: "--yes"}, nil
	case q.Kind == AskWindow:
		return Answer{Choice: Abort, Reason: "--yes does not go past the window's hard stop", By: "--yes"}, nil
	case q.Kind == AskGate && q.Action:
		return Answer{Choice: Abort, Reason: "--yes does not skip an action whose outcome is unknown", By: "--yes"}, nil
	}
	return Answer{Choice: Proceed, Reason: "--yes", By: "--yes"}, nil
}
