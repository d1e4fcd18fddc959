package main

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/cutover/cutover/runbook"
	"github.com/cutover/cutover/runbook/report"
	"github.com/cutover/cutover/ui"
)

// assertConsoleFrameSaysWhatTheReportSays replays the journal in the console to its last event and
// compares what the rendered frame shows with what the rendered Markdown report says: the run's
// outcome and reason, and every step's state, row by row. Both are read as a person reads them, from
// their text, so a rule that lives in one renderer and not the other shows up here.
func assertConsoleFrameSaysWhatTheReportSays(t *testing.T, journal string, events []runbook.Event, rep *report.Report) {
	t.Helper()
	var md strings.Builder
	if err := rep.Markdown(&md); err != nil {
		t.Fatal(err)
	}
	outcome, reason, steps := readReport(t, md.String())

	var m tea.Model = ui.New(ui.Options{Replay: &ui.Replay{Events: events, Speed: 1}})
	m, _ = m.Update(tea.WindowSizeMsg{Width: 220, Height: 24 + len(steps)})
	for range events { // "]" jumps to the next step; past the last one it goes to the run's end
		m, _ = m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("]")})
	}
	frame := ansi.Strip(m.View())
	lines := strings.Split(frame, "\n")
	if !strings.Contains(lines[0], fmt.Sprintf("event %d/%d", len(events), len(events))) {
		t.Fatalf("the replay did not reach the end:\n%s", frame)
	}
	if head := strings.TrimSpace(lines[0]); !strings.HasSuffix(head, "  "+outcome) {
		t.Errorf("%s: console's header %q, report's outcome %s\n%s", journal, head, outcome, frame)
	}
	if reason != "" {
		// The header's second line starts the reason (the run's id first when both fit); the
		// detail pane, following the run, has it in full.
		shown := strings.TrimSpace(lines[1])
		if id, rest, ok := strings.Cut(shown, "  "); ok && strings.HasPrefix(id, "run ") {
			shown = strings.TrimSpace(rest)
		}
		shown = strings.TrimSuffix(strings.TrimSuffix(shown, " (in full: detail)"), "…")
		if !strings.HasPrefix(reason, shown) {
			t.Errorf("%s: console's reason %q, report's %q", journal, shown, reason)
		}
		if pane := detailColumn(lines); !strings.Contains(pane, strings.Join(strings.Fields(reason), " ")) {
			t.Errorf("%s: the detail pane does not hold the reason in full:\n%s\nreason: %s", journal, frame, reason)
		}
	}

	// The steps pane: one row per step, a glyph then the name (↶ for a rollback step).
	row := regexp.MustCompile(`^[│┃][› ](\S) (↶ )?(\S+)`)
	var console []string
	for _, l := range lines[2:] {
		if m := row.FindStringSubmatch(l); m != nil {
			console = append(console, m[3]+" "+m[1])
		}
	}
	var want []string
	for _, s := range steps {
		want = append(want, s.name+" "+glyphOf(s.status))
	}
	if strings.Join(console, ", ") != strings.Join(want, ", ") {
		t.Errorf("%s: the console's steps pane and the report's timeline disagree:\nconsole %v\nreport  %v\n%s", journal, console, want, frame)
	}
}

// detailColumn is the detail pane's text, its lines joined with single spaces: what a person reads
// down the pane, wrapped lines rejoined.
func detailColumn(lines []string) string {
	var words []string
	for _, l := range lines[2:] {
		r := []rune(l)
		if len(r) < 40 || (r[0] != '│' && r[0] != '┃') {
			continue
		}
		// The steps pane is stepsWidth+2 cells wide; the detail pane's box follows it.
		inner := strings.Trim(string(r[36:]), "│┃")
		words = append(words, strings.Fields(inner)...)
	}
	return strings.Join(words, " ")
}

type reportStep struct{ name, status string }

