package runbook

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cutover/cutover/checks/remote"
	"github.com/cutover/cutover/internal/testenv"
)

// reply is one scripted answer of the fake runner.
type reply struct {
	lines []string
	exit  int
	err   error
	block bool   // wait for the context to end (a hung command)
	then  func() // runs while the command "runs" (to move a fake clock)
}

// fakeRunner answers commands from a script, in order per command, and fails the test on a command
// it was not told to expect.
type fakeRunner struct {
	t       *testing.T
	mu      sync.Mutex
	script  map[string][]reply
	calls   []string
	started chan string
}

func (f *fakeRunner) Runner(host string) (remote.Runner, error) {
	if host == "down" {
		return nil, errors.New("ssh down: connection refused")
	}
	return onHostRunner{f, host}, nil
}

// onHostRunner lets a script answer per host: "web-2|cmd" is looked up before "cmd".
type onHostRunner struct {
	f    *fakeRunner
	host string
}

func (r onHostRunner) Run(ctx context.Context, cmd remote.Command, onLine func(remote.Line)) (remote.Result, error) {
	r.f.mu.Lock()
	_, perHost := r.f.script[r.host+"|"+cmd.String()]
	r.f.mu.Unlock()
	if perHost {
		cmd = remote.Command{Script: r.host + "|" + cmd.String()}
	}
	return r.f.Run(ctx, cmd, onLine)
}

func (f *fakeRunner) Zone(host string) string { return "zone-" + host }

func (f *fakeRunner) Run(ctx context.Context, cmd remote.Command, onLine func(remote.Line)) (remote.Result, error) {
	f.mu.Lock()
	key := cmd.String()
	f.calls = append(f.calls, key)
	rs := f.script[key]
	if len(rs) == 0 {
		f.mu.Unlock()
		f.t.Errorf("unexpected command %q", key)
		return remote.Result{}, errors.New("unexpected command")
	}
	r := rs[0]
	f.script[key] = rs[1:]
	f.mu.Unlock()
	if f.started != nil {
		f.started <- key
	}
	if r.then != nil {
		r.then()
	}
	for _, l := range r.lines {
		onLine(remote.Line{Stream: remote.Stdout, Text: l})
	}
	if r.block {
		<-ctx.Done()
		return remote.Result{ExitCode: -1}, ctx.Err()
	}
	return remote.Result{ExitCode: r.exit}, r.err
}

func (f *fakeRunner) assertDone() {
	f.t.Helper()
	for k, rs := range f.script {
		if len(rs) > 0 {
			f.t.Errorf("command %q expected %d more time(s)", k, len(rs))
		}
	}
}

// scriptedDecider answers questions in order and remembers them.
type scriptedDecider struct {
	answers   []Answer
	questions []Question
}

func (d *scriptedDecider) Decide(_ context.Context, q Question) (Answer, error) {
	d.questions = append(d.questions, q)
	if len(d.answers) == 0 {
		return Answer{}, errors.New("no scripted answer")
	}
	a := d.answers[0]
	d.answers = d.answers[1:]
	return a, nil
}

type memRecorder struct {
	events []Event
	failAt int64
}

func (m *memRecorder) Record(ev *Event) error {
	if m.failAt > 0 && ev.Seq == m.failAt {
		return errors.New("disk full")
	}
	m.events = append(m.events, *ev)
	return nil
}

// Checkpoint "signs" the number of events recorded so far, so a test can see what it covered.
func (m *memRecorder) Checkpoint() CheckpointData {
	return CheckpointData{Head: fmt.Sprint(len(m.events))}
}

// trace renders events as short lines, the way restic's mockPrinter traces progress.
func trace(evs []Event) []string {
	var out []string
	for _, ev := range evs {
		s := string(ev.Type)
		switch d := ev.Data.(type) {
		case StepStartData:
			s += fmt.Sprintf(" %s %s", ev.Step, d.Phase)
		case CmdData:
			s += fmt.Sprintf(" %s %s", ev.Step, d.Command)
		case OutputData:
			s += fmt.Sprintf(" %s %d", ev.Step, len(d.Lines))
		case CheckData:
			s += fmt.Sprintf(" %s %s %s", ev.Step, d.Check, d.Outcome)
		case GateData:
			s += fmt.Sprintf(" %s %s %d/%d", ev.Step, d.Verdict, d.Attempt, d.Attempts)
			if d.Next != "" {
				s += " " + d.Next
			}
		case QuestionData:
			s += fmt.Sprintf(" %s %s %s", ev.Step, d.Kind, d.Verdict)
		case DecisionData:
			s += fmt.Sprintf(" %s %s", ev.Step, d.Choice)
		case RollbackData:
			s += fmt.Sprintf(" %s [%s]", d.Trigger, strings.Join(d.Steps, " "))
		case StepEndData:
			s += fmt.Sprintf(" %s %s", ev.Step, d.Status)
		case CheckpointData:
			s += " " + ev.Step
		case RunEndData:
			s += " " + string(d.Status)
		}
		out = append(out, strings.TrimSpace(s))
	}
	return out
}

