package ui

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"github.com/cutover/cutover/runbook"
)

// Rendering: the layout, the panes and the overlays of the console (state lives in app.go and
// state.go).

func (m *App) hasBottom() bool { return m.run.Migration() != nil || m.run.Watch != nil }

func (m *App) layout() {
	w := m.width - stepsWidth - 4
	h := m.bodyHeight() - 2
	m.detail.Width, m.detail.Height = max(10, w), max(3, h)
	m.bar.Width = max(10, m.width/3)
}

func (m *App) bodyHeight() int {
	h := m.height - headerLines - 2 // status and help
	if m.showHelp {
		h -= 4
	}
	if m.hasBottom() {
		h -= bottomLines
	}
	return max(5, h)
}

// refreshDetail renders the selected step into the detail pane.
func (m *App) refreshDetail() {
	m.layout()
	if m.selected < 0 || m.selected >= len(m.run.Steps) {
		m.detail.SetContent(m.s.dim.Render("waiting for the first step…"))
		return
	}
	st := m.run.Steps[m.selected]
	var b strings.Builder
	title := st.Name
	if st.Phase == runbook.PhaseRollback {
		title = "rollback: " + st.Name + " (undoes " + st.Undoes + ")"
	}
	b.WriteString(m.s.title.Render(title) + "  " + m.statusText(st.Status) + "\n")
	if st.Description != "" {
		b.WriteString(m.s.dim.Render(st.Description) + "\n")
	}
	if note := stepNote(st); note != "" {
		b.WriteString(m.s.warn.Render(note) + "\n")
	}
	switch a := st.ActionCheck; {
	case a != nil:
		b.WriteString("\naction  " + m.checkLine(a) + "\n")
	case st.Action != "" && st.Status == "running":
		b.WriteString("\naction  " + m.s.run.Render("… "+st.Action+" running") + "\n")
	}
	if len(st.Checks) > 0 {
		b.WriteString("\nchecks" + m.s.dim.Render("  gate: "+orDash(gateText(st))) + "\n")
		for _, c := range st.Checks {
			b.WriteString("  " + m.checkLine(c) + "\n")
			if ev := c.Result.Evidence; c.Result.Outcome != runbook.Pass && !c.Running {
				for _, e := range ev[:min(len(ev), 6)] {
					b.WriteString("      " + m.s.dim.Render(e) + "\n")
				}
			}
		}
	}
	if len(st.Output) > 0 {
		b.WriteString("\noutput")
		if m.query != "" {
			b.WriteString(m.s.dim.Render(" matching /" + m.query + "/"))
		}
		b.WriteString("\n")
		for _, l := range st.Output {
			if m.query == "" || strings.Contains(strings.ToLower(l), strings.ToLower(m.query)) {
				b.WriteString(m.s.dim.Render(l) + "\n")
			}
		}
	}
	atBottom := m.detail.AtBottom()
	m.detail.SetContent(b.String())
	if m.follow && (atBottom || st.Status == "running") {
		m.detail.GotoBottom()
	}
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func (m *App) checkLine(c *runbook.CheckState) string {
	g := glyph(c.Result.Outcome, m.s)
	if c.Running {
		g = m.s.run.Render("…")
	}
	line := g + " " + c.Check
	if c.Host != "" && c.Host != "local" {
		line += m.s.dim.Render(" [" + c.Host + "]")
	}
	if c.Result.Summary != "" {
		line += ": " + c.Result.Summary
	}
	if n := len(c.Attempts); n > 1 && !c.Running {
		line += m.s.dim.Render(fmt.Sprintf(" (attempt %d)", n))
	}
	return line
}

func glyph(o runbook.Verdict, s styles) string {
	switch o {
	case runbook.Pass:
		return s.ok.Render("✓")
	case runbook.Fail:
		return s.bad.Render("✗")
	case runbook.Inconclusive:
		return s.warn.Render("?")
	}
	return s.dim.Render("·")
}

func (m *App) statusText(status string) string {
	switch status {
	case "passed", "done", "rolled-back":
		return m.s.ok.Render(status)
	case "running", "starting":
		return m.s.run.Render(status)
	case "overridden":
		return m.s.warn.Render(status)
	case "pending", "skipped":
		return m.s.dim.Render(status)
	case "rolled back":
		return m.s.warn.Render(status)
	}
	return m.s.bad.Render(status)
}

func stepGlyph(status string, s styles) string {
	switch status {
	case "passed":
		return s.ok.Render("✓")
	case "rolled back":
		return s.warn.Render("↩")
	case "skipped":
		return s.dim.Render("–")
	case "running":
		return s.run.Render("▶")
	case "failed", "aborted", "interrupted":
		return s.bad.Render("✗")
	case "overridden":
		return s.warn.Render("!")
	}
	return s.dim.Render("·")
}

// View renders the screen.
func (m App) View() string {
	if m.width == 0 {
		return ""
	}
	if m.width < minWidth || m.height < minHeight {
		// Wrapped to the width and cut to the height it has, however small.
		text := wrap(fmt.Sprintf("cutover needs a terminal of at least %d×%d; this one is %d×%d. Make it larger (the run goes on meanwhile).", minWidth, minHeight, m.width, m.height), max(1, m.width))
		lines := strings.Split(text, "\n")
		return strings.Join(lines[:min(len(lines), max(1, m.height))], "\n")
	}
	parts := []string{m.header()}
	body := lipgloss.JoinHorizontal(lipgloss.Top, m.stepsPane(), m.detailPane())
	parts = append(parts, body)
	if m.hasBottom() {
		parts = append(parts, m.bottom())
	}
	parts = append(parts, m.statusBar())
	if m.showHelp {
		parts = append(parts, m.help.FullHelpView(m.keys.FullHelp()))
	} else {
		parts = append(parts, m.help.ShortHelpView(m.keys.ShortHelp()))
	}
	if m.replay != nil {
		parts[len(parts)-1] = m.s.dim.Render("space pause · → ← event · ] [ step · + - speed · q quit")
	}
	screen := lipgloss.JoinVertical(lipgloss.Left, parts...)
	switch {
	case m.confirm != "":
		return m.overlay(screen, m.confirmView())
	case m.prompt != nil && !m.done:
		return m.overlay(screen, m.prompt.view(m.width, m.s))
	}
	return screen
}

// overlay draws a modal centred over the screen, which stays visible around it.
func (m App) overlay(screen, modal string) string {
	bg := strings.Split(screen, "\n")
	for len(bg) < m.height {
		bg = append(bg, "")
	}
	fg := strings.Split(modal, "\n")
	mw := lipgloss.Width(modal)
	x := max(0, (m.width-mw)/2)
	y := max(0, (m.height-len(fg))/2)
	for i, line := range fg {
		if y+i >= len(bg) {
			break
		}
		row := bg[y+i]
		left := ansi.Truncate(row, x, "")
		if pad := x - lipgloss.Width(left); pad > 0 {
			left += strings.Repeat(" ", pad)
		}
		bg[y+i] = left + line + ansi.TruncateLeft(row, x+mw, "")
	}
	return strings.Join(bg[:m.height], "\n")
}

func (m App) confirmView() string {
	text := "Abort the run? The abort is journaled and the journal signed.\nNothing is rolled back automatically.\n\n[y] abort   [n] keep going   (ctrl+c again: abort)"
	if m.confirm == "quit" {
		text = "A run is in progress. Quit aborts it (journaled, signed).\n\n[y] abort and quit   [n] stay"
	}
	return m.s.modal.Render(m.s.bad.Render("ABORT?") + "\n\n" + text)
}

func (m App) header() string {
	r := m.run
	vm := r.Vars["vm"]
	if g := r.Migration(); g != nil {
		vm = g.VM
	}
	left := fmt.Sprintf("cutover · %s · %s", orDash(r.Runbook), orDash(r.operator()))
	var marks []string
	if m.opts.Lab {
		marks = append(marks, m.s.warn.Render("LAB"))
	}
	if m.opts.Unsigned {
		marks = append(marks, m.s.bad.Render("UNSIGNED"))
	}
	if vm != "" {
		left += " · VM " + vm
	}
	state := strings.ToUpper(r.Status)
	if r.Paused {
		state += " (PAUSED)"
	}
	if m.opts.Mode != "" {
		state = m.s.warn.Render(m.opts.Mode+" · read-only") + "  " + state
		if rp := m.replay; rp != nil {
			play := fmt.Sprintf("▶ %gx", rp.Speed)
			if rp.paused {
				play = "⏸"
			}
			state = fmt.Sprintf("%s event %d/%d ", play, rp.pos, len(rp.Events)) + state
		}
	}
	right := m.windowText() + "  " + m.statusText(state)
	if len(marks) > 0 {
		right = strings.Join(marks, " ") + "  " + right
	}
	room := m.width - 2 - lipgloss.Width(right) - 1
	left = truncate(left, room)
	gap := max(1, m.width-lipgloss.Width(left)-lipgloss.Width(right)-2)
	line := m.s.header.Render(left + strings.Repeat(" ", gap) + right)
	sub := m.s.dim.Render(" run " + orDash(r.ID))
	if r.Reason != "" && (r.Rollback != nil || r.Status != "running") {
		sub += "  " + m.s.warn.Render(truncate(r.Reason, m.width-len(r.ID)-8))
	}
	return line + "\n" + sub
}

// windowText counts down to the end of the change window: amber under 30 minutes.
func (m App) windowText() string {
	w := m.run.Window
	if w == nil {
		return ""
	}
	if m.run.HasEnded() { // the run is over: no countdown, only when the window ends
		return m.s.dim.Render("window ends " + w.End.UTC().Format("15:04 MST"))
	}
	left := w.End.Sub(m.now)
	estimate := w.RollbackEstimate.Std()
	switch {
	case left > 0 && estimate > 0 && left < estimate:
		return m.s.bad.Render(fmt.Sprintf("POINT OF NO RETURN: window ends in %s, a rollback takes ~%s", left.Round(time.Second), estimate))
	case left <= 0:
		return m.s.bad.Render("window CLOSED " + (-left).Round(time.Minute).String() + " ago")
	case left < 30*time.Minute:
		return m.s.warn.Render("window ends in " + left.Round(time.Second).String())
	}
	return m.s.dim.Render("window ends in " + left.Round(time.Minute).String())
}

func (m App) stepsPane() string {
	h := m.bodyHeight() - 2
	var lines []string
	for i, st := range m.run.Steps {
		name := st.Name
		if st.Phase == runbook.PhaseRollback {
			name = "↶ " + name
		}
		d := ""
		if st.Duration > 0 {
			d = fmtDur(st.Duration)
		} else if st.Status == "running" {
			d = fmtDur(m.now.Sub(st.Started))
		}
		g := stepGlyph(st.Status, m.s)
		if st.Status == "running" {
			g = m.s.run.Render(m.spin.View())
		}
		line := fmt.Sprintf("%s %-*s %6s", g, stepsWidth-11, truncate(name, stepsWidth-11), d)
		if i == m.selected {
			line = m.s.sel.Render(line)
		}
		lines = append(lines, line)
	}
	if len(lines) > h {
		start := max(0, min(m.selected-h/2, len(lines)-h))
		lines = lines[start : start+h]
	}
	box := m.s.box
	if m.focus == 0 {
		box = m.s.boxFocus
	}
	return box.Width(stepsWidth).Height(h).Render(strings.Join(lines, "\n"))
}

func fmtDur(d time.Duration) string {
	switch {
	case d < 0:
		return ""
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	return d.Round(time.Second).String()
}

func (m App) detailPane() string {
	box := m.s.box
	if m.focus == 1 {
		box = m.s.boxFocus
	}
	content := m.detail.View()
	if m.search.Focused() || m.query != "" {
		content = m.search.View() + "\n" + content
	}
	return box.Width(m.width - stepsWidth - 4).Height(m.bodyHeight() - 2).Render(content)
}

func (m App) bottom() string {
	var mig string
	if g := m.run.Migration(); g != nil {
		state := fmt.Sprintf("%3d%% %s (%s)", g.Percent, g.Stage, fmtDur(g.Elapsed))
		switch {
		case g.Failed:
			state = m.s.bad.Render("FAILED: " + truncate(g.Result, m.width-40))
		case g.Interrupted:
			state = m.s.warn.Render(strings.ToUpper(g.Result[:1]) + truncate(g.Result[1:], m.width-40))
		case g.Done:
			state = m.s.ok.Render(g.Result)
		}
		mig = fmt.Sprintf(" vMotion %s  %s → %s  %s %s", g.VM, g.From, g.To, m.bar.ViewAs(float64(g.Percent)/100), state)
	} else {
		mig = m.s.dim.Render(" no migration yet")
	}
	graph := renderGraph(m.run.Watch, m.width-2, 7, m.s)
	if graph == "" {
		graph = m.s.dim.Render(" no gateway watch yet")
	}
	return ansi.Truncate(mig, m.width, "…") + "\n" + m.s.dim.Render(strings.Repeat("─", m.width)) + "\n" + graph
}

func (m App) statusBar() string {
	r := m.run
	parts := []string{plural(r.Signed, "signed checkpoint")}
	if m.opts.Unsigned {
		parts[0] = m.s.bad.Render("journal NOT signed (no key): hash-chained only")
	}
	if r.Paused {
		parts = append(parts, m.s.warn.Render("paused before the next step (p resumes)"))
	}
	if m.done {
		parts = append(parts, m.s.title.Render("run ended: "+r.Outcome()+" · q quits"))
	}
	if !m.follow {
		parts = append(parts, "enter: follow the run")
	}
	return m.s.dim.Render(" " + strings.Join(parts, " · "))
}

// plural is "1 thing" or "n things".
func plural(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}
