package runbook

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/cutover/cutover/internal/editdist"
)

// Pos is where a value stood in its file. Fields holds the position of each key of a mapping, so
// that a rule broken by one field can point at that field.
type Pos struct {
	Line, Column int
	Fields       []FieldPos `json:"-"` // in file order; a slice, as a mapping has a handful of keys
}

// FieldPos is where the value of one key of a mapping stood.
type FieldPos struct {
	Name         string
	Line, Column int
}

// lookup finds the position of key name's value.
func (p Pos) lookup(name string) (Pos, bool) {
	for _, f := range p.Fields {
		if f.Name == name {
			return Pos{Line: f.Line, Column: f.Column}, true
		}
	}
	return Pos{}, false
}

// Field is the position of one key's value, or of the mapping itself when the key was absent.
func (p Pos) Field(name string) Pos {
	if f, ok := p.lookup(name); ok {
		return f
	}
	return Pos{Line: p.Line, Column: p.Column}
}

// FieldError is one problem in a runbook file, located by file, line, column and field path.
type FieldError struct {
	File   string
	Line   int
	Column int
	Field  string // e.g. runbooks[0].steps[2].gate.require
	Msg    string
}

func (e *FieldError) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d:%d", e.File, e.Line, e.Column)
	}
	if e.Field == "" {
		return loc + ": " + e.Msg
	}
	return fmt.Sprintf("%s: %s: %s", loc, e.Field, e.Msg)
}

// Errors is every problem found in one file, in file order.
type Errors []*FieldError

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// A hostile file can hold a problem on every one of its lines: the first maxErrors are kept and
// the first shownErrors reported, with a count of the rest.
const (
	maxErrors   = 1000
	shownErrors = 100
)

// errorList collects FieldErrors for one file.
type errorList struct {
	file    string
	errs    Errors
	dropped int
}

func (l *errorList) add(p Pos, field, format string, args ...any) {
	if len(l.errs) >= maxErrors {
		l.dropped++
		return
	}
	l.errs = append(l.errs, &FieldError{File: l.file, Line: p.Line, Column: p.Column, Field: field, Msg: fmt.Sprintf(format, args...)})
}

// hasAt tells whether an error was already recorded at p, so that a value that failed to decode
// is not reported again by a rule about its (zero) value.
func (l *errorList) hasAt(p Pos) bool {
	for _, e := range l.errs {
		if e.Line == p.Line && e.Column == p.Column {
			return true
		}
	}
	return false
}

// result sorts the errors by position (decoding and validation find them in different orders) and
// returns nil when there are none.
func (l *errorList) result() error {
	if len(l.errs) == 0 {
		return nil
	}
	slices.SortStableFunc(l.errs, func(a, b *FieldError) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
	if more := len(l.errs) - shownErrors + l.dropped; more > 0 {
		l.errs = append(l.errs[:min(len(l.errs), shownErrors)], &FieldError{File: l.file, Msg: fmt.Sprintf("%d more problems not shown: fix these first", more)})
	}
	return l.errs
}

// suggest returns the known name closest to s, if it is close enough to be a typo.
func suggest(s string, known []string) string {
	best, bestD := "", 3
	for _, k := range known {
		if d := editdist.Levenshtein(strings.ToLower(s), strings.ToLower(k)); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

func didYouMean(s string, known []string) string {
	if k := suggest(s, known); k != "" {
		return fmt.Sprintf(" (did you mean %q?)", k)
	}
	return ""
}
