package runbook

import (
	"encoding/base64"
	"encoding/hex"
	"regexp"
	"strings"
	"testing"
)

func TestSecretFormsRedactEncodings(t *testing.T) {
	const s = "p@ss word+/=\"x\"\nsecond-line"
	r := newRedaction([]string{s})
	for _, form := range []string{s, "p@ss word+/=\"x\"", "second-line", regexp.QuoteMeta(s), `p@ss word+/=\"x\"\nsecond-line`,
		base64.StdEncoding.EncodeToString([]byte(s)), base64.RawURLEncoding.EncodeToString([]byte(s)),
		"p%40ss+word%2B%2F%3D%22x%22%0Asecond-line", hex.EncodeToString([]byte(s)), strings.ToUpper(hex.EncodeToString([]byte(s)))} {
		if got := r.apply("<" + form + ">"); strings.Contains(got, form) {
			t.Errorf("%q survives: %q", form, got)
		}
	}
	// Short derived forms are left alone: they would blot out ordinary output.
	if got := newRedaction([]string{"ab\ncd"}).apply("ab cd"); got != "ab cd" {
		t.Errorf("short lines redacted: %q", got)
	}
}

// However a line is cut into pieces, what the pieces show never holds the secret or a part of it,
// and equals the whole line redacted.
func TestCarryAcrossPieces(t *testing.T) {
	const secret = "tok-5f2a9c1e"
	r := newRedaction([]string{secret, "other-secret-value"})
	line := strings.Repeat("x", 50) + secret + strings.Repeat("y", 30) + secret
	want := r.apply(line)
	for a := 1; a < len(line); a++ {
		for _, b := range []int{a + 1, a + 7, len(line)} {
			if b > len(line) {
				continue
			}
			pieces := []string{line[:a], line[a:b], line[b:]}
			var shown, held string
			for i, p := range pieces {
				var s string
				s, held = r.carry(held, p, i == len(pieces)-1)
				if strings.Contains(s, secret[:6]) || strings.Contains(s, secret[6:]) {
					t.Fatalf("cut at %d,%d: piece shows part of the secret: %q", a, b, s)
				}
				shown += s
			}
			if shown != want {
				t.Fatalf("cut at %d,%d: %q, want %q", a, b, shown, want)
			}
		}
	}
}
