package runbook

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cutover/cutover/checks"
)

// waveVCenter is fakeVCenter for many VMs at once: safe for concurrent moves, a set of VMs whose
// relocation fails, and the most moves it saw at once through one host.
type waveVCenter struct {
	mu      sync.Mutex
	on      map[string]string
	fail    map[string]bool
	moves   []string
	busy    map[string]int
	maxBusy int
}

func newWaveVCenter(n int) *waveVCenter {
	f := &waveVCenter{on: map[string]string{}, fail: map[string]bool{}, busy: map[string]int{}}
	for i := 1; i <= n; i++ {
		f.on[fmt.Sprintf("app-%02d", i)] = "esx-a-01"
	}
	return f
}

func (f *waveVCenter) VMState(_ context.Context, vm string) (checks.VMState, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	h, ok := f.on[vm]
	if !ok {
		return checks.VMState{}, errors.New("no such VM " + vm)
	}
	return checks.VMState{Name: vm, Host: h, PowerState: "poweredOn", Tools: "guestToolsRunning"}, nil
}

func (f *waveVCenter) Locate(ctx context.Context, vm string) (checks.Placement, error) {
	st, err := f.VMState(ctx, vm)
	return checks.Placement{Host: st.Host, Cluster: "site", Pool: "Resources", Datastore: "ds"}, err
}

func (f *waveVCenter) TaskStatus(context.Context, string) (checks.TaskStatus, error) {
	return checks.TaskStatus{State: "success", Percent: 100}, nil
}
func (f *waveVCenter) CancelTask(context.Context, string) error { return nil }
func (f *waveVCenter) Preflight(context.Context, checks.Move) ([]string, []string, error) {
	return nil, nil, nil
}

func (f *waveVCenter) Relocate(_ context.Context, m checks.Move, progress func(checks.MoveProgress)) error {
	f.mu.Lock()
	from := f.on[m.VM]
	f.busy[from]++
	f.busy[m.Host]++
	f.maxBusy = max(f.maxBusy, f.busy[from], f.busy[m.Host])
	f.moves = append(f.moves, m.VM+"→"+m.Host)
	fail := f.fail[m.VM] && m.Host != "esx-a-01"
	f.mu.Unlock()
	time.Sleep(5 * time.Millisecond) // moves overlap, as vMotions do
	f.mu.Lock()
	defer f.mu.Unlock()
	f.busy[from]--
	f.busy[m.Host]--
	if fail {
		return errors.New("relocate " + m.VM + ": vCenter task failed: MigrationFault")
	}
	f.on[m.VM] = m.Host
	progress(checks.MoveProgress{Percent: 100, Stage: "success"})
	return nil
}

func waveBook(n int, wave string) string {
	var items []string
	for i := 1; i <= n; i++ {
		items = append(items, fmt.Sprintf("app-%02d", i))
	}
	return `
version: 1
runbooks:
  - name: t
    vars: {target: esx-b-01}
    steps:
      - name: tier
        wave:
          items: [` + strings.Join(items, ", ") + `]
` + wave + `
          steps:
            - name: move
              migrate: {vm: "{{ .vm }}", host: "{{ .target }}"}
              checks: [{kind: vm_on_host, vm: "{{ .vm }}", esx_host: "{{ .target }}"}]
              rollback:
                - name: move-back
                  migrate: {vm: "{{ .vm }}", host: "{{ .origin_host }}"}
                  checks: [{kind: vm_on_host, vm: "{{ .vm }}", esx_host: "{{ .origin_host }}"}]
`
}

func runWaveBook(t *testing.T, book string, vc *waveVCenter) (Outcome, *RunState, []Event) {
	t.Helper()
	h := newHarness(t, book, nil)
	h.cfg.VSphere = vc
	h.cfg.Forks = 8
	out := h.run(t, context.Background())
	return out, FoldEvents(h.rec.events), h.rec.events
}

func statuses(w *WaveState) string {
	var out []string
	for _, it := range w.Items {
		out = append(out, it.VM+":"+it.Status)
	}
	return strings.Join(out, " ")
}

