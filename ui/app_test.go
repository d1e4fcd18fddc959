package ui

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/cutover/cutover/runbook"
)

var update = flag.Bool("update", false, "rewrite golden files")

var t0 = time.Date(2026, 11, 28, 22, 0, 0, 0, time.UTC)

// script is a run as the engine would report it: pre-checks pass, the migration is at 55 % with
// the gateway watch running and one packet lost.
func script() []runbook.Event {
	ev := func(i int, typ runbook.EventType, step string, data any) runbook.Event {
		return runbook.Event{Seq: int64(i), Time: t0.Add(time.Duration(i) * 100 * time.Millisecond), Run: "r1", Type: typ, Step: step, Data: data}
	}
	var samples [][3]int64
	for i := range 60 {
		rtt := int64(300 + (i*37)%250)
		if i == 41 {
			rtt = -1
		}
		samples = append(samples, [3]int64{int64(i), t0.UnixMilli() + int64(i)*200, rtt})
	}
	return []runbook.Event{
		ev(1, runbook.EvRunStart, "", runbook.RunStartData{Runbook: "stretched-vlan-vmotion", Operator: "oncall@noc", Steps: []string{"pre-checks", "migrate", "post-checks"},
			Vars: map[string]string{"vm": "app-01"}, Window: &runbook.WindowData{Start: t0.Add(-time.Hour), End: t0.Add(20 * time.Minute)}}),
		ev(2, runbook.EvStepStart, "pre-checks", runbook.StepStartData{Index: 1, Of: 3, Phase: runbook.PhaseRun, Checks: 2}),
		ev(3, runbook.EvCmd, "pre-checks", runbook.CmdData{Index: 0, Check: "unit_active nginx", Host: "app", Command: "LC_ALL=C systemctl is-active -- nginx"}),
		ev(4, runbook.EvOutput, "pre-checks", runbook.OutputData{Index: 0, Host: "app", Lines: []runbook.Line{{Stream: "stdout", Text: "active"}}}),
		ev(5, runbook.EvCheck, "pre-checks", runbook.CheckData{Index: 0, Check: "unit_active nginx", Kind: "unit_active", Host: "app", Result: runbook.Result{Outcome: runbook.Pass, Summary: "nginx active (running) since Sat 2026-11-28 21:41:07 UTC"}}),
		ev(6, runbook.EvCheck, "pre-checks", runbook.CheckData{Index: 1, Check: "clock", Kind: "clock", Host: "app", Result: runbook.Result{Outcome: runbook.Inconclusive, Summary: "chronyd is not running: 506 Cannot talk to daemon"}}),
		ev(7, runbook.EvGate, "pre-checks", runbook.GateData{Attempt: 1, Attempts: 1, Require: "1", Verdict: runbook.Pass, Passed: 1, Inconclusive: 1}),
		ev(8, runbook.EvStepEnd, "pre-checks", runbook.StepEndData{Status: runbook.StepPassed, Duration: 812}),
		ev(9, runbook.EvCheckpoint, "pre-checks", runbook.CheckpointData{Head: "ab", Sig: "sig"}),
		ev(10, runbook.EvStepStart, "migrate", runbook.StepStartData{Index: 2, Of: 3, Phase: runbook.PhaseRun, Action: "migrate", Description: "vMotion to SITE-B"}),
		ev(11, runbook.EvWatch, "migrate", runbook.WatchData{Phase: "start", Target: "10.20.0.1", From: "app", Limits: runbook.WatchLimits{MaxLost: 1}}),
		ev(12, runbook.EvMigrate, "migrate", runbook.MigrateData{Phase: "origin", Move: runbook.Move{VM: "app-01", Host: "esx-b-01"}, From: &runbook.Placement{Host: "esx-a-01", Cluster: "SITE-A"}}),
		ev(13, runbook.EvMigrate, "migrate", runbook.MigrateData{Phase: "start", Move: runbook.Move{VM: "app-01", Host: "esx-b-01"}, From: &runbook.Placement{Host: "esx-a-01", Cluster: "SITE-A"}}),
		ev(14, runbook.EvProgress, "migrate", runbook.ProgressData{VM: "app-01", Percent: 55, Stage: "Copying memory (pre-copy, pass 2)", Elapsed: 1700}),
		ev(15, runbook.EvPing, "migrate", runbook.PingData{Target: "10.20.0.1", From: "app", Samples: samples,
			Stats: runbook.WatchStats{Sent: 60, Received: 59, Lost: 1, LongestRun: 1, LongestOutage: 200, RTTP95: 0.52}}),
	}
}

