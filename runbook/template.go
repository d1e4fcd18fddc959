package runbook

import (
	"fmt"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v4"
)

// Tmpl is a string that may hold {{ .var }} references. Only plain references are allowed: no
// pipelines, conditions or functions, so that what a value becomes is obvious, and so that each
// reference can be escaped for where it lands (a shell word, a regexp) when it is rendered.
type Tmpl struct {
	Text string
	Refs []string // var names referenced, in order
	Pos  Pos
}

var refPattern = regexp.MustCompile(`\{\{-?\s*\.([A-Za-z_][A-Za-z0-9_]*)\s*-?\}\}`)

// ParseTmpl parses s, rejecting template syntax other than {{ .name }}.
func ParseTmpl(s string) (Tmpl, error) {
	t := Tmpl{Text: s}
	rest := refPattern.ReplaceAllStringFunc(s, func(m string) string {
		t.Refs = append(t.Refs, refPattern.FindStringSubmatch(m)[1])
		return ""
	})
	if i := strings.Index(rest, "{{"); i >= 0 {
		return t, fmt.Errorf("only {{ .name }} references are supported, near %q", clip(rest[i:], 24))
	}
	if i := strings.Index(rest, "}}"); i >= 0 {
		return t, fmt.Errorf("unmatched }} near %q", clip(rest[max(0, i-20):], 24))
	}
	return t, nil
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func (t *Tmpl) decodeNode(d *decoder, n *yaml.Node, path string) {
	s, ok := d.scalar(n, path)
	if !ok {
		return
	}
	tt, err := ParseTmpl(s)
	if err != nil {
		d.fail(n, path, "%v", err)
	}
	tt.Pos = posOf(n)
	*t = tt
}

func (Tmpl) jsonSchema(*schemaGen) map[string]any {
	return map[string]any{"type": []string{"string", "number", "boolean"}, "description": "text; {{ .var }} references a var"}
}

// Render replaces each reference with its value passed through escape (nil: as is). A reference to
// a missing value renders as the empty string; Validate makes sure none is missing.
func (t Tmpl) Render(vals Values, escape func(string) string) string {
	if len(t.Refs) == 0 {
		return t.Text
	}
	return refPattern.ReplaceAllStringFunc(t.Text, func(m string) string {
		v := vals[refPattern.FindStringSubmatch(m)[1]].Text
		if escape != nil {
			return escape(v)
		}
		return v
	})
}
