package runbook

import (
	"reflect"
	"slices"
	"strconv"
	"time"

	"go.yaml.in/yaml/v4"
)

// Duration is a time.Duration written as "200ms", "5s", "1m30s".
type Duration time.Duration

func (du *Duration) decodeNode(d *decoder, n *yaml.Node, path string) {
	s, ok := d.scalar(n, path)
	if !ok || isNull(n) {
		return
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		d.fail(n, path, "want a duration such as 500ms, 5s or 2m, got %q", s)
		return
	}
	*du = Duration(v)
}

func (Duration) jsonSchema(*schemaGen) map[string]any {
	return map[string]any{"type": "string", "pattern": `^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`}
}

// Std is the duration as a time.Duration.
func (du Duration) Std() time.Duration { return time.Duration(du) }

// Timestamp is an RFC 3339 time.
type Timestamp struct{ time.Time }

func (ts *Timestamp) decodeNode(d *decoder, n *yaml.Node, path string) {
	s, ok := d.scalar(n, path)
	if !ok || isNull(n) {
		return
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		d.fail(n, path, "want an RFC 3339 time such as 2026-11-28T22:00:00Z, got %q", s)
		return
	}
	ts.Time = t
}

func (Timestamp) jsonSchema(*schemaGen) map[string]any {
	return map[string]any{"type": "string", "format": "date-time"}
}

// Require says how many checks of a gate must pass: all (0), any (-1) or at least N.
type Require int

// The named gate requirements.
const (
	RequireAll Require = 0
	RequireAny Require = -1
)

func (r Require) String() string {
	switch r {
	case RequireAll:
		return "all"
	case RequireAny:
		return "any"
	}
	return strconv.Itoa(int(r))
}

func (r *Require) decodeNode(d *decoder, n *yaml.Node, path string) {
	s, ok := d.scalar(n, path)
	if !ok || isNull(n) {
		return
	}
	switch s {
	case "all":
		*r = RequireAll
		return
	case "any":
		*r = RequireAny
		return
	}
	if i, err := strconv.Atoi(s); err == nil && i >= 1 && n.Tag == "!!int" {
		*r = Require(i)
		return
	}
	d.fail(n, path, "want all, any or a number of checks (1 or more), got %q", s)
}

func (Require) jsonSchema(*schemaGen) map[string]any {
	return map[string]any{"oneOf": []any{
		map[string]any{"enum": []string{"all", "any"}},
		map[string]any{"type": "integer", "minimum": 1},
	}}
}

// OnFail is what a failed gate does.
type OnFail string

// The failure policies. Inconclusive gates always ask, whatever the policy.
const (
	OnFailRollback OnFail = "rollback"
	OnFailAbort    OnFail = "abort"
	OnFailAsk      OnFail = "ask"
)

var onFails = []string{string(OnFailRollback), string(OnFailAbort), string(OnFailAsk)}

func (o *OnFail) decodeNode(d *decoder, n *yaml.Node, path string) {
	s, ok := d.scalar(n, path)
	if !ok || isNull(n) {
		return
	}
	for _, v := range onFails {
		if s == v {
			*o = OnFail(s)
			return
		}
	}
	d.fail(n, path, "want rollback, abort or ask, got %q%s", s, didYouMean(s, onFails))
}

func (OnFail) jsonSchema(*schemaGen) map[string]any {
	return map[string]any{"enum": onFails}
}

// Unattended is a gate's answer for a run nobody watches (--yes): proceed, rollback or abort.
type Unattended string

var unattendeds = []string{string(Proceed), string(Rollback), string(Abort)}

func (u *Unattended) decodeNode(d *decoder, n *yaml.Node, path string) {
	s, ok := d.scalar(n, path)
	if !ok || isNull(n) {
		return
	}
	if slices.Contains(unattendeds, s) {
		*u = Unattended(s)
		return
	}
	d.fail(n, path, "want proceed, rollback or abort, got %q%s", s, didYouMean(s, unattendeds))
}

func (Unattended) jsonSchema(*schemaGen) map[string]any {
	return map[string]any{"enum": unattendeds}
}

// ExitCodes is one accepted exit code or a list of them.
type ExitCodes []int

func (e *ExitCodes) decodeNode(d *decoder, n *yaml.Node, path string) {
	if isNull(n) {
		return
	}
	items := []*yaml.Node{n}
	if n.Kind == yaml.SequenceNode {
		items = n.Content
	}
	for i, c := range items {
		p := path
		if n.Kind == yaml.SequenceNode {
			p = path + "[" + strconv.Itoa(i) + "]"
		}
		s, ok := d.scalar(c, p)
		if !ok {
			continue
		}
		v, err := strconv.Atoi(s)
		if err != nil || c.Tag != "!!int" || v < 0 || v > 255 {
			d.fail(c, p, "want an exit code from 0 to 255, got %q", s)
			continue
		}
		*e = append(*e, v)
	}
}

func (ExitCodes) jsonSchema(*schemaGen) map[string]any {
	code := map[string]any{"type": "integer", "minimum": 0, "maximum": 255}
	return map[string]any{"oneOf": []any{code, map[string]any{"type": "array", "items": code, "minItems": 1}}}
}

// Cmdline is a command as written: a shell script (Script) or a list of argv words (Argv).
type Cmdline struct {
	Script *Tmpl
	Argv   []Tmpl
	Pos    Pos
}

func (c *Cmdline) decodeNode(d *decoder, n *yaml.Node, path string) {
	c.Pos = posOf(n)
	switch {
	case isNull(n):
		d.fail(n, path, "want a command, got nothing")
	case n.Kind == yaml.SequenceNode:
		if len(n.Content) == 0 {
			d.fail(n, path, "want at least one argv word")
		}
		c.Argv = make([]Tmpl, len(n.Content))
		for i, w := range n.Content {
			d.decode(w, reflectOf(&c.Argv[i]), path+"["+strconv.Itoa(i)+"]")
		}
	default:
		var t Tmpl
		t.decodeNode(d, n, path)
		if n.Kind == yaml.ScalarNode && t.Text == "" {
			d.fail(n, path, "want a command, got an empty string")
		}
		c.Script = &t
	}
}

func (Cmdline) jsonSchema(*schemaGen) map[string]any {
	return map[string]any{"oneOf": []any{
		map[string]any{"type": "string", "minLength": 1, "description": "shell script; {{ .var }} values are shell-quoted"},
		map[string]any{"type": "array", "items": map[string]any{"type": "string"}, "minItems": 1, "description": "argv words"},
	}}
}

// Var is a runbook var: a literal value, or read from the environment, possibly secret.
type Var struct {
	Value       string `yaml:"value" desc:"the value"`
	Env         string `yaml:"env" desc:"read the value from this environment variable"`
	Secret      bool   `yaml:"secret" desc:"never show or journal the value"`
	Description string `yaml:"description" desc:"what the value is for"`
	Pos         Pos    `yaml:"-"`
}

func (v *Var) decodeNode(d *decoder, n *yaml.Node, path string) {
	if n.Kind == yaml.MappingNode {
		d.decodeStruct(n, path, reflectOf(v))
		return
	}
	if s, ok := d.scalar(n, path); ok {
		v.Value = s
		v.Pos = posOf(n)
	}
}

func (Var) jsonSchema(g *schemaGen) map[string]any {
	return map[string]any{"oneOf": []any{
		map[string]any{"type": []string{"string", "number", "boolean"}},
		g.structSchema(reflect.TypeFor[Var]()),
	}}
}
