// Package shellctx finds where in a shell script each {{ .var }} reference stands: a plain word,
// inside double quotes, a here-document, arithmetic, a string some command evaluates as code.
// The context decides how a value can be carried there as data, or that it cannot.
//
// The scanner follows POSIX sh and the bash extensions a script may use (scripts run under
// /bin/sh, which is bash on some distributions, and may start bash themselves): quotes, $'…',
// command and process substitution, ${…}, $((…)), ((…)), [[…]], case, here-documents and
// comments. It errs on the side of refusing: a reference it cannot place is Unsupported.
package shellctx

import (
	"path"
	"regexp"
	"slices"
	"strings"
)

// Context is where a reference stands.
type Context int

// The contexts. Those from SingleQuoted on cannot carry a value as data.
const (
	Word          Context = iota // an unquoted word, a case pattern, a [[ ]] operand: carried as "${var}"
	DoubleQuoted                 // inside "…" or a here-document body: carried as ${var}
	Comment                      // inside a comment: inert
	Arithmetic                   // $((…)), ((…)), let, [[ -eq ]], subscripts, offsets: integers only
	SingleQuoted                 // inside '…' or $'…': the shell expands nothing there
	QuotedHeredoc                // a here-document with a quoted delimiter: expands nothing
	Evaluated                    // a command that runs text as shell code (eval, sh -c, ssh, …)
	Unsupported                  // somewhere no value can be placed safely (after \ or $, a name)
)

// Ref is one reference and where it stands.
type Ref struct {
	Start, End int // byte span of the reference in the script
	Line       int // 1-based line of the script it starts on
	Context    Context
	Detail     string // what decided the context: the evaluating command, the delimiter, …
}

// Refused reports whether no value can be carried at the reference.
func (r Ref) Refused() bool { return r.Context >= SingleQuoted }

// Quoted reports whether the reference must be written as "${var}" (it stands where the shell
// would split and glob an unquoted expansion); otherwise ${var} (already quoted, or arithmetic).
func (r Ref) Quoted() bool { return r.Context == Word }

// Reason says why a refused reference cannot carry a value, and what to write instead.
func (r Ref) Reason() string {
	switch r.Context {
	case SingleQuoted:
		return "stands inside single quotes, where the shell expands nothing: remove the quotes (values are quoted for you)"
	case QuotedHeredoc:
		return "stands in a here-document whose delimiter " + r.Detail + " is quoted, so the shell expands nothing in it: unquote the delimiter and the value is inserted as text"
	case Evaluated:
		return "stands where " + r.Detail + " takes it as code, not data: a value there could run; pass it in the environment instead (NAME={{ .var }} before the command) and read $NAME there"
	case Unsupported:
		return r.Detail
	}
	return ""
}

// shells run their standard input as code when given no script: a value anywhere in a pipeline
// or here-document that feeds one may run; so may any of their arguments (-c).
var shells = []string{"sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "busybox", "fish", "csh", "tcsh", "ssh", "su", "runuser", "at", "batch"}

// evaluators run some of their arguments as code, whatever the flags: a trap's or eval's string,
// an awk or sed program (sed's e command runs a shell).
var evaluators = []string{"eval", "trap", "watch", "script", "flock", "parallel", "awk", "gawk", "mawk", "nawk", "sed"}

// interpreters run code from an argument given with a flag (-c, -e, -E, -r), or from their
// standard input when given no script; an argument after a script file is data.
var interpreters = []string{"python", "python2", "python3", "perl", "ruby", "node", "php", "lua", "tclsh", "expect", "Rscript"}

// codeFlag is a single-dash flag word that takes code: python -c, perl -e/-ne/-pe, php -r.
func codeFlag(w string) bool {
	return len(w) > 1 && w[0] == '-' && w[1] != '-' && strings.ContainsAny(w[1:], "ceEr")
}

// scriptArg is a word that names a script for an interpreter to run (not a flag, not stdin).
func scriptArg(w string) bool { return w != "-" && !strings.HasPrefix(w, "-") }

var arithOps = []string{"-eq", "-ne", "-lt", "-le", "-gt", "-ge"}

var (
	assignment = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\[[^]]*\])?\+?=`)
	subscript  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*\[[^]]*$`) // name[ of an assignment, open
)

