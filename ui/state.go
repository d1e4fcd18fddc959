package ui

import (
	"fmt"
	"time"

	"github.com/cutover/cutover/checks"
	"github.com/cutover/cutover/checks/ping"
	"github.com/cutover/cutover/internal/termsafe"
	"github.com/cutover/cutover/runbook"
)

// maxOutput bounds the output lines kept per step for the detail pane.
const maxOutput = 2000

// checkView is a check or action as the console shows it.
type checkView struct {
	label, host, kind string
	outcome           checks.Outcome
	summary           string
	evidence          []string
	running           bool
}

// stepView is a step (or rollback step) as the console shows it.
type stepView struct {
	name, phase, undoes, desc string
	actionKind                string
	status                    string // pending, running, passed, failed, overridden, aborted, interrupted
	started                   time.Time
	duration                  time.Duration
	action                    *checkView
	checks                    map[int]*checkView
	gate                      string
	output                    []string
	reason                    string
}

// migration is the vMotion in flight or done.
type migration struct {
	vm, from, to, stage, result string
	percent                     int
	elapsed                     time.Duration
	failed, done                bool
}

// watchView is the gateway watch.
type watchView struct {
	target, from, verdict, reason string
	limits                        ping.Limits
	samples                       [][3]int64 // the last samples, for the graph
	stats                         ping.Stats
	breach                        bool
}

const maxSamples = 1024

// run is everything the console knows about the run, built from events alone.
type run struct {
	id, runbook, operator, file string
	vars                        map[string]string
	window                      *runbook.WindowData
	steps                       []*stepView
	current                     int // index of the running step, -1 before the first
	mig                         *migration
	watch                       *watchView
	status                      string // running, done, rolled-back, ...
	reason                      string
	paused                      bool
	rollback                    bool
	signed                      int
	last                        time.Time
}

func newRun() *run { return &run{current: -1, status: "starting"} }

func (r *run) step(name string) *stepView {
	for i := len(r.steps) - 1; i >= 0; i-- {
		if r.steps[i].name == name {
			return r.steps[i]
		}
	}
	return nil
}

