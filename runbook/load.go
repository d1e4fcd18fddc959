package runbook

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v4"
)

// maxFile bounds a runbook file; anything larger is not a runbook.
const maxFile = 8 << 20

// Load reads and validates a runbook file. The error, if any, is Errors: every problem in the file
// with its line, column and field.
func Load(path string) (*Document, error) {
	data, err := ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// ReadFile reads a runbook file, stopping past maxFile bytes: /dev/zero or an endless pipe is
// refused there, not read to its end.
func ReadFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("runbook file %s: %w", path, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFile+1))
	if err != nil {
		return nil, fmt.Errorf("runbook file %s: %w", path, err)
	}
	if len(data) > maxFile {
		return nil, Errors{{File: path, Msg: fmt.Sprintf("more than %d MiB: not a runbook (reading stopped there)", maxFile>>20)}}
	}
	return data, nil
}

// Parse decodes and validates a runbook document; file names it in errors.
func Parse(file string, data []byte) (*Document, error) {
	l := &errorList{file: file}
	if len(data) > maxFile {
		l.add(Pos{}, "", "file is %d bytes; a runbook file may be at most %d", len(data), maxFile)
		return nil, l.result()
	}
	if p, what := badByte(data); what != "" {
		l.add(p, "", "%s: a runbook is UTF-8 text", what)
		return nil, l.result()
	}
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil {
		if err.Error() == "EOF" {
			l.add(Pos{Line: 1, Column: 1}, "", "file is empty")
		} else {
			p, msg := syntaxError(err)
			if tp, ok := tabIndent(data, p.Line); ok { // the parser's words for a tab are vague
				p, msg = tp, "a tab in the indentation: YAML indents with spaces only"
			}
			l.add(p, "", "%s%s", msg, snippet(data, p))
		}
		return nil, l.result()
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		l.add(posOf(&extra), "", "a runbook file holds one YAML document; remove the second one")
	}
	doc := &Document{File: file}
	d := &decoder{errorList: *l}
	n := &root
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	d.decodeFields(n, "", []reflect.Value{reflectOf(doc)}, nil)
	root, n, dec = yaml.Node{}, nil, nil // the tree is decoded: let it go before validation allocates
	if d.nodes < maxNodes {
		doc.validate(&d.errorList)
	}
	if err := d.result(); err != nil {
		return nil, err
	}
	doc.inheritWatches()
	return doc, nil
}

// inheritWatches gives a rollback step that moves a VM, and has no watch of its own, the watch of
// the step it undoes: the way back is proven as the way there was. A breach on the way back lets
// the move finish (on_breach: cancel would strand the VM half-way home).
func (d *Document) inheritWatches() {
	var visit func(steps []Step)
	visit = func(steps []Step) {
		for j := range steps {
			st := &steps[j]
			for k := range st.Rollback {
				if rb := &st.Rollback[k]; rb.Migrate != nil && rb.Watch == nil && st.Watch != nil && st.Watch.Ping != nil {
					p := *st.Watch.Ping
					p.OnBreach = ""
					rb.Watch = &WatchSpec{Ping: &p, Pos: st.Watch.Pos}
				}
			}
			visit(st.Rollback)
		}
	}
	for i := range d.Runbooks {
		visit(d.Runbooks[i].Steps)
	}
}

// syntaxError is where the YAML parser stopped, line and column, and what it says, with the
// construct it was reading and where that starts.
func syntaxError(err error) (Pos, string) {
	var le *yaml.LoadError
	if !errors.As(err, &le) {
		return Pos{}, strings.TrimPrefix(err.Error(), "yaml: ")
	}
	msg := le.Message
	if le.ContextMsg != "" && le.ContextMark.Line > 0 && le.ContextMark != le.Mark {
		msg += fmt.Sprintf(" (%s that starts at %d:%d)", le.ContextMsg, le.ContextMark.Line, le.ContextMark.Column)
	}
	return Pos{Line: le.Mark.Line, Column: le.Mark.Column}, msg
}

// tabIndent finds a tab in the indentation of the line the YAML parser stopped on.
func tabIndent(data []byte, line int) (Pos, bool) {
	for i, l := range strings.Split(string(data), "\n") {
		if i+1 != line {
			continue
		}
		for j, r := range l {
			if r == '\t' {
				return Pos{Line: i + 1, Column: j + 1}, true
			}
			if r != ' ' {
				break
			}
		}
	}
	return Pos{}, false
}

// snippet shows a syntax error's line with a caret under its column.
func snippet(data []byte, p Pos) string {
	lines := strings.Split(string(data), "\n")
	if p.Line < 1 || p.Line > len(lines) {
		return ""
	}
	l := strings.TrimRight(lines[p.Line-1], "\r")
	if len(l) > 200 {
		l = l[:200] + "…"
	}
	gutter := fmt.Sprintf("%5d | ", p.Line)
	pad := strings.Map(func(r rune) rune {
		if r == '\t' {
			return '\t'
		}
		return ' '
	}, string([]rune(l)[:min(max(0, p.Column-1), len([]rune(l)))]))
	return "\n" + gutter + l + "\n" + strings.Repeat(" ", len(gutter)-2) + "| " + pad + "^"
}

// Runbook returns the named runbook; with an empty name, the file's only runbook.
func (d *Document) Runbook(name string) (*Runbook, error) {
	if name == "" {
		if len(d.Runbooks) == 1 {
			return &d.Runbooks[0], nil
		}
		return nil, fmt.Errorf("%s holds %d runbooks; name one: %s", d.File, len(d.Runbooks), strings.Join(d.names(), ", "))
	}
	for i := range d.Runbooks {
		if d.Runbooks[i].Name == name {
			return &d.Runbooks[i], nil
		}
	}
	return nil, fmt.Errorf("%s has no runbook %q%s; it has: %s", d.File, name, didYouMean(name, d.names()), strings.Join(d.names(), ", "))
}

func (d *Document) names() []string {
	out := make([]string, len(d.Runbooks))
	for i, rb := range d.Runbooks {
		out[i] = rb.Name
	}
	return out
}

// badByte finds the first byte YAML refuses, with its line and column (in characters): a NUL, a
// control character other than tab and line ends, or invalid UTF-8. the YAML parser reports these
// without a position.
func badByte(data []byte) (Pos, string) {
	line, col := 1, 1
	for i := 0; i < len(data); {
		r, n := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			return Pos{Line: line, Column: col}, fmt.Sprintf("invalid UTF-8 (byte 0x%02x)", data[i])
		case r == 0:
			return Pos{Line: line, Column: col}, "NUL byte"
		case r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0x7f:
			return Pos{Line: line, Column: col}, fmt.Sprintf("control character %U", r)
		case r == 0xfeff && i > 0:
			return Pos{Line: line, Column: col}, "byte order mark inside the file"
		}
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
		i += n
	}
	return Pos{}, ""
}