// Analyze returns the context of each span (byte ranges of references in script, in order).
func Analyze(script string, spans [][2]int) []Ref {
	sc := &scanner{s: script, spans: spans, taint: map[string][]int{}}
	for i := 0; i < len(script); {
		i = sc.list(i, 0)
	}
	for _, sp := range spans[sc.next:] { // references inside a construct left open
		sc.add(sp, Unsupported, "stands in a construct the script never closes")
	}
	slices.SortFunc(sc.refs, func(a, b Ref) int { return a.Start - b.Start })
	return sc.refs
}

type scanner struct {
	s     string
	spans [][2]int
	next  int
	refs  []Ref
	// taint follows a value into a shell variable: NAME={{ .v }} and then $((NAME)) or eval "$NAME"
	// runs the value as surely as the reference itself would.
	taint map[string][]int // variable name → indices in refs of the references assigned to it
	users []*command       // commands being scanned, innermost last: each sees the variables used in it
}

// tainted marks the references that flowed into the named variables as ctx.
func (sc *scanner) tainted(names []string, ctx Context, detail string) {
	for _, n := range names {
		for _, k := range sc.taint[n] {
			if r := &sc.refs[k]; r.Context != Comment && (ctx == Evaluated || !r.Refused()) {
				r.Context, r.Detail = ctx, detail+" (through $"+n+")"
			}
		}
	}
}

// used notes a variable expansion for every command it stands in.
func (sc *scanner) used(name string) {
	for _, c := range sc.users {
		c.vars = append(c.vars, name)
	}
}

// refAt reports whether the next reference starts at i.
func (sc *scanner) refAt(i int) bool {
	return sc.next < len(sc.spans) && sc.spans[sc.next][0] == i
}

// take records the reference starting at i in ctx and returns the index after it.
func (sc *scanner) take(ctx Context, detail string) int {
	sp := sc.spans[sc.next]
	sc.add(sp, ctx, detail)
	return sp[1]
}

func (sc *scanner) add(sp [2]int, ctx Context, detail string) {
	sc.next++
	sc.refs = append(sc.refs, Ref{Start: sp[0], End: sp[1], Line: 1 + strings.Count(sc.s[:sp[0]], "\n"), Context: ctx, Detail: detail})
}

// skipRefsBefore refuses references that start inside [from, to): text the scanner consumed as
// one unit (an escaped character, a name).
func (sc *scanner) skipRefsBefore(to int, why string) {
	for sc.next < len(sc.spans) && sc.spans[sc.next][0] < to {
		sc.add(sc.spans[sc.next], Unsupported, why)
	}
}

// mark sets the context of the references recorded since index from (skipping those in keep).
func (sc *scanner) mark(from int, ctx Context, detail string, keep map[int]bool) {
	for k := from; k < len(sc.refs); k++ {
		if keep[k] || sc.refs[k].Refused() && ctx != Evaluated {
			continue
		}
		if sc.refs[k].Context == Comment {
			continue
		}
		sc.refs[k].Context, sc.refs[k].Detail = ctx, detail
	}
}

const (
	escapedWhy = "is escaped by a backslash, so its value would be split and globbed: remove the backslash"
	dollarWhy  = "stands right after $, where it would name a variable: remove the $ (values are inserted for you)"
	nameWhy    = "stands where the shell expects a variable's name: a value cannot name a variable"
)

// escape handles a backslash at i and returns the index after the escaped character.
func (sc *scanner) escape(i int) int {
	if sc.refAt(i + 1) {
		return sc.take(Unsupported, escapedWhy)
	}
	return min(i+2, len(sc.s))
}

// heredoc is a here-document waiting for its body after the current line.
type heredoc struct {
	delim  string
	strip  bool // <<- strips leading tabs
	quoted bool
	pipe   *pipeline
}

