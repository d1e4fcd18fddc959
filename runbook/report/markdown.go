package report

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/cutover/cutover/runbook"
)

// Markdown writes the report as Markdown; the ping picture is a Unicode sparkline.
func (r *Report) Markdown(w io.Writer) error {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("# Handoff: %s\n\n", md(r.Runbook))
	p("| | |\n|---|---|\n")
	for _, f := range r.Rows() {
		switch f.Label {
		case "outcome": // the headline in bold, then why
			head, why, _ := strings.Cut(f.Value, " — ")
			if why != "" {
				why = " — " + md(why)
			}
			p("| outcome | **%s**%s |\n", md(head), why)
		case "run", "runbook file", "journal":
			p("| %s | %s |\n", f.Label, code(f.Value))
		default:
			p("| %s | %s |\n", f.Label, md(f.Value))
		}
	}
	if len(r.OpenItems) > 0 {
		p("\n## Follow-up\n\n")
		for _, o := range r.OpenItems {
			p("- [ ] %s\n", md(o))
		}
	}
	for _, wv := range r.Waves {
		p("\n## Wave %s\n\n%s\n\n| VM | batch | move | lost/sent | RTT p50 before → after | watch | result |\n|---|---|---|---|---|---|---|\n", md(wv.Step), md(wv.Summary))
		for _, row := range wv.Rows {
			result := md(row.Result)
			if row.Bad {
				result = "**" + result + "**"
			}
			p("| %s | %s | %s | %s | %s | %s | %s |\n", md(row.VM), row.Batch, md(row.Move), row.Loss, md(row.RTT), md(row.Verdict), result)
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
	if len(r.Moments) > 0 {
		p("\n## What happened, in order\n\n| time | step | what | by |\n|---|---|---|---|\n")
		for _, m := range r.Moments {
			p("| %s | %s | %s | %s |\n", m.At.UTC().Format("15:04:05"), md(orDash(m.Step)), md(m.Kind+": "+m.Text), md(orDash(m.By)))
		}
	}

	if len(r.Migrations) > 0 {
		p("\n## Migration\n\n")
		for _, m := range r.Migrations {
			p("- %s: %s → %s in %s (%s)\n", md(m.VM), md(m.From), md(m.To), dur(m.Duration), md(m.Result))
		}
	}

	for _, w := range r.Watches {
		p("\n## Gateway watch, %s: %s\n\n", md(w.Step), md(strings.ToUpper(orDash(w.Verdict))))
		p("%s", md(w.summary()))
		if w.Breach != "" {
			p(" **%s.**", md(upperFirst(w.GateLine)))
		}
		if w.Latency != nil {
			p(" %s.", md(w.Latency.String()))
		}
		p("\n\n%s\n(each mark a span of time, oldest left; ✗ = a request lost there; marks: %s)\n", fenced(Sparkline(w, 100)), md(markList(w.Marks)))
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

	p("\n## Signature: %s\n\n", r.Signature.Mark())
	for _, d := range r.Signature.Detail {
		p("- %s\n", md(d))
	}

	if len(r.Kept) > 0 || len(r.KeptBad) > 0 {
		p("\n## Notes kept beside the journal\n\nSigned with their writers' keys after the run ended (the journal, closed and signed, does not hold them).\n\n| time | by | note |\n|---|---|---|\n")
		for _, n := range r.Kept {
			p("| %s | %s | %s |\n", stamp(n.At), md(n.Who), md(n.Text))
		}
		for _, b := range r.KeptBad {
			p("\n**Not shown, does not verify:** %s\n", md(b))
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
// Sparkline draws a watch's whole history in width marks over time: the slowest answer of each
// span of time as a block, ✗ where a request of it was lost (a loss is never averaged away).
func Sparkline(w *Watch, width int) string {
	from, to := w.History.Span()
	if len(w.History.Buckets) == 0 {
		return "(no samples)"
	}
	n := int64(min(width, len(w.History.Buckets)))
	per := max(1, (to-from)/n+1)
	type col struct {
		lost  bool
		worst int64
		any   bool
	}
	cols := make([]col, int((to-from)/per)+1)
	var maxRTT int64 = 1
	for _, b := range w.History.Buckets {
		c := &cols[(b.From-from)/per]
		c.any = true
		c.lost = c.lost || b.Lost > 0
		c.worst = max(c.worst, b.MaxRTT)
		maxRTT = max(maxRTT, b.MaxRTT)
	}
	levels := []rune("▁▂▃▄▅▆▇█")
	var b strings.Builder
	for _, c := range cols {
		switch {
		case c.lost:
			b.WriteRune('✗')
		case !c.any:
			b.WriteRune(' ')
		default:
			b.WriteRune(levels[max(0, c.worst)*int64(len(levels)-1)/maxRTT])
		}
	}
	return b.String()
}

// summary says a watch's figures in words, the same in Markdown and HTML: its counts with their
// spans, the gated span's loss, outage and RTT, and the gate.
func (w *Watch) summary() string {
	g := w.Gate
	return fmt.Sprintf("From %s to %s. %s. Gated span (the action and its settle, what the gate counts): %.1f %% lost, longest outage %s, RTT p95 %s. Gate: %s.",
		w.From, w.Target, upperFirst(w.Counts), g.LossPct(), g.LongestOutage.Std().Round(time.Millisecond), g.RTTP95.Std().Round(time.Microsecond), w.limits())
}

// limits says the watch's gate in words.
func (w *Watch) limits() string {
	out := fmt.Sprintf("at most %d lost", w.Limits.MaxLost)
	if l := w.Limits.MaxOutage; l > 0 {
		out += ", outage ≤ " + l.Std().String()
	}
	if l := w.Limits.MaxRTTP95; l > 0 {
		out += ", RTT p95 ≤ " + l.Std().String()
	}
	if l := w.Limits.MaxRTTIncrease; l > 0 {
		out += ", RTT increase ≤ " + l.Std().String()
	}
	return out
}

// markList says when each mark was: "S move start 19:22:33, X switch-over 19:22:35".
func markList(marks []runbook.WatchMark) string {
	if len(marks) == 0 {
		return "none"
	}
	var out []string
	for _, m := range marks {
		out = append(out, m.Kind.Letter()+" "+string(m.Kind)+" "+m.At.UTC().Format("15:04:05"))
	}
	return strings.Join(out, ", ")
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
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