type harness struct {
	runner  *fakeRunner
	decider *scriptedDecider
	rec     *memRecorder
	sleeps  []time.Duration
	cfg     Config
}

func newHarness(t *testing.T, yaml string, script map[string][]reply, answers ...Answer) *harness {
	t.Helper()
	doc, err := Parse("test.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	rb := &doc.Runbooks[0]
	vals, err := rb.ResolveVars(nil, func(string) (string, bool) { return "", false }, map[string]string{"run_id": "r1"})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{runner: &fakeRunner{t: t, script: script}, decider: &scriptedDecider{answers: answers}, rec: &memRecorder{}}
	tick := time.Date(2026, 11, 28, 22, 0, 0, 0, time.UTC)
	var clockMu sync.Mutex // a wave's items read the clock at once
	h.cfg = Config{
		Runbook: rb, Values: vals, RunID: "r1", Operator: "op@test",
		Runners: h.runner, Decider: h.decider, Recorder: h.rec, Forks: 1,
		Clock: func() time.Time {
			clockMu.Lock()
			defer clockMu.Unlock()
			tick = tick.Add(time.Millisecond)
			return tick
		},
		Sleep: func(ctx context.Context, d time.Duration) error {
			clockMu.Lock()
			defer clockMu.Unlock()
			h.sleeps = append(h.sleeps, d)
			return ctx.Err()
		},
		FlushEvery: time.Hour,
	}
	return h
}

func (h *harness) run(t *testing.T, ctx context.Context) Outcome {
	t.Helper()
	out, err := New(h.cfg).Run(ctx)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return out
}

func assertTrace(t *testing.T, evs []Event, want ...string) {
	t.Helper()
	got := trace(evs)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("events:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	for i, ev := range evs {
		if ev.Seq != int64(i+1) || ev.Run != "r1" || ev.Time.IsZero() {
			t.Fatalf("event %d: seq %d run %q time %v", i, ev.Seq, ev.Run, ev.Time)
		}
	}
}

const twoSteps = `
version: 1
runbooks:
  - name: t
    vars: {unit: nginx}
    steps:
      - name: pre
        checks: [{kind: command, name: active, run: "systemctl is-active {{ .unit }}", match: "^active$"}]
      - name: restart
        command: {run: "systemctl restart {{ .unit }}"}
`

func TestEnginePass(t *testing.T) {
	h := newHarness(t, twoSteps, map[string][]reply{
		"cutover_unit=nginx; systemctl is-active \"${cutover_unit}\"": {{lines: []string{"active"}}},
		"cutover_unit=nginx; systemctl restart \"${cutover_unit}\"":   {{}},
	})
	out := h.run(t, context.Background())
	if out.Status != RunDone || out.ExitCode() != 0 {
		t.Errorf("outcome = %+v", out)
	}
	assertTrace(t, h.rec.events,
		"run.start", "checkpoint",
		"step.start pre run",
		"cmd pre cutover_unit=nginx; systemctl is-active \"${cutover_unit}\"",
		"output pre 1",
		"check pre active pass",
		"gate pre pass 1/1",
		"step.end pre passed",
		"checkpoint pre",
		"step.start restart run",
		"cmd restart cutover_unit=nginx; systemctl restart \"${cutover_unit}\"",
		"action restart systemctl restart nginx pass",
		"step.end restart passed",
		"checkpoint restart",
		"run.end done",
		"checkpoint",
	)
	h.runner.assertDone()
	start := h.rec.events[0].Data.(RunStartData)
	if start.Runbook != "t" || start.Operator != "op@test" || start.Vars["unit"] != "nginx" || strings.Join(start.Steps, ",") != "pre,restart" {
		t.Errorf("run.start = %+v", start)
	}
}

func TestEngineRetryThenPass(t *testing.T) {
	h := newHarness(t, `
version: 1
runbooks:
  - name: t
    steps:
      - name: wait-up
        checks: [{kind: command, name: up, run: "curl -fs http://app/health"}]
        gate: {retries: 3, interval: 2s}
`, map[string][]reply{"curl -fs http://app/health": {{exit: 7}, {exit: 22}, {}}})
	if out := h.run(t, context.Background()); out.Status != RunDone {
		t.Fatalf("outcome = %+v", out)
	}
	assertTrace(t, h.rec.events,
		"run.start", "checkpoint",
		"step.start wait-up run",
		"cmd wait-up curl -fs http://app/health",
		"check wait-up up fail",
		"gate wait-up fail 1/4 retry in 2s",
		"cmd wait-up curl -fs http://app/health",
		"check wait-up up fail",
		"gate wait-up fail 2/4 retry in 2s",
		"cmd wait-up curl -fs http://app/health",
		"check wait-up up pass",
		"gate wait-up pass 3/4",
		"step.end wait-up passed",
		"checkpoint wait-up",
		"run.end done",
		"checkpoint",
	)
	if len(h.sleeps) != 2 || h.sleeps[0] != 2*time.Second {
		t.Errorf("sleeps = %v", h.sleeps)
	}
}

const rollbackBook = `
version: 1
runbooks:
  - name: t
    steps:
      - name: a
        command: {run: "do a"}
        rollback: [{name: undo-a, command: {run: "undo a"}}]
      - name: b
        command: {run: "do b"}
        rollback:
          - {name: undo-b1, command: {run: "undo b1"}}
          - {name: undo-b2, command: {run: "undo b2"}, checks: [{kind: command, name: b-gone, run: "check b"}]}
      - name: c
        command: {run: "do c"}
        checks: [{kind: command, name: c-ok, run: "check c"}]
        rollback: [{name: undo-c, command: {run: "undo c"}}]
      - name: d
        command: {run: "do d"}
`

func TestEngineFailRollsBackInReverseOrder(t *testing.T) {
	h := newHarness(t, rollbackBook, map[string][]reply{
		"do a": {{}}, "do b": {{}}, "do c": {{}}, "check c": {{exit: 1}},
		"undo c": {{}}, "undo b1": {{}}, "undo b2": {{}}, "check b": {{}}, "undo a": {{}},
	})
	out := h.run(t, context.Background())
	if out.Status != RunRolledBack || out.ExitCode() != 1 || !strings.Contains(out.Reason, "step c: c-ok: exit 1, want 0") {
		t.Errorf("outcome = %+v", out)
	}
	assertTrace(t, h.rec.events,
		"run.start", "checkpoint",
		"step.start a run", "cmd a do a", "action a do a pass", "step.end a passed", "checkpoint a",
		"step.start b run", "cmd b do b", "action b do b pass", "step.end b passed", "checkpoint b",
		"step.start c run", "cmd c do c", "action c do c pass",
		"cmd c check c", "check c c-ok fail", "gate c fail 1/1",
		"step.end c failed", "checkpoint c",
		"rollback c [undo-c undo-b1 undo-b2 undo-a]",
		"step.start undo-c rollback", "cmd undo-c undo c", "action undo-c undo c pass", "step.end undo-c passed", "checkpoint undo-c",
		"step.start undo-b1 rollback", "cmd undo-b1 undo b1", "action undo-b1 undo b1 pass", "step.end undo-b1 passed", "checkpoint undo-b1",
		"step.start undo-b2 rollback", "cmd undo-b2 undo b2", "action undo-b2 undo b2 pass",
		"cmd undo-b2 check b", "check undo-b2 b-gone pass", "gate undo-b2 pass 1/1", "step.end undo-b2 passed", "checkpoint undo-b2",
		"step.start undo-a rollback", "cmd undo-a undo a", "action undo-a undo a pass", "step.end undo-a passed", "checkpoint undo-a",
		"run.end rolled-back", "checkpoint",
	)
	h.runner.assertDone()
	if undo := h.rec.events[21].Data.(StepStartData); undo.Undoes != "c" || undo.Index != 1 || undo.Of != 4 {
		t.Errorf("undo-c start = %+v", undo)
	}
}

func TestEngineFailedActionRollsBackItsOwnStep(t *testing.T) {
	h := newHarness(t, rollbackBook, map[string][]reply{
		"do a": {{}}, "do b": {{exit: 2}}, "undo b1": {{}}, "undo b2": {{}}, "check b": {{}}, "undo a": {{}},
	})
	if out := h.run(t, context.Background()); out.Status != RunRolledBack {
		t.Fatalf("outcome = %+v", out)
	}
	got := strings.Join(trace(h.rec.events), "\n")
	if !strings.Contains(got, "rollback b [undo-b1 undo-b2 undo-a]") {
		t.Errorf("events:\n%s", got)
	}
	h.runner.assertDone()
}

func TestEngineFailAborts(t *testing.T) {
	h := newHarness(t, `
version: 1
runbooks:
  - name: t
    steps:
      - name: pre
        checks: [{kind: command, name: disk, run: "df /"}]
        gate: {on_fail: abort}
        rollback: [{name: never, command: {run: "never"}}]
`, map[string][]reply{"df /": {{exit: 1}}})
	out := h.run(t, context.Background())
	if out.Status != RunAborted || out.ExitCode() != 1 {
		t.Errorf("outcome = %+v", out)
	}
	assertTrace(t, h.rec.events,
		"run.start", "checkpoint", "step.start pre run", "cmd pre df /", "check pre disk fail", "gate pre fail 1/1",
		"step.end pre failed", "checkpoint pre", "run.end aborted", "checkpoint",
	)
}

func TestEngineInconclusiveAsksEvenWhenPolicyIsRollback(t *testing.T) {
	h := newHarness(t, `
version: 1
runbooks:
  - name: t
    hosts: {down: {address: 192.0.2.1}}
    steps:
      - name: pre
        checks:
          - {kind: command, name: remote, host: down, run: "uptime"}
          - {kind: command, name: local, run: "uptime"}
        gate: {on_fail: rollback}
      - name: next
        command: {run: "echo next"}
`, map[string][]reply{"uptime": {{}}, "echo next": {{}}}, Answer{Choice: Proceed, Reason: "checked by hand"})
	out := h.run(t, context.Background())
	if out.Status != RunDone {
		t.Fatalf("outcome = %+v", out)
	}
	assertTrace(t, h.rec.events,
		"run.start", "checkpoint", "step.start pre run",
		"check pre remote inconclusive",
		"cmd pre uptime", "check pre local pass",
		"gate pre inconclusive 1/1",
		"question pre gate inconclusive", "decision pre proceed",
		"step.end pre overridden", "checkpoint pre",
		"step.start next run", "cmd next echo next", "action next echo next pass", "step.end next passed", "checkpoint next",
		"run.end done", "checkpoint",
	)
	q := h.decider.questions[0]
	if len(q.Checks) != 2 || q.Checks[0].Summary != "ssh down: connection refused" || q.Step != "pre" {
		t.Errorf("question evidence = %+v", q)
	}
	if d := h.rec.events[8].Data.(DecisionData); d.Reason != "checked by hand" || d.By != "op@test" {
		t.Errorf("decision = %+v", d)
	}
}

func TestEngineAskRetryThenRollback(t *testing.T) {
	h := newHarness(t, `
version: 1
runbooks:
  - name: t
    steps:
      - name: act
        command: {run: "migrate"}
        rollback: [{name: back, command: {run: "migrate back"}}]
        checks: [{kind: command, name: ping, run: "ping gw"}]
        gate: {on_fail: ask}
`, map[string][]reply{"migrate": {{}}, "ping gw": {{exit: 1}, {exit: 1}}, "migrate back": {{}}},
		Answer{Choice: Retry}, Answer{Choice: Rollback})
	if out := h.run(t, context.Background()); out.Status != RunRolledBack {
		t.Fatalf("outcome = %+v", out)
	}
	assertTrace(t, h.rec.events,
		"run.start", "checkpoint", "step.start act run", "cmd act migrate", "action act migrate pass",
		"cmd act ping gw", "check act ping fail", "gate act fail 1/1",
		"question act gate fail", "decision act retry",
		"cmd act ping gw", "check act ping fail", "gate act fail 1/1",
		"question act gate fail", "decision act rollback",
		"step.end act failed", "checkpoint act",
		"rollback act [back]",
		"step.start back rollback", "cmd back migrate back", "action back migrate back pass", "step.end back passed", "checkpoint back",
		"run.end rolled-back", "checkpoint",
	)
	if q := h.decider.questions[0]; strings.Join(choices(q.NeedReason), ",") != "abort,proceed" {
		t.Errorf("a failed gate must need a reason to proceed or abort: %v", q.NeedReason)
	}
}

func choices(cs []Choice) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = string(c)
	}
	return out
}