// pipeline collects what decides the context of the references of one pipeline.
type pipeline struct {
	refStart  int    // index in refs of its first reference
	evaluator string // a command in it that evaluates text, if any
	keep      map[int]bool
	vars      []string // variables its commands expand
}

// command is one simple command being scanned.
type command struct {
	words     []string // literal text of its words (references as \x00)
	word      strings.Builder
	inWord    bool
	refStart  int
	wordStart int      // index in refs where the current word began
	vars      []string // variables it expands, in substitutions too
	named     bool     // a word that is not an assignment has been seen
	dbracket  int      // index in refs where [[ started, or -1
	dbWords   []string
}

// list scans commands from i until closer (')' or '`'; 0: the end of the script) and returns the
// index after the closer.
func (sc *scanner) list(i int, closer byte) int {
	s := sc.s
	var pending []*heredoc
	p := &pipeline{refStart: len(sc.refs), keep: map[int]bool{}}
	c := &command{refStart: len(sc.refs), wordStart: len(sc.refs), dbracket: -1}
	var cases []int // 1: expecting "in", 2: patterns, 3: a body
	slot := len(sc.users)
	sc.users = append(sc.users, c)
	defer func() { sc.users = sc.users[:slot] }()

	endWord := func() {
		if !c.inWord {
			return
		}
		w := c.word.String()
		c.word.Reset()
		c.inWord = false
		wordRefs := c.wordStart
		c.wordStart = len(sc.refs)
		if name, ok := assignedName(w); ok && (!c.named || len(c.words) > 0 && slices.Contains([]string{"export", "readonly", "local", "declare", "typeset", "env"}, path.Base(c.words[0]))) {
			for k := wordRefs; k < len(sc.refs); k++ {
				sc.taint[name] = append(sc.taint[name], k)
			}
		}
		if c.dbracket >= 0 {
			if w == "]]" {
				if slices.ContainsFunc(c.dbWords, func(x string) bool { return slices.Contains(arithOps, x) }) {
					sc.mark(c.dbracket, Arithmetic, "[[ ]] compares numbers", nil)
					sc.tainted(c.vars, Arithmetic, "[[ ]] compares numbers")
				}
				c.dbracket, c.dbWords = -1, nil
			} else {
				c.dbWords = append(c.dbWords, w)
			}
			c.words = append(c.words, w)
			return
		}
		if n := len(cases); n > 0 {
			switch {
			case cases[n-1] == 1 && w == "in", w == "esac" && (cases[n-1] == 2 || len(c.words) == 0):
				if w == "in" {
					cases[n-1] = 2
				} else {
					cases = cases[:n-1]
				}
				// The subject and the patterns are words of their own, not arguments of what follows.
				c.words, c.named, c.refStart, p.refStart = nil, false, len(sc.refs), len(sc.refs)
				return
			}
		}
		if len(c.words) == 0 && !c.named && w == "case" {
			cases = append(cases, 1)
			return
		}
		envArg := c.named && len(c.words) > 0 && path.Base(c.words[0]) == "env" && !slices.ContainsFunc(c.words[1:], func(x string) bool {
			return !strings.HasPrefix(x, "-") && !assignment.MatchString(x)
		})
		if !c.named || envArg {
			if assignment.MatchString(w) {
				for k := c.refStart; k < len(sc.refs); k++ {
					p.keep[k] = true // a value assigned to a variable is data
				}
				c.refStart = len(sc.refs)
				return
			}
			c.named = true
		}
		if w == "[[" && len(c.words) == 0 {
			c.dbracket = len(sc.refs)
		}
		c.words = append(c.words, w)
	}
	endCommand := func() {
		endWord()
		if len(c.words) > 0 {
			name := path.Base(c.words[0])
			switch {
			case name == "let":
				sc.mark(c.refStart, Arithmetic, "let evaluates arithmetic", p.keep)
				sc.tainted(append(c.vars, identifiers(strings.Join(c.words[1:], " "))...), Arithmetic, "let evaluates arithmetic")
			case (name == "declare" || name == "typeset" || name == "local") && slices.ContainsFunc(c.words[1:], func(w string) bool {
				return strings.HasPrefix(w, "-") && strings.Contains(w, "i")
			}):
				sc.mark(c.refStart, Arithmetic, name+" -i evaluates arithmetic", p.keep)
				sc.tainted(c.vars, Arithmetic, name+" -i evaluates arithmetic")
			case name == "for" && len(c.words) > 2 && c.words[2] == "in":
				sc.taint[c.words[1]] = append(sc.taint[c.words[1]], refRange(c.refStart, len(sc.refs))...)
				for _, v := range c.vars {
					sc.taint[c.words[1]] = append(sc.taint[c.words[1]], sc.taint[v]...)
				}
			case name == "read":
				for _, w := range c.words[1:] {
					if !strings.HasPrefix(w, "-") && isName(w) {
						sc.taint[w] = append(sc.taint[w], refRange(c.refStart, len(sc.refs))...)
					}
				}
			}
			for i, w := range c.words {
				b, rest := path.Base(w), c.words[i+1:]
				switch {
				case slices.Contains(evaluators, b), slices.Contains(shells, b):
					sc.mark(c.refStart, Evaluated, b, p.keep)
					sc.tainted(c.vars, Evaluated, b)
				case slices.Contains(interpreters, b):
					if slices.ContainsFunc(rest, codeFlag) {
						sc.mark(c.refStart, Evaluated, b+" "+rest[slices.IndexFunc(rest, codeFlag)], p.keep)
						sc.tainted(c.vars, Evaluated, b)
					} else if !slices.ContainsFunc(rest, scriptArg) && p.evaluator == "" {
						p.evaluator = b // its program comes from its input
					}
				}
				if slices.Contains(shells, b) && p.evaluator == "" {
					p.evaluator = b
				}
			}
		}
		p.vars = append(p.vars, c.vars...)
		c = &command{refStart: len(sc.refs), wordStart: len(sc.refs), dbracket: -1}
		sc.users[slot] = c
	}
	endPipeline := func() {
		endCommand()
		if p.evaluator != "" {
			sc.mark(p.refStart, Evaluated, p.evaluator, p.keep)
			sc.tainted(p.vars, Evaluated, p.evaluator)
		}
		p = &pipeline{refStart: len(sc.refs), keep: map[int]bool{}}
	}
	wordChar := func(b byte) {
		c.inWord = true
		c.word.WriteByte(b)
	}

	for i < len(s) {
		if sc.refAt(i) {
			ctx := Word
			if c.inWord && !c.named && subscript.MatchString(c.word.String()) {
				ctx = Arithmetic // an array subscript
			}
			i = sc.take(ctx, "")
			if ctx == Arithmetic {
				sc.refs[len(sc.refs)-1].Detail = "an array subscript is arithmetic"
			}
			c.inWord = true
			c.word.WriteByte(0)
			continue
		}
		b := s[i]
		inPattern := len(cases) > 0 && cases[len(cases)-1] == 2
		switch {
		case c.dbracket >= 0 && strings.IndexByte("()<>&|", b) >= 0:
			wordChar(b) // inside [[ ]], ( ) < > && || are operators of the test, not of the shell
			i++
		case b == '\\':
			if i+1 < len(s) && s[i+1] == '\n' {
				i += 2 // a line continuation
				continue
			}
			c.inWord = true
			c.word.WriteString(s[i+1 : min(i+2, len(s))])
			i = sc.escape(i)
		case b == '\'':
			c.inWord = true
			j := sc.single(i+1, false)
			c.word.WriteString(strings.TrimSuffix(s[i+1:j], "'"))
			i = j
		case b == '"':
			c.inWord = true
			j := sc.double(i+1, '"')
			c.word.WriteString(strings.TrimSuffix(s[i+1:j], `"`))
			i = j
		case b == '$':
			c.inWord = true
			c.word.WriteByte(0) // an expansion: not a literal command name
			i = sc.dollar(i)
		case b == '`':
			if closer == '`' {
				endPipeline()
				return i + 1
			}
			c.inWord = true
			c.word.WriteByte(0)
			i = sc.list(i+1, '`')
		case b == '#' && !c.inWord:
			for i < len(s) && s[i] != '\n' {
				if sc.refAt(i) {
					i = sc.take(Comment, "")
					continue
				}
				i++
			}
		case b == '\n':
			endPipeline()
			i++
			for _, h := range pending {
				i = sc.heredocBody(i, h)
			}
			pending = nil
		case b == ' ' || b == '\t':
			endWord()
			i++
		case b == ';':
			endPipeline()
			if n := len(cases); n > 0 && cases[n-1] == 3 && (strings.HasPrefix(s[i:], ";;") || strings.HasPrefix(s[i:], ";&")) {
				cases[n-1] = 2
				i += 2
				if i < len(s) && s[i] == '&' {
					i++
				}
				continue
			}
			i++
		case b == '&' && strings.HasPrefix(s[i:], "&>"):
			endWord()
			i += 2
		case b == '&':
			endPipeline()
			i++
		case b == '|':
			if inPattern {
				endWord()
				i++
				continue
			}
			if strings.HasPrefix(s[i:], "||") {
				endPipeline()
				i += 2
			} else {
				endCommand() // the pipeline goes on
				i++
			}
		case b == '(':
			switch {
			case inPattern && !c.inWord:
				i++
			case !c.inWord && strings.HasPrefix(s[i:], "(("):
				i = sc.arith(i+2, "))", "((…)) is arithmetic")
			case c.inWord && strings.HasSuffix(c.word.String(), "="): // an array: name=(…)
				i = sc.list(i+1, ')')
			default:
				endWord()
				i = sc.list(i+1, ')')
			}
		case b == ')':
			if inPattern {
				endPipeline() // "esac)" ends the case first, and the ) is the closer's
				if n := len(cases); n > 0 && cases[n-1] == 2 {
					cases[n-1] = 3
					i++
					continue
				}
			}
			if closer == ')' {
				endPipeline()
				return i + 1
			}
			endWord()
			i++
		case b == '<' || b == '>':
			endWord()
			switch {
			case strings.HasPrefix(s[i:], "<(") || strings.HasPrefix(s[i:], ">("):
				c.inWord = true
				c.word.WriteByte(0)
				i = sc.list(i+2, ')')
			case strings.HasPrefix(s[i:], "<<<"):
				i += 3
			case strings.HasPrefix(s[i:], "<<"):
				h := &heredoc{pipe: p}
				i += 2
				if i < len(s) && s[i] == '-' {
					h.strip = true
					i++
				}
				i = sc.delimiter(i, h)
				pending = append(pending, h)
			default:
				for i < len(s) && strings.IndexByte("<>&|", s[i]) >= 0 {
					i++
				}
			}
		default:
			wordChar(b)
			i++
		}
	}
	endPipeline()
	return i
}

