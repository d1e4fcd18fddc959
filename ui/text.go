package ui

import (
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
)

// Text layout: nothing the operator needs is cut at a pane's edge; it wraps.

// wrapLines wraps plain text to width cells, words first, long words broken; every line of the
// result is at most width cells wide.
func wrapLines(text string, width int) []string { return wrapFirst(text, width, width) }

// wrapFirst wraps with a first line of first cells and the others of rest cells.
func wrapFirst(text string, first, rest int) []string {
	var out []string
	for _, para := range strings.Split(text, "\n") {
		limit := max(1, first)
		if len(out) > 0 {
			limit = max(1, rest)
		}
		line, lw := "", 0
		flush := func() {
			out = append(out, line)
			line, lw, limit = "", 0, max(1, rest)
		}
		for _, word := range strings.Split(para, " ") {
			ww := ansi.StringWidth(word)
			if lw > 0 && lw+1+ww > limit {
				flush()
			}
			if lw > 0 {
				line += " "
				lw++
			}
			for ww > limit-lw { // a word longer than the line: break it by cells
				head := ansi.Truncate(word, limit-lw, "")
				if head == "" && lw == 0 { // a character wider than the line: keep it whole
					head = string([]rune(word)[:1])
				}
				line += head
				word = strings.TrimPrefix(word, head)
				ww = ansi.StringWidth(word)
				flush()
			}
			line += word
			lw += ww
		}
		out = append(out, line)
	}
	return out
}

// para wraps text to width with the first line after first and the others indented by indent's
// width, each line styled on its own (a style must not run across a line break into a border).
func para(first, indent, text string, width int, style lipgloss.Style) []string {
	fw, iw := ansi.StringWidth(first), ansi.StringWidth(indent)
	lines := wrapFirst(text, width-max(fw, iw), width-iw)
	out := make([]string, len(lines))
	for i, l := range lines {
		lead := indent
		if i == 0 {
			lead = first + strings.Repeat(" ", max(0, iw-fw))
		}
		out[i] = lead + style.Render(l)
	}
	return out
}

// wrap joins wrapLines, for blocks such as the too-small message.
func wrap(s string, n int) string { return strings.Join(wrapLines(s, n), "\n") }

// truncate cuts plain text to n cells with an ellipsis: for labels only, never for a reason or
// evidence, which wrap.
func truncate(s string, n int) string {
	if n <= 0 {
		return ""
	}
	return ansi.Truncate(s, n, "…")
}

// highlight marks every case-insensitive match of q in plain text s.
func highlight(s, q string, match, rest lipgloss.Style) string {
	if q == "" {
		return rest.Render(s)
	}
	lower, lq := strings.ToLower(s), strings.ToLower(q)
	if len(lower) != len(s) { // a case fold that changes byte lengths: mark nothing rather than the wrong bytes
		return rest.Render(s)
	}
	var b strings.Builder
	for {
		i := strings.Index(lower, lq)
		if i < 0 {
			b.WriteString(rest.Render(s))
			return b.String()
		}
		if i > 0 {
			b.WriteString(rest.Render(s[:i]))
		}
		b.WriteString(match.Render(s[i : i+len(q)]))
		s, lower = s[i+len(q):], lower[i+len(q):]
	}
}

// pad fills s with spaces to w cells.
func pad(s string, w int) string {
	if d := w - ansi.StringWidth(s); d > 0 {
		return s + strings.Repeat(" ", d)
	}
	return s
}
