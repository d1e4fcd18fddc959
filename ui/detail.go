package ui

import (
	"fmt"
	"strings"
	"time"

	"github.com/cutover/cutover/runbook"
)

// The detail of a step: in the pane beside the steps (checks first, then the live output) and in
// the full-screen view (`z`), where every check has its command, evidence and output in full.

// checkRows are a step's selectable rows: its action, then its checks in order.
func checkRows(st *runbook.StepState) []*runbook.CheckState {
	var rows []*runbook.CheckState
	if st.ActionCheck != nil {
		rows = append(rows, st.ActionCheck)
	}
	return append(rows, st.Checks...)
}

// worstRow is the row to select in a step: its first failed check, else its first inconclusive one.
func worstRow(st *runbook.StepState) int {
	rows := checkRows(st)
	for _, want := range []runbook.Verdict{runbook.Fail, runbook.Inconclusive} {
		for i, c := range rows {
			if !c.Running && len(c.Attempts) > 0 && c.Result.Outcome == want {
				return i
			}
		}
	}
	return -1
}

// detailText is what the detail pane (full false) or the full view (full true) shows of a step,
// at width cells; at[i] is the line row i of checkRows starts on.
type detailText struct {
	top    []string // title, reason, the question, action and checks
	output []string // the labelled, wrapped output (matching the search, if any)
	at     []int
}

const paneEvidence = 6 // evidence lines a check shows in the pane; the full view shows all

func (m *App) stepDetail(st *runbook.StepState, width int, full bool) detailText {
	var d detailText
	s := m.s
	add := func(lines ...string) { d.top = append(d.top, lines...) }

	if m.follow && !full {
		// Why the run ended, or why it rolls back, in full where the eye already is: readable at
		// 80×24 without a key.
		switch r := m.run; {
		case r.HasEnded():
			add(para(s.title.Render("run ended: "), "", r.Outcome(), width, m.statusStyle(r.Headline()))...)
			if r.Reason != "" {
				add(para("", "", r.Reason, width, s.warn)...)
			}
			add("")
		case r.Rollback != nil:
			add(s.bad.Render("rolling back") + s.dim.Render(" (trigger: "+r.Rollback.Trigger+")"))
			add(para("", "", r.Rollback.Reason, width, s.warn)...)
			add("")
		}
	}
	title := st.Name
	if st.Phase == runbook.PhaseRollback {
		title = "rollback: " + st.Name + " (undoes " + st.Undoes + ")"
	}
	add(para("", "", title, width, s.title)...)
	add(m.statusText(st.Status) + s.dim.Render(m.stepTimes(st)))
	if st.Description != "" {
		add(para("", "", st.Description, width, s.dim)...)
	}
	if note := stepNote(st); note != "" {
		add(para("", "", note, width, s.warn)...)
	}
	if q := m.run.Pending; m.waitsOn(st) {
		add("")
		who := "the operator is asked"
		if m.opts.Decider != nil {
			who = "WAITING FOR YOU"
			if !m.askOpen {
				who += " (d answers)"
			}
		}
		add(para(s.bad.Render(who)+": ", "  ", q.Prompt, width, s.warn)...)
	}

	rows := checkRows(st)
	d.at = make([]int, len(rows))
	row := 0
	if a := st.ActionCheck; a != nil {
		add("")
		d.at[row] = len(d.top)
		add(m.checkBlock(st, a, "action ", row, width, full)...)
		row++
	} else if st.Action != "" {
		state := "not started"
		switch {
		case m.waitsOn(st) && !st.ActionBegan:
			state = "not started: waits for the answer"
		case st.Status == "running" && st.ActionBegan:
			state = "running"
		case st.Status == "running":
			state = "starting"
		}
		add("")
		add(para("action  ", "        ", st.Action+" "+state, width, s.run)...)
	}
	if len(st.Checks) > 0 || st.Planned > 0 {
		head := "checks" + s.dim.Render("  gate: "+orDash(gateText(st)))
		switch reported := len(st.Checks); {
		case reported >= st.Planned:
		case st.Status == "running":
			head += s.dim.Render(fmt.Sprintf("  · %d of %d started", reported, st.Planned))
		default:
			head += s.dim.Render(fmt.Sprintf("  · %d of %d did not run", st.Planned-reported, st.Planned))
		}
		add("", head)
		for _, c := range st.Checks {
			d.at[row] = len(d.top)
			add(m.checkBlock(st, c, "", row, width, full)...)
			row++
		}
	}
	if !full {
		d.output = m.paneOutput(st, width)
	}
	return d
}

