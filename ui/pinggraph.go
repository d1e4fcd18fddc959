package ui

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/cutover/cutover/runbook"
)

var blocks = []rune(" ▁▂▃▄▅▆▇█")

// graphView is what the graph shows: which watch, which span, how the RTT axis scales.
type graphView struct {
	gatedOnly bool // the gated span (action and settle) instead of the whole watch
	log       bool // a logarithmic RTT axis, for spikes
	now       time.Time
	live      bool   // the watch runs: time reads relative to now
	title     string // which watch, when there are more
}

// secondsPerColumn are the time scales the graph steps through as a watch grows: the smallest that
// fits the whole span, so a column's width stays put while the watch fills the graph.
var secondsPerColumn = []float64{0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600}

// column is what one column of the graph holds.
type column struct {
	sent, lost int
	maxRTT     int64 // µs, -1 when nothing answered
	marks      []runbook.MarkKind
}

// renderGraph draws a gateway watch in height rows of width cells: a line of figures and the
// gate's verdict, RTT bars over time (x: fixed seconds a column, the whole watch in view; every lost
// request marked ✗ in its column), a labelled RTT axis on the left, and a time axis with the move's
// stages, the settle's end and the breach marked by letter.
func renderGraph(w *runbook.WatchState, width, height int, s styles, v graphView) string {
	if w == nil || width < 20 || height < 4 {
		return ""
	}
	lines := []string{graphHead(w, width, s, v)}
	rows := height - 3 // the head, the axis, the time labels
	const axisW = 8    // "12.5ms ┤"
	plotW := width - axisW

	from, to := w.Started.UnixMilli(), v.now.UnixMilli()
	if f, t := w.History.Span(); f != 0 {
		from = min(from, f)
		if !v.live {
			to = t
		}
		to = max(to, t) // the console's clock ticks once a second; samples may be newer
	}
	if v.gatedOnly && w.Bounds != nil {
		from = w.Bounds.From.UnixMilli()
		if !v.live || w.Verdict != "" {
			to = w.Bounds.To.UnixMilli()
		}
	}
	to = max(to, from+1)
	per := secondsPerColumn[len(secondsPerColumn)-1]
	for _, sec := range secondsPerColumn {
		if float64(to-from)/1000/sec <= float64(plotW) {
			per = sec
			break
		}
	}
	perMs := int64(per * 1000)
	if n := (to - from) / perMs; n >= int64(plotW) { // longer than the largest scale fits: show the end
		from = to - int64(plotW)*perMs
	}
	cols := make([]column, plotW)
	for i := range cols {
		cols[i].maxRTT = -1
	}
	var top int64 = 1000 // a 1 ms scale at least: loopback jitter is not a storm
	for _, b := range w.History.Buckets {
		if b.From < from || b.From > to {
			continue
		}
		c := &cols[min(plotW-1, int((b.From-from)/perMs))]
		c.sent += b.Sent
		c.lost += b.Lost
		c.maxRTT = max(c.maxRTT, b.MaxRTT)
		top = max(top, b.MaxRTT)
	}
	for _, mk := range w.Marks {
		at := mk.At.UnixMilli()
		if at < from || at > to+perMs {
			continue
		}
		c := &cols[min(plotW-1, int((at-from)/perMs))]
		c.marks = append(c.marks, mk.Kind)
	}
	top = niceCeil(top)
	scale := func(rtt int64) float64 { // 0..1 of the axis
		if v.log {
			return math.Log10(float64(max(rtt, 10))/10) / math.Log10(float64(top)/10)
		}
		return float64(rtt) / float64(top)
	}

	levels := rows * (len(blocks) - 1)
	grid := make([][]string, rows)
	for r := range grid {
		grid[r] = make([]string, plotW)
	}
	for ci, c := range cols {
		barRows := rows
		if c.lost > 0 {
			grid[rows-1][ci] = s.lost.Render(lostGlyph(c.lost))
			barRows = rows - 1
		}
		lv := 0
		if c.maxRTT >= 0 {
			lv = max(1, int(math.Round(scale(c.maxRTT)*float64(levels))))
		}
		for r := range barRows {
			fromBottom := rows - 1 - r
			if c.lost > 0 {
				fromBottom--
			}
			fill := min(len(blocks)-1, max(0, lv-fromBottom*(len(blocks)-1)))
			cell := string(blocks[fill])
			switch {
			case fill > 0:
				grid[r][ci] = s.ok.Render(cell)
			case len(c.marks) > 0:
				grid[r][ci] = s.warn.Render("┆") // a mark's column, where no bar stands
			default:
				grid[r][ci] = " "
			}
		}
	}
	for r := range grid {
		label := ""
		switch r {
		case 0:
			label = fmtRTT(top)
		case rows - 1:
			label = "0"
			if v.log {
				label = "10µs"
			}
		case rows / 2:
			if v.log {
				label = "log"
			}
		}
		lines = append(lines, s.dim.Render(fmt.Sprintf("%6s ┤", label))+strings.Join(grid[r], ""))
	}

	// The time axis: marks by letter, then the times under it and a legend.
	axis := []rune(strings.Repeat("─", plotW))
	var seen []runbook.MarkKind
	for ci, c := range cols {
		if len(c.marks) > 0 {
			axis[ci] = []rune(c.marks[len(c.marks)-1].Letter())[0]
			for _, k := range c.marks {
				if !containsMark(seen, k) {
					seen = append(seen, k)
				}
			}
		}
	}
	var ax strings.Builder
	for _, r := range axis {
		if r == '─' {
			ax.WriteString(s.dim.Render("─"))
		} else {
			ax.WriteString(s.bad.Render(string(r)))
		}
	}
	lines = append(lines, s.dim.Render("       └")+ax.String())
	lines = append(lines, timeLabels(from, to, perMs, plotW, v, seen, s))
	for i, l := range lines {
		lines[i] = ansi.Truncate(l, width, "")
	}
	return strings.Join(lines, "\n")
}

