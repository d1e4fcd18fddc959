package report

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// Markdown writes the report as Markdown; the ping picture is a Unicode sparkline.
func (r *Report) Markdown(w io.Writer) error {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("# Handoff: %s\n\n", md(r.Runbook))
	p("| | |\n|---|---|\n")
	p("| run | %s |\n| outcome | **%s** %s |\n", code(r.Run), md(orDash(r.Headline)), md(r.Reason))
	p("| operators | %s |\n", md(strings.Join(r.Operators, ", ")))
	p("| started | %s |\n| ended | %s |\n", stamp(r.Started), stamp(r.Ended))
	if r.Window != nil {
		p("| window | %s → %s |\n", stamp(r.Window.Start), stamp(r.Window.End))
	}
	p("| runbook file | %s |\n| journal | %s |\n\n", code(r.File), code(r.Journal))

	p("## Signature: %s\n\n", r.Signature.Mark())
	for _, d := range r.Signature.Detail {
		p("- %s\n", md(d))
	}

	if len(r.OpenItems) > 0 {
		p("\n## Open items\n\n")
		for _, o := range r.OpenItems {
			p("- [ ] %s\n", md(o))
		}
	}

	p("\n## Timeline\n\n| step | phase | status | duration | gate |\n|---|---|---|---|---|\n")
	for _, s := range r.Steps {
		name := s.Name
		if s.Undoes != "" {
			name += " (undoes " + s.Undoes + ")"
		}
		p("| %s | %s | %s | %s | %s |\n", md(name), md(s.Phase), md(s.Status), dur(s.Duration), md(orDash(s.Gate)))
	}

	if len(r.Migrations) > 0 {
		p("\n## Migration\n\n")
		for _, m := range r.Migrations {
			p("- %s: %s → %s in %s (%s)\n", md(m.VM), md(m.From), md(m.To), dur(m.Duration), md(m.Result))
		}
	}

	if w := r.Watch; w != nil {
		st := w.Stats
		p("\n## Gateway watch: %s\n\n", md(strings.ToUpper(orDash(w.Verdict))))
		p("From %s to %s: %d sent, %d lost (%.1f %%), longest outage %s, RTT p95 %s; gate: at most %d lost.",
			md(w.From), md(w.Target), st.Sent, st.Lost, st.LossPct(), st.LongestOutage.Std().Round(time.Millisecond), st.RTTP95.Std().Round(time.Microsecond), w.Limits.MaxLost)
		if w.Breach != "" {
			p(" **Breach: %s.**", md(w.Breach))
		}
		p("\n\n%s\n(each mark a sample or a group of them, newest right; ✗ = a request lost)\n", fenced(Sparkline(w.Samples, 100)))
	}

	if len(r.Problems) > 0 {
		p("\n## Failed or inconclusive checks\n")
		for _, pr := range r.Problems {
			p("\n**%s / %s** \\[%s\\] — %s%s: %s\n", md(pr.Step), md(pr.Check), md(pr.Host), pr.Outcome, pr.attempts(), md(pr.Summary))
			if len(pr.Evidence) > 0 {
				p("\n%s", fenced(strings.Join(pr.Evidence, "\n")))
			}
		}
	}

	if len(r.Decisions) > 0 {
		p("\n## Decisions\n\n| time | step | choice | by | reason |\n|---|---|---|---|---|\n")
		for _, d := range r.Decisions {
			p("| %s | %s | %s | %s | %s |\n", d.At.UTC().Format("15:04:05"), md(d.Step), md(string(d.Choice)), md(d.By), md(d.Reason))
		}
	}

	if len(r.Notes) > 0 {
		p("\n## Notes\n\n| time | from | note |\n|---|---|---|\n")
		for _, n := range r.Notes {
			p("| %s | %s | %s |\n", n.At.UTC().Format("15:04:05"), md(n.Source), md(n.Text))
		}
	}

	if r.Rollback != nil {
		p("\n## Rollback\n\nTriggered by **%s**: %s\n\nRan: %s\n", md(r.Rollback.Trigger), md(r.Rollback.Reason), md(strings.Join(r.Rollback.Steps, " → ")))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Sparkline draws samples in at most width marks: each mark the worst RTT of its group, ✗ when
// the group lost a request.
func Sparkline(samples [][3]int64, width int) string {
	if len(samples) == 0 {
		return "(no samples)"
	}
	per := max(1, (len(samples)+width-1)/width)
	var maxRTT int64 = 1
	for _, s := range samples {
		maxRTT = max(maxRTT, s[2])
	}
	levels := []rune("▁▂▃▄▅▆▇█")
	var b strings.Builder
	for i := 0; i < len(samples); i += per {
		group := samples[i:min(i+per, len(samples))]
		lost, worst := false, int64(0)
		for _, s := range group {
			lost = lost || s[2] == -1
			worst = max(worst, s[2])
		}
		if lost {
			b.WriteRune('✗')
			continue
		}
		b.WriteRune(levels[int(worst*int64(len(levels)-1)/maxRTT)])
	}
	return b.String()
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

func dur(d time.Duration) string {
	if d <= 0 {
		return "—"
	}
	if d < time.Minute {
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// md escapes text for Markdown: every character that can mean something mid-line is
// backslash-escaped, so a value cannot open emphasis, a link, an image, HTML, a table cell or a
// code span; it has no newline, so it cannot start a heading. Text was made terminal-safe
// (one line, no control characters) when the report was built.
func md(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune("\\`*_[]<>#!|~&", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// code is s as an inline code span, its fence longer than any run of backticks in s (and | escaped,
// which would end a table cell even there).
func code(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	fence := strings.Repeat("`", longestRun(s, '`')+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		return fence + " " + s + " " + fence
	}
	return fence + s + fence
}

// fenced is s as a fenced code block whose fence no line of s can close.
func fenced(s string) string {
	fence := strings.Repeat("`", max(3, longestRun(s, '`')+1))
	return fence + "\n" + s + "\n" + fence + "\n"
}

func longestRun(s string, c rune) int {
	most, n := 0, 0
	for _, r := range s {
		if r == c {
			n++
			most = max(most, n)
		} else {
			n = 0
		}
	}
	return most
}
