package report

import (
	"fmt"
	"html"
	"io"
	"strings"
	"time"
)

// HTML writes the report as one self-contained page (no external assets) that prints well; the
// ping picture is an inline SVG.
func (r *Report) HTML(w io.Writer) error {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	e := html.EscapeString
	p(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Handoff: %s</title><style>
body{font:14px/1.45 system-ui,sans-serif;max-width:62rem;margin:2rem auto;padding:0 1rem;color:#1f2328}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:1.8rem;border-bottom:1px solid #d0d7de}
table{border-collapse:collapse;width:100%%}td,th{border:1px solid #d0d7de;padding:.25rem .5rem;text-align:left;vertical-align:top}
pre{background:#f6f8fa;padding:.5rem;overflow-x:auto;white-space:pre-wrap}.ok{color:#1a7f37}.bad{color:#cf222e;font-weight:bold}
@media print{body{margin:0;max-width:none}pre{white-space:pre-wrap}}
</style></head><body>`, e(r.Runbook))
	p("<h1>Handoff: %s</h1><table>", e(r.Runbook))
	cls := "ok"
	if r.Headline != "DONE" {
		cls = "bad"
	}
	p(`<tr><th>run</th><td><code>%s</code></td></tr><tr><th>outcome</th><td class="%s">%s %s</td></tr>`, e(r.Run), cls, e(orDash(r.Headline)), e(r.Reason))
	p("<tr><th>operators</th><td>%s</td></tr><tr><th>started</th><td>%s</td></tr><tr><th>ended</th><td>%s</td></tr>", e(strings.Join(r.Operators, ", ")), stamp(r.Started), stamp(r.Ended))
	if r.Window != nil {
		p("<tr><th>window</th><td>%s → %s</td></tr>", stamp(r.Window.Start), stamp(r.Window.End))
	}
	p("<tr><th>journal</th><td><code>%s</code></td></tr></table>", e(r.Journal))

	sig, scls := r.Signature.Mark(), "bad"
	if r.Signature.OK {
		scls = "ok"
	}
	p(`<h2>Signature: <span class="%s">%s</span></h2><ul>`, scls, sig)
	for _, d := range r.Signature.Detail {
		p("<li>%s</li>", e(d))
	}
	p("</ul>")
	if len(r.OpenItems) > 0 {
		p("<h2>Open items</h2><ul>")
		for _, o := range r.OpenItems {
			p("<li>☐ %s</li>", e(o))
		}
		p("</ul>")
	}
	p("<h2>Timeline</h2><table><tr><th>step</th><th>phase</th><th>status</th><th>duration</th><th>gate</th></tr>")
	for _, s := range r.Steps {
		name := s.Name
		if s.Undoes != "" {
			name += " (undoes " + s.Undoes + ")"
		}
		p("<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>", e(name), e(s.Phase), e(s.Status), dur(s.Duration), e(orDash(s.Gate)))
	}
	p("</table>")
	if len(r.Migrations) > 0 {
		p("<h2>Migration</h2><ul>")
		for _, m := range r.Migrations {
			p("<li>%s: %s → %s in %s (%s)</li>", e(m.VM), e(m.From), e(m.To), dur(m.Duration), e(m.Result))
		}
		p("</ul>")
	}
	if w := r.Watch; w != nil {
		st := w.Stats
		p("<h2>Gateway watch: %s</h2><p>From %s to %s: %d sent, %d lost (%.1f %%), longest outage %s, RTT p95 %s; gate: at most %d lost.",
			e(strings.ToUpper(orDash(w.Verdict))), e(w.From), e(w.Target), st.Sent, st.Lost, st.LossPct(), st.LongestOutage.Std().Round(time.Millisecond), st.RTTP95.Std().Round(time.Microsecond), w.Limits.MaxLost)
		if w.Breach != "" {
			p(` <span class="bad">Breach: %s.</span>`, e(w.Breach))
		}
		p("</p>%s", SVG(w.Samples, 900, 180))
	}
	if len(r.Problems) > 0 {
		p("<h2>Failed or inconclusive checks</h2>")
		for _, pr := range r.Problems {
			p("<p><b>%s / %s</b> [%s] — %s%s: %s</p>", e(pr.Step), e(pr.Check), e(pr.Host), pr.Outcome, pr.attempts(), e(pr.Summary))
			if len(pr.Evidence) > 0 {
				p("<pre>%s</pre>", e(strings.Join(pr.Evidence, "\n")))
			}
		}
	}
	if len(r.Decisions) > 0 {
		p("<h2>Decisions</h2><table><tr><th>time</th><th>step</th><th>choice</th><th>by</th><th>reason</th></tr>")
		for _, d := range r.Decisions {
			p("<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>", d.At.UTC().Format("15:04:05"), e(d.Step), e(d.Choice), e(d.By), e(d.Reason))
		}
		p("</table>")
	}
	if len(r.Notes) > 0 {
		p("<h2>Notes</h2><table><tr><th>time</th><th>from</th><th>note</th></tr>")
		for _, n := range r.Notes {
			p("<tr><td>%s</td><td>%s</td><td>%s</td></tr>", n.At.UTC().Format("15:04:05"), e(n.Source), e(n.Text))
		}
		p("</table>")
	}
	if r.Rollback != nil {
		p("<h2>Rollback</h2><p>Triggered by <b>%s</b>: %s</p><p>Ran: %s</p>", e(r.Rollback.Trigger), e(r.Rollback.Reason), e(strings.Join(r.Rollback.Steps, " → ")))
	}
	p("</body></html>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// SVG draws the samples: RTT as a line over time, each lost request a red mark at the bottom where
// it happened.
func SVG(samples [][3]int64, width, height int) string {
	if len(samples) == 0 {
		return "<p>(no samples)</p>"
	}
	const pad = 30
	t0, t1 := samples[0][1], samples[len(samples)-1][1]
	span := max(int64(1), t1-t0)
	var maxRTT int64 = 1000
	for _, s := range samples {
		maxRTT = max(maxRTT, s[2])
	}
	x := func(t int64) float64 { return pad + float64(t-t0)*float64(width-2*pad)/float64(span) }
	y := func(rtt int64) float64 {
		return float64(height-pad) - float64(rtt)*float64(height-2*pad)/float64(maxRTT)
	}
	var line, marks strings.Builder
	lost := 0
	for _, s := range samples {
		switch {
		case s[2] == -1:
			lost++
			fmt.Fprintf(&marks, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#cf222e" stroke-width="2"><title>lost, seq %d</title></line>`, x(s[1]), height-pad, x(s[1]), pad, s[0])
		case s[2] >= 0:
			fmt.Fprintf(&line, "%.1f,%.1f ", x(s[1]), y(s[2]))
		}
	}
	return fmt.Sprintf(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="gateway RTT, %d samples, %d lost">`+
		`<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#d0d7de"/>%s<polyline fill="none" stroke="#1a7f37" stroke-width="1.2" points="%s"/>`+
		`<text x="%d" y="%d" font-size="11">%s</text><text x="%d" y="%d" font-size="11">0</text><text x="%d" y="%d" font-size="11">%s</text><text x="%d" y="%d" font-size="11" text-anchor="end">+%s</text></svg>`,
		width, height, width, height, len(samples), lost,
		pad, pad, width-2*pad, height-2*pad, marks.String(), strings.TrimSpace(line.String()),
		2, pad+4, time.Duration(maxRTT)*time.Microsecond, 2, height-pad, pad, height-8, time.UnixMilli(t0).UTC().Format("15:04:05"), width-pad, height-8, time.Duration(span)*time.Millisecond)
}
