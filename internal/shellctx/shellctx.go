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

// evaluators run some of their arguments as code, whatever the flags: a trap's, eval's or an
// alias's string, an awk or sed program (sed's e command runs a shell).
// sourcers run a file as code when they are the command (". ./x" — a lone "." elsewhere is a path).
var sourcers = []string{"source", "."}
var evaluators = []string{"eval", "trap", "alias", "watch", "script", "flock", "parallel", "awk", "gawk", "mawk", "nawk", "sed"}

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

func isAlpha(b byte) bool { return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' }

// Evaluates reports whether an argv runs some of its words as code: a shell, eval and its kind,
// or an interpreter given code with a flag.
func Evaluates(argv []string) (string, bool) {
	if len(argv) > 0 && slices.Contains(sourcers, argv[0]) {
		return argv[0], true
	}
	for i, w := range argv {
		if w == "" {
			continue
		}
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
