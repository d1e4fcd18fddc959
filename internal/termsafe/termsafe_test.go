package termsafe

import (
	"testing"
	"time"
)

func TestText(t *testing.T) {
	tests := map[string]string{
		"plain text, tabs\tand ✓ unicode":         "plain text, tabs\tand ✓ unicode",
		"\x1b]52;c;ZWNobyBwd25lZA==\x07":          `\x1b]52;c;ZWNobyBwd25lZA==\x07`,
		"FAIL\r\x1b[2K\x1b[1A✓ all checks passed": `FAIL\r\x1b[2K\x1b[1A✓ all checks passed`,
		"two\nlines":        `two\nlines`,
		"c1 \u009b31m csi":  `c1 \x9b31m csi`,
		"bidi \u202eevil":   `bidi \u202eevil`,
		"bad utf8 \xff\xfe": `bad utf8 \xff\xfe`,
		"del \x7f":          `del \x7f`,
	}
	for in, want := range tests {
		if got := Text(in); got != want {
			t.Errorf("Text(%q) = %q, want %q", in, got, want)
		}
	}
}

type inner struct{ Text string }
type data struct {
	Name  string
	Lines []inner
	Vars  map[string]string
	Ptr   *inner
	Any   any
	When  time.Time
	N     int
}

func TestValueCleansEveryString(t *testing.T) {
	in := data{Name: "a\x1b", Lines: []inner{{"b\x07"}}, Vars: map[string]string{"k\x1b": "v\x1b"}, Ptr: &inner{"p\x1b"}, Any: inner{"i\x1b"}, When: time.Unix(5, 0), N: 3}
	got := Value(any(in)).(data)
	if got.Name != `a\x1b` || got.Lines[0].Text != `b\x07` || got.Vars[`k\x1b`] != `v\x1b` || got.Ptr.Text != `p\x1b` || got.Any.(inner).Text != `i\x1b` || !got.When.Equal(in.When) || got.N != 3 {
		t.Errorf("got %+v", got)
	}
	if in.Name != "a\x1b" || in.Ptr.Text != "p\x1b" || in.Lines[0].Text != "b\x07" {
		t.Error("the original was changed")
	}
}

func FuzzText(f *testing.F) {
	f.Add("\x1b[31mred\x1b[0m")
	f.Fuzz(func(t *testing.T, s string) {
		out := Text(s)
		for _, r := range out {
			if unsafe(r) || r == '\n' || r == '\r' {
				t.Fatalf("%q left %U in %q", s, r, out)
			}
		}
	})
}