func TestWaveRules(t *testing.T) {
	for _, c := range []struct {
		name, wave string
		fail       []string
		status     RunStatus
		items      string
		onB        []string // VMs that end on esx-b-01
	}{
		{"all move", "          serial: 2", nil, RunDone,
			"app-01:moved app-02:moved app-03:moved app-04:moved app-05:moved app-06:moved", []string{"app-01", "app-02", "app-03", "app-04", "app-05", "app-06"}},
		{"rollback_vm: only the failed VM, the rest move", "          serial: 2\n          max_failures: 1", []string{"app-03"}, RunDone,
			"app-01:moved app-02:moved app-03:rolled back app-04:moved app-05:moved app-06:moved", []string{"app-01", "app-02", "app-04", "app-05", "app-06"}},
		{"failures counted over the wave, not per batch", "          serial: 2\n          max_failures: 1", []string{"app-02", "app-05"}, RunAborted,
			"app-01:moved app-02:rolled back app-03:moved app-04:moved app-05:rolled back app-06:moved", []string{"app-01", "app-03", "app-04", "app-06"}},
		{"max_failures 0 stops the wave after the batch", "          serial: 2", []string{"app-03"}, RunAborted,
			"app-01:moved app-02:moved app-03:rolled back app-04:moved app-05:skipped app-06:skipped", []string{"app-01", "app-02", "app-04"}},
		{"rollback_batch moves its batch back", "          serial: 2\n          max_failures: 50%\n          on_failure: rollback_batch", []string{"app-03"}, RunDone,
			"app-01:moved app-02:moved app-03:rolled back app-04:rolled back app-05:moved app-06:moved", []string{"app-01", "app-02", "app-05", "app-06"}},
		{"rollback_wave moves every VM back and stops", "          serial: 2\n          max_failures: 3\n          on_failure: rollback_wave", []string{"app-03"}, RunAborted,
			"app-01:rolled back app-02:rolled back app-03:rolled back app-04:rolled back app-05:skipped app-06:skipped", nil},
		{"stop leaves the moved where they are", "          serial: 2\n          max_failures: 3\n          on_failure: stop", []string{"app-03"}, RunAborted,
			"app-01:moved app-02:moved app-03:failed app-04:moved app-05:skipped app-06:skipped", []string{"app-01", "app-02", "app-04"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			vc := newWaveVCenter(6)
			for _, vm := range c.fail {
				vc.fail[vm] = true
			}
			out, s, _ := runWaveBook(t, waveBook(6, c.wave), vc)
			w := s.Wave("tier")
			if w == nil {
				t.Fatal("no wave in the journal")
			}
			if out.Status != c.status || statuses(w) != c.items {
				t.Errorf("outcome %s %q\nitems %s\nwant   %s", out.Status, out.Reason, statuses(w), c.items)
			}
			var onB []string
			for i := 1; i <= 6; i++ {
				vm := fmt.Sprintf("app-%02d", i)
				if vc.on[vm] == "esx-b-01" {
					onB = append(onB, vm)
				}
			}
			if strings.Join(onB, " ") != strings.Join(c.onB, " ") {
				t.Errorf("on esx-b-01: %v, want %v", onB, c.onB)
			}
			for _, vm := range []string{"app-01", "app-02", "app-03", "app-04", "app-05", "app-06"} {
				n := 0
				for _, m := range vc.moves {
					if m == vm+"→esx-b-01" {
						n++
					}
				}
				if n > 1 {
					t.Errorf("%s moved %d times", vm, n)
				}
			}
		})
	}
}

