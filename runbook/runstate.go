package runbook

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// RunState is a run as its journal tells it, built by Apply from events alone. It is the one fold
// of the journal: the console, the report and the plain summary read it, so that they can never
// disagree about what a run did. Every rule about what a state means lives here.
type RunState struct {
	names map[string]string // vCenter references seen in placements → their names

	ID, Runbook, File string
	FileSHA           string   // the runbook file's sha256 as run
	Operators         []string // who ran, resumed, decided or approved, in order
	Vars              map[string]string
	Window            *WindowData
	Started, Ended    time.Time
	Last              time.Time // the newest event
	Status            string    // "starting", "running", then the RunStatus it ended with
	Reason            string
	Steps             []*StepState
	Current           int // index of the running step in Steps, -1 before the first
	Migrations        []*MigrationState
	Watch             *WatchState   // the newest watch
	Watches           []*WatchState // every watch: the move's, then the way back's
	Decisions         []DecisionState
	Approvals         []ApprovalState
	Notes             []NoteState
	Rollback          *RollbackState
	Waves             []*WaveState
	Resumes           []ResumeData
	// Moments are what a handoff tells, in order: step ends, questions and their answers,
	// approvals, interruptions and resumes, the rollback, breaches, notes.
	Moments []Moment
	Paused  bool
	// Pending is the question the run waits on, nil when none: a shadow sees it too.
	Pending *PendingQuestion
	Signed  int   // checkpoints that carry a signature
	Seq     int64 // the newest event's number
	// What a resumed run stands on: the baselines recorded (by check id) and the runtime vars the
	// migration recorded (origin_host, …).
	Baselines map[string][]string
	Runtime   map[string]string

	planned  []string
	question QuestionData
	ended    bool
}

// HasEnded reports whether the journal's last word is the run's end (a resume reopens it).
func (s *RunState) HasEnded() bool { return s.ended }

// StepState is one step or rollback step.
type StepState struct {
	Name        string
	Phase       Phase
	Undoes      string
	Description string
	Action      string // the action's kind, if any
	Status      string // pending, running, a StepStatus, "rolled back", "skipped"
	Started     time.Time
	Duration    time.Duration
	Reason      string
	Gate        *GateData     // the latest verdict
	Checks      []*CheckState // by check index; the action (ActionIndex) is ActionCheck
	ActionCheck *CheckState
	Output      []OutputLine // the latest output lines, bounded (maxOutput)
	OutputSeq   int          // lines ever added: a reader can tell new lines from kept ones
	Planned     int          // checks the step has (pending ones have not reported yet)
	// Waited is how long the step waited for answers: its running time is Duration minus Waited.
	Waited      time.Duration
	Approval    string // what the step waits for, or who approved it
	ActionBegan bool   // its action started (a command ran, or a migration began)
	ActionDone  bool   // its action reported a pass
}

// Done reports whether the step ended passed or proceeded over (a resume does not run it again).
func (st *StepState) Done() bool {
	return st.Status == string(StepPassed) || st.Status == string(StepOverridden) || st.Status == "rolled back"
}

// NewRunState is the state before the first event.
func NewRunState() *RunState {
	return &RunState{Current: -1, Status: "starting", Baselines: map[string][]string{}, Runtime: map[string]string{}, names: map[string]string{}}
}

// FoldEvents folds a whole journal.
func FoldEvents(events []Event) *RunState {
	s := NewRunState()
	for _, ev := range events {
		s.Apply(ev)
	}
	return s
}

// Step is the newest step of that name (a rollback step may share a name with none, but a resumed
// run reuses its step's row), or nil.
func (s *RunState) Step(name string) *StepState {
	for i := len(s.Steps) - 1; i >= 0; i-- {
		if s.Steps[i].Name == name {
			return s.Steps[i]
		}
	}
	return nil
}

