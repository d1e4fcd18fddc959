package runbook

import "time"

// CheckState is a check (or action) of a step: its latest result and the outcome of every attempt.
type CheckState struct {
	Index    int
	Check    string
	Host     string
	Kind     string
	Running  bool
	Result   Result
	Attempts []Verdict
}

// OutputLine is one line a step's commands wrote, with whose it is: checks of a step run in
// parallel, so their lines interleave.
type OutputLine struct {
	Index       int    // the check's index in the step, ActionIndex or WatchIndex
	Check, Host string // empty for a note
	Stream      string // "cmd" (the command itself), "stdout", "stderr", "dropped" or "note"
	Text        string
}

// PendingQuestion is a question asked and not yet answered.
type PendingQuestion struct {
	Step string
	At   time.Time
	QuestionData
}

// MigrationState is one vMotion, from pre-flight to its end.
type MigrationState struct {
	Step    string
	VM      string
	From    string
	To      string
	Cluster string // where it landed
	Stage   string
	Percent int
	Elapsed time.Duration
	Result  string // on success, the landing; on failure, vCenter's fault
	Failed  bool
	Done    bool
	Skipped bool // already where it was asked to go: nothing moved
	// Interrupted: the run stopped waiting for the move; Result says where vCenter then had the
	// VM and whether its task went on.
	Interrupted bool
	Landed      string // the host vCenter last named for it (To may be a reference)
}

// ApprovalState is one sign-off by a second engineer, as journaled (verify checks its signature).
type ApprovalState struct {
	Step, Fingerprint, Key string
	At                     time.Time
}

// DecisionState is a question and the answer to it.
type DecisionState struct {
	Step     string
	Question string
	Choice   Choice
	Reason   string
	By       string
	At       time.Time
}

// Moment is one notable thing of a run, said in full.
type Moment struct {
	At   time.Time
	Kind string // step, decision, approval, resume, end, rollback, breach, note
	Step string
	Text string
	By   string
}

func (s *RunState) moment(ev Event, kind, text, by string) {
	s.Moments = append(s.Moments, Moment{At: ev.Time, Kind: kind, Step: ev.Step, Text: text, By: by})
}

// NoteState is what a connection reported mid-run.
type NoteState struct {
	Step, Source, Text string
	At                 time.Time
}

// RollbackState is the rollback plan and how it went.
type RollbackState struct {
	Trigger string
	Reason  string
	Steps   []string
}

const (
	maxOutput = 2000 // output lines kept per step
)