// graphHead is the watch's figures, each count labelled with its span, and the gate as it stands;
// on a narrow terminal the least needed parts go first, the counts and the gate last.
func graphHead(w *runbook.WatchState, width int, s styles, v graphView) string {
	gate := w.GateLine()
	gs := s.run
	switch {
	case w.Verdict == "pass":
		gate, gs = "✓ "+gate, s.ok
	case w.Verdict != "" || w.Breach != "":
		gate, gs = "✗ "+gate, s.bad
	}
	var shift string
	if l := w.Latency; l != nil {
		if d, ok := l.Shift(); ok {
			shift = fmt.Sprintf("RTT %.2f → %.2f ms (%+.2f)", float64(l.Before.P50), float64(l.After.P50), float64(d))
		}
	}
	g := w.GateStats()
	parts := [][]string{
		{v.title, "gateway " + w.Target + " from " + w.From, w.Counts(), "p95 " + fmtRTT(int64(float64(g.RTTP95)*1000)), shift},
		{v.title, "gateway " + w.Target, w.Counts(), shift},
		{v.title, fmt.Sprintf("gated %d sent, %d lost · whole %d sent, %d lost", g.Sent, g.Lost, w.Stats.Sent, w.Stats.Lost), shift},
		{v.title, fmt.Sprintf("gated %d sent, %d lost · whole %d sent, %d lost", g.Sent, g.Lost, w.Stats.Sent, w.Stats.Lost)},
		{v.title, fmt.Sprintf("gated %d/%d lost · whole %d/%d", g.Sent, g.Lost, w.Stats.Sent, w.Stats.Lost)},
	}
	if v.gatedOnly {
		gate += " · gated span shown"
	}
	room := width - ansi.StringWidth(gate) - 4
	var head string
	for _, p := range parts {
		var keep []string
		for _, x := range p {
			if x != "" {
				keep = append(keep, x)
			}
		}
		if head = " " + strings.Join(keep, " · "); ansi.StringWidth(head) <= room {
			break
		}
	}
	return truncate(head, room) + " · " + gs.Render(gate)
}