// stepTimes is " · 11.2s · waited 25.0s for an answer": the operator's thinking is not the step's.
func (m *App) stepTimes(st *runbook.StepState) string {
	ran, waited := m.stepClock(st)
	if ran <= 0 && waited <= 0 {
		return ""
	}
	t := " · " + fmtDur(ran)
	if waited >= 100*time.Millisecond { // an unattended answer takes no one's time
		t += " · waited " + fmtDur(waited) + " for an answer"
	}
	return t
}

// stepClock splits a step's time into running and waiting for an answer.
func (m *App) stepClock(st *runbook.StepState) (ran, waited time.Duration) {
	waited = st.Waited
	switch {
	case st.Duration > 0:
		ran = st.Duration
	case st.Status == "running" && !st.Started.IsZero():
		ran = m.now.Sub(st.Started)
		if m.waitsOn(st) {
			waited += max(0, m.now.Sub(m.run.Pending.At))
		}
	}
	return max(0, ran-waited), waited
}

// checkBlock is one check: its line, then (in the pane, for a check that did not pass) its
// evidence, wrapped; in the full view also its attempts, commands and output.
func (m *App) checkBlock(st *runbook.StepState, c *runbook.CheckState, label string, row, width int, full bool) []string {
	s := m.s
	mark := "  "
	if row == m.selCheck {
		mark = s.key.Render("› ")
	}
	g := glyph(c.Result.Outcome, s)
	if c.Running {
		g = s.run.Render("…")
	}
	name := label + c.Check
	if c.Host != "" && c.Host != "local" {
		name += " [" + c.Host + "]"
	}
	text := name
	if c.Running {
		text += ": running"
	} else if c.Result.Summary != "" {
		text += ": " + c.Result.Summary
	}
	if n := len(c.Attempts); n > 1 && !c.Running {
		text += fmt.Sprintf(" (attempt %d)", n)
	}
	lines := para(mark+g+" ", "    ", text, width, s.plain)
	if c.Running || len(c.Attempts) == 0 {
		return lines
	}
	ev := c.Result.Evidence
	if !full && c.Result.Outcome == runbook.Pass {
		return lines
	}
	shown := ev
	if !full && len(ev) > paneEvidence {
		shown = ev[:paneEvidence]
	}
	for _, e := range shown {
		lines = append(lines, para("      ", "      ", e, width, s.dim)...)
	}
	if len(shown) < len(ev) {
		lines = append(lines, s.dim.Render(fmt.Sprintf("      … %d more lines: z shows all", len(ev)-len(shown))))
	}
	if full {
		if len(c.Attempts) > 1 {
			var gl []string
			for _, a := range c.Attempts {
				gl = append(gl, glyph(a, s))
			}
			lines = append(lines, s.dim.Render("      attempts: ")+strings.Join(gl, " "))
		}
		if c.Kind != "" && !strings.HasPrefix(c.Check, c.Kind) {
			lines = append(lines, s.dim.Render("      kind: "+c.Kind))
		}
		out := m.outputLines(st, width-6, func(l runbook.OutputLine) bool { return l.Index == c.Index && l.Stream != "note" })
		for _, l := range out {
			lines = append(lines, "      "+l)
		}
	}
	return lines
}

// outputLines are a step's output lines that keep passes, each labelled with its host and check
// (parallel checks interleave) and wrapped under the label; a search keeps only matching lines and
// marks the matches.
func (m *App) outputLines(st *runbook.StepState, width int, keep func(runbook.OutputLine) bool) []string {
	var out []string
	for _, l := range st.Output {
		if keep(l) {
			out = append(out, m.outputLine(l, width)...)
		}
	}
	return out
}

// outputLine lays out one line of output at width; none when a search passes it by.
func (m *App) outputLine(l runbook.OutputLine, width int) []string {
	s := m.s
	labelW := min(24, max(8, width/3))
	text := l.Text
	switch l.Stream {
	case "cmd":
		text = "$ " + text
	case "stderr":
		text = "! " + text
	}
	if m.query != "" && !strings.Contains(strings.ToLower(text), strings.ToLower(m.query)) {
		return nil
	}
	label := l.Host
	if l.Check != "" {
		label += " " + l.Check
	}
	if l.Stream == "note" {
		label = "note " + l.Host
	}
	label = pad(truncate(label, labelW), labelW)
	body := s.dim
	switch l.Stream {
	case "cmd":
		body = s.plain
	case "stderr", "note":
		body = s.warn
	}
	var out []string
	for i, w := range wrapLines(text, width-labelW-3) {
		lead := s.dim.Render(label + " │ ")
		if i > 0 {
			lead = s.dim.Render(strings.Repeat(" ", labelW) + " │ ")
		}
		out = append(out, lead+highlight(w, m.query, s.match, body))
	}
	return out
}

