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

// graphHeight is the graph's rows: more on a tall terminal.
func (m *App) graphHeight() int {
	if m.height >= 40 {
		return graphRowsTall
	}
	return graphRows
}

// watchIndex is the watch the graph shows.
func (m *App) watchIndex() int { return max(0, len(m.run.Watches)-1-m.watchBack) }

func (m *App) shownWatch() *runbook.WatchState {
	if len(m.run.Watches) == 0 {
		return nil
	}
	return m.run.Watches[m.shownIndex()]
}

// shownIndex is the graph's watch among the run's: in the wave view the selected VM's own.
func (m *App) shownIndex() int {
	if m.waveView {
		if i := m.itemWatch(); i >= 0 {
			return i
		}
	}
	return m.watchIndex()
}

func (m *App) layout() {
	w := m.width - stepsWidth - 4
	h := m.bodyHeight() - 2
	if m.searchShown() && !m.waveShown() {
		h-- // the search line takes one of the pane's rows, never one more
	}
	m.detail.Width, m.detail.Height = max(10, w), max(3, h)
	m.full.Width, m.full.Height = max(10, m.width-4), max(3, m.height-headerLines-2-2)
}

func (m *App) searchShown() bool { return m.search.Focused() || m.query != "" }

// waveShown tells whether the wave view is up: there a search filters the VMs.
func (m *App) waveShown() bool { return m.waveView && m.wave() != nil }

