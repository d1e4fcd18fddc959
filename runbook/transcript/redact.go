package transcript

import (
	"bytes"
	"encoding/json"

	"github.com/cutover/cutover/runbook"
)

// Redacted replaces a secret in the journal.
const Redacted = runbook.Redacted

// redactor is the journal's last line of defence: the engine redacts what it knows to be text, and
// this replaces any form of a secret (runbook.SecretForms) left in the encoded line, raw or as the
// JSON escapes it became.
type redactor struct {
	forms [][]byte
}

func newRedactor(secrets []string) *redactor {
	r := &redactor{}
	for _, s := range runbook.SecretForms(secrets) {
		r.forms = append(r.forms, []byte(s))
		q, _ := json.Marshal(s)
		if esc := q[1 : len(q)-1]; !bytes.Equal(esc, []byte(s)) {
			r.forms = append(r.forms, esc)
		}
	}
	return r
}

func (r *redactor) apply(b []byte) []byte {
	for _, f := range r.forms {
		if bytes.Contains(b, f) {
			b = bytes.ReplaceAll(b, f, []byte(Redacted))
		}
	}
	return b
}
