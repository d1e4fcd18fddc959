package runbook

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/cutover/cutover/checks"
)

// runMigrate moves a VM: locate it (the first time in a run, its placement becomes origin_*),
// pre-flight with vCenter, relocate with progress, and confirm where it landed. A failed vCenter
// task fails the action, which fires the step's rollback trigger.
func (e *Engine) runMigrate(ctx context.Context, st *Step, attempt int) CheckData {
	vals := e.values()
	a := st.Migrate
	m := checks.Move{VM: a.VM.Render(vals, nil), Host: a.Host.Render(vals, nil), Pool: a.Pool.Render(vals, nil), Datastore: a.Datastore.Render(vals, nil)}
	if a.Priority != "" {
		m.Priority = a.Priority + "Priority"
	}
	cd := CheckData{Index: ActionIndex, Check: fmt.Sprintf("migrate %s to %s", m.VM, e.hostName(m.Host)), Kind: "migrate", Host: "vcenter", Attempt: attempt}
	start := e.cfg.Clock()
	cd.Result = e.migrate(ctx, st.Name, m)
	cd.Duration = ms(e.cfg.Clock().Sub(start))
	e.finishCheck(&cd)
	e.emit(EvAction, st.Name, cd)
	return cd
}

func (e *Engine) migrate(ctx context.Context, step string, m checks.Move) Result {
	vs := e.cfg.VSphere
	if vs == nil {
		return Result{Outcome: Inconclusive, Summary: "no vCenter connection: set GOVC_URL (or run the lab)"}
	}
	if m.VM == "" || m.Host == "" {
		return Result{Outcome: Fail, Summary: fmt.Sprintf("migrate needs a VM and a host, got vm %q host %q (was the origin recorded?)", m.VM, m.Host)}
	}
	from, err := vs.Locate(ctx, m.VM)
	if err != nil {
		return Result{Outcome: Inconclusive, Summary: err.Error()}
	}
	origin := placementOf(from)
	e.learnName(origin)
	// A wave's moves share vCenter's per-host vMotion limit: wait for a slot on both hosts.
	release, err := e.moveSlots.acquire(ctx, origin.Host, m.Host)
	if err != nil {
		return Result{Outcome: Inconclusive, Summary: "waiting for a vMotion slot: " + err.Error()}
	}
	defer release()
	e.emit(EvMigrate, step, MigrateData{Phase: MigrateOrigin, Move: moveOf(m), From: origin})
	// The origin is recorded by reference: a rollback must find this host, pool and datastore
	// even where their names repeat (every cluster's root pool is "Resources").
	o := origin.origin()
	if e.setRuntime("origin_host", o["origin_host"]) {
		for _, k := range []string{"origin_pool", "origin_datastore", "origin_cluster"} {
			e.setRuntime(k, o[k])
		}
	}
	if origin.holds(m) {
		e.emit(EvMigrate, step, MigrateData{Phase: MigrateSkipped, Move: moveOf(m), From: origin, To: origin})
		return Result{Outcome: Pass, Summary: fmt.Sprintf("%s already runs on %s: nothing to move", m.VM, origin.Host)}
	}

	warnings, errs, err := vs.Preflight(ctx, m)
	if err != nil {
		return Result{Outcome: Inconclusive, Summary: "pre-flight: " + err.Error()}
	}
	e.emit(EvMigrate, step, MigrateData{Phase: MigratePreflight, Move: moveOf(m), From: origin, Warnings: warnings, Errors: errs})
	if len(errs) > 0 {
		return Result{Outcome: Fail, Summary: "vCenter pre-flight refuses the move: " + strings.Join(errs, "; "), Evidence: errs}
	}
	if len(warnings) > 0 {
		a, ok := e.ask(ctx, step, QuestionData{Kind: AskWarning, Prompt: fmt.Sprintf("vCenter warns about moving %s to %s: %s. Move anyway?", m.VM, m.Host, strings.Join(warnings, "; ")),
			Options: []Choice{Proceed, Abort}, NeedReason: []Choice{Proceed, Abort}}, nil)
		if !ok || a.Choice != Proceed {
			return Result{Outcome: Fail, Summary: "migration not started: pre-flight warnings: " + strings.Join(warnings, "; "), Evidence: warnings}
		}
	}

	breach := e.breachSignal(step)
	if breach != nil {
		select {
		case <-breach: // on_breach: cancel, and the gateway broke already: nothing is started
			e.emit(EvMigrate, step, MigrateData{Phase: MigrateBreach, Move: moveOf(m), From: origin, Then: "not started"})
			return Result{Outcome: Fail, Summary: "the gateway watch broke before the move started (on_breach: cancel): not moving " + m.VM}
		default:
		}
	}
	e.emit(EvMigrate, step, MigrateData{Phase: MigrateStart, Move: moveOf(m), From: origin})
	t0 := e.cfg.Clock()
	mw := e.watchMove(ctx, step, m, origin, breach)
	err = vs.Relocate(ctx, m, func(p checks.MoveProgress) {
		mw.progress(p)
		if IsSwitchover(p.Stage) {
			e.switchedOver(step, e.cfg.Clock())
		}
		e.emit(EvProgress, step, ProgressData{VM: m.VM, Task: p.Task, Percent: p.Percent, Stage: p.Stage, Elapsed: ms(p.Elapsed)})
	})
	task, canceled := mw.end()
	took := e.cfg.Clock().Sub(t0)
	if ctx.Err() != nil {
		return e.interruptedMove(ctx, step, m, origin, task, took)
	}
	if err != nil {
		e.emit(EvMigrate, step, MigrateData{Phase: MigrateFailed, Move: moveOf(m), From: origin, Duration: ms(took), Error: err.Error()})
		if canceled {
			return Result{Outcome: Fail, Summary: "the gateway watch broke before the switch-over, so the vMotion was cancelled (on_breach: cancel): " + err.Error()}
		}
		return Result{Outcome: Fail, Summary: err.Error()}
	}
	to, err := vs.Locate(ctx, m.VM)
	if err != nil {
		return Result{Outcome: Inconclusive, Summary: "moved, but cannot confirm where: " + err.Error()}
	}
	landed := placementOf(to)
	e.emit(EvMigrate, step, MigrateData{Phase: MigrateDone, Move: moveOf(m), From: origin, To: landed, Duration: ms(took)})
	if !landed.is(m.Host) {
		return Result{Outcome: Fail, Summary: fmt.Sprintf("the vCenter task succeeded but %s runs on %s, not %s", m.VM, to.Host, m.Host)}
	}
	return Result{Outcome: Pass, Summary: fmt.Sprintf("%s moved %s → %s in %s", m.VM, from.Host, to.Host, took.Round(100*time.Millisecond)),
		Evidence: []string{fmt.Sprintf("from %s/%s/%s", from.Cluster, from.Host, from.Datastore), fmt.Sprintf("to %s/%s/%s", to.Cluster, to.Host, to.Datastore)}}
}