func feed(t *testing.T, m App, evs []runbook.Event) App {
	t.Helper()
	for _, ev := range evs {
		next, _ := m.Update(engineEventMsg{[]runbook.Event{ev}})
		m = next.(App)
	}
	return m
}

func sized(w, h int) App {
	m := New(Options{Now: func() time.Time { return t0.Add(2 * time.Second) }})
	next, _ := m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	return next.(App)
}

func TestUpdateFoldsEventsIntoViewState(t *testing.T) {
	m := feed(t, sized(120, 40), script())
	r := m.run
	if r.Runbook != "stretched-vlan-vmotion" || len(r.Steps) != 3 || r.Steps[0].Status != "passed" || r.Steps[1].Status != "running" || r.Steps[2].Status != "pending" {
		t.Fatalf("steps %+v", r.Steps)
	}
	if m.selected != 1 || !m.follow {
		t.Errorf("selection %d follow %v: it must follow the running step", m.selected, m.follow)
	}
	if g := r.Migration(); g == nil || g.Percent != 55 || g.From != "esx-a-01" || g.To != "esx-b-01" {
		t.Errorf("migration %+v", g)
	}
	if r.Watch == nil || r.Watch.AllSamples != 60 || r.Watch.Stats.Lost != 1 || r.Signed != 1 {
		t.Errorf("watch %+v, signed %d", r.Watch, r.Signed)
	}
	// Moving the selection stops following; f follows again.
	next, _ := m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("k")})
	m = next.(App)
	if m.selected != 0 || m.follow {
		t.Errorf("after k: selected %d follow %v", m.selected, m.follow)
	}
	next, _ = m.Update(press("f"))
	if m = next.(App); m.selected != 1 || !m.follow {
		t.Errorf("after f: selected %d follow %v", m.selected, m.follow)
	}
	// Rollback steps are appended; a stale step name resolves to the newest.
	m = feed(t, m, []runbook.Event{
		{Seq: 16, Run: "r1", Type: runbook.EvStepEnd, Step: "migrate", Data: runbook.StepEndData{Status: runbook.StepFailed}},
		{Seq: 17, Run: "r1", Type: runbook.EvRollback, Data: runbook.RollbackData{Trigger: "migrate", Steps: []string{"migrate-back"}}},
		{Seq: 18, Run: "old-run", Type: runbook.EvStepStart, Step: "ghost", Data: runbook.StepStartData{}},
	})
	if len(m.run.Steps) != 4 || m.run.Steps[3].Phase != runbook.PhaseRollback || m.run.Rollback == nil {
		t.Fatalf("rollback steps %+v", m.run.Steps)
	}
	m = feed(t, m, []runbook.Event{
		{Seq: 19, Run: "r1", Type: runbook.EvStepStart, Step: "migrate-back", Data: runbook.StepStartData{Phase: runbook.PhaseRollback, Undoes: "migrate"}},
		{Seq: 20, Run: "r1", Type: runbook.EvStepEnd, Step: "migrate-back", Data: runbook.StepEndData{Status: runbook.StepPassed}},
		{Seq: 21, Run: "r1", Type: runbook.EvRunEnd, Data: runbook.RunEndData{Status: runbook.RunRolledBack}},
	})
	var states []string
	for _, s := range m.run.Steps {
		states = append(states, s.Name+":"+s.Status)
	}
	if strings.Join(states, ",") != "pre-checks:passed,migrate:rolled back,post-checks:skipped,migrate-back:passed" {
		t.Errorf("states after the rollback: %v", states)
	}
}

