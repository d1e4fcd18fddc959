package runbook

import (
	"context"
	"strings"
	"testing"
)

// What --yes may decide: it answers confirmations, never turns an unknown into a pass, and follows
// a gate's unattended; every answer names its rule.
func TestAutoDeciderRules(t *testing.T) {
	gate := []Choice{Proceed, Retry, Rollback, Abort}
	tests := []struct {
		name string
		q    QuestionData
		want Choice
		rule string
	}{
		{"confirm", QuestionData{Kind: AskConfirm, Options: []Choice{Proceed, Abort}}, Proceed, "answers confirm"},
		{"failed gate", QuestionData{Kind: AskGate, Verdict: Fail, OnFail: OnFailAsk, Options: gate}, Rollback, "a failed gate is never overridden"},
		{"inconclusive, on_fail rollback", QuestionData{Kind: AskGate, Verdict: Inconclusive, OnFail: OnFailRollback, Options: gate}, Rollback, "inconclusive"},
		{"inconclusive, on_fail abort", QuestionData{Kind: AskGate, Verdict: Inconclusive, OnFail: OnFailAbort, Options: gate}, Abort, "on_fail is abort"},
		{"inconclusive, on_fail ask", QuestionData{Kind: AskGate, Verdict: Inconclusive, OnFail: OnFailAsk, Options: gate}, Abort, "on_fail is ask"},
		{"unattended proceed on a failure", QuestionData{Kind: AskGate, Verdict: Fail, OnFail: OnFailAsk, Unattended: "proceed", Options: gate}, Proceed, "unattended: proceed"},
		{"unattended abort when inconclusive", QuestionData{Kind: AskGate, Verdict: Inconclusive, Unattended: "abort", Options: gate}, Abort, "unattended: abort"},
		{"unknown action", QuestionData{Kind: AskGate, Verdict: Inconclusive, Action: true, Options: gate}, Abort, "outcome is unknown"},
		{"unknown action, unattended proceed", QuestionData{Kind: AskGate, Verdict: Inconclusive, Action: true, Unattended: "proceed", Options: gate}, Abort, "outcome is unknown"},
		{"rollback step", QuestionData{Kind: AskRollback, Verdict: Fail, Options: []Choice{Retry, Proceed, Abort}}, Proceed, "rollback-failed"},
		{"hard stop", QuestionData{Kind: AskWindow, Options: []Choice{Proceed, Abort}}, Abort, "hard stop"},
	}
	for _, tt := range tests {
		a, err := AutoDecider{}.Decide(context.Background(), Question{QuestionData: tt.q})
		if err != nil || a.Choice != tt.want || a.By != "--yes" || !strings.HasPrefix(a.Reason, "--yes: ") || !strings.Contains(a.Reason, tt.rule) {
			t.Errorf("%s: %+v %v, want %s (%s)", tt.name, a, err, tt.want, tt.rule)
		}
	}
}