func (m *App) bodyHeight() int {
	h := m.height - headerLines - 2 // status and help
	if m.hasBottom() {
		h -= 2 + m.graphHeight()
	}
	return max(5, h)
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
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

func (m *App) statusText(status string) string { return m.statusStyle(status).Render(status) }

// statusStyle is the colour of a state by its first word.
func (m *App) statusStyle(status string) lipgloss.Style {
	word, _, _ := strings.Cut(strings.ToLower(status), " (")
	switch word {
	case "passed", "rolled-back":
		return m.s.ok
	case "done":
		if strings.Contains(status, "overridden") {
			return m.s.warn
		}
		return m.s.ok
	case "running", "starting":
		return m.s.run
	case "overridden", "rolled back", "waiting for you", "waiting for the operator":
		return m.s.warn
	case "pending", "skipped":
		return m.s.dim
	}
	return m.s.bad
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
	if m.fullOpen && len(m.run.Steps) > 0 {
		parts = append(parts, m.s.boxFocus.Width(m.width-2).Height(m.full.Height).Render(m.full.View()))
	} else {
		var left string
		if m.waveShown() {
			left = m.wavePane()
		} else {
			left = m.stepsPane()
		}
		parts = append(parts, lipgloss.JoinHorizontal(lipgloss.Top, left, m.detailPane()))
		if m.hasBottom() {
			parts = append(parts, m.bottom())
		}
	}
	parts = append(parts, m.statusBar(), m.helpLine())
	screen := lipgloss.JoinVertical(lipgloss.Left, parts...)
	switch {
	case m.confirm != "":
		return m.overlay(screen, m.confirmView())
	case m.note != nil:
		w := min(96, m.width-10)
		lines := []string{m.s.title.Render("HANDOFF NOTE"), "", ansi.Truncate(m.note.View(), w, ""), ""}
		lines = append(lines, para("", "", "journaled with the run (secrets redacted), shown to shadows and in the report · enter: add · esc: drop", w, m.s.dim)...)
		return m.overlay(screen, m.s.modal.Render(strings.Join(lines, "\n")))
	case m.showHelp:
		return m.overlay(screen, m.keysView())
	case m.asking() && m.askOpen:
		return m.overlay(screen, m.prompt.view(m.width, m.height, m.s))
	}
	return screen
}

// overlay draws a modal centred over the screen, which stays visible around it; a blank margin
// keeps the text beneath from touching its border.
func (m App) overlay(screen, modal string) string {
	bg := strings.Split(screen, "\n")
	for len(bg) < m.height {
		bg = append(bg, "")
	}
	fg := strings.Split(modal, "\n")
	mw := lipgloss.Width(modal) + 2
	blank := strings.Repeat(" ", mw)
	fg = append([]string{blank}, fg...)
	for i := 1; i < len(fg); i++ {
		fg[i] = " " + pad(fg[i], mw-2) + " "
	}
	fg = append(fg, blank)
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
		bg[y+i] = left + "\x1b[0m" + line + ansi.TruncateLeft(row, x+mw, "")
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

func (m App) stepsPane() string {
	h := m.bodyHeight() - 2
	nameW := stepsWidth - 12
	// Only the rows that show are laid out: a wave's run holds hundreds.
	from, to := 0, len(m.run.Steps)
	if to > h {
		from = max(0, min(m.selected-h/2, to-h))
		to = from + h
	}
	var lines []string
	for i := from; i < to; i++ {
		st := m.run.Steps[i]
		name := st.Name
		if _, vm, step, ok := runbook.SplitItemStep(name); ok {
			name = " " + vm + " " + step // under its wave's row: the VM and its step, not the wave's name again
		}
		if st.Phase == runbook.PhaseRollback {
			name = "↶ " + name
		}
		ran, _ := m.stepClock(st)
		d := ""
		if ran > 0 {
			d = fmtDur(ran)
		}
		g, plain := stepGlyph(st.Status, m.s), stepGlyph(st.Status, styles{})
		timeStyle := m.s.plain
		switch {
		case m.waitsOn(st):
			// The operator's thinking is not the step's running time: the wait shows apart.
			g, plain = m.s.bad.Render("?"), "?"
			d, timeStyle = fmtWait(m.now.Sub(m.run.Pending.At)), m.s.bad
		case st.Status == "running":
			g, plain = m.s.run.Render(m.spin.View()), m.spin.View()
		}
		if i == m.selected {
			line := fmt.Sprintf("›%s %-*s %6s", plain, nameW, truncate(name, nameW), d)
			lines = append(lines, m.s.sel.Render(line))
			continue
		}
		lines = append(lines, fmt.Sprintf(" %s %-*s %s", g, nameW, truncate(name, nameW), timeStyle.Render(fmt.Sprintf("%6s", d))))
	}
	box := m.s.box
	if m.focus == 0 && !m.fullOpen {
		box = m.s.boxFocus
	}
	return box.Width(stepsWidth).Height(h).Render(strings.Join(lines, "\n"))
}

// waitsOn reports whether the run waits for an answer about this step.
func (m *App) waitsOn(st *runbook.StepState) bool {
	q := m.run.Pending
	return q != nil && q.Step == st.Name && st.Status == "running"
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
	if m.searchShown() && !m.waveShown() {
		content = m.search.View() + "\n" + content
	}
	return box.Width(m.width - stepsWidth - 4).Height(m.bodyHeight() - 2).MaxHeight(m.bodyHeight()).Render(content)
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
		mig = fmt.Sprintf(" vMotion %s  %s → %s  %s %s", g.VM, g.From, g.To, m.bar(g.Percent, max(10, m.width/3)), state)
	} else {
		mig = m.s.dim.Render(" no migration yet")
	}
	graph := m.s.dim.Render(" no gateway watch yet")
	if w := m.shownWatch(); w != nil {
		v := m.graph
		v.now, v.live = m.now, w.Verdict == "" && !m.run.HasEnded()
		if n := len(m.run.Watches); n > 1 {
			v.title = fmt.Sprintf("[%d/%d %s]", m.shownIndex()+1, n, w.Step)
		}
		graph = renderGraph(w, m.width, m.graphHeight(), m.s, v)
	}
	return ansi.Truncate(mig, m.width, "…") + "\n" + m.s.dim.Render(strings.Repeat("─", m.width)) + "\n" + graph
}

// bar is the vMotion's progress in blocks: colour when there is colour, the blocks either way.
func (m App) bar(pct, width int) string {
	on := max(0, min(width, pct*width/100))
	return m.s.barOn.Render(strings.Repeat("█", on)) + m.s.barOff.Render(strings.Repeat("░", width-on))
}