// Every event of an item names it; an item's rollback is not the run's.
func TestWaveJournalNamesTheItem(t *testing.T) {
	vc := newWaveVCenter(4)
	vc.fail["app-02"] = true
	out, s, evs := runWaveBook(t, waveBook(4, "          serial: 2\n          max_failures: 1"), vc)
	if out.Status != RunDone || s.Rollback != nil {
		t.Fatalf("outcome %+v; run rollback %+v", out, s.Rollback)
	}
	for _, ev := range evs {
		if ev.Step == "" || ev.Step == "tier" {
			continue
		}
		if _, vm, _, ok := SplitItemStep(ev.Step); !ok || vm == "" {
			t.Errorf("event %s of %q names no item", ev.Type, ev.Step)
		}
	}
	it := s.Wave("tier").Item("app-01")
	if it.Origin != "esx-a-01" || it.Target != "esx-b-01" || it.Host != "esx-b-01" {
		t.Errorf("app-01: %+v", it)
	}
	if it := s.Wave("tier").Item("app-02"); !it.Undone || it.Host != "esx-a-01" || !strings.Contains(it.Reason, "MigrationFault") {
		t.Errorf("app-02: %+v", it)
	}
}

// vCenter's per-host limit: at most max_parallel_per_host moves through one host at once.
func TestWaveParallelPerHost(t *testing.T) {
	vc := newWaveVCenter(8)
	out, _, _ := runWaveBook(t, waveBook(8, "          max_parallel_per_host: 2"), vc)
	if out.Status != RunDone || vc.maxBusy > 2 || vc.maxBusy < 2 {
		t.Fatalf("outcome %+v, most moves at once through one host: %d (want 2)", out, vc.maxBusy)
	}
}

// A later step's failure rolls the whole run back: every VM the wave moved goes back.
func TestRunRollbackMovesTheWaveBack(t *testing.T) {
	vc := newWaveVCenter(4)
	book := waveBook(4, "          serial: 2") + `      - name: after
        checks: [{kind: vm_on_host, vm: app-01, esx_host: esx-c-09}]
`
	out, s, _ := runWaveBook(t, book, vc)
	if out.Status != RunRolledBack {
		t.Fatalf("outcome %+v", out)
	}
	for vm, h := range vc.on {
		if h != "esx-a-01" {
			t.Errorf("%s is on %s after the run's rollback", vm, h)
		}
	}
	if got := statuses(s.Wave("tier")); got != "app-01:rolled back app-02:rolled back app-03:rolled back app-04:rolled back" {
		t.Errorf("items %s", got)
	}
}

func TestWaveItemsFromFiles(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "vms.csv"), []byte("vm, address, zone\napp-01, 10.20.0.11, site-a\napp-02, 10.20.0.12, site-a\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "vms.yaml"), []byte("- {vm: app-01, address: 10.20.0.11}\n- app-02\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "dup.csv"), []byte("vm,address\napp-01,a\napp-01,b\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "novm.csv"), []byte("name,address\napp-01,a\n"), 0o644)
	book := func(items string) string {
		return "version: 1\nrunbooks:\n  - name: t\n    steps:\n      - name: tier\n        wave:\n          " + items + "\n          steps:\n            - name: move\n              migrate: {vm: \"{{ .vm }}\", host: esx-b-01}\n"
	}
	for _, c := range []struct{ items, want string }{
		{"items_file: vms.csv", ""},
		{"items_file: vms.yaml", ""},
		{"items_file: dup.csv", "VM \"app-01\" is in the wave twice (" + filepath.Join(dir, "dup.csv") + ":2 and " + filepath.Join(dir, "dup.csv") + ":3)"},
		{"items_file: novm.csv", "novm.csv:1: the header row names no vm column (it has name, address)"},
		{"items_file: nothere.csv", "no such file"},
		{"items: [{vm: app-01, target: x}, {address: 1.2.3.4}]", "item at line 7 has no vm"},
		{"items: [app-01]\n          serial: 0", "a batch of none moves nothing"},
		{"items: [app-01]\n          max_failures: 120%", "want a number or a percentage"},
		{"items: [app-01]\n          on_failure: rollback", "want rollback_vm, rollback_batch, rollback_wave or stop"},
		{"items: [\"app[1]\"]", "cannot hold [, ], / or control characters"},
		{"items_from: {vcenter: {folder: app-tier}}", ""},
		{"items_from: {vcenter: {tag: app, category: tier}, guest: address}", ""},
		{"items_from: {netbox: {cluster: SITE-A, tag: app-tier}}", ""},
		{"items_from: {vcenter: {folder: a}, netbox: {tag: b}}", "name one source: vcenter or netbox"},
		{"items_from: {}", "name one source: vcenter or netbox"},
		{"items_from: {vcenter: {recursive: true}}", "name a folder or a tag"},
		{"items_from: {vcenter: {folder: a, category: tier}}", "a category without a tag selects nothing"},
		{"items_from: {netbox: {status: active}}", "cutover does not move every VM NetBox has"},
		{"items_from: {vcenter: {folder: a}, guest: ip}", `want name or address, got "ip"`},
		{"items_from: {vcenter: {folder: a}}\n          items: [app-01]", "give items, items_file or items_from, one of them"},
		{"items_from: {vcenter: {fodler: a}}", "fodler"},
	} {
		file := filepath.Join(dir, "runbooks.yaml")
		_, err := Parse(file, []byte(book(c.items)))
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.items, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: err %v, want %q", c.items, err, c.want)
		}
	}
}

