package runbook

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// minForm is the shortest derived form of a secret that is redacted: a line of a multi-line
// secret or an encoding shorter than this would blot out ordinary output.
const minForm = 4

// SecretForms lists every way a secret may show up in output, longest first: as it is, each line
// of a multi-line secret, and its common encodings (shell- and regexp-quoted, JSON, base64, URL,
// hex).
func SecretForms(secrets []string) []string {
	var out []string
	add := func(f string, derived bool) {
		if f == "" || derived && len(f) < minForm || slices.Contains(out, f) {
			return
		}
		out = append(out, f)
	}
	for _, s := range secrets {
		if s == "" {
			continue
		}
		add(s, false)
		if strings.ContainsAny(s, "\r\n") {
			for _, line := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' }) {
				add(strings.TrimSpace(line), true)
			}
		}
		add(regexp.QuoteMeta(s), true)
		add(strings.ReplaceAll(s, "'", `'\''`), true) // as the script prologue single-quotes it
		q, _ := json.Marshal(s)
		add(string(q[1:len(q)-1]), true)
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
			add(enc.EncodeToString([]byte(s)), true)
		}
		add(url.QueryEscape(s), true)
		add(url.PathEscape(s), true)
		add(hex.EncodeToString([]byte(s)), true)
		add(strings.ToUpper(hex.EncodeToString([]byte(s))), true)
	}
	slices.SortStableFunc(out, func(a, b string) int { return len(b) - len(a) })
	return out
}

// redaction replaces every form of every secret with [REDACTED], also across the pieces of an
// over-long line (see carry).
type redaction struct {
	forms    []string
	replacer *strings.Replacer
	longest  int
}

func newRedaction(secrets []string) *redaction {
	r := &redaction{forms: SecretForms(secrets)}
	pairs := make([]string, 0, 2*len(r.forms))
	for _, f := range r.forms {
		pairs = append(pairs, f, Redacted)
		r.longest = max(r.longest, len(f))
	}
	r.replacer = strings.NewReplacer(pairs...)
	return r
}

// Redacted replaces a secret wherever it would be shown or journaled.
const Redacted = "[REDACTED]"

func (r *redaction) apply(s string) string {
	if len(r.forms) == 0 {
		return s
	}
	return r.replacer.Replace(s)
}

// carry redacts a stream of pieces of one line: it returns what can be shown of carry+piece now
// and what must wait for the next piece, so that a secret split across pieces is still found.
// With last set, everything is returned.
func (r *redaction) carry(held, piece string, last bool) (show, hold string) {
	s := held + piece
	if last || len(r.forms) == 0 {
		return r.apply(s), ""
	}
	k := len(s) - (r.longest - 1) // a secret that starts at or after k may not be whole yet
	if k <= 0 {
		return "", s
	}
	for moved := true; moved; {
		moved = false
		for _, f := range r.forms {
			for at := 0; ; {
				i := strings.Index(s[at:], f)
				if i < 0 || at+i >= k {
					break
				}
				if a := at + i; a+len(f) > k {
					k, moved = a, true // the cut would split a whole secret: cut before it
					break
				}
				at += i + 1
			}
		}
	}
	return r.apply(s[:k]), s[k:]
}