// Apply folds one event into the state. Events of another run are ignored.
func (s *RunState) Apply(ev Event) {
	if s.ID != "" && ev.Run != s.ID {
		return
	}
	s.Last, s.Seq = ev.Time, ev.Seq
	s.applyWave(ev)
	st := s.Step(ev.Step)
	switch d := ev.Data.(type) {
	case RunStartData:
		s.ID, s.Runbook, s.File, s.Vars, s.Window, s.Started = ev.Run, d.Runbook, d.File, d.Vars, d.Window, ev.Time
		s.FileSHA = d.FileSHA256
		s.Status = "running"
		s.addOperator(d.Operator)
		s.planned = d.Steps
		for _, n := range d.Steps {
			s.Steps = append(s.Steps, &StepState{Name: n, Phase: PhaseRun, Status: "pending"})
		}
	case ResumeData:
		s.Resumes = append(s.Resumes, d)
		what := "continuing after " + orNone(d.Completed)
		if d.InFlight != "" {
			what += "; " + d.InFlight + " was running when the run stopped: taken up again"
		}
		if d.Rollback {
			what = "continuing the rollback"
		}
		if d.Dropped > 0 {
			what += fmt.Sprintf("; a torn last line (%d bytes) dropped", d.Dropped)
		}
		s.moment(ev, "resume", "resumed: "+what, d.Operator)
		s.addOperator(d.Operator)
		s.Status, s.Ended, s.Reason, s.ended = "running", time.Time{}, "", false
		s.Pending = nil // the question died with the run that asked it
		for _, x := range s.Steps {
			switch x.Status {
			case "running":
				x.Status = string(StepInterrupted) // the run died here; the resume takes it up again
			case "skipped":
				x.Status = "pending" // an interrupted end skipped it; the resume may run it
			}
		}
	case StepStartData:
		// A step already in the plan (or interrupted before a resume) keeps its row.
		if st == nil || st.Phase != d.Phase || st.Status != "pending" && st.Status != string(StepInterrupted) {
			st = &StepState{Name: ev.Step, Phase: d.Phase}
			s.Steps = append(s.Steps, st)
		}
		st.Status, st.Started, st.Undoes, st.Description, st.Action = "running", ev.Time, d.Undoes, d.Description, d.Action
		st.Reason, st.Duration, st.Waited, st.Planned = "", 0, 0, d.Checks
		s.Current = slices.Index(s.Steps, st)
	case CmdData:
		if st != nil {
			if d.Index != WatchIndex { // the watch has its own panel
				cv := st.check(d.Index)
				cv.Check, cv.Host, cv.Running = d.Check, d.Host, true
			}
			st.addOutput(OutputLine{Index: d.Index, Check: d.Check, Host: d.Host, Stream: "cmd", Text: d.Command})
			if d.Index == ActionIndex {
				st.ActionBegan = true
			}
		}
	case OutputData:
		if st != nil {
			for _, l := range d.Lines {
				stream := "stdout"
				if l.Stream == "stderr" {
					stream = "stderr"
				}
				st.addOutput(OutputLine{Index: d.Index, Check: d.Check, Host: d.Host, Stream: stream, Text: l.Text})
			}
			if d.Dropped > 0 || d.DroppedBytes > 0 {
				st.addOutput(OutputLine{Index: d.Index, Check: d.Check, Host: d.Host, Stream: "dropped",
					Text: fmt.Sprintf("… %d lines (%d bytes) not journaled", d.Dropped, d.DroppedBytes)})
			}
		}
	case CheckData:
		if st != nil {
			cv := st.check(d.Index)
			cv.Check, cv.Host, cv.Kind, cv.Result, cv.Running = d.Check, d.Host, d.Kind, d.Result, false
			cv.Attempts = append(cv.Attempts, d.Outcome)
			if ev.Type == EvAction && d.Kind != "restart" && d.Outcome == Pass {
				st.ActionDone = true
			}
			if ev.Type == EvCheck && d.ID != "" && d.Outcome == Pass && d.Baseline != nil {
				s.Baselines[d.ID] = d.Baseline
			}
		}
	case GateData:
		if st != nil {
			g := d
			st.Gate = &g
		}
	case StepEndData:
		if st != nil {
			text := string(d.Status)
			if d.Reason != "" {
				text += ": " + d.Reason
			}
			s.moment(ev, "step", text, "")
			st.Status, st.Duration, st.Reason = string(d.Status), d.Duration.Std(), d.Reason
			if st.Phase == PhaseRollback && (d.Status == StepPassed || d.Status == StepOverridden) {
				for _, x := range s.Steps {
					if x.Name == st.Undoes && x.Phase == PhaseRun {
						x.Status = "rolled back"
					}
				}
			}
		}
	case RollbackData:
		if _, _, _, item := SplitItemStep(d.Trigger); item && ev.Step != "" {
			// One item's rollback: its steps are the run's rows, the run is not rolling back.
			for _, n := range d.Steps {
				s.Steps = append(s.Steps, &StepState{Name: n, Phase: PhaseRollback, Status: "pending"})
			}
			break
		}
		s.Rollback = &RollbackState{Trigger: d.Trigger, Reason: d.Reason, Steps: d.Steps}
		s.moment(ev, "rollback", fmt.Sprintf("rollback of %s: %s; steps: %s", d.Trigger, d.Reason, orNone(d.Steps)), "")
		for _, n := range d.Steps {
			s.Steps = append(s.Steps, &StepState{Name: n, Phase: PhaseRollback, Status: "pending"})
		}
	case MigrateData:
		s.migrate(ev, d)
		switch d.Phase {
		case MigrateStart:
			s.moveMark(ev, MarkMoveStart)
		case MigrateDone, MigrateFailed, MigrateInterrupted:
			s.moveMark(ev, MarkMoveEnd)
		}
		if st != nil {
			st.ActionBegan = true
			if _, _, _, item := SplitItemStep(ev.Step); d.Phase == MigrateOrigin && d.From != nil && st.Phase == PhaseRun && !item {
				for k, v := range d.From.origin() {
					if _, ok := s.Runtime[k]; !ok {
						s.Runtime[k] = v
					}
				}
			}
		}
	case ProgressData:
		if m := s.inFlight(); m != nil {
			m.Percent, m.Stage, m.Elapsed = d.Percent, d.Stage, d.Elapsed.Std()
		}
		if IsSwitchover(d.Stage) {
			s.moveMark(ev, MarkSwitchover)
		}
	case WatchData:
		s.applyWatch(ev, d)
	case PingData:
		s.applyPing(ev, d)
	case PauseData:
		s.Paused = d.Paused
	case NoteData:
		s.Notes = append(s.Notes, NoteState{Step: ev.Step, Source: d.Source, Text: d.Text, At: ev.Time})
		s.moment(ev, "note", d.Text, d.Source)
		if s.Current >= 0 {
			s.Steps[s.Current].addOutput(OutputLine{Stream: "note", Host: d.Source, Text: d.Text})
		}
	case QuestionData:
		s.question = d
		s.Pending = &PendingQuestion{Step: ev.Step, At: ev.Time, QuestionData: d}
	case DecisionData:
		if p := s.Pending; p != nil {
			if w := s.Step(p.Step); w != nil {
				w.Waited += ev.Time.Sub(p.At)
			}
			s.Pending = nil
		}
		s.Decisions = append(s.Decisions, DecisionState{Step: ev.Step, Question: s.question.Prompt, Choice: d.Choice, Reason: d.Reason, By: d.By, At: ev.Time})
		text := string(d.Choice)
		if d.Choice == "override-window" {
			text = "started outside its change window"
		}
		if s.question.Prompt != "" {
			text = fmt.Sprintf("asked %q: %s", s.question.Prompt, d.Choice)
		}
		if d.Reason != "" {
			text += ", because: " + d.Reason
		}
		s.moment(ev, "decision", text, d.By)
		s.question = QuestionData{}
		s.addOperator(d.By)
	case ApprovalRequest:
		if st != nil {
			st.Approval = fmt.Sprintf("waiting for %d more engineer(s): cutover approve JOURNAL --step %s", d.Needed, ev.Step)
		}
	case ApprovalData:
		if st != nil {
			st.Approval = "approved by " + d.Fingerprint
		}
		s.Approvals = append(s.Approvals, ApprovalState{Step: ev.Step, Fingerprint: d.Fingerprint, Key: d.Key, At: ev.Time})
		s.moment(ev, "approval", "signed off by key "+d.Fingerprint, d.Fingerprint)
	case CheckpointData:
		if d.Sig != "" {
			s.Signed++
		}
	case RunEndData:
		s.Status, s.Reason, s.Ended, s.ended = string(d.Status), d.Reason, ev.Time, true
		text := strings.ToUpper(string(d.Status))
		if d.Reason != "" {
			text += ": " + d.Reason
		}
		s.moment(ev, "end", text, "")
		s.Pending = nil
		for _, x := range s.Steps {
			if x.Status == "pending" {
				x.Status = "skipped"
			}
		}
	}
}

func (s *RunState) addOperator(who string) {
	if who != "" && who != "--yes" && who != "cutover" && !slices.Contains(s.Operators, who) {
		s.Operators = append(s.Operators, who)
	}
}

func (st *StepState) check(i int) *CheckState {
	if i == ActionIndex {
		if st.ActionCheck == nil {
			st.ActionCheck = &CheckState{Index: i}
		}
		return st.ActionCheck
	}
	for _, c := range st.Checks {
		if c.Index == i {
			return c
		}
	}
	c := &CheckState{Index: i}
	st.Checks = append(st.Checks, c)
	slices.SortFunc(st.Checks, func(a, b *CheckState) int { return a.Index - b.Index })
	return c
}

func (st *StepState) addOutput(l OutputLine) {
	st.OutputSeq++
	st.Output = append(st.Output, l)
	if len(st.Output) > maxOutput {
		st.Output = st.Output[len(st.Output)-maxOutput:]
	}
}

func orNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}