// apply folds one event into the view state.
// Every string of the event is made terminal-safe first: a host's output must not move the
// cursor over the console, set the title or write the clipboard.
func (r *run) apply(ev runbook.Event) {
	if r.id != "" && ev.Run != r.id {
		return // a stale event of another run
	}
	ev.Step, ev.Data = termsafe.Text(ev.Step), termsafe.Value(ev.Data)
	r.last = ev.Time
	st := r.step(ev.Step)
	switch d := ev.Data.(type) {
	case runbook.RunStartData:
		r.id, r.runbook, r.operator, r.file, r.vars, r.window = ev.Run, d.Runbook, d.Operator, d.File, d.Vars, d.Window
		r.status = "running"
		for _, n := range d.Steps {
			r.steps = append(r.steps, &stepView{name: n, phase: string(runbook.PhaseRun), status: "pending", checks: map[int]*checkView{}})
		}
	case runbook.StepStartData:
		if st == nil || st.status != "pending" {
			st = &stepView{name: ev.Step, phase: string(d.Phase), status: "pending", checks: map[int]*checkView{}}
			r.steps = append(r.steps, st)
		}
		st.status, st.started, st.undoes, st.desc, st.actionKind = "running", ev.Time, d.Undoes, d.Description, d.Action
		for i, s := range r.steps {
			if s == st {
				r.current = i
			}
		}
	case runbook.CmdData:
		if st != nil {
			if d.Index != runbook.WatchIndex { // the watch has its own panel
				cv := st.checkAt(d.Index)
				cv.label, cv.host, cv.running = d.Check, d.Host, true
			}
			st.addOutput("$ " + d.Host + ": " + d.Command)
		}
	case runbook.OutputData:
		if st != nil {
			for _, l := range d.Lines {
				prefix := "  "
				if l.Stream == "stderr" {
					prefix = "! "
				}
				st.addOutput(prefix + l.Text)
			}
		}
	case runbook.CheckData:
		if st != nil {
			cv := st.checkAt(d.Index)
			cv.label, cv.host, cv.kind, cv.outcome, cv.summary, cv.evidence, cv.running = d.Check, d.Host, d.Kind, d.Outcome, d.Summary, d.Evidence, false
		}
	case runbook.GateData:
		if st != nil {
			st.gate = d.Verdict.String()
			if d.Next != "" {
				st.gate += " (" + d.Next + ")"
			}
		}
	case runbook.StepEndData:
		if st != nil {
			st.status, st.duration, st.reason = string(d.Status), time.Duration(d.Duration)*time.Millisecond, d.Reason
			if st.phase == string(runbook.PhaseRollback) && d.Status == runbook.StepPassed {
				for _, s := range r.steps {
					if s.name == st.undoes && s.phase == string(runbook.PhaseRun) {
						s.status = "rolled back"
					}
				}
			}
		}
	case runbook.RollbackData:
		r.rollback = true
		r.reason = d.Reason
		for _, n := range d.Steps {
			r.steps = append(r.steps, &stepView{name: n, phase: string(runbook.PhaseRollback), status: "pending", checks: map[int]*checkView{}})
		}
	case runbook.MigrateData:
		if r.mig == nil || d.Phase == "origin" {
			r.mig = &migration{vm: d.Move.VM, to: d.Move.Host}
		}
		if d.From != nil {
			r.mig.from = d.From.Host
		}
		switch d.Phase {
		case "start":
			r.mig.stage = "starting"
		case "done":
			r.mig.done, r.mig.percent, r.mig.result = true, 100, "on "+d.To.Host+" ("+d.To.Cluster+")"
		case "failed":
			r.mig.failed, r.mig.result = true, d.Error
		case "skipped":
			r.mig.done, r.mig.percent, r.mig.result = true, 100, "already on "+d.Move.Host
		}
	case runbook.ProgressData:
		if r.mig != nil {
			r.mig.percent, r.mig.stage, r.mig.elapsed = d.Percent, d.Stage, time.Duration(d.Elapsed)*time.Millisecond
		}
	case runbook.WatchData:
		if d.Phase == "start" || r.watch == nil {
			r.watch = &watchView{target: d.Target, from: d.From, limits: d.Limits}
		}
		switch d.Phase {
		case "breach":
			r.watch.breach, r.watch.reason = true, d.Reason
		case "end":
			r.watch.verdict, r.watch.reason = d.Verdict, d.Reason
			if d.Stats != nil {
				r.watch.stats = *d.Stats
			}
		}
	case runbook.PingData:
		if r.watch != nil {
			r.watch.samples = append(r.watch.samples, d.Samples...)
			if len(r.watch.samples) > maxSamples {
				r.watch.samples = r.watch.samples[len(r.watch.samples)-maxSamples:]
			}
			if r.watch.verdict == "" {
				r.watch.stats = d.Stats
			}
		}
	case runbook.PauseData:
		r.paused = d.Paused
	case runbook.NoteData:
		if r.current >= 0 && r.current < len(r.steps) {
			r.steps[r.current].addOutput("! " + d.Source + ": " + d.Text)
		}
	case runbook.ResumeData:
		r.status = "running"
	case runbook.ApprovalRequest:
		if st != nil {
			st.reason = fmt.Sprintf("waiting for %d more engineer(s): cutover approve JOURNAL --step %s", d.Needed, ev.Step)
		}
	case runbook.ApprovalData:
		if st != nil {
			st.reason = "approved by " + d.Fingerprint
		}
	case *runbook.CheckpointData:
		if d.Sig != "" {
			r.signed++
		}
	case runbook.RunEndData:
		r.status, r.reason = string(d.Status), d.Reason
		for _, s := range r.steps {
			if s.status == "pending" {
				s.status = "skipped"
			}
		}
	}
}

func (s *stepView) checkAt(i int) *checkView {
	if i == runbook.ActionIndex {
		if s.action == nil {
			s.action = &checkView{}
		}
		return s.action
	}
	cv, ok := s.checks[i]
	if !ok {
		cv = &checkView{}
		s.checks[i] = cv
	}
	return cv
}

func (s *stepView) addOutput(l string) {
	s.output = append(s.output, l)
	if len(s.output) > maxOutput {
		s.output = s.output[len(s.output)-maxOutput:]
	}
}