// delimiter reads a here-document's delimiter word at i (after << and blanks).
func (sc *scanner) delimiter(i int, h *heredoc) int {
	s := sc.s
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	var d strings.Builder
	for i < len(s) && strings.IndexByte(" \t\n;&|<>()", s[i]) < 0 {
		switch {
		case sc.refAt(i):
			i = sc.take(Unsupported, "stands in a here-document's delimiter: a value cannot end a here-document")
		case s[i] == '\'' || s[i] == '"':
			h.quoted = true
			q := s[i]
			j := strings.IndexByte(s[i+1:], q)
			if j < 0 {
				j = len(s) - i - 1
			}
			sc.skipRefsBefore(i+1+j, "stands in a here-document's delimiter: a value cannot end a here-document")
			d.WriteString(s[i+1 : i+1+j])
			i += j + 2
		case s[i] == '\\':
			h.quoted = true
			if i+1 < len(s) {
				d.WriteByte(s[i+1])
			}
			i = sc.escape(i)
		default:
			d.WriteByte(s[i])
			i++
		}
	}
	h.delim = d.String()
	return min(i, len(s))
}

// heredocBody scans a here-document's body from i and returns the index after its last line.
func (sc *scanner) heredocBody(i int, h *heredoc) int {
	s := sc.s
	from := len(sc.refs)
	for i < len(s) {
		eol := strings.IndexByte(s[i:], '\n')
		if eol < 0 {
			eol = len(s) - i
		}
		line := s[i : i+eol]
		if h.strip {
			line = strings.TrimLeft(line, "\t")
		}
		if line == h.delim {
			i += eol + 1
			break
		}
		end := min(i+eol+1, len(s))
		if h.quoted {
			for sc.next < len(sc.spans) && sc.spans[sc.next][0] < end {
				sc.add(sc.spans[sc.next], QuotedHeredoc, "'"+h.delim+"'")
			}
			i = end
			continue
		}
		for i < end {
			switch {
			case sc.refAt(i):
				i = sc.take(DoubleQuoted, "")
			case s[i] == '\\':
				i = sc.escape(i)
			case s[i] == '$':
				i = sc.dollar(i)
				end = max(end, i) // a substitution may span lines
			case s[i] == '`':
				i = sc.list(i+1, '`')
				end = max(end, i)
			default:
				i++
			}
		}
	}
	if h.pipe.evaluator != "" {
		sc.mark(from, Evaluated, h.pipe.evaluator+" reads the here-document", nil)
	}
	return min(i, len(s))
}