// interruptingVCenter cancels the run when the nth move starts: a kill in the middle of a wave.
type interruptingVCenter struct {
	*waveVCenter
	at     int
	cancel context.CancelFunc
	n      int
	failed string // the first VM to move fails its move (and is rolled back before the kill)
}

func (f *interruptingVCenter) Relocate(ctx context.Context, m checks.Move, progress func(checks.MoveProgress)) error {
	f.mu.Lock()
	f.n++
	n := f.n
	f.mu.Unlock()
	if n == 1 {
		f.mu.Lock()
		f.failed, f.fail[m.VM] = m.VM, true
		f.mu.Unlock()
	}
	if n == f.at {
		f.cancel()
		return ctx.Err()
	}
	return f.waveVCenter.Relocate(ctx, m, progress)
}

// A wave interrupted mid-way and resumed: no VM is moved twice, none is forgotten, and each moved
// one still goes back to where it was (its origin comes from the journal, not from where the
// resumed move found it).
func TestWaveResumeMovesNoVMTwice(t *testing.T) {
	vc := newWaveVCenter(6)
	// One move at a time, so that the kill finds the first batch half done.
	book := waveBook(6, "          serial: 4\n          max_parallel_per_host: 1\n          max_failures: 1") + `      - name: after
        checks: [{kind: vm_on_host, vm: app-01, esx_host: esx-c-09}]
`
	h := newHarness(t, book, nil)
	ctx, cancel := context.WithCancel(context.Background())
	iv := &interruptingVCenter{waveVCenter: vc, at: 3, cancel: cancel}
	h.cfg.VSphere = iv
	out := h.run(t, ctx)
	if out.Status != RunInterrupted {
		t.Fatalf("first run: %+v", out)
	}
	rs, err := RebuildResume(h.rec.events)
	if err != nil {
		t.Fatal(err)
	}
	h2 := newHarness(t, book, nil)
	h2.cfg.VSphere, h2.cfg.Resume, h2.cfg.RunID = vc, rs, rs.RunID
	h2.rec.events = append(h2.rec.events, h.rec.events...)
	out = h2.run(t, context.Background())
	if out.Status != RunRolledBack {
		t.Fatalf("resumed run: %+v", out)
	}
	// An item that had ended before the kill is not run again at all.
	ended := map[string]bool{}
	for _, ev := range h.rec.events {
		if d, ok := ev.Data.(WaveItemData); ok {
			ended[d.Item] = true
		}
	}
	// The VM that failed first was either rolled back before the kill or in its rollback then: a
	// resume must not try to move it again either way (its one move below).
	if len(ended) == 6 || len(vc.moves) < 2 {
		t.Fatalf("the kill was not mid-wave: %d items had ended, %d moves tried", len(ended), len(vc.moves))
	}
	starts := map[string]int{}
	for _, ev := range h2.rec.events {
		if d, ok := ev.Data.(StepStartData); ok && d.Phase == PhaseRun {
			if _, vm, step, ok := SplitItemStep(ev.Step); ok && step == "move" {
				starts[vm]++
			}
		}
	}
	for vm := range ended {
		if starts[vm] != 1 {
			t.Errorf("%s had ended before the kill, and its move step started %d times", vm, starts[vm])
		}
	}
	count := map[string]int{}
	for _, m := range vc.moves {
		count[m]++
	}
	if iv.failed == "" {
		t.Fatal("no move failed")
	}
	for i := 1; i <= 6; i++ {
		vm := fmt.Sprintf("app-%02d", i)
		if count[vm+"→esx-b-01"] != 1 {
			t.Errorf("%s moved to esx-b-01 %d times (moves %v)", vm, count[vm+"→esx-b-01"], vc.moves)
		}
		if vc.on[vm] != "esx-a-01" {
			t.Errorf("%s is on %s after the rollback: its origin was lost in the resume", vm, vc.on[vm])
		}
	}
}

