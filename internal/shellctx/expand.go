package shellctx

import "strings"

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
