package runbook

import (
	"encoding/json"
	"testing"

	"github.com/cutover/cutover/checks"
)

func TestVerdictDecodesOnlyWordsTheFormatKnows(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Verdict
		ok   bool
	}{
		{`"pass"`, Pass, true},
		{`"fail"`, Fail, true},
		{`"inconclusive"`, Inconclusive, true},
		{`""`, "", true},
		{`"PASS"`, "", false},
		{`"passed"`, "", false},
		{`1`, "", false},
		{`null`, "", true},
	} {
		var v Verdict
		err := json.Unmarshal([]byte(tc.in), &v)
		if (err == nil) != tc.ok || v != tc.want {
			t.Errorf("%s: got %q, %v; want %q, ok=%v", tc.in, v, err, tc.want, tc.ok)
		}
	}
}

func TestAnAdaptersUnknownOutcomeIsNeverAPass(t *testing.T) {
	for o, want := range map[checks.Outcome]Verdict{checks.Pass: Pass, checks.Fail: Fail, checks.Inconclusive: Inconclusive, 0: Inconclusive, 42: Inconclusive} {
		if got := verdictOf(o); got != want {
			t.Errorf("verdictOf(%v) = %q, want %q", o, got, want)
		}
	}
}