// single scans a '…' (or $'…' when ansi) string from after its quote; returns the index after it.
func (sc *scanner) single(i int, ansi bool) int {
	s := sc.s
	for i < len(s) {
		switch {
		case sc.refAt(i):
			i = sc.take(SingleQuoted, "")
		case ansi && s[i] == '\\':
			i += 2
		case s[i] == '\'':
			return i + 1
		default:
			i++
		}
	}
	return len(s)
}

// double scans a "…" string from after its quote; returns the index after the closing quote.
func (sc *scanner) double(i int, quote byte) int {
	s := sc.s
	for i < len(s) {
		switch {
		case sc.refAt(i):
			i = sc.take(DoubleQuoted, "")
		case s[i] == '\\':
			i = sc.escape(i)
		case s[i] == quote:
			return i + 1
		case s[i] == '$':
			i = sc.dollar(i)
		case s[i] == '`':
			i = sc.list(i+1, '`')
		default:
			i++
		}
	}
	return len(s)
}

// dollar scans an expansion starting with the $ at i; returns the index after it.
func (sc *scanner) dollar(i int) int {
	s := sc.s
	if sc.refAt(i + 1) {
		return sc.take(Unsupported, dollarWhy)
	}
	rest := s[i+1:]
	if n := leadingName(strings.TrimPrefix(rest, "{")); n != "" {
		sc.used(n)
	}
	switch {
	case strings.HasPrefix(rest, "(("):
		return sc.arith(i+3, "))", "$((…)) is arithmetic")
	case strings.HasPrefix(rest, "("):
		return sc.list(i+2, ')')
	case strings.HasPrefix(rest, "["):
		return sc.arith(i+2, "]", "$[…] is arithmetic")
	case strings.HasPrefix(rest, "{"):
		return sc.param(i + 2)
	case strings.HasPrefix(rest, "'"):
		return sc.single(i+2, true)
	case strings.HasPrefix(rest, `"`):
		return sc.double(i+2, '"')
	}
	return i + 1
}