func TestEngineRollbackStepThatFails(t *testing.T) {
	book := `
version: 1
runbooks:
  - name: t
    steps:
      - name: a
        command: {run: "do a"}
        rollback: [{name: undo-a, command: {run: "undo a"}}]
      - name: b
        command: {run: "do b"}
        rollback: [{name: undo-b, command: {run: "undo b"}}]
      - name: c
        checks: [{kind: command, name: c-ok, run: "check c"}]
`
	t.Run("operator continues", func(t *testing.T) {
		h := newHarness(t, book, map[string][]reply{
			"do a": {{}}, "do b": {{}}, "check c": {{exit: 1}}, "undo b": {{exit: 1}}, "undo a": {{}},
		}, Answer{Choice: Proceed, Reason: "will fix b by hand"})
		out := h.run(t, context.Background())
		if out.Status != RunRollbackFailed || out.ExitCode() != 1 || !strings.Contains(out.Reason, "rollback step undo-b did not hold") {
			t.Errorf("outcome = %+v", out)
		}
		got := trace(h.rec.events)
		want := []string{
			"rollback c [undo-b undo-a]",
			"step.start undo-b rollback", "cmd undo-b undo b", "action undo-b undo b fail",
			"question undo-b rollback fail", "decision undo-b proceed", "step.end undo-b overridden", "checkpoint undo-b",
			"step.start undo-a rollback", "cmd undo-a undo a", "action undo-a undo a pass", "step.end undo-a passed", "checkpoint undo-a",
			"run.end rollback-failed", "checkpoint",
		}
		if tail := got[len(got)-len(want):]; strings.Join(tail, "\n") != strings.Join(want, "\n") {
			t.Errorf("events end:\n  %s\nwant:\n  %s", strings.Join(tail, "\n  "), strings.Join(want, "\n  "))
		}
		if q := h.decider.questions[0]; strings.Join(choices(q.Options), ",") != "retry,proceed,abort" {
			t.Errorf("rollback question options = %v", q.Options)
		}
		h.runner.assertDone()
	})
	t.Run("operator stops the rollback", func(t *testing.T) {
		h := newHarness(t, book, map[string][]reply{
			"do a": {{}}, "do b": {{}}, "check c": {{exit: 1}}, "undo b": {{exit: 1}},
		}, Answer{Choice: Abort, Reason: "vCenter is down"})
		out := h.run(t, context.Background())
		if out.Status != RunRollbackFailed || !strings.Contains(out.Reason, "rollback stopped at undo-b") {
			t.Errorf("outcome = %+v", out)
		}
		h.runner.assertDone()
	})
	t.Run("--yes continues the rollback", func(t *testing.T) {
		h := newHarness(t, book, map[string][]reply{
			"do a": {{}}, "do b": {{}}, "check c": {{exit: 1}}, "undo b": {{exit: 1}}, "undo a": {{}},
		})
		h.cfg.Decider = AutoDecider{}
		if out := h.run(t, context.Background()); out.Status != RunRollbackFailed {
			t.Errorf("outcome = %+v", out)
		}
		h.runner.assertDone()
	})
}

