package ui

import (
	"fmt"
	"slices"
	"strings"

	"github.com/cutover/cutover/runbook"
)

// The wave view (v): the run's wave as a row per VM under a summary bar, in the order planned or,
// with o, the VMs that did not move first; x shows one kind of VM only (in trouble, moving, to go,
// moved) and / keeps the VMs whose name, host, state or reason holds the text. The detail pane
// says the selected VM's story and the graph shows its gateway watch; enter opens its steps.

// waveShows are what x cycles through: a name and the states it keeps (nil: every VM).
var waveShows = []struct {
	name string
	keep []string
}{
	{"all", nil},
	{"in trouble", []string{runbook.ItemFailed, runbook.ItemRollbackFailed, runbook.ItemRolledBack}},
	{"moving", []string{"running"}},
	{"to go", []string{"pending", runbook.ItemSkipped}},
	{"moved", []string{runbook.ItemMoved}},
}

// wave is the wave the view shows: the run's newest, nil when it has none.
func (m *App) wave() *runbook.WaveState {
	if len(m.run.Waves) == 0 {
		return nil
	}
	return m.run.Waves[len(m.run.Waves)-1]
}

// waveRows are the VMs in the order shown.
func (m *App) waveRows() []*runbook.ItemState {
	w := m.wave()
	if w == nil {
		return nil
	}
	rows := slices.Clone(w.Items)
	keep, q := waveShows[m.waveShow%len(waveShows)].keep, strings.ToLower(m.query)
	if keep != nil || q != "" {
		rows = slices.DeleteFunc(rows, func(it *runbook.ItemState) bool {
			return (keep != nil && !slices.Contains(keep, it.Status)) ||
				(q != "" && !strings.Contains(strings.ToLower(it.VM+" "+it.Host+" "+it.Status+" "+it.Reason), q))
		})
	}
	if m.waveBadFirst {
		rank := func(it *runbook.ItemState) int {
			switch it.Status {
			case runbook.ItemRollbackFailed, runbook.ItemFailed:
				return 0
			case runbook.ItemRolledBack:
				return 1
			case "running":
				return 2
			case "pending", runbook.ItemSkipped:
				return 3
			}
			return 4
		}
		slices.SortStableFunc(rows, func(a, b *runbook.ItemState) int { return rank(a) - rank(b) })
	}
	return rows
}

// waveItem is the selected VM.
func (m *App) waveItem() *runbook.ItemState {
	rows := m.waveRows()
	if len(rows) == 0 {
		return nil
	}
	return rows[max(0, min(m.waveSel, len(rows)-1))]
}

func itemGlyph(status string, s styles) string {
	switch status {
	case runbook.ItemMoved:
		return s.ok.Render("✓")
	case runbook.ItemRolledBack:
		return s.warn.Render("↩")
	case runbook.ItemFailed, runbook.ItemRollbackFailed:
		return s.bad.Render("✗")
	case "running":
		return s.run.Render("▶")
	case runbook.ItemSkipped:
		return s.dim.Render("–")
	}
	return s.dim.Render("·")
}

// waveCounts is the summary bar, two lines of the pane: how many VMs stand where.
func waveCounts(w *runbook.WaveState) []string {
	n := w.Counts()
	return []string{fmt.Sprintf("%d VMs: %d moved · %d back", len(w.Items), n[runbook.ItemMoved], n[runbook.ItemRolledBack]),
		fmt.Sprintf("%d failed · %d to go", n[runbook.ItemFailed]+n[runbook.ItemRollbackFailed], n["pending"]+n["running"]+n[runbook.ItemSkipped])}
}

func (m App) wavePane() string {
	h := m.bodyHeight() - 2
	w := m.wave()
	rows := m.waveRows()
	var lines []string
	for _, l := range waveCounts(w) {
		lines = append(lines, truncate(l, stepsWidth-2))
	}
	if f := m.waveFilter(len(rows), len(w.Items)); f != "" {
		lines = append(lines, f)
	}
	lines = append(lines, m.s.dim.Render(strings.Repeat("─", stepsWidth-2)))
	room := h - len(lines)
	from, to := 0, len(rows)
	if to > room { // only the rows that show are laid out
		from = max(0, min(m.waveSel-room/2, to-room))
		to = from + max(0, room)
	}
	var body []string
	for i := from; i < to; i++ {
		it := rows[i]
		host := strings.TrimPrefix(it.Host, "esx-")
		loss := ""
		if it.Watch != nil {
			loss = fmt.Sprintf("%d/%d", it.Watch.Lost, it.Watch.Sent)
		}
		text := fmt.Sprintf("%-12s %-5s %7s", truncate(it.VM, 12), truncate(host, 5), loss)
		if i == m.waveSel {
			body = append(body, m.s.sel.Render("›"+itemGlyph(it.Status, styles{})+" "+text))
			continue
		}
		body = append(body, " "+itemGlyph(it.Status, m.s)+" "+text)
	}
	box := m.s.box
	if m.focus == 0 && !m.fullOpen {
		box = m.s.boxFocus
	}
	return box.Width(stepsWidth).Height(h).Render(strings.Join(append(lines, body...), "\n"))
}

