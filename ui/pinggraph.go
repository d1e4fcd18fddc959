package ui

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/lipgloss"

	"github.com/cutover/cutover/runbook"
)

var blocks = []rune(" ▁▂▃▄▅▆▇█")

// renderGraph draws the gateway watch: a header with the figures and the gate, then RTT as bars,
// one column a sample, newest on the right, lost requests as a red ✗ where they happened.
func renderGraph(w *runbook.WatchState, width, height int, s styles) string {
	if w == nil || width < 10 || height < 2 {
		return ""
	}
	gate := s.run.Render("watching")
	switch {
	case w.Breach != "" && w.Verdict == "":
		gate = s.bad.Render("BREACH: " + w.Reason)
	case w.Verdict == "pass":
		gate = s.ok.Render("✓ pass")
	case w.Verdict == "fail":
		gate = s.bad.Render("✗ " + w.Reason)
	}
	st := w.Stats
	head := fmt.Sprintf("gateway %s from %s · %d sent · %d lost (%.1f%%) · outage %s · p95 %s · gate ≤%d lost: ",
		w.Target, w.From, st.Sent, st.Lost, st.LossPct(), st.LongestOutage.Std().Round(time.Millisecond), st.RTTP95.Std().Round(10*time.Microsecond), w.Limits.MaxLost)
	lines := []string{truncate(head, width-lipgloss.Width(gate)) + gate}

	rows := height - 1
	const labelW = 8 // the scale, right of the bars
	samples := w.Samples
	if len(samples) > width-labelW {
		samples = samples[len(samples)-(width-labelW):]
	}
	var maxRTT int64 = 1000 // at least a 1 ms scale, so loopback jitter does not look like a storm
	for _, x := range samples {
		maxRTT = max(maxRTT, x[2])
	}
	grid := make([][]string, rows)
	for r := range grid {
		grid[r] = make([]string, len(samples))
	}
	levels := rows * (len(blocks) - 1)
	for c, x := range samples {
		if x[2] == -1 {
			for r := range rows {
				grid[r][c] = " "
			}
			grid[rows-1][c] = s.lost.Render("✗")
			continue
		}
		v := 1
		if x[2] > 0 {
			v = max(1, int(x[2]*int64(levels)/maxRTT))
		}
		for r := range rows {
			fromBottom := rows - 1 - r
			fill := min(len(blocks)-1, max(0, v-fromBottom*(len(blocks)-1)))
			grid[r][c] = s.ok.Render(string(blocks[fill]))
		}
	}
	for r := range grid {
		label := ""
		if r == 0 {
			label = truncate(fmt.Sprintf(" %s", time.Duration(maxRTT)*time.Microsecond), labelW)
		}
		lines = append(lines, strings.Join(grid[r], "")+s.dim.Render(label))
	}
	return strings.Join(lines, "\n")
}