func TestEngineCancelledMidStep(t *testing.T) {
	h := newHarness(t, twoSteps, map[string][]reply{"cutover_unit=nginx; systemctl is-active \"${cutover_unit}\"": {{lines: []string{"activating"}, block: true}}})
	h.runner.started = make(chan string, 1)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-h.runner.started; cancel() }()
	out := h.run(t, ctx)
	if out.Status != RunInterrupted || out.ExitCode() != 130 {
		t.Errorf("outcome = %+v", out)
	}
	assertTrace(t, h.rec.events,
		"run.start", "checkpoint", "step.start pre run", "cmd pre cutover_unit=nginx; systemctl is-active \"${cutover_unit}\"", "output pre 1",
		"check pre active inconclusive",
		"decision pre abort",
		"step.end pre interrupted", "checkpoint pre", "run.end interrupted", "checkpoint",
	)
}

func TestEngineCancelledWhileAsking(t *testing.T) {
	h := newHarness(t, `
version: 1
runbooks:
  - name: t
    steps:
      - name: go
        confirm: Really?
        command: {run: "go"}
`, nil)
	ctx, cancel := context.WithCancel(context.Background())
	h.cfg.Decider = deciderFunc(func(ctx context.Context, q Question) (Answer, error) {
		cancel()
		<-ctx.Done()
		return Answer{}, ctx.Err()
	})
	if out := h.run(t, ctx); out.Status != RunInterrupted {
		t.Errorf("outcome = %+v", out)
	}
	assertTrace(t, h.rec.events, "run.start", "checkpoint", "step.start go run", "question go confirm", "decision go abort", "step.end go interrupted", "checkpoint go", "run.end interrupted", "checkpoint")
}

