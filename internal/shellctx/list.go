package shellctx

import (
	"path"
	"slices"
	"strings"
)

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
	spans     [][2]int // for each of words, the indices in refs of the references in it
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
			c.spans = append(c.spans, [2]int{wordRefs, len(sc.refs)})
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
				c.words, c.spans, c.named, c.refStart, p.refStart = nil, nil, false, len(sc.refs), len(sc.refs)
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
		c.spans = append(c.spans, [2]int{wordRefs, len(sc.refs)})
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
			for _, k := range nameWords(c.words) {
				for r := c.spans[k][0]; r < c.spans[k][1]; r++ {
					if !sc.refs[r].Refused() {
						sc.refs[r].Context, sc.refs[r].Detail = Unsupported, "stands where "+name+" takes a variable's name, which bash evaluates (a[$(…)] runs): a value cannot name a variable"
					}
				}
			}
			if (name == "declare" || name == "typeset" || name == "local") && slices.ContainsFunc(c.words[1:], func(w string) bool {
				return strings.HasPrefix(w, "-") && strings.Contains(w, "n")
			}) {
				sc.mark(c.refStart, Evaluated, name+" -n (a name reference)", p.keep)
			}
			if slices.Contains(sourcers, c.words[0]) {
				sc.mark(c.refStart, Evaluated, c.words[0], p.keep)
				sc.tainted(c.vars, Evaluated, c.words[0])
			}
			for i, w := range c.words {
				if w == "" {
					continue
				}
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

// nameWords are the indices of the words of a command that name variables: bash evaluates a
// subscript in them (read 'a[$(cmd)]' runs cmd), so no value may stand there.
func nameWords(words []string) []int {
	var out []int
	name := path.Base(words[0])
	for i := 1; i < len(words); i++ {
		w := words[i]
		switch name {
		case "read", "unset", "export", "readonly", "declare", "typeset", "local", "mapfile", "readarray", "getopts":
			takesValue := (name == "read" || name == "mapfile" || name == "readarray") && slices.Contains([]string{"-p", "-d", "-n", "-N", "-t", "-u", "-i", "-C", "-c", "-O", "-s"}, words[i-1])
			if !takesValue && !strings.HasPrefix(w, "-") && !assignment.MatchString(w) && (name != "getopts" || i == 2) {
				out = append(out, i)
			}
		case "printf":
			if words[i-1] == "-v" {
				out = append(out, i)
			}
		case "test", "[", "[[":
			if words[i-1] == "-v" || words[i-1] == "-R" {
				out = append(out, i)
			}
		}
	}
	return out
}