// outputCache keeps the detail pane's laid-out output between events: a step's output grows a batch
// at a time, and laying out its 2,000 kept lines again for every batch would cost the console a
// core's worth while a chatty command runs.
type outputCache struct {
	st     *runbook.StepState
	seq    int // st.OutputSeq laid out
	width  int
	query  string
	color  bool
	lines  [][]string // one entry per line of st.Output
	joined []string
}

// paneOutput is the selected step's output laid out for the pane, from the cache where it can be.
func (m *App) paneOutput(st *runbook.StepState, width int) []string {
	c := m.outCache
	if c.st != st || c.width != width || c.query != m.query || c.color != m.s.color || st.OutputSeq-c.seq > len(st.Output) {
		*c = outputCache{st: st, width: width, query: m.query, color: m.s.color}
	}
	if added := st.OutputSeq - c.seq; added > 0 || c.joined == nil {
		drop := len(c.lines) + added - len(st.Output) // lines the fold let go of at the front
		c.lines = c.lines[max(0, drop):]
		for _, l := range st.Output[len(st.Output)-added:] {
			c.lines = append(c.lines, m.outputLine(l, width))
		}
		c.seq = st.OutputSeq
		c.joined = c.joined[:0]
		for _, ls := range c.lines {
			c.joined = append(c.joined, ls...)
		}
	}
	return c.joined
}

// refreshDetail lays the selected step into the detail pane: while the step runs and the console
// follows it, the checks stay on top and the output's newest lines fill what is left; otherwise the
// whole text scrolls, kept at the selected check.
func (m *App) refreshDetail() {
	m.layout()
	if m.waveShown() {
		m.detail.SetContent(strings.Join(m.waveDetail(m.detail.Width), "\n"))
		return
	}
	if m.selected < 0 || m.selected >= len(m.run.Steps) {
		m.detail.SetContent(m.s.dim.Render("waiting for the first step…"))
		return
	}
	st := m.run.Steps[m.selected]
	w := m.detail.Width
	d := m.stepDetail(st, w, false)
	var outHead []string
	if len(st.Output) > 0 {
		h := "output"
		if m.query != "" {
			h += m.s.dim.Render(fmt.Sprintf(" matching /%s/: %d lines", m.query, len(d.output)))
		}
		outHead = []string{"", h}
	}
	if m.follow && st.Status == "running" && m.focus == 0 && m.query == "" {
		room := m.detail.Height - len(d.top) - len(outHead)
		out := d.output
		if room < len(out) {
			out = out[len(out)-max(0, room):]
		}
		if room <= 0 {
			outHead = nil
		}
		m.detail.SetContent(strings.Join(append(append(d.top, outHead...), out...), "\n"))
		m.detail.GotoTop()
		return
	}
	m.detail.SetContent(strings.Join(append(append(d.top, outHead...), d.output...), "\n"))
	if m.scrollToOutput { // a search shows its matches, not the checks above them
		m.detail.SetYOffset(len(d.top))
		m.scrollToOutput, m.scrollToCheck = false, false
	}
	if m.selCheck >= 0 && m.selCheck < len(d.at) && m.scrollToCheck {
		at := d.at[m.selCheck]
		if at < m.detail.YOffset || at >= m.detail.YOffset+m.detail.Height {
			m.detail.SetYOffset(max(0, at-1))
		}
		m.scrollToCheck = false
	}
}

// fullView renders the selected step in full on the whole body of the screen.
func (m *App) refreshFull() {
	st := m.run.Steps[m.fullStep()]
	w := m.full.Width
	d := m.stepDetail(st, w, true)
	lines := d.top
	notes := m.outputLines(st, w, func(l runbook.OutputLine) bool { return l.Stream == "note" })
	if len(notes) > 0 {
		lines = append(lines, "", "notes")
		lines = append(lines, notes...)
	}
	watch := m.outputLines(st, w, func(l runbook.OutputLine) bool { return l.Index == runbook.WatchIndex })
	if len(watch) > 0 {
		lines = append(lines, "", "gateway watch")
		lines = append(lines, watch...)
	}
	m.full.SetContent(strings.Join(lines, "\n"))
	if m.selCheck >= 0 && m.selCheck < len(d.at) && m.scrollToCheck {
		m.full.SetYOffset(max(0, d.at[m.selCheck]-1))
		m.scrollToCheck = false
	}
}

// fullStep is the step the full view shows.
func (m *App) fullStep() int { return max(0, min(m.selected, len(m.run.Steps)-1)) }