type deciderFunc func(context.Context, Question) (Answer, error)

func (f deciderFunc) Decide(ctx context.Context, q Question) (Answer, error) { return f(ctx, q) }

func TestEngineConfirmAbortWithoutReasonIsRefused(t *testing.T) {
	h := newHarness(t, `
version: 1
runbooks:
  - name: t
    vars: {vm: app-01}
    steps:
      - name: go
        confirm: "Move {{ .vm }}?"
        command: {run: "go"}
`, nil, Answer{Choice: Abort})
	out := h.run(t, context.Background())
	if out.Status != RunAborted || !strings.Contains(out.Reason, "abort needs a reason") {
		t.Errorf("outcome = %+v", out)
	}
	if q := h.decider.questions[0]; q.Prompt != "Move app-01?" {
		t.Errorf("prompt = %q", q.Prompt)
	}
}

func TestEngineStopsWhenTheJournalFails(t *testing.T) {
	h := newHarness(t, twoSteps, map[string][]reply{"cutover_unit=nginx; systemctl is-active \"${cutover_unit}\"": {{lines: []string{"active"}}}})
	h.rec.failAt = 4 // the output event
	out, err := New(h.cfg).Run(context.Background())
	if !errors.Is(err, ErrJournal) || out.Status != RunError || out.ExitCode() != 1 {
		t.Fatalf("outcome %+v, err %v", out, err)
	}
	if len(h.rec.events) != 3 {
		t.Errorf("recorded %d events after the failure: %v", len(h.rec.events), trace(h.rec.events))
	}
}

