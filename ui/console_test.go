package ui

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"

	"github.com/cutover/cutover/runbook"
	"github.com/cutover/cutover/runbook/transcript"
)

// The console as an operator meets it, on a real lab journal: cutover lab --plain --yes --fault
// relocate-fails (ui/testdata/relocate-fails.jsonl).

func labJournal(t *testing.T) []runbook.Event {
	t.Helper()
	evs, err := transcript.ReadEvents(filepath.Join("testdata", "relocate-fails.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// upTo is the journal up to and including the first event of type typ.
func upTo(t *testing.T, evs []runbook.Event, typ runbook.EventType) []runbook.Event {
	t.Helper()
	for i, ev := range evs {
		if ev.Type == typ {
			return evs[:i+1]
		}
	}
	t.Fatalf("no %s event", typ)
	return nil
}

// console is a live console at w×h whose clock stands at the last event plus after.
func console(t testing.TB, o Options, w, h int, evs []runbook.Event, after time.Duration) App {
	t.Helper()
	at := evs[len(evs)-1].Time.Add(after)
	o.Now = func() time.Time { return at }
	m := New(o)
	next, _ := m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	m = next.(App)
	for _, ev := range evs {
		next, _ := m.Update(engineEventMsg{[]runbook.Event{ev}})
		m = next.(App)
	}
	next, _ = m.Update(tickMsg(at))
	return next.(App)
}

// send presses keys; their commands do not run (a cursor's blink would wait for its timer).
func send(m App, keys ...string) App {
	for _, k := range keys {
		next, _ := m.Update(press(k))
		m = next.(App)
	}
	return m
}

// act presses one key and runs its command, as the program would: an answer or a pause.
func act(m App, k string) App {
	next, cmd := m.Update(press(k))
	runCmd(cmd)
	return next.(App)
}

// paneWords is the detail pane's words in reading order: wrapped lines rejoined.
func paneWords(frame string) string {
	var words []string
	for _, l := range strings.Split(frame, "\n")[2:] {
		r := []rune(l)
		if len(r) < stepsWidth+4 || (r[0] != '│' && r[0] != '┃') {
			continue
		}
		words = append(words, strings.Fields(strings.Trim(string(r[stepsWidth+2:]), "│┃"))...)
	}
	return strings.Join(words, " ")
}

func checkFrame(t *testing.T, frame string, w, h int) {
	t.Helper()
	lines := strings.Split(frame, "\n")
	if len(lines) != h {
		t.Errorf("the frame has %d rows, the terminal %d", len(lines), h)
	}
	for i, l := range lines {
		if lw := ansi.StringWidth(l); lw > w {
			t.Errorf("row %d is %d wide, over %d: %q", i+1, lw, w, l)
		}
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		os.WriteFile(path, []byte(got), 0o644)
	}
	if want, err := os.ReadFile(path); err != nil || string(want) != got {
		t.Errorf("frame differs from %s (go test ./ui -run %s -args -update, after reading it):\n%s", path, t.Name(), got)
	}
}

// The reason a vMotion failed is read in full without a key, at 80×24 and at 200×50; the header
// says where it is.
func TestRelocateFailureReadableInFull(t *testing.T) {
	evs := labJournal(t)
	end := upTo(t, evs, runbook.EvRunEnd)
	reason := end[len(end)-1].Data.(runbook.RunEndData).Reason
	if !strings.Contains(reason, "(MigrationFault)") {
		t.Fatalf("the journal's reason: %q", reason)
	}
	for _, size := range [][2]int{{80, 24}, {200, 50}} {
		m := console(t, Options{Lab: true}, size[0], size[1], evs, time.Second)
		frame := ansi.Strip(m.View())
		checkFrame(t, frame, size[0], size[1])
		if !strings.Contains(paneWords(frame), strings.Join(strings.Fields(reason), " ")) {
			t.Errorf("%v: the reason is not in the detail pane in full:\n%s", size, frame)
		}
		if size[0] == 80 && !strings.Contains(strings.Split(frame, "\n")[1], "(in full: detail)") {
			t.Errorf("%v: the header's cut reason does not say where the rest is:\n%s", size, frame)
		}
		golden(t, "relocate-fails-"+itoa(size[0])+"x"+itoa(size[1]), frame)

		// The failed step in full: the action's whole fault and the evidence of every check.
		m = send(m, "k", "k", "k", "enter")
		full := ansi.Strip(m.View())
		checkFrame(t, full, size[0], size[1])
		words := strings.Join(strings.Fields(strings.NewReplacer("┃", " ", "│", " ").Replace(full)), " ")
		for _, want := range []string{"migrate", "The vMotion failed because the destination host did not receive data from the source host on the vMotion network. (MigrationFault)"} {
			if !strings.Contains(words, want) {
				t.Errorf("%v: the full view lacks %q:\n%s", size, want, full)
			}
		}
		if m = send(m, "esc"); m.fullOpen {
			t.Errorf("esc does not close the full view")
		}
	}
}

// The confirm question does not lock the screen: esc leaves it to read the pre-checks' evidence,
// p there answers nothing, space pauses without answering, d brings the question back, p answers.
func TestConfirmCanBeLeftToReadTheEvidence(t *testing.T) {
	evs := upTo(t, labJournal(t), runbook.EvQuestion)
	q := evs[len(evs)-1]
	var paused []bool
	a := &ask{q: runbook.Question{Step: q.Step, QuestionData: q.Data.(runbook.QuestionData)}, reply: make(chan runbook.Answer, 1)}
	m := console(t, Options{Decider: NewDecider(), Pause: func(p bool) { paused = append(paused, p) }}, 80, 24, evs, 0)
	next, _ := m.Update(askMsg{a})
	m = next.(App)
	next, _ = m.Update(tickMsg(q.Time.Add(42 * time.Second))) // the operator thinks
	m = next.(App)
	frame := ansi.Strip(m.View())
	for _, want := range []string{"CONFIRM · migrate", "[p] proceed", "[a] abort*", "WAITING FOR YOU"} {
		if !strings.Contains(frame, want) {
			t.Errorf("the question lacks %q:\n%s", want, frame)
		}
	}
	// The step's clock does not count the operator's thinking as running time.
	if !regexp.MustCompile(`›\? migrate\s+0:42`).MatchString(frame) {
		t.Errorf("the waiting step's marker and wait:\n%s", frame)
	}

	m = send(m, "esc", "k")
	frame = ansi.Strip(m.View())
	checkFrame(t, frame, 80, 24)
	if strings.Contains(frame, "[p] proceed") || !strings.Contains(frame, "d answers: CONFIRM · migrate · 0:42") {
		t.Errorf("after esc the question steps aside and says how to come back:\n%s", frame)
	}
	if !strings.Contains(paneWords(frame), "✓ unit_active nginx [app]: nginx.service active (running)") {
		t.Errorf("the pre-checks' results cannot be read while the question waits:\n%s", frame)
	}
	m = send(m, "p", "r", "b", "a")
	if len(a.reply) != 0 {
		t.Fatal("a question key answered a question that was not open")
	}
	if frame = ansi.Strip(m.View()); !strings.Contains(frame, "the question is not open: d opens it, then a answers") {
		t.Errorf("a key that did nothing says why:\n%s", frame)
	}

	m = act(m, " ")
	if len(a.reply) != 0 || len(paused) != 1 || !paused[0] {
		t.Fatalf("space: pause calls %v, answers %d", paused, len(a.reply))
	}
	if frame = ansi.Strip(m.View()); !strings.Contains(frame, "pausing after this step (space: don't)") || !strings.Contains(frame, "WAITING FOR YOU") {
		t.Errorf("pausing says so at once:\n%s", frame)
	}
	m = act(send(m, "d"), " ") // inside the question too, space pauses (here: takes the pause back)
	if len(a.reply) != 0 || len(paused) != 2 || paused[1] {
		t.Fatalf("space in the question: pause calls %v, answers %d", paused, len(a.reply))
	}
	m = act(m, "p")
	if got := <-a.reply; got.Choice != runbook.Proceed {
		t.Errorf("answer %+v", got)
	}
	if m.prompt != nil || !m.follow || m.selected != 1 {
		t.Errorf("after the answer: prompt %v, follow %v, selected %d", m.prompt, m.follow, m.selected)
	}
}

// colourCodes finds SGR sequences that set a colour (30–37, 38;…, 40–47, 48;…, 90–97, 100–107).
var sgr = regexp.MustCompile(`\x1b\[([0-9;]*)m`)

func colourCodes(frame string) []string {
	var out []string
	for _, m := range sgr.FindAllStringSubmatch(frame, -1) {
		for _, p := range strings.Split(m[1], ";") {
			if len(p) == 2 && (p[0] == '3' || p[0] == '4' || p[0] == '9') && p[1] != '9' || len(p) == 3 && p[:2] == "10" {
				out = append(out, m[0])
				break
			}
		}
	}
	return out
}

// trueColour renders with a true-colour profile for the test (go test's stdout is no terminal, so
// lipgloss would otherwise drop every colour and the NO_COLOR check could not fail).
func trueColour(t *testing.T) {
	before := lipgloss.ColorProfile()
	lipgloss.SetColorProfile(termenv.TrueColor)
	t.Cleanup(func() { lipgloss.SetColorProfile(before) })
}

// Under NO_COLOR the frame has no colour code at all, and selection and focus still show.
func TestNoColor(t *testing.T) {
	trueColour(t)
	evs := labJournal(t)
	mid := upTo(t, evs, runbook.EvProgress)
	if c := colourCodes(console(t, Options{}, 200, 50, mid, 0).View()); len(c) == 0 {
		t.Fatal("the colour frame has no colour: the check below could not fail")
	}
	for _, evs := range [][]runbook.Event{mid, evs} {
		for _, size := range [][2]int{{80, 24}, {200, 50}} {
			m := console(t, Options{NoColor: true, Lab: true, Unsigned: true}, size[0], size[1], evs, 0)
			for _, frame := range []string{m.View(), send(m, "k", "tab").View(), send(m, "/", "n", "g", "i", "n", "x").View(), send(m, "?").View(), send(m, "k", "z").View()} {
				if c := colourCodes(frame); len(c) > 0 {
					t.Errorf("%v: colour codes under NO_COLOR: %q", size, c[:min(len(c), 5)])
				}
			}
			plain := ansi.Strip(m.View())
			if !regexp.MustCompile(`(?m)^┃›\S `).MatchString(plain) {
				t.Errorf("%v: the selected step is not marked:\n%s", size, plain)
			}
			focused := ansi.Strip(send(m, "tab").View())
			if strings.Count(focused, "┏") != 1 || !strings.Contains(focused, "│›") {
				t.Errorf("%v: the focused pane is not told apart by its border:\n%s", size, focused)
			}
		}
	}
}

// Search marks its matches, keeps the frame's height, and esc clears it from any state.
func TestSearch(t *testing.T) {
	trueColour(t)
	m := console(t, Options{}, 120, 40, labJournal(t), 0)
	m = send(m, "k", "k", "k", "k") // pre-checks: their output has nginx
	m = send(m, "/", "n", "g", "i", "n", "x", "enter")
	frame := m.View()
	plain := ansi.Strip(frame)
	checkFrame(t, plain, 120, 40)
	if !strings.HasPrefix(plain, " cutover · stretched-vlan-vmotion") {
		t.Errorf("the title went off the top:\n%s", plain)
	}
	if !strings.Contains(plain, "/nginx") || !strings.Contains(plain, "matching /nginx/") {
		t.Errorf("the search is not shown:\n%s", plain)
	}
	if !strings.Contains(frame, "\x1b[7;1mnginx") && !strings.Contains(frame, "\x1b[1;7mnginx") {
		t.Errorf("matches are not marked:\n%q", frame)
	}
	m = send(m, "esc")
	if plain = ansi.Strip(m.View()); m.query != "" || strings.Contains(plain, "/nginx") {
		t.Errorf("esc after the search did not clear it:\n%s", plain)
	}
	// esc while typing clears it too.
	if m = send(m, "/", "x", "esc"); m.query != "" || m.search.Focused() {
		t.Errorf("esc while typing: query %q", m.query)
	}
}

// A shadow sees that the operator is asked, and what; it is not offered keys that do nothing there.
func TestShadowSeesTheQuestion(t *testing.T) {
	evs := upTo(t, labJournal(t), runbook.EvQuestion)
	m := console(t, Options{Mode: "SHADOW"}, 120, 40, evs, 42*time.Second)
	frame := ansi.Strip(m.View())
	for _, want := range []string{"WAITING FOR THE OPERATOR", "operator asked 0:42 ago: Move app-01 from esx-a-01 (SITE-A) to esx-b-01 (SITE-B)?"} {
		if !strings.Contains(frame, want) {
			t.Errorf("the shadow lacks %q:\n%s", want, frame)
		}
	}
	keys := ansi.Strip(send(m, "?").View())
	for _, gone := range []string{"pause", "space", "in a question", "back to the waiting question"} {
		if strings.Contains(frame, gone) || strings.Contains(keys, gone) {
			t.Errorf("the shadow offers %q:\n%s\n%s", gone, frame, keys)
		}
	}
	if m = send(m, " ", "p", "d"); m.flash != "" && !strings.Contains(m.flash, "no question") {
		t.Errorf("flash %q", m.flash)
	}
}

// The operator sees how many shadows follow, and `?` names them.
func TestOperatorSeesItsShadows(t *testing.T) {
	m := console(t, Options{Shadows: func() []string { return []string{"alice@laptop (SHA256:abc)", "bob (SHA256:def)"} }}, 120, 40, upTo(t, labJournal(t), runbook.EvStepStart), 0)
	if head := strings.Split(ansi.Strip(m.View()), "\n")[0]; !strings.Contains(head, "2 watching") {
		t.Errorf("header %q", head)
	}
	if keys := ansi.Strip(send(m, "?").View()); !strings.Contains(keys, "2 shadows watching:") || !strings.Contains(keys, "alice@laptop (SHA256:abc)") {
		t.Errorf("keys:\n%s", keys)
	}
}

// Replay's `?` lists replay's keys.
func TestReplayKeys(t *testing.T) {
	m := New(Options{Replay: &Replay{Events: labJournal(t), Speed: 1}})
	next, _ := m.Update(tea.WindowSizeMsg{Width: 100, Height: 30})
	keys := ansi.Strip(send(next.(App), "?").View())
	for _, want := range []string{"KEYS · REPLAY", "play / pause the replay", "next / previous event", "faster / slower", "the selected step in full"} {
		if !strings.Contains(keys, want) {
			t.Errorf("replay's keys lack %q:\n%s", want, keys)
		}
	}
	if strings.Contains(keys, "pause after this step") {
		t.Errorf("replay offers the run's pause:\n%s", keys)
	}
}

// README's key table is the console's: every key this console answers, with the same words.
func TestREADMEKeyTable(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(readme), "| key | in the console |\n|---|---|\n")
	if !ok {
		t.Fatal("README has no key table (| key | in the console |)")
	}
	var got []string
	for _, l := range strings.Split(table, "\n") {
		if !strings.HasPrefix(l, "| ") {
			break
		}
		got = append(got, l)
	}
	var want []string
	k := newKeys("")
	for _, b := range k.All() {
		want = append(want, "| `"+b.Help().Key+"` | "+b.Help().Desc+" |")
	}
	for _, b := range newKeys("REPLAY").replayOnly() {
		want = append(want, "| `"+b.Help().Key+"` | "+b.Help().Desc+" (replay) |")
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("README's key table:\n%s\nthe console's:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// A run that proceeded over a failure never ends plain DONE.
func TestOverriddenRunSaysSo(t *testing.T) {
	evs := labJournal(t)
	run := evs[0].Run
	ev := func(seq int, typ runbook.EventType, step string, d any) runbook.Event {
		return runbook.Event{Seq: int64(seq), Run: run, Time: evs[0].Time, Type: typ, Step: step, Data: d}
	}
	script := []runbook.Event{evs[0],
		ev(2, runbook.EvStepStart, "pre-checks", runbook.StepStartData{Phase: runbook.PhaseRun}),
		ev(3, runbook.EvStepEnd, "pre-checks", runbook.StepEndData{Status: runbook.StepOverridden, Reason: "clock: offset 5s; operator proceeded: ntp fixed by hand"}),
		ev(4, runbook.EvRunEnd, "", runbook.RunEndData{Status: runbook.RunDone}),
	}
	frame := ansi.Strip(console(t, Options{}, 120, 40, script, 0).View())
	if head := strings.Split(frame, "\n")[0]; !strings.HasSuffix(strings.TrimSpace(head), "DONE (1 failure overridden)") {
		t.Errorf("header %q", head)
	}
	if !strings.Contains(frame, "run ended: done (1 failure overridden: pre-checks)") {
		t.Errorf("status:\n%s", frame)
	}
}

// Any sequence of keys, at any size the console lays out in, in any mode, leaves a frame that fits
// the terminal: no key combination panics or pushes a row off the screen.
func TestAnyKeysKeepTheFrame(t *testing.T) {
	evs := labJournal(t)
	keys := []string{"j", "k", "tab", "enter", "z", "esc", "f", "/", "n", "g", "G", "?", "d", " ", "p", "[", "]", "left", "right", "q", "s", "w", "y", "x"}
	rnd := uint64(1)
	next := func(n int) int { rnd = rnd*6364136223846793005 + 1442695040888963407; return int(rnd>>33) % n }
	for _, mode := range []string{"", "SHADOW"} {
		for _, size := range [][2]int{{80, 24}, {81, 25}, {120, 40}, {200, 50}} {
			for _, cut := range []int{1, 3, 30, len(evs) / 2, len(evs)} {
				m := console(t, Options{Mode: mode, Note: func(string) bool { return true }}, size[0], size[1], evs[:cut], time.Second)
				for range 60 {
					k := keys[next(len(keys))]
					if k == "q" || k == "ctrl+c" {
						continue
					}
					m = send(m, k)
					checkFrame(t, ansi.Strip(m.View()), size[0], size[1])
					if t.Failed() {
						t.Fatalf("mode %q size %v after %d events, key %q", mode, size, cut, k)
					}
				}
			}
		}
	}
}

// n writes a handoff note the engine journals; a shadow cannot.
func TestHandoffNote(t *testing.T) {
	var got []string
	m := console(t, Options{Note: func(text string) bool { got = append(got, text); return true }}, 120, 40, upTo(t, labJournal(t), runbook.EvCheck), 0)
	m = send(m, "n")
	if frame := ansi.Strip(m.View()); !strings.Contains(frame, "HANDOFF NOTE") {
		t.Fatalf("n does not open the note:\n%s", frame)
	}
	for _, r := range "ARP cache on leaf-3 was stale; cleared by hand" {
		next, _ := m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
		m = next.(App)
	}
	next, cmd := m.Update(press("enter"))
	m = next.(App)
	next, _ = m.Update(runCmd(cmd))
	m = next.(App)
	if len(got) != 1 || got[0] != "ARP cache on leaf-3 was stale; cleared by hand" || !strings.Contains(m.flash, "note journaled") {
		t.Errorf("notes %q, flash %q", got, m.flash)
	}
	// esc drops a note; an empty one is not sent.
	m = send(m, "n", "x", "esc", "n", "enter")
	if len(got) != 1 || m.note == nil {
		t.Errorf("notes %q, note open %v", got, m.note != nil)
	}
	sh := send(console(t, Options{Mode: "SHADOW"}, 120, 40, upTo(t, labJournal(t), runbook.EvCheck), 0), "n")
	if sh.note != nil || strings.Contains(ansi.Strip(send(sh, "?").View()), "handoff note") {
		t.Error("a shadow may not write a note")
	}
}

// A wave's journal (lab --vms 6, app-03's vMotion failing) in the console: any keys keep the frame,
// and its VMs' steps are there to browse.
func TestWaveJournalKeepsTheFrame(t *testing.T) {
	evs, err := transcript.ReadEvents(filepath.Join("testdata", "wave.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	keys := []string{"j", "k", "tab", "enter", "z", "esc", "f", "g", "G", "?", "w", "y", "s", "[", "]", "v", "o", "v", "j"}
	for _, size := range [][2]int{{80, 24}, {200, 50}} {
		for _, cut := range []int{len(evs) / 3, len(evs)} {
			m := console(t, Options{Mode: "SHADOW"}, size[0], size[1], evs[:cut], time.Second)
			for i := range 80 {
				m = send(m, keys[i*7%len(keys)])
				checkFrame(t, ansi.Strip(m.View()), size[0], size[1])
				if t.Failed() {
					t.Fatalf("size %v after %d events, key %d", size, cut, i)
				}
			}
		}
	}
	m := console(t, Options{}, 200, 50, evs, time.Second)
	if frame := ansi.Strip(m.View()); !strings.Contains(frame, "↩  app-03 move ") {
		t.Errorf("the VMs' steps are not in the list:\n%s", frame)
	}
}

// The wave view: the summary bar, a row per VM, the one that did not move first with o; its story in
// the detail and its own watch in the graph; enter opens its steps.
func TestWaveView(t *testing.T) {
	evs, err := transcript.ReadEvents(filepath.Join("testdata", "wave.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range [][2]int{{80, 24}, {200, 50}} {
		m := console(t, Options{}, size[0], size[1], evs, time.Second)
		m = send(m, "v")
		frame := ansi.Strip(m.View())
		checkFrame(t, frame, size[0], size[1])
		for _, want := range []string{"6 VMs: 5 moved · 1 back", "0 failed · 0 to go", "app-01", "app-06", "app-01 · batch 1 of 3 · moved", "moved  esx-a-01 → esx-b-01   now esx-b-01"} {
			if !strings.Contains(frame, want) {
				t.Errorf("%v: the wave view lacks %q:\n%s", size, want, frame)
			}
		}
		m = send(m, "o")
		frame = ansi.Strip(m.View())
		golden(t, "wave-"+itoa(size[0])+"x"+itoa(size[1]), frame)
		if !strings.Contains(frame, "app-03 · batch 2 of 3 · rolled back") || !strings.Contains(frame, "[4/6 move-app-tier[app-03]/move]") && size[0] == 200 {
			t.Errorf("%v: o does not put app-03 (rolled back) first with its watch:\n%s", size, frame)
		}
		m = send(m, "enter")
		if st := m.run.Steps[m.selected]; st.Name != "move-app-tier[app-03]/move-back" || m.waveView {
			t.Errorf("%v: enter opened %q (wave view %v)", size, st.Name, m.waveView)
		}
	}
	// x shows one kind of VM; / keeps those whose name, host, state or reason holds the text.
	m := send(console(t, Options{}, 120, 40, evs, time.Second), "v")
	rows := func() string {
		var vms []string
		for _, it := range m.waveRows() {
			vms = append(vms, it.VM)
		}
		return strings.Join(vms, " ")
	}
	for _, step := range []struct{ keys, rows, line string }{
		{"x", "app-03", "1 of 6: in trouble"},
		{"x", "", "0 of 6: moving"},
		{"x", "", "0 of 6: to go"},
		{"x", "app-01 app-02 app-04 app-05 app-06", "5 of 6: moved"},
		{"x", "app-01 app-02 app-03 app-04 app-05 app-06", ""},
		{"/esx-b-02 enter", "app-02 app-04 app-06", "3 of 6: /esx-b-02"},
		{"x", "", "0 of 6: in trouble /esx-b-02"},
		{"esc", "app-03", "1 of 6: in trouble"},
		{"/ROLLED enter", "app-03", "1 of 6: in trouble /ROLLED"},
	} {
		for _, k := range strings.Fields(step.keys) {
			if strings.HasPrefix(k, "/") && len(k) > 1 {
				m = send(m, "/")
				for _, r := range k[1:] {
					m = send(m, string(r))
				}
				continue
			}
			m = send(m, k)
		}
		frame := ansi.Strip(m.View())
		checkFrame(t, frame, 120, 40)
		if rows() != step.rows || (step.line != "" && !strings.Contains(frame, step.line)) || (step.line == "" && strings.Contains(frame, " of 6:")) {
			t.Errorf("after %q: rows %q, want %q; line %q:\n%s", step.keys, rows(), step.rows, step.line, frame)
		}
		if step.rows == "" && !strings.Contains(frame, "no VM shows: x shows all") {
			t.Errorf("after %q: an empty filter says nothing:\n%s", step.keys, frame)
		}
	}
	if m := send(console(t, Options{}, 120, 40, labJournal(t), time.Second), "v"); !strings.Contains(ansi.Strip(m.View()), "no wave has started in this run (yet)") {
		t.Error("v on a run without a wave says nothing")
	}
}

// BenchmarkWaveRender is the wave view of a 200-VM wave at 200×50, every VM's move and watch in
// the fold (600 step rows), the newest VM's watch in the graph: the frame an operator watches a
// large wave in.
func BenchmarkWaveRender(b *testing.B) {
	t0 := time.Date(2026, 12, 1, 23, 0, 0, 0, time.UTC)
	seq := int64(0)
	var evs []runbook.Event
	add := func(typ runbook.EventType, step string, d any) {
		seq++
		evs = append(evs, runbook.Event{Seq: seq, Run: "r1", Time: t0.Add(time.Duration(seq) * time.Millisecond), Type: typ, Step: step, Data: d})
	}
	var vms []string
	for i := 1; i <= 200; i++ {
		vms = append(vms, fmt.Sprintf("app-%03d", i))
	}
	add(runbook.EvRunStart, "", runbook.RunStartData{Runbook: "wave", Steps: []string{"tier"}})
	add(runbook.EvStepStart, "tier", runbook.StepStartData{Index: 1, Of: 1, Phase: runbook.PhaseRun})
	add(runbook.EvWave, "tier", runbook.WaveData{Items: vms, BatchSize: 20, Batches: 10, MaxFailures: 20, Rule: runbook.RollbackVM, ParallelPerHost: 4})
	a, bb := &runbook.Placement{Host: "esx-a-01"}, &runbook.Placement{Host: "esx-b-01"}
	for _, vm := range vms {
		for _, s := range []string{"pre", "move", "post"} {
			step := runbook.ItemStep("tier", vm, s)
			add(runbook.EvStepStart, step, runbook.StepStartData{Phase: runbook.PhaseRun})
			if s == "move" {
				add(runbook.EvMigrate, step, runbook.MigrateData{Phase: runbook.MigrateOrigin, From: a})
				add(runbook.EvWatch, step, runbook.WatchData{Phase: runbook.WatchStart, Target: "10.20.0.1", From: "vm"})
				var samples [][3]int64
				for k := range 25 {
					samples = append(samples, [3]int64{int64(k), t0.UnixMilli() + int64(seq)*1 + int64(k)*200, 300 + int64(k%4)*20})
				}
				add(runbook.EvPing, step, runbook.PingData{Target: "10.20.0.1", From: "vm", Samples: samples})
				add(runbook.EvMigrate, step, runbook.MigrateData{Phase: runbook.MigrateDone, From: a, To: bb})
				add(runbook.EvWatch, step, runbook.WatchData{Phase: runbook.WatchEnd, Verdict: "pass", Stats: &runbook.WatchStats{Sent: 25, Lost: 1}})
			}
			add(runbook.EvStepEnd, step, runbook.StepEndData{Status: runbook.StepPassed})
		}
		add(runbook.EvWaveItem, "tier", runbook.WaveItemData{Item: vm, Batch: 1, Status: runbook.ItemMoved})
	}
	m := console(b, Options{}, 200, 50, evs, time.Second)
	m = send(m, "v")
	m = send(m, "G")
	b.ResetTimer()
	for i := range b.N {
		m.waveSel = i % 200
		m.refresh()
		_ = m.View()
	}
}