// interruptedMove is the end of a move the run stopped waiting for (abort, Ctrl-C, q): the task
// may go on in vCenter, so vCenter is asked, on a fresh bounded context, where the VM is and where
// the task is, and the answer is journaled and becomes the step's word. Nobody leaves a window
// not knowing where the VM is.
func (e *Engine) interruptedMove(ctx context.Context, step string, m checks.Move, from *Placement, task string, took time.Duration) Result {
	ask, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	vs := e.cfg.VSphere
	d := MigrateData{Phase: MigrateInterrupted, Move: moveOf(m), From: from, Duration: ms(took), Task: task}
	where := ""
	if to, err := vs.Locate(ask, m.VM); err != nil {
		where = fmt.Sprintf("where %s is could not be read (%v)", m.VM, err)
	} else {
		d.To = placementOf(to)
		where = fmt.Sprintf("%s is on %s", m.VM, to.Host)
	}
	if task != "" {
		st, err := vs.TaskStatus(ask, task)
		switch {
		case err != nil:
			d.TaskState = "unknown"
			where += fmt.Sprintf("; vCenter task %s could not be read (%v): check it before acting", task, err)
		case st.State == "running" || st.State == "queued":
			d.TaskState = st.State
			where += fmt.Sprintf("; vCenter task %s still %s (%d%%): check before acting", task, st.State, st.Percent)
		case st.State == "error":
			d.TaskState = st.State
			where += fmt.Sprintf("; vCenter task %s failed: %s", task, st.Error)
		default:
			d.TaskState = st.State
			where += fmt.Sprintf("; vCenter task %s ended: %s", task, st.State)
		}
	} else {
		where += "; the relocate task had not started"
	}
	e.emit(EvMigrate, step, d)
	return Result{Outcome: Inconclusive, Summary: "interrupted mid-move: " + where}
}

