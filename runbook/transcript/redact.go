package transcript

import (
	"bytes"
	"encoding/json"
)

// Redacted replaces a secret in the journal.
const Redacted = "[REDACTED]"

// redactor is the journal's last line of defence: the engine redacts what it knows to be text, and
// this replaces any secret left in the encoded line, raw or as JSON escapes it.
type redactor struct {
	forms [][]byte
}

func newRedactor(secrets []string) *redactor {
	r := &redactor{}
	for _, s := range secrets {
		if s == "" {
			continue
		}
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