func press(s string) tea.KeyMsg {
	switch s {
	case "enter":
		return tea.KeyMsg{Type: tea.KeyEnter}
	case "ctrl+c":
		return tea.KeyMsg{Type: tea.KeyCtrlC}
	case "esc":
		return tea.KeyMsg{Type: tea.KeyEsc}
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)}
}

// run executes a command the way bubbletea would, returning its message.
func runCmd(c tea.Cmd) tea.Msg {
	if c == nil {
		return nil
	}
	return c()
}

func TestGatePromptNeedsAReasonToProceedOverAFailure(t *testing.T) {
	m := feed(t, sized(120, 40), script())
	a := &ask{q: runbook.Question{Step: "post-checks", QuestionData: runbook.QuestionData{Kind: runbook.AskGate, Verdict: runbook.Fail, Prompt: "step post-checks: listeners changed",
		Options: []runbook.Choice{runbook.Proceed, runbook.Retry, runbook.Rollback, runbook.Abort}, NeedReason: []runbook.Choice{runbook.Abort, runbook.Proceed}},
		Checks: []runbook.CheckData{{Check: "listeners_unchanged", Host: "app", Result: runbook.Result{Outcome: runbook.Fail, Summary: "listeners changed: 1 removed", Evidence: []string{"- tcp 0.0.0.0:443 nginx"}}}}},
		reply: make(chan runbook.Answer, 1)}
	m.opts.Decider = NewDecider()
	next, _ := m.Update(askMsg{a})
	m = next.(App)
	view := ansi.Strip(m.View())
	for _, want := range []string{"GATE FAILED · post-checks", "listeners_unchanged [app]: listeners changed: 1 removed", "- tcp 0.0.0.0:443 nginx", "[p] proceed*", "[b] rollback"} {
		if !strings.Contains(view, want) {
			t.Errorf("prompt lacks %q:\n%s", want, view)
		}
	}
	// x is not an option; p asks for a reason; an empty reason is not sent.
	for _, k := range []string{"x", "p", "enter"} {
		next, cmd := m.Update(press(k))
		m = next.(App)
		runCmd(cmd)
	}
	if len(a.reply) != 0 || m.prompt == nil || !m.prompt.typing {
		t.Fatal("proceed over a failed gate went out without a reason")
	}
	for _, r := range "checked by hand" {
		next, _ := m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
		m = next.(App)
	}
	next, cmd := m.Update(press("enter"))
	m = next.(App)
	runCmd(cmd)
	if got := <-a.reply; got.Choice != runbook.Proceed || got.Reason != "checked by hand" || m.prompt != nil {
		t.Errorf("answer %+v, prompt %v", got, m.prompt)
	}
}

func TestRollbackNeedsNoReason(t *testing.T) {
	m := sized(120, 40)
	a := &ask{q: runbook.Question{QuestionData: runbook.QuestionData{Kind: runbook.AskGate, Verdict: runbook.Fail, Options: []runbook.Choice{runbook.Proceed, runbook.Rollback}, NeedReason: []runbook.Choice{runbook.Proceed}}}, reply: make(chan runbook.Answer, 1)}
	m.opts.Decider = NewDecider()
	next, _ := m.Update(askMsg{a})
	next, cmd := next.(App).Update(press("b"))
	runCmd(cmd)
	if got := <-a.reply; got.Choice != runbook.Rollback || next.(App).prompt != nil {
		t.Errorf("answer %+v", got)
	}
}