// arith scans arithmetic until close at depth zero; every reference in it is Arithmetic.
func (sc *scanner) arith(i int, close, why string) int {
	s := sc.s
	depth := 0
	from, start := len(sc.refs), i
	for i < len(s) {
		switch {
		case sc.refAt(i):
			i = sc.take(Arithmetic, why)
		case depth == 0 && strings.HasPrefix(s[i:], close):
			sc.mark(from, Arithmetic, why, nil)
			sc.tainted(identifiers(s[start:i]), Arithmetic, why) // bash evaluates a variable's text too
			return i + len(close)
		case s[i] == '(' || s[i] == '[':
			depth++
			i++
		case s[i] == ')' || s[i] == ']':
			depth--
			i++
		default:
			i = sc.nested(i)
		}
	}
	sc.mark(from, Arithmetic, why, nil)
	return len(s)
}

// nested scans the quote, escape or substitution that starts at i inside arithmetic or ${…} and
// returns the index after it; any other character is passed over.
func (sc *scanner) nested(i int) int {
	switch sc.s[i] {
	case '\\':
		return sc.escape(i)
	case '$':
		return sc.dollar(i)
	case '`':
		return sc.list(i+1, '`')
	case '"':
		return sc.double(i+1, '"')
	case '\'':
		return sc.single(i+1, false)
	}
	return i + 1
}