func TestEngineRedactsSecrets(t *testing.T) {
	doc, err := Parse("t.yaml", []byte(`
version: 1
runbooks:
  - name: t
    vars: {token: {env: TOKEN, secret: true}}
    steps:
      - name: call
        checks: [{kind: command, run: "curl -H X-Token:{{ .token }} http://app"}]
`))
	if err != nil {
		t.Fatal(err)
	}
	rb := &doc.Runbooks[0]
	vals, err := rb.ResolveVars(nil, func(string) (string, bool) { return "s3cr3t-t0ken", true }, nil)
	if err != nil {
		t.Fatal(err)
	}
	runner := &fakeRunner{t: t, script: map[string][]reply{
		"cutover_token=s3cr3t-t0ken; curl -H X-Token:\"${cutover_token}\" http://app": {{lines: []string{"echo: s3cr3t-t0ken"}, exit: 1}},
	}}
	rec := &memRecorder{}
	var watched []Event
	_, err = New(Config{Runbook: rb, Values: vals, RunID: "r1", Operator: "op", Runners: runner, Decider: AutoDecider{}, Recorder: rec, Watch: func(ev Event) { watched = append(watched, ev) }}).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	dump := fmt.Sprintf("%+v", rec.events)
	if strings.Contains(dump, "s3cr3t") {
		t.Errorf("secret reached the events: %s", dump)
	}
	if !strings.Contains(dump, "X-Token:[REDACTED]") || !strings.Contains(dump, "echo: [REDACTED]") || !strings.Contains(dump, "token:[secret]") {
		t.Errorf("redaction markers missing: %s", dump)
	}
	if len(watched) != len(rec.events) {
		t.Errorf("watch saw %d events, journal %d", len(watched), len(rec.events))
	}
}

func TestEngineBaselineAcrossSteps(t *testing.T) {
	h := newHarness(t, `
version: 1
runbooks:
  - name: t
    steps:
      - name: before
        checks: [{kind: command, name: listeners, run: "ss -tlnH", id: ports}]
      - name: after
        checks: [{kind: command, name: same-listeners, run: "ss -tlnH", baseline: ports}]
`, map[string][]reply{"ss -tlnH": {{lines: []string{"LISTEN :443", "LISTEN :22"}}, {lines: []string{"LISTEN :22"}}}})
	out := h.run(t, context.Background())
	// The failed gate triggers a rollback; with no rollback steps nothing is undone: aborted, and
	// it says so, never "rolled back".
	if out.Status != RunAborted || !strings.HasSuffix(out.Reason, "no rollback steps to run: nothing was undone") {
		t.Fatalf("outcome = %+v", out)
	}
	var after CheckData
	for _, ev := range h.rec.events {
		if cd, ok := ev.Data.(CheckData); ok && ev.Step == "after" {
			after = cd
		}
	}
	if after.Outcome != Fail || strings.Join(after.Evidence, "|") != "- LISTEN :443" {
		t.Errorf("after = %+v", after)
	}
}

func TestCombine(t *testing.T) {
	P, F, I := Pass, Fail, Inconclusive
	tests := []struct {
		req  Require
		in   []Verdict
		want Verdict
	}{
		{RequireAll, []Verdict{P, P}, P},
		{RequireAll, []Verdict{P, F}, F},
		{RequireAll, []Verdict{P, I}, I},
		{RequireAll, []Verdict{F, I}, F},
		{RequireAny, []Verdict{F, P}, P},
		{RequireAny, []Verdict{F, I}, I},
		{RequireAny, []Verdict{F, F}, F},
		{2, []Verdict{P, F, P}, P},
		{2, []Verdict{P, F, I}, I},
		{2, []Verdict{P, F, F}, F},
		{RequireAll, nil, P},
	}
	for _, tt := range tests {
		if got := Combine(tt.req, tt.in); got != tt.want {
			t.Errorf("Combine(%s, %v) = %s, want %s", tt.req, tt.in, got, tt.want)
		}
	}
}