// timeLabels is the row under the time axis: live, how long ago the watch began and "now" at the
// newest column; ended, the wall clock at its start, middle and end. Then the scale and what the
// letters mean, where the row has room.
func timeLabels(from, to, perMs int64, plotW int, v graphView, marks []runbook.MarkKind, s styles) string {
	cur := min(plotW-1, int((to-from)/perMs)) // the newest column
	row := []rune(strings.Repeat(" ", plotW))
	used := make([]bool, plotW)
	put := func(at int, text string) bool {
		r := []rune(text)
		at = max(0, min(at, plotW-len(r)))
		for i := range r {
			if at+i >= plotW || used[at+i] || at+i > 0 && used[at+i-1] || at+i+1 < plotW && used[at+i+1] {
				return false
			}
		}
		for i, c := range r {
			row[at+i], used[at+i] = c, true
		}
		return true
	}
	if v.live {
		put(0, "-"+shortDur(time.Duration(to-from)*time.Millisecond))
		put(cur-2, "now")
	} else {
		clock := func(ms int64) string { return time.UnixMilli(ms).UTC().Format("15:04:05") }
		put(0, clock(from))
		end := clock(to)
		put(cur-len(end)+1, end)
		if cur > 40 {
			put(cur/2-4, clock(from+(to-from)/2))
		}
	}
	scale := shortDur(time.Duration(perMs)*time.Millisecond) + "/col"
	letters := ""
	for _, k := range marks {
		letters += " " + k.Letter() + " " + k.Short()
	}
	// The legend: after the newest column while the graph fills, else in the widest free stretch;
	// as much of it as fits.
	for _, legend := range []string{scale + " · ✗ lost, 2-9 how many ·" + letters, scale + " ·" + letters, strings.TrimSpace(letters), scale} {
		if put(cur+3, legend) {
			break
		}
		placed := false
		for at := 0; at < plotW && !placed; at++ {
			placed = put(at+1, legend)
		}
		if placed {
			break
		}
	}
	return s.dim.Render("        " + string(row))
}

// lostGlyph marks a column's lost requests: ✗ for one, the count up to 9, + for more.
func lostGlyph(n int) string {
	switch {
	case n == 1:
		return "✗"
	case n <= 9:
		return fmt.Sprint(n)
	}
	return "+"
}

func containsMark(ks []runbook.MarkKind, k runbook.MarkKind) bool {
	for _, x := range ks {
		if x == k {
			return true
		}
	}
	return false
}

// niceCeil rounds an RTT (µs) up to 1, 2 or 5 times a power of ten: an axis one reads at a glance.
func niceCeil(us int64) int64 {
	p := int64(1)
	for p*10 <= us {
		p *= 10
	}
	for _, m := range []int64{1, 2, 5, 10} {
		if m*p >= us {
			return m * p
		}
	}
	return 10 * p
}

// fmtRTT is an RTT in µs as the axis writes it: 500µs, 1ms, 2.5ms, 120ms.
func fmtRTT(us int64) string {
	switch {
	case us < 1000:
		return fmt.Sprintf("%dµs", us)
	case us%1000 == 0:
		return fmt.Sprintf("%dms", us/1000)
	case us < 10000:
		return fmt.Sprintf("%.2gms", float64(us)/1000)
	}
	return fmt.Sprintf("%.0fms", float64(us)/1000)
}

// shortDur is a span as an axis writes it: 200ms, 5s, 2m, 1h30m.
func shortDur(d time.Duration) string {
	switch {
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%gs", math.Round(d.Seconds()*10)/10)
	case d < time.Hour:
		if d%time.Minute == 0 {
			return fmt.Sprintf("%dm", int(d.Minutes()))
		}
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return strings.TrimSuffix(d.Round(time.Minute).String(), "0s")
}
