package runbook

import (
	"context"
	"errors"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/cutover/cutover/checks"
	"github.com/cutover/cutover/checks/remote"
)

// ErrJournal wraps a failure to record an event: the engine stops, since it may not act on what it
// cannot record.
var ErrJournal = errors.New("journal")

// Recorder persists an event before the engine moves on (the journal). It may fill in ev.Data of a
// checkpoint event. An error stops the run.
type Recorder interface {
	// Record writes ev (a killed process loses nothing of it); a Recorder that is also a Syncer
	// makes it durable in Sync, which emit calls outside its lock so that events emitted at once
	// share one disk flush.
	Record(ev *Event) error
	// Checkpoint signs what has been recorded so far: the chain head, the key and the signature
	// (empty when the journal is not signed; Error says why a signature could not be made).
	Checkpoint() CheckpointData
}

// Syncer makes the events recorded up to seq durable.
type Syncer interface {
	Sync(seq int64) error
}

// Runners hands out the runner of a host of the runbook ("local" is this machine) and tells its
// network zone.
type Runners interface {
	Runner(host string) (remote.Runner, error)
	Zone(host string) string
}

// Config is everything one run needs. Runbook, Values, Runners, Decider and Recorder are required.
type Config struct {
	Runbook  *Runbook
	File     string // the runbook file, for the journal
	FileSum  string // its SHA-256, for the journal
	Values   Values
	RunID    string
	Operator string
	Runners  Runners
	Decider  Decider
	Recorder Recorder
	// Watch sees every event after it was recorded, in order (the plain printer, the TUI's feed).
	// It is called on the engine's goroutines and must not block for long.
	Watch func(Event)
	// Forks bounds how many checks of a gate run at once (default 50).
	Forks int
	// Clock and Sleep are time.Now and a context-aware sleep unless set (tests set them).
	Clock func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
	// FlushEvery is how often live output is batched into one event (default 100ms).
	FlushEvery time.Duration
	// VSphere migrates VMs and answers the vm_* checks; nil when the runbook needs no vCenter.
	VSphere checks.Migrator
	// IPAM answers the ipam checks; nil when the runbook needs no NetBox.
	IPAM checks.IPAM
	// Secrets are more values to redact than the secret vars (the vCenter password).
	Secrets []string
	// WindowOverride is the operator's reason for starting outside the change window.
	WindowOverride string
	// Resume continues a run from its journal instead of starting one (RunID must be its id).
	Resume *Resume
	// Approvals collects sign-offs for steps with an approval rule.
	Approvals Approvals
	// Notes are what clients connected before the run report while it runs (vCenter ended the
	// session and cutover logged in again); each is journaled as a note where it arrives.
	Notes <-chan NoteData
	// Release, if set, lets the clients go when the run ends, however it ends (logging out of
	// vCenter, whose sessions per user are capped); what it reports through Notes is journaled
	// before the run's end.
	Release func()
}

// Approvals waits for the sign-offs a step needs: each a signature over the request's message by
// a key other than the operator's, checked before it is returned.
type Approvals interface {
	Wait(ctx context.Context, message string, needed int) ([]ApprovalData, error)
}

// Outcome is how a run ended, and the process exit code that goes with it.
type Outcome struct {
	Status RunStatus
	Reason string
}

// ExitCode maps the outcome to cutover's exit codes: 0 done, 1 rolled back or aborted, 130
// interrupted.
func (o Outcome) ExitCode() int {
	switch o.Status {
	case RunDone:
		return 0
	case RunInterrupted:
		return 130
	}
	return 1
}

// Engine runs one runbook once. A wave's item runs on an engine of its own (forItem) that shares
// the run's event stream and pause, and keeps its own vars, baselines and watches.
type Engine struct {
	cfg       Config
	redaction *redaction
	*stream
	*pause
	prefix string // an item's engine: "wave[vm]/", which every step name it journals starts with

	baseMu    sync.Mutex
	baselines map[string][]string
	runtime   Values                     // vars set during the run (origin_host...), guarded by baseMu
	hostNames map[string]string          // host references seen → names, for labels; guarded by baseMu
	breaches  map[string]<-chan struct{} // per step, a watch's breach a move may act on (on_breach: cancel)
	watches   map[string]*watchRun       // per step, the watch beside its action

	windowMu    sync.Mutex
	windowPhase string

	skipAction map[string]bool // a resumed run's step whose action already finished

	waves     map[string][]*itemRun // a wave step's items, for the run's rollback; guarded by baseMu
	moveSlots *hostSlots            // vMotions at once per ESXi host, shared by a wave's items
}