func TestCtrlCAsksThenAbortsThroughTheEngine(t *testing.T) {
	aborted := 0
	m := New(Options{Abort: func() { aborted++ }, Now: func() time.Time { return t0 }})
	next, _ := m.Update(tea.WindowSizeMsg{Width: 100, Height: 30})
	m = next.(App)
	next, cmd := m.Update(press("ctrl+c"))
	m = next.(App)
	runCmd(cmd)
	if aborted != 0 || m.confirm != "abort" || !strings.Contains(ansi.Strip(m.View()), "Abort the run?") {
		t.Fatalf("first ctrl+c must ask: aborted %d confirm %q", aborted, m.confirm)
	}
	next, cmd = m.Update(press("ctrl+c"))
	runCmd(cmd)
	if aborted != 1 {
		t.Errorf("second ctrl+c must abort: %d", aborted)
	}
	// q while running asks; n keeps going; y aborts and quits once the run has ended.
	m = next.(App)
	next, _ = m.Update(press("q"))
	m = next.(App)
	next, _ = m.Update(press("n"))
	m = next.(App)
	if m.confirm != "" {
		t.Error("n must keep the run going")
	}
	next, _ = m.Update(press("q"))
	next, cmd = next.(App).Update(press("y"))
	m = next.(App)
	runCmd(cmd)
	if aborted != 2 || !m.quitting {
		t.Errorf("y must abort (%d) and quit when done (%v)", aborted, m.quitting)
	}
	_, cmd = m.Update(runDoneMsg{})
	if _, ok := runCmd(cmd).(tea.QuitMsg); !ok {
		t.Error("the console must quit once the aborted run has ended")
	}
}

// Between the journal's run.end and the engine returning (closing and signing the journal), q
// has nothing to abort: it does not ask, aborts nothing, and quits once the engine returns.
func TestQuitAfterTheRunEndedDoesNotAsk(t *testing.T) {
	aborted := 0
	m := New(Options{Abort: func() { aborted++ }, Now: func() time.Time { return t0 }})
	next, _ := m.Update(tea.WindowSizeMsg{Width: 100, Height: 30})
	next, _ = next.(App).Update(engineEventMsg{[]runbook.Event{{Seq: 1, Run: "r1", Type: runbook.EvRunEnd, Data: runbook.RunEndData{Status: runbook.RunRolledBack}}}})
	next, cmd := next.(App).Update(press("q"))
	m = next.(App)
	if _, ok := runCmd(cmd).(tea.QuitMsg); ok || m.confirm != "" || aborted != 0 || !m.quitting {
		t.Fatalf("q after run.end: quit before the engine returned %v, confirm %q, aborted %d, quitting %v", ok, m.confirm, aborted, m.quitting)
	}
	_, cmd = m.Update(runDoneMsg{})
	if _, ok := runCmd(cmd).(tea.QuitMsg); !ok {
		t.Error("the console must quit once the engine has returned")
	}
}

func TestPauseKeyCallsTheEngine(t *testing.T) {
	var got []bool
	m := New(Options{Pause: func(p bool) { got = append(got, p) }, Now: func() time.Time { return t0 }})
	next, _ := m.Update(tea.WindowSizeMsg{Width: 100, Height: 30})
	_, cmd := next.(App).Update(press(" "))
	runCmd(cmd)
	if len(got) != 1 || !got[0] {
		t.Errorf("pause calls %v", got)
	}
}

func TestPointOfNoReturn(t *testing.T) {
	m := feed(t, sized(120, 40), script()[:1])
	m.run.Window.RollbackEstimate = runbook.Millis((30 * time.Minute).Milliseconds())
	if v := ansi.Strip(m.View()); !strings.Contains(v, "POINT OF NO RETURN: window ends in 19m58s, a rollback takes ~30m0s") {
		t.Errorf("header:\n%s", strings.SplitN(v, "\n", 2)[0])
	}
}