// param scans ${…} from after the brace; returns the index after the closing brace.
func (sc *scanner) param(i int) int {
	s := sc.s
	// The name: a value may not stand here (${{{ .v }}}, ${!{{ .v }}}, ${#{{ .v }}}).
	if i < len(s) && (s[i] == '!' || s[i] == '#') && !strings.HasPrefix(s[i+1:], "}") {
		i++
	}
	switch {
	case sc.refAt(i):
		i = sc.take(Unsupported, nameWhy)
	case i < len(s) && (s[i] == '_' || isAlpha(s[i])):
		for i < len(s) && (s[i] == '_' || isAlpha(s[i]) || s[i] >= '0' && s[i] <= '9') {
			i++
		}
	case i < len(s):
		i++ // a special parameter: $@ $* $# $? $- $$ $! or a digit
	}
	if i < len(s) && s[i] == '[' {
		i = sc.arith(i+1, "]", "an array subscript is arithmetic")
	}
	ctx := Word // after an operator: a word or pattern, where a quoted value is literal
	if i < len(s) && s[i] == ':' && (i+1 >= len(s) || strings.IndexByte("-=+?", s[i+1]) < 0) {
		ctx = Arithmetic // ${x:offset:length}
	}
	depth := 0
	from, start := len(sc.refs), i
	for i < len(s) {
		switch {
		case sc.refAt(i):
			i = sc.take(ctx, "")
		case s[i] == '}' && depth == 0:
			if ctx == Arithmetic {
				sc.mark(from, Arithmetic, "${name:offset} is arithmetic", nil)
				sc.tainted(identifiers(s[start:i]), Arithmetic, "${name:offset} is arithmetic")
			}
			return i + 1
		case s[i] == '{':
			depth++
			i++
		case s[i] == '}':
			depth--
			i++
		default:
			i = sc.nested(i)
		}
	}
	return len(s)
}

func isAlpha(b byte) bool { return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' }

// Evaluates reports whether an argv runs some of its words as code: a shell, eval and its kind,
// or an interpreter given code with a flag.
func Evaluates(argv []string) (string, bool) {
	for i, w := range argv {
		b := path.Base(w)
		switch {
		case slices.Contains(evaluators, b), slices.Contains(shells, b):
			return b, true
		case slices.Contains(interpreters, b) && slices.ContainsFunc(argv[i+1:], codeFlag):
			return b, true
		}
	}
	return "", false
}

var identifier = regexp.MustCompile(`[A-Za-z_][A-Za-z0-9_]*`)

// identifiers are the variable names a piece of arithmetic may evaluate.
func identifiers(s string) []string { return identifier.FindAllString(s, -1) }

// leadingName is the variable name s starts with, or "".
func leadingName(s string) string {
	if loc := identifier.FindStringIndex(s); loc != nil && loc[0] == 0 {
		return s[:loc[1]]
	}
	return ""
}

func isName(s string) bool { return s != "" && leadingName(s) == s }

// assignedName is the variable an assignment word assigns, if w is one.
func assignedName(w string) (string, bool) {
	if !assignment.MatchString(w) {
		return "", false
	}
	return leadingName(w), true
}

func refRange(from, to int) []int {
	var out []int
	for k := from; k < to; k++ {
		out = append(out, k)
	}
	return out
}
