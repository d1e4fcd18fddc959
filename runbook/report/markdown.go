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
	p("# Handoff: %s\n\n", r.Runbook)
	p("| | |\n|---|---|\n")
	p("| run | `%s` |\n| outcome | **%s** %s |\n", r.Run, strings.ToUpper(orDash(r.Status)), mdEscape(r.Reason))
	p("| operators | %s |\n", strings.Join(r.Operators, ", "))
	p("| started | %s |\n| ended | %s |\n", stamp(r.Started), stamp(r.Ended))
	if r.Window != nil {
		p("| window | %s → %s |\n", stamp(r.Window.Start), stamp(r.Window.End))
	}
	p("| runbook file | `%s` |\n| journal | `%s` |\n\n", r.File, r.Journal)

	p("## Signature: %s\n\n", r.Signature.Mark())
	for _, d := range r.Signature.Detail {
		p("- %s\n", mdEscape(d))
	}

	if len(r.OpenItems) > 0 {
		p("\n## Open items\n\n")
		for _, o := range r.OpenItems {
			p("- [ ] %s\n", mdEscape(o))
		}
	}

	p("\n## Timeline\n\n| step | phase | status | duration | gate |\n|---|---|---|---|---|\n")
	for _, s := range r.Steps {
		name := s.Name
		if s.Undoes != "" {
			name += " (undoes " + s.Undoes + ")"
		}
		p("| %s | %s | %s | %s | %s |\n", mdEscape(name), s.Phase, s.Status, dur(s.Duration), mdEscape(orDash(s.Gate)))
	}

	if len(r.Migrations) > 0 {
		p("\n## Migration\n\n")
		for _, m := range r.Migrations {
			p("- %s: %s → %s in %s (%s)\n", m.VM, m.From, m.To, dur(m.Duration), mdEscape(m.Result))
		}
	}

	if w := r.Watch; w != nil {
		st := w.Stats
		p("\n## Gateway watch: %s\n\n", strings.ToUpper(orDash(w.Verdict)))
		p("From %s to %s: %d sent, %d lost (%.1f %%), longest outage %s, RTT p95 %s; gate: at most %d lost.",
			w.From, w.Target, st.Sent, st.Lost, st.LossPct(), st.LongestOutage.Round(time.Millisecond), st.RTTP95.Round(time.Microsecond), w.Limits.MaxLost)
		if w.Breach != "" {
			p(" **Breach: %s.**", mdEscape(w.Breach))
		}
		p("\n\n```\n%s\n```\n\n(each mark a sample or a group of them, newest right; ✗ = a request lost)\n", Sparkline(w.Samples, 100))
	}

	if len(r.Problems) > 0 {
		p("\n## Failed or inconclusive checks\n")
		for _, pr := range r.Problems {
			p("\n**%s / %s** [%s] — %s: %s\n", mdEscape(pr.Step), mdEscape(pr.Check), pr.Host, pr.Outcome, mdEscape(pr.Summary))
			if len(pr.Evidence) > 0 {
				p("\n```\n%s\n```\n", strings.Join(pr.Evidence, "\n"))
			}
		}
	}

	if len(r.Decisions) > 0 {
		p("\n## Decisions\n\n| time | step | choice | by | reason |\n|---|---|---|---|---|\n")
		for _, d := range r.Decisions {
			p("| %s | %s | %s | %s | %s |\n", d.At.UTC().Format("15:04:05"), mdEscape(d.Step), d.Choice, mdEscape(d.By), mdEscape(d.Reason))
		}
	}

	if len(r.Notes) > 0 {
		p("\n## Notes\n\n| time | from | note |\n|---|---|---|\n")
		for _, n := range r.Notes {
			p("| %s | %s | %s |\n", n.At.UTC().Format("15:04:05"), mdEscape(n.Source), mdEscape(n.Text))
		}
	}

	if r.Rollback != nil {
		p("\n## Rollback\n\nTriggered by **%s**: %s\n\nRan: %s\n", r.Rollback.Trigger, mdEscape(r.Rollback.Reason), strings.Join(r.Rollback.Steps, " → "))
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

func mdEscape(s string) string {
	return strings.NewReplacer("|", "\\|", "\n", " ", "<", "&lt;").Replace(s)
}