func TestEngineGateTimeoutFails(t *testing.T) {
	replies := make([]reply, 200)
	for i := range replies {
		replies[i] = reply{exit: 1}
	}
	h := newHarness(t, `
version: 1
runbooks:
  - name: t
    steps:
      - name: converge
        checks: [{kind: command, name: synced, run: "check sync"}]
        gate: {retries: 150, interval: 10ms, timeout: 60ms}
`, map[string][]reply{"check sync": replies})
	h.cfg.Sleep = sleep // real time: the gate's own deadline must cut the retries short
	h.cfg.Clock = time.Now
	out := h.run(t, context.Background())
	if out.Status != RunAborted || !strings.Contains(out.Reason, "gate timed out after 60ms") {
		t.Fatalf("outcome = %+v", out)
	}
	var last GateData
	n := 0
	for _, ev := range h.rec.events {
		if g, ok := ev.Data.(GateData); ok {
			last, n = g, n+1
		}
	}
	if last.Verdict != Fail || last.Next != "timed out after 60ms" || n >= 151 {
		t.Errorf("last gate = %+v after %d attempts", last, n)
	}
}

func TestEngineStagedRestartStopsAtTheFirstBadHost(t *testing.T) {
	book := `
version: 1
runbooks:
  - name: t
    vars: {unit: nginx}
    hosts:
      web-1: {address: w1}
      web-2: {address: w2}
      web-3: {address: w3}
    steps:
      - name: rolling
        staged_restart:
          unit: "{{ .unit }}"
          hosts: [web-1, web-2, web-3]
          checks: [{kind: command, name: up, run: "curl -fs localhost/health"}]
          gate: {retries: 1}
        rollback: [{name: undo, command: {run: "page on-call"}}]
`
	restart := "LC_ALL=C systemctl restart -- nginx"
	h := newHarness(t, book, map[string][]reply{
		"web-1|" + restart: {{}}, "web-1|curl -fs localhost/health": {{}},
		"web-2|" + restart: {{}}, "web-2|curl -fs localhost/health": {{exit: 7}, {exit: 7}},
		"page on-call": {{}},
	})
	out := h.run(t, context.Background())
	if out.Status != RunRolledBack || !strings.Contains(out.Reason, "web-2 did not pass its gate after the restart") || !strings.Contains(out.Reason, "stopped after 2 of 3 hosts") {
		t.Fatalf("outcome = %+v", out)
	}
	assertTrace(t, h.rec.events,
		"run.start", "checkpoint", "step.start rolling run",
		"cmd rolling "+restart, "action rolling restart nginx on web-1 pass",
		"cmd rolling curl -fs localhost/health", "check rolling up pass", "gate rolling pass 1/2",
		"cmd rolling "+restart, "action rolling restart nginx on web-2 pass",
		"cmd rolling curl -fs localhost/health", "check rolling up fail", "gate rolling fail 1/2 retry in 0s",
		"cmd rolling curl -fs localhost/health", "check rolling up fail", "gate rolling fail 2/2",
		"action rolling restart nginx on web-1, web-2, web-3 fail",
		"step.end rolling failed", "checkpoint rolling",
		"rollback rolling [undo]",
		"step.start undo rollback", "cmd undo page on-call", "action undo page on-call pass", "step.end undo passed", "checkpoint undo",
		"run.end rolled-back", "checkpoint",
	)
	h.runner.assertDone()
	var hosts []string
	for _, ev := range h.rec.events {
		if c, ok := ev.Data.(CmdData); ok {
			hosts = append(hosts, c.Host)
		}
	}
	if strings.Join(hosts[:5], ",") != "web-1,web-1,web-2,web-2,web-2" {
		t.Errorf("command hosts = %v", hosts)
	}
}

// A local watch over real ICMP to loopback (root): the action runs inside the gated span and the
// clean gateway passes.
func TestEngineLocalPingWatchPasses(t *testing.T) {
	testenv.Root(t, "ICMP to loopback")
	h := newHarness(t, `
version: 1
runbooks:
  - name: t
    steps:
      - name: move
        command: {run: "move it"}
        watch: {ping: {target: 127.0.0.1, interval: 20ms, settle: 200ms, max_lost: 0}}
`, map[string][]reply{"move it": {{}}})
	h.cfg.Clock = time.Now
	if out := h.run(t, context.Background()); out.Status != RunDone {
		t.Fatalf("outcome %+v", out)
	}
	var phases []string
	samples := 0
	for _, ev := range h.rec.events {
		switch d := ev.Data.(type) {
		case WatchData:
			phases = append(phases, string(d.Phase)+":"+d.Verdict)
		case PingData:
			samples += len(d.Samples)
		}
	}
	if strings.Join(phases, ",") != "start:,settle:,end:pass" || samples < 5 {
		t.Errorf("watch phases %v, %d samples", phases, samples)
	}
}