// learnName remembers a placement's host name by its reference, so that a move given by reference
// (the rollback's {{ .origin_host }}) is labelled with the name people know.
func (e *Engine) learnName(p *Placement) {
	if p.HostRef == "" {
		return
	}
	e.baseMu.Lock()
	defer e.baseMu.Unlock()
	if e.hostNames == nil {
		e.hostNames = map[string]string{}
	}
	e.hostNames[p.HostRef] = p.Host
}

// hostName is the name of a host given by reference, when a placement named it; else host itself.
func (e *Engine) hostName(host string) string {
	e.baseMu.Lock()
	defer e.baseMu.Unlock()
	if n := e.hostNames[host]; n != "" {
		return n
	}
	return host
}

// switchedOver tells whether a move has reached its switch-over, after which cancelling would leave
// the VM between hosts: vCenter names the stage, and it comes at the end of the task.
func switchedOver(p checks.MoveProgress) bool {
	return strings.Contains(strings.ToLower(p.Stage), "switch") || p.Percent >= 90
}

// moveWatch follows a move for its step's breach signal (on_breach: cancel): a breach before the
// switch-over cancels the vCenter task; one after it lets the move finish. Either is journaled
// with the stage the move was at.
type moveWatch struct {
	mu       sync.Mutex
	now      checks.MoveProgress // the move's last progress report
	canceled bool
	stop     chan struct{}
	done     chan struct{}
}

func (e *Engine) watchMove(ctx context.Context, step string, m checks.Move, origin *Placement, breach <-chan struct{}) *moveWatch {
	w := &moveWatch{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		if breach == nil {
			return
		}
		select {
		case <-breach:
		case <-w.stop:
			return
		}
		select {
		case <-w.stop: // the move had ended already: a breach in the settle time is the watch's to judge
			return
		default:
		}
		at := w.last()
		d := MigrateData{Phase: MigrateBreach, Move: moveOf(m), From: origin, Task: at.Task, Stage: at.Stage, Percent: at.Percent, Then: "finishing"}
		if !switchedOver(at) && at.Task != "" {
			ask, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
			err := e.cfg.VSphere.CancelTask(ask, at.Task)
			cancel()
			if err != nil {
				d.Then, d.Error = "cancel failed", err.Error()
			} else {
				d.Then = "cancelled"
				w.mu.Lock()
				w.canceled = true
				w.mu.Unlock()
			}
		}
		e.emit(EvMigrate, step, d)
	}()
	return w
}

func (w *moveWatch) progress(p checks.MoveProgress) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.now = p
}

func (w *moveWatch) last() checks.MoveProgress {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.now
}

// end stops watching once the move returned and says which task it was and whether it was cancelled.
func (w *moveWatch) end() (task string, canceled bool) {
	close(w.stop)
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.now.Task, w.canceled
}