// New prepares an engine; call Run once.
func New(cfg Config) *Engine {
	if cfg.Forks <= 0 {
		cfg.Forks = 50
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleep
	}
	if cfg.FlushEvery <= 0 {
		cfg.FlushEvery = 100 * time.Millisecond
	}
	e := &Engine{cfg: cfg, redaction: newRedaction(append(cfg.Values.Secrets(), cfg.Secrets...)), stream: &stream{}, pause: &pause{},
		baselines: map[string][]string{}, runtime: Values{}, skipAction: map[string]bool{}}
	if rs := cfg.Resume; rs != nil {
		e.seq = rs.Seq
		maps.Copy(e.baselines, rs.Baselines)
		maps.Copy(e.runtime, rs.Runtime)
	}
	return e
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Run runs the runbook to its end: done, rolled back, aborted or interrupted (ctx cancelled). The
// error is non-nil only when the journal failed.
func (e *Engine) Run(ctx context.Context) (Outcome, error) {
	ctx, e.cancel = context.WithCancelCause(ctx)
	defer e.cancel(nil)
	start := e.cfg.Clock()
	if rs := e.cfg.Resume; rs != nil {
		e.emit(EvResume, "", ResumeData{Operator: e.cfg.Operator, Completed: slices.Sorted(maps.Keys(rs.Completed)), InFlight: rs.InFlight, Rollback: rs.Rollback != nil, Dropped: rs.Dropped})
		e.emit(EvCheckpoint, "", nil) // the resuming operator signs what the resume stands on
		if rs.Rollback != nil {
			stopNotes := e.journalNotes()
			out := e.continueRollback(ctx, rs)
			stopNotes()
			return e.finish(out, start)
		}
	} else {
		e.emit(EvRunStart, "", e.runStart())
		if e.cfg.WindowOverride != "" {
			e.emit(EvDecision, "", DecisionData{Choice: "override-window", Reason: e.redact(e.cfg.WindowOverride), By: e.cfg.Operator})
		}
		// Signed at once: a run interrupted in its first step can then be resumed on trust.
		e.emit(EvCheckpoint, "", nil)
	}
	e.windowCheck()
	stopWatch := e.watchWindow(ctx)
	defer stopWatch()
	stopNotes := e.journalNotes()
	out := e.runSteps(ctx)
	stopNotes() // before the run's end: a note belongs to the run
	return e.finish(out, start)
}

// journalNotes journals the notes that arrive while the run goes on; the returned func stops it,
// journaling what had already arrived.
func (e *Engine) journalNotes() func() {
	if e.cfg.Notes == nil {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case n := <-e.cfg.Notes:
				e.note(n)
			case <-done:
				return
			}
		}
	}()
	return func() {
		close(done)
		wg.Wait()
		e.drainNotes()
	}
}

// drainNotes journals the notes already waiting.
func (e *Engine) drainNotes() {
	for {
		select {
		case n := <-e.cfg.Notes:
			e.note(n)
		default:
			return
		}
	}
}

// runSteps runs the steps in order, a resumed run from the first it had not completed, until one
// fails (rolling back or aborting as its gate says) or all pass.
func (e *Engine) runSteps(ctx context.Context) Outcome {
	rb := e.cfg.Runbook
	var completed []int
	for i := range rb.Steps {
		st := &rb.Steps[i]
		if e.cfg.Resume != nil {
			done, stop := e.resumeStep(ctx, st)
			if stop != nil {
				return *stop
			}
			if done {
				completed = append(completed, i)
				continue
			}
		}
		e.waitIfPaused(ctx, st.Name)
		if stop, reason := e.hardStop(ctx, st.Name); stop {
			if ctx.Err() != nil {
				return Outcome{Status: RunInterrupted, Reason: reason}
			}
			return Outcome{Status: RunAborted, Reason: reason}
		}
		r := e.runStep(ctx, st, PhaseRun, i+1, len(rb.Steps), "")
		if r.status == StepPassed || r.status == StepOverridden {
			completed = append(completed, i)
			continue
		}
		switch r.next {
		case Rollback:
			return e.rollback(ctx, i, completed, r.reason)
		case Abort:
			return Outcome{Status: RunAborted, Reason: r.reason}
		}
		return Outcome{Status: RunInterrupted, Reason: r.reason}
	}
	return Outcome{Status: RunDone}
}

// finish journals the run's end and its last checkpoint.
func (e *Engine) finish(out Outcome, start time.Time) (Outcome, error) {
	if err := e.journalErr(); err != nil {
		return Outcome{Status: RunError, Reason: err.Error()}, err
	}
	if e.cfg.Release != nil {
		e.cfg.Release()
		if e.cfg.Notes != nil {
			e.drainNotes()
		}
	}
	e.emit(EvRunEnd, "", RunEndData{Status: out.Status, Reason: out.Reason, Duration: ms(e.cfg.Clock().Sub(start))})
	e.mu.Lock()
	e.ended = true
	e.mu.Unlock()
	e.emit(EvCheckpoint, "", nil)
	if err := e.journalErr(); err != nil {
		return Outcome{Status: RunError, Reason: err.Error()}, err
	}
	return out, nil
}

// values are the vars plus those set during the run.
func (e *Engine) values() Values {
	e.baseMu.Lock()
	defer e.baseMu.Unlock()
	if len(e.runtime) == 0 {
		return e.cfg.Values
	}
	vals := make(Values, len(e.cfg.Values)+len(e.runtime))
	for k, v := range e.cfg.Values {
		vals[k] = v
	}
	for k, v := range e.runtime {
		vals[k] = v
	}
	return vals
}

// setRuntime records a var set during the run, unless it is already set: the first migrate of a
// run records the origin that rollback must return to.
func (e *Engine) setRuntime(name, value string) bool {
	e.baseMu.Lock()
	defer e.baseMu.Unlock()
	if _, ok := e.runtime[name]; ok {
		return false
	}
	e.runtime[name] = Value{Text: value}
	return true
}

func (e *Engine) runStart() RunStartData {
	rb := e.cfg.Runbook
	d := RunStartData{Runbook: rb.Name, Description: rb.Description, File: e.cfg.File, FileSHA256: e.cfg.FileSum, Operator: e.cfg.Operator, Vars: map[string]string{}}
	for _, st := range rb.Steps {
		d.Steps = append(d.Steps, st.Name)
	}
	for _, k := range slices.Sorted(maps.Keys(e.cfg.Values)) {
		v := e.cfg.Values[k]
		if v.Secret {
			d.Vars[k] = "[secret]"
		} else {
			d.Vars[k] = e.redact(v.Text)
		}
	}
	if w := rb.Window; w != nil {
		d.Window = &WindowData{Start: w.Start.Time, End: w.End.Time, RollbackEstimate: ms(w.RollbackEstimate.Std())}
		d.Override = e.redact(e.cfg.WindowOverride)
	}
	d.Waves = rb.journaledItems(e.redact)
	return d
}