// A question about an item names its VM, and the step it waits on is the item's.
func TestWaveQuestionNamesTheVM(t *testing.T) {
	vc := newWaveVCenter(2)
	vc.fail["app-02"] = true
	book := strings.Replace(waveBook(2, "          serial: 2\n          max_failures: 1"), "              checks: [{kind: vm_on_host, vm: \"{{ .vm }}\", esx_host: \"{{ .target }}\"}]\n              rollback:",
		"              checks: [{kind: vm_on_host, vm: \"{{ .vm }}\", esx_host: \"{{ .target }}\"}]\n              gate: {on_fail: ask}\n              rollback:", 1)
	h := newHarness(t, book, nil, Answer{Choice: Rollback})
	h.cfg.VSphere = vc
	h.run(t, context.Background())
	var asked []string
	for _, q := range h.decider.questions {
		asked = append(asked, q.Step+" | "+q.Prompt)
	}
	if len(asked) != 1 || !strings.HasPrefix(asked[0], "tier[app-02]/move | VM app-02: step move: ") {
		t.Errorf("questions: %q", asked)
	}
}

// Pre-checks of every VM run before the first batch moves anything; VMs failing them are not
// moved, and when they are more than max_failures allows nothing is.
func TestWavePreChecksFanOutFirst(t *testing.T) {
	book := func(wave string) string {
		return strings.Replace(waveBook(6, wave), "          steps:\n", "          steps:\n            - name: pre\n              checks: [{kind: vm_on_host, vm: \"{{ .vm }}\", esx_host: esx-a-01}]\n", 1)
	}
	for _, c := range []struct {
		name, wave string
		status     RunStatus
		moves      int
	}{
		{"within max_failures: the others move", "          serial: 2\n          max_failures: 2", RunDone, 4},
		{"past max_failures: nothing moves", "          serial: 2\n          max_failures: 1", RunAborted, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			vc := newWaveVCenter(6)
			vc.on["app-02"], vc.on["app-05"] = "esx-a-02", "esx-a-02" // not where the runbook expects them
			out, s, evs := runWaveBook(t, book(c.wave), vc)
			if out.Status != c.status || len(vc.moves) != c.moves {
				t.Fatalf("outcome %+v, moves %v", out, vc.moves)
			}
			if it := s.Wave("tier").Item("app-02"); it.Status != ItemFailed {
				t.Errorf("app-02: %+v", it)
			}
			lastPre, firstMove := -1, len(evs)
			for i, ev := range evs {
				if _, _, step, ok := SplitItemStep(ev.Step); ok && step == "pre" && ev.Type == EvStepEnd {
					lastPre = i
				}
				if _, ok := ev.Data.(MigrateData); ok && i < firstMove {
					firstMove = i
				}
			}
			if lastPre > firstMove {
				t.Errorf("a pre-check ended (event %d) after the first move began (event %d)", lastPre, firstMove)
			}
		})
	}
}