// --yes proceeds over an inconclusive check, never over an action that could not tell whether it
// ran: skipping it would report a change that never happened.
func TestAutoDeciderNeverSkipsAnUnknownAction(t *testing.T) {
	h := newHarness(t, `
version: 1
runbooks:
  - name: t
    hosts: {down: {address: x}}
    steps:
      - name: change
        command: {host: down, run: "apply"}
      - name: after
        command: {run: "echo after"}
`, nil)
	h.cfg.Decider = AutoDecider{}
	out := h.run(t, context.Background())
	if out.Status != RunAborted || !strings.Contains(out.Reason, "--yes: an action whose outcome is unknown is not skipped") {
		t.Errorf("outcome %+v", out)
	}
}

func TestEngineWindowMilestonesAndHardStop(t *testing.T) {
	book := `
version: 1
runbooks:
  - name: t
    window: {start: "2026-11-28T20:00:00Z", end: "2026-11-28T22:40:00Z", rollback_estimate: 30m, hard_stop: true}
    steps:
      - name: a
        command: {run: "slow a"}
      - name: b
        command: {run: "do b"}
`
	// 22:00 at the start; every clock reading moves 1ms, and "slow a" takes 15 minutes.
	now := time.Date(2026, 11, 28, 22, 0, 0, 0, time.UTC)
	h := newHarness(t, book, map[string][]reply{"slow a": {{then: func() { now = now.Add(15 * time.Minute) }}}}, Answer{Choice: Abort, Reason: "too late; next window"})
	h.cfg.Clock = func() time.Time { now = now.Add(time.Millisecond); return now }
	out := h.run(t, context.Background())
	if out.Status != RunAborted || !strings.Contains(out.Reason, "stopped at the window's hard stop before b: too late; next window") {
		t.Fatalf("outcome %+v", out)
	}
	var phases []string
	for _, ev := range h.rec.events {
		if d, ok := ev.Data.(WindowEventData); ok {
			phases = append(phases, d.Phase)
		}
	}
	if strings.Join(phases, ",") != "open,no-return" {
		t.Errorf("window phases %v", phases)
	}
	if q := h.decider.questions[0]; q.Kind != AskWindow || !strings.Contains(q.Prompt, "point of no return has passed. Start step b anyway?") {
		t.Errorf("question %+v", q)
	}
	h2 := newHarness(t, book, map[string][]reply{"slow a": {{}}})
	now = time.Date(2026, 11, 28, 22, 20, 0, 0, time.UTC)
	h2.cfg.Clock = func() time.Time { now = now.Add(time.Millisecond); return now }
	h2.cfg.Decider = AutoDecider{}
	if out := h2.run(t, context.Background()); out.Status != RunAborted {
		t.Errorf("--yes must stop at the hard stop: %+v", out)
	}
}

// A gate's checks that run commands on hosts form a gathering; those that only ask vCenter or
// NetBox are not members (they would hold the others' batch), and a gate with more checks than
// run at once has none.
func TestGatheringOfAGatesChecks(t *testing.T) {
	cmd, unit := CheckSpec{Kind: "command"}, CheckSpec{Kind: "unit_active"}
	vm, nb, ep := CheckSpec{Kind: "vm_powered_on"}, CheckSpec{Kind: "netbox_vm"}, CheckSpec{Kind: "endpoint"}
	for _, tc := range []struct {
		name   string
		checks []CheckSpec
		forks  int
		want   []bool // nil: no gathering
	}{
		{"host checks", []CheckSpec{cmd, unit, ep}, 50, []bool{true, true, true}},
		{"vCenter and NetBox are not members", []CheckSpec{cmd, vm, unit, nb}, 50, []bool{true, false, true, false}},
		{"one host check", []CheckSpec{cmd, vm, nb}, 50, nil},
		{"more checks than forks", []CheckSpec{cmd, unit, cmd}, 2, nil},
		{"as many as forks", []CheckSpec{cmd, unit}, 2, []bool{true, true}},
	} {
		g, member := gatheringOf(tc.checks, tc.forks)
		if (g != nil) != (tc.want != nil) {
			t.Errorf("%s: gathering %v, want one: %v", tc.name, g != nil, tc.want != nil)
			continue
		}
		want := tc.want
		if want == nil {
			want = make([]bool, len(tc.checks))
		}
		if !slices.Equal(member, want) {
			t.Errorf("%s: members %v, want %v", tc.name, member, want)
		}
	}
}
