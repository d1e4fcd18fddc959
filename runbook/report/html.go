package report

import (
	"fmt"
	"html"
	"io"
	"strings"
	"time"

	"github.com/cutover/cutover/runbook"
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
@media print{@page{size:A4;margin:10mm}body{margin:0;max-width:none;font-size:8.5pt;line-height:1.3}h1{font-size:12pt;margin:0 0 .3rem}h2{font-size:10pt;margin:.6rem 0 .2rem}td,th{padding:.1rem .3rem}pre{white-space:pre-wrap;font-size:7.5pt;padding:.2rem;margin:.2rem 0}p,ul{margin:.2rem 0}svg{width:100%%;height:auto;max-height:30mm}}
</style></head><body>`, e(r.Runbook))
	p("<h1>Handoff: %s</h1><table>", e(r.Runbook))
	for _, f := range r.Rows() {
		cls := ""
		if f.Bad {
			cls = ` class="bad"`
		} else if f.Label == "outcome" {
			cls = ` class="ok"`
		}
		switch f.Label {
		case "outcome":
			head, why, _ := strings.Cut(f.Value, " — ")
			if why != "" {
				why = " — " + e(why)
			}
			p("<tr><th>outcome</th><td%s><b>%s</b>%s</td></tr>", cls, e(head), why)
		case "run", "runbook file", "journal":
			p("<tr><th>%s</th><td><code>%s</code></td></tr>", e(f.Label), e(f.Value))
		default:
			p("<tr><th>%s</th><td%s>%s</td></tr>", e(f.Label), cls, e(f.Value))
		}
	}
	p("</table>")
	if len(r.OpenItems) > 0 {
		p("<h2>Follow-up</h2><ul>")
		for _, o := range r.OpenItems {
			p("<li>☐ %s</li>", e(o))
		}
		p("</ul>")
	}
	for _, wv := range r.Waves {
		p("<h2>Wave %s</h2><p>%s</p><table><tr><th>VM</th><th>batch</th><th>move</th><th>lost/sent</th><th>RTT p50 before → after</th><th>watch</th><th>result</th></tr>", e(wv.Step), e(wv.Summary))
		for _, row := range wv.Rows {
			cls := ""
			if row.Bad {
				cls = ` class="bad"`
			}
			p("<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td%s>%s</td></tr>", e(row.VM), row.Batch, e(row.Move), row.Loss, e(row.RTT), e(row.Verdict), cls, e(row.Result))
		}
		p("</table>")
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
	if len(r.Moments) > 0 {
		p("<h2>What happened, in order</h2><table><tr><th>time</th><th>step</th><th>what</th><th>by</th></tr>")
		for _, m := range r.Moments {
			p("<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>", m.At.UTC().Format("15:04:05"), e(orDash(m.Step)), e(m.Kind+": "+m.Text), e(orDash(m.By)))
		}
		p("</table>")
	}
	if len(r.Migrations) > 0 {
		p("<h2>Migration</h2><ul>")
		for _, m := range r.Migrations {
			p("<li>%s: %s → %s in %s (%s)</li>", e(m.VM), e(m.From), e(m.To), dur(m.Duration), e(m.Result))
		}
		p("</ul>")
	}
	for _, w := range r.Watches {
		p("<h2>Gateway watch, %s: %s</h2><p>%s", e(w.Step), e(strings.ToUpper(orDash(w.Verdict))), e(w.summary()))
		if w.Breach != "" {
			p(` <span class="bad">%s.</span>`, e(upperFirst(w.GateLine)))
		}
		if w.Latency != nil {
			p(" %s.", e(w.Latency.String()))
		}
		p("</p>%s", SVG(w, 900, 180))
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
	sig, scls := r.Signature.Mark(), "bad"
	if r.Signature.OK {
		scls = "ok"
	}
	p(`<h2>Signature: <span class="%s">%s</span></h2><ul>`, scls, sig)
	for _, d := range r.Signature.Detail {
		p("<li>%s</li>", e(d))
	}
	p("</ul>")
	if len(r.Kept) > 0 || len(r.KeptBad) > 0 {
		p("<h2>Notes kept beside the journal</h2><p>Signed with their writers' keys after the run ended (the journal, closed and signed, does not hold them).</p><table><tr><th>time</th><th>by</th><th>note</th></tr>")
		for _, n := range r.Kept {
			p("<tr><td>%s</td><td>%s</td><td>%s</td></tr>", stamp(n.At), e(n.Who), e(n.Text))
		}
		p("</table>")
		for _, b := range r.KeptBad {
			p(`<p class="bad">Not shown, does not verify: %s</p>`, e(b))
		}
	}
	if r.Rollback != nil {
		p("<h2>Rollback</h2><p>Triggered by <b>%s</b>: %s</p><p>Ran: %s</p>", e(r.Rollback.Trigger), e(r.Rollback.Reason), e(strings.Join(r.Rollback.Steps, " → ")))
	}
	p("</body></html>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// SVG draws a watch over wall-clock time: the slowest answer of each span of time as a line that
// breaks where requests were lost (a gap is not a round trip), each loss a red mark at the bottom,
// the move's stages, the settle's end and the breach as labelled vertical lines, and the round
// trip before and after the move as dashed levels. Its label counts what the text counts.
func SVG(w *Watch, width, height int) string {
	h := &w.History
	if len(h.Buckets) == 0 {
		return "<p>(no samples)</p>"
	}
	const pad = 30
	t0, t1 := h.Span()
	for _, m := range w.Marks {
		if ms := m.At.UnixMilli(); ms > t0 && ms-t1 < (t1-t0)/4 {
			t1 = max(t1, ms) // a settle end or breach just after the last sample still shows
		}
	}
	span := max(int64(1), t1-t0)
	var maxRTT int64 = 1000
	for _, b := range h.Buckets {
		maxRTT = max(maxRTT, b.MaxRTT)
	}
	x := func(t int64) float64 { return pad + float64(t-t0)*float64(width-2*pad)/float64(span) }
	y := func(rtt int64) float64 {
		return float64(height-pad) - float64(rtt)*float64(height-2*pad)/float64(maxRTT)
	}
	var lines, lost, marks strings.Builder
	var run []string
	flush := func() {
		if len(run) > 0 {
			fmt.Fprintf(&lines, `<polyline fill="none" stroke="#1a7f37" stroke-width="1.2" points="%s"/>`, strings.Join(run, " "))
		}
		run = nil
	}
	for _, b := range h.Buckets {
		if b.Lost > 0 {
			fmt.Fprintf(&lost, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#cf222e" stroke-width="2"><title>%d lost at %s</title></line>`,
				x(b.From), height-pad, x(b.From), height-pad-12, b.Lost, time.UnixMilli(b.From).UTC().Format("15:04:05.000"))
		}
		if b.Lost > 0 || b.MaxRTT < 0 {
			flush()
			continue
		}
		run = append(run, fmt.Sprintf("%.1f,%.1f", x(b.From), y(b.MaxRTT)))
	}
	flush()
	for _, m := range w.Marks {
		ms := m.At.UnixMilli()
		if ms < t0 || ms > t1 {
			continue
		}
		fmt.Fprintf(&marks, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#9a6700" stroke-dasharray="3 3"><title>%s %s</title></line><text x="%.1f" y="%d" font-size="10" fill="#9a6700" text-anchor="middle">%s</text>`,
			x(ms), pad, x(ms), height-pad, string(m.Kind), m.At.UTC().Format("15:04:05.000"), x(ms), pad-4, m.Kind.Letter())
	}
	if l := w.Latency; l != nil {
		for _, f := range []struct {
			v    runbook.Millis
			what string
		}{{l.Before.P50, "p50 before the move"}, {l.After.P50, "p50 after the move"}} {
			if v := int64(float64(f.v) * 1000); v > 0 && f.v != 0 {
				fmt.Fprintf(&marks, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#0969da" stroke-dasharray="6 4"><title>%s: %.2f ms</title></line>`, pad, y(v), width-pad, y(v), f.what, float64(f.v))
			}
		}
	}
	return fmt.Sprintf(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="gateway RTT over the whole watch: %d sent, %d lost">`+
		`<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#d0d7de"/>%s%s%s`+
		`<text x="%d" y="%d" font-size="11">%s</text><text x="%d" y="%d" font-size="11">0</text><text x="%d" y="%d" font-size="11">%s</text><text x="%d" y="%d" font-size="11" text-anchor="end">%s</text></svg>`,
		width, height, width, height, w.Whole.Sent, w.Whole.Lost,
		pad, pad, width-2*pad, height-2*pad, marks.String(), lines.String(), lost.String(),
		2, pad+4, time.Duration(maxRTT)*time.Microsecond, 2, height-pad, pad, height-8, time.UnixMilli(t0).UTC().Format("15:04:05"), width-pad, height-8, time.UnixMilli(t1).UTC().Format("15:04:05"))
}