// waveFilter is the pane's filter line: the search being typed, or what x and / keep; "" when
// every VM shows.
func (m *App) waveFilter(shown, all int) string {
	if m.search.Focused() {
		return truncate(m.search.View(), stepsWidth-2)
	}
	var what []string
	if m.waveShow%len(waveShows) != 0 {
		what = append(what, waveShows[m.waveShow%len(waveShows)].name)
	}
	if m.query != "" {
		what = append(what, "/"+m.query)
	}
	if len(what) == 0 {
		return ""
	}
	return m.s.warn.Render(truncate(fmt.Sprintf("%d of %d: %s", shown, all, strings.Join(what, " ")), stepsWidth-2))
}

// waveDetail is the selected VM's story for the detail pane.
func (m *App) waveDetail(width int) []string {
	it := m.waveItem()
	if it == nil && len(m.wave().Items) > 0 {
		return []string{m.s.dim.Render("no VM shows: x shows all, esc clears the search")}
	}
	if it == nil {
		return []string{m.s.dim.Render("no VM in the wave yet")}
	}
	w := m.wave()
	out := []string{m.s.title.Render(fmt.Sprintf("%s · batch %d of %d · %s", it.VM, it.Batch, w.Batches, it.Status))}
	if it.Reason != "" {
		out = append(out, wrapLines(it.Reason, width)...)
	}
	out = append(out, "")
	if it.Origin != "" || it.Target != "" {
		out = append(out, fmt.Sprintf("moved  %s → %s   now %s", orDash(it.Origin), orDash(it.Target), orDash(it.Host)))
	}
	if st := it.Watch; st != nil {
		line := fmt.Sprintf("watch  %d of %d lost · %s", st.Lost, st.Sent, orDash(it.Verdict))
		if l := it.Latency; l != nil {
			if shift, ok := l.Shift(); ok {
				line += fmt.Sprintf(" · RTT p50 %.2f → %.2f ms (%+.2f)", float64(l.Before.P50), float64(l.After.P50), float64(shift))
			}
		}
		out = append(out, wrapLines(line, width)...)
	}
	out = append(out, "", "steps")
	for _, st := range m.run.Steps {
		wave, vm, step, ok := runbook.SplitItemStep(st.Name)
		if !ok || wave != w.Step || vm != it.VM || step == "" {
			continue
		}
		if st.Phase == runbook.PhaseRollback {
			step = "↶ " + step
		}
		line := fmt.Sprintf("  %s %s", stepGlyph(st.Status, m.s), step)
		if st.Reason != "" {
			line += m.s.dim.Render(": " + truncate(st.Reason, max(10, width-len(step)-8)))
		}
		out = append(out, line)
	}
	next := waveShows[(m.waveShow+1)%len(waveShows)].name
	out = append(out, "", m.s.dim.Render(wrap("enter: its steps · o: "+map[bool]string{false: "failed first", true: "as planned"}[m.waveBadFirst]+" · x: "+next+" · /: filter · v: the steps", width)))
	return out
}

// openItem leaves the wave view at the selected VM's newest step.
func (m *App) openItem() {
	it := m.waveItem()
	if it == nil {
		return
	}
	prefix := runbook.ItemStep(m.wave().Step, it.VM, "")
	for i := len(m.run.Steps) - 1; i >= 0; i-- {
		if strings.HasPrefix(m.run.Steps[i].Name, prefix) {
			m.waveView, m.follow = false, false
			m.selectStep(i)
			return
		}
	}
	m.flash = it.VM + " has not started"
}

// itemWatch is the index of the selected VM's move watch among the run's watches, -1 for none.
func (m *App) itemWatch() int {
	it := m.waveItem()
	if it == nil {
		return -1
	}
	prefix := runbook.ItemStep(m.wave().Step, it.VM, "")
	for i, w := range m.run.Watches {
		if strings.HasPrefix(w.Step, prefix) {
			return i
		}
	}
	return -1
}
