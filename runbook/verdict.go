package runbook

import (
	"encoding/json"
	"fmt"

	"github.com/cutover/cutover/checks"
)

// Verdict is a check's, action's or gate's verdict as the journal writes it. The empty Verdict
// means "no verdict yet".
type Verdict string

// The three verdicts. Inconclusive means the check could not tell (no connection, timeout): a human
// has to look.
const (
	Pass         Verdict = "pass"
	Fail         Verdict = "fail"
	Inconclusive Verdict = "inconclusive"
)

// UnmarshalJSON refuses a verdict the format does not know: a reader must not guess what an unknown
// word means for a gate.
func (v *Verdict) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	switch w := Verdict(s); w {
	case "", Pass, Fail, Inconclusive:
		*v = w
		return nil
	}
	return fmt.Errorf("unknown verdict %q", s)
}

// verdictOf converts an adapter's outcome; anything it cannot name is inconclusive, never a pass.
func verdictOf(o checks.Outcome) Verdict {
	switch o {
	case checks.Pass:
		return Pass
	case checks.Fail:
		return Fail
	}
	return Inconclusive
}