// readReport reads the outcome, its reason and the timeline's rows from a Markdown report.
func readReport(t *testing.T, md string) (outcome, reason string, steps []reportStep) {
	t.Helper()
	unescape := strings.NewReplacer(`\\`, `\`, `\_`, `_`, `\*`, `*`, `\[`, `[`, `\]`, `]`, `\|`, `|`, `\<`, `<`, `\>`, `>`, `\#`, `#`, `\!`, `!`, `\~`, `~`, `\&`, `&`, "\\`", "`")
	o := regexp.MustCompile(`(?m)^\| outcome \| \*\*(.+?)\*\*(?: — (.*))? \|$`).FindStringSubmatch(md)
	if o == nil {
		t.Fatalf("no outcome in the report:\n%s", md)
	}
	outcome, reason = o[1], unescape.Replace(o[2])
	_, timeline, ok := strings.Cut(md, "## Timeline\n")
	if !ok {
		t.Fatalf("no timeline in the report:\n%s", md)
	}
	for _, l := range strings.Split(timeline, "\n")[3:] {
		if !strings.HasPrefix(l, "| ") {
			break
		}
		cells := strings.Split(l, " | ")
		name, _, _ := strings.Cut(unescape.Replace(strings.TrimPrefix(cells[0], "| ")), " (undoes ")
		steps = append(steps, reportStep{name, cells[2]})
	}
	return outcome, reason, steps
}

// glyphOf is what an operator is told each state looks like in the steps pane (README's legend).
func glyphOf(status string) string {
	switch status {
	case "passed":
		return "✓"
	case "rolled back":
		return "↩"
	case "skipped":
		return "–"
	case "running":
		return "▶"
	case "failed", "aborted", "interrupted":
		return "✗"
	case "overridden":
		return "!"
	}
	return "·"
}

var watchCounts = regexp.MustCompile(`(?i)gated span: \d+ sent, \d+ lost · whole watch: \d+ sent, \d+ lost`)

// assertWatchCountsAgree holds the plain output, the console and the report to one set of numbers
// for every watch of the run (the move's and the way back's), each count labelled with its span:
// the plain end-of-watch line, the console's graph head (w shows the other watch), the report's
// watch section.
func assertWatchCountsAgree(t *testing.T, plain, journal string, events []runbook.Event, rep *report.Report) {
	t.Helper()
	fold := runbook.FoldEvents(events)
	var fromPlain, fromReport, fromConsole []string
	for _, l := range strings.Split(plain, "\n") {
		if strings.Contains(l, " watch ") && (strings.Contains(l, "✓ pass: ") || strings.Contains(l, "✗ fail: ")) {
			fromPlain = append(fromPlain, strings.ToLower(watchCounts.FindString(l)))
		}
	}
	var md strings.Builder
	if err := rep.Markdown(&md); err != nil {
		t.Fatal(err)
	}
	for _, c := range watchCounts.FindAllString(md.String(), -1) {
		fromReport = append(fromReport, strings.ToLower(c))
	}
	var m tea.Model = ui.New(ui.Options{Replay: &ui.Replay{Events: events, Speed: 1}})
	m, _ = m.Update(tea.WindowSizeMsg{Width: 220, Height: 50})
	for range events {
		m, _ = m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("]")})
	}
	for range fold.Watches { // newest first; w steps back through them
		fromConsole = append([]string{strings.ToLower(watchCounts.FindString(ansi.Strip(m.View())))}, fromConsole...)
		m, _ = m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("w")})
	}
	if len(fromReport) != len(fold.Watches) || strings.Join(fromPlain, "|") != strings.Join(fromReport, "|") || strings.Join(fromConsole, "|") != strings.Join(fromReport, "|") {
		t.Errorf("%s: the watch counts disagree (%d watches):\nplain   %q\nconsole %q\nreport  %q", journal, len(fold.Watches), fromPlain, fromConsole, fromReport)
	}
}