func TestGraphFitsAnyWidth(t *testing.T) {
	m := feed(t, sized(120, 40), script())
	for _, w := range []int{60, 80, 120, 250} {
		g := ansi.Strip(renderGraph(m.run.Watch, w, 7, m.s, graphView{now: t0.Add(12 * time.Second), live: true}))
		for _, l := range strings.Split(g, "\n") {
			if ansi.StringWidth(l) > w {
				t.Errorf("width %d: line %q is %d wide", w, l, ansi.StringWidth(l))
			}
		}
		if !strings.Contains(g, "✗") {
			t.Errorf("width %d: the lost packet is not drawn", w)
		}
	}
}

// The message fits whatever size it has: wrapped to the width, cut to the height.
func TestTooSmallTerminalSaysSo(t *testing.T) {
	for _, size := range [][2]int{{60, 20}, {60, 16}, {30, 4}, {12, 2}, {1, 1}} {
		v := sized(size[0], size[1]).View()
		lines := strings.Split(v, "\n")
		if len(lines) > size[1] {
			t.Errorf("%v: %d lines", size, len(lines))
		}
		for _, l := range lines {
			if ansi.StringWidth(l) > size[0] && !strings.Contains(l, " ") { // a word longer than the width stays whole
				continue
			} else if ansi.StringWidth(l) > size[0] {
				t.Errorf("%v: line %q is wider than the terminal", size, l)
			}
		}
		if size[1] >= 3 && !strings.Contains(strings.ReplaceAll(v, "\n", " "), fmt.Sprintf("this one is %d×%d.", size[0], size[1])) {
			t.Errorf("%v: %q", size, v)
		}
	}
}

// Golden views at fixed sizes; go test ./ui -update rewrites them.
func TestGoldenViews(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {200, 50}} {
		t.Run(strings.Join([]string{itoa(size[0]), itoa(size[1])}, "x"), func(t *testing.T) {
			m := feed(t, sized(size[0], size[1]), script())
			got := ansi.Strip(m.View())
			for i, l := range strings.Split(got, "\n") {
				if w := ansi.StringWidth(l); w > size[0] {
					t.Errorf("line %d is %d wide, over %d: %q", i+1, w, size[0], l)
				}
			}
			path := filepath.Join("testdata", "console-"+itoa(size[0])+"x"+itoa(size[1])+".golden")
			if *update {
				os.WriteFile(path, []byte(got), 0o644)
			}
			want, err := os.ReadFile(path)
			if err != nil || string(want) != got {
				t.Errorf("view differs from %s (run with -update after checking it):\n%s", path, got)
			}
		})
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// BenchmarkRender renders a full frame at 200×50 with every pane busy.
func BenchmarkRender(b *testing.B) {
	m := busy(b, 200, 50)
	b.ResetTimer()
	for range b.N {
		_ = m.View()
	}
}

// BenchmarkEvent folds one batch of output into a step that already holds the most output the
// console keeps (2,000 lines), lays the detail out again and renders the frame: the cost of one
// event at the busiest, at 200×50.
func BenchmarkEvent(b *testing.B) {
	m := busy(b, 200, 50)
	ev := runbook.Event{Run: "r1", Type: runbook.EvOutput, Step: "migrate", Data: runbook.OutputData{Index: 0, Check: "journal", Host: "app",
		Lines: []runbook.Line{{Stream: "stdout", Text: "Dec 01 19:18:18 app-01 nginx[1203]: 10.20.0.1 - - GET /health HTTP/1.1 200"}}}}
	b.ResetTimer()
	for i := range b.N {
		ev.Seq = int64(100000 + i)
		next, _ := m.Update(engineEventMsg{[]runbook.Event{ev}})
		m = next.(App)
		_ = m.View()
	}
}

// busy is the scripted run at w×h with 2,000 lines of output in the running step.
func busy(b *testing.B, w, h int) App {
	m := New(Options{Now: func() time.Time { return t0 }})
	next, _ := m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	m = next.(App)
	evs := script()
	var lines []runbook.Line
	for i := range 2000 {
		lines = append(lines, runbook.Line{Stream: "stdout", Text: fmt.Sprintf("line %d of a long journalctl output, wide enough to wrap at eighty columns and then some more", i)})
	}
	evs = append(evs, runbook.Event{Seq: 16, Run: "r1", Type: runbook.EvOutput, Step: "migrate", Data: runbook.OutputData{Index: 0, Check: "journal", Host: "app", Lines: lines}})
	for _, ev := range evs {
		next, _ := m.Update(engineEventMsg{[]runbook.Event{ev}})
		m = next.(App)
	}
	return m
}

// A host's output and a check's summary reach the console as visible escapes, never as the
// control sequences they are: the frame has only the console's own styling.
func TestConsoleNeutralisesHostEscapes(t *testing.T) {
	evil := "FAIL\r\x1b[2K\x1b[1A✓ all checks passed \x1b]52;c;ZWNobyBwd25lZA==\x07 \u009b31m \u202eevil"
	m := feed(t, sized(160, 40), append(script()[:2], []runbook.Event{
		{Seq: 3, Run: "r1", Type: runbook.EvCmd, Step: "pre-checks", Data: runbook.CmdData{Index: 0, Check: "leak", Host: "app", Command: "cat evil"}},
		{Seq: 4, Run: "r1", Type: runbook.EvOutput, Step: "pre-checks", Data: runbook.OutputData{Index: 0, Host: "app", Lines: []runbook.Line{{Stream: "stdout", Text: evil}}}},
		{Seq: 5, Run: "r1", Type: runbook.EvCheck, Step: "pre-checks", Data: runbook.CheckData{Index: 0, Check: "leak", Host: "app", Result: runbook.Result{Outcome: runbook.Fail, Summary: evil, Evidence: []string{evil}}}},
	}...))
	view := m.View()
	for _, bad := range []string{"\x1b]52", "\x1b[1A", "\x1b[2K", "\x07", "\r", "\u009b", "\u202e"} {
		if strings.Contains(view, bad) {
			t.Errorf("the frame holds %q", bad)
		}
	}
	if !strings.Contains(ansi.Strip(view), `\x1b]52;c;`) {
		t.Errorf("the escape is not shown visibly:\n%s", ansi.Strip(view))
	}
}

// A lab run and an unsigned journal are marked in the header for the whole run, at any size.
func TestLabAndUnsignedMarkers(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {200, 50}} {
		m := New(Options{Now: func() time.Time { return t0.Add(2 * time.Second) }, Lab: true, Unsigned: true})
		next, _ := m.Update(tea.WindowSizeMsg{Width: size[0], Height: size[1]})
		m = feed(t, next.(App), script())
		v := ansi.Strip(m.View())
		lines := strings.Split(v, "\n")
		if !strings.Contains(lines[0], "LAB") || !strings.Contains(lines[0], "UNSIGNED") || !strings.Contains(v, "journal NOT signed") {
			t.Errorf("%v: header %q\n%s", size, lines[0], v)
		}
		for i, l := range lines {
			if w := ansi.StringWidth(l); w > size[0] {
				t.Errorf("%v: line %d is %d wide", size, i+1, w)
			}
		}
	}
	if v := ansi.Strip(feed(t, sized(80, 24), script()).View()); strings.Contains(v, "LAB") || strings.Contains(v, "UNSIGNED") {
		t.Errorf("a signed run outside the lab is marked:\n%s", v)
	}
}

// The point-of-no-return question says so, not "gate failed".
func TestWindowQuestionIsTitledForWhatItIs(t *testing.T) {
	p := newPrompt(&ask{q: runbook.Question{Step: "prepare", QuestionData: runbook.QuestionData{Kind: runbook.AskWindow, Prompt: "past the point of no return", Options: []runbook.Choice{runbook.Proceed, runbook.Abort}}}}, t0, newStyles(true))
	if got := p.title(); got != "POINT OF NO RETURN · prepare" {
		t.Errorf("title %q", got)
	}
}
