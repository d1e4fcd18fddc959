package runbook

import (
	"fmt"
	"math"
	"time"

	"github.com/cutover/cutover/checks/ping"
)

// EventType names what an event records. The names are the journal's "type" field.
type EventType string

// The event types, in the order a step emits them.
const (
	EvRunStart   EventType = "run.start"
	EvStepStart  EventType = "step.start"
	EvCmd        EventType = "cmd"
	EvOutput     EventType = "output"
	EvAction     EventType = "action"
	EvCheck      EventType = "check"
	EvGate       EventType = "gate"
	EvQuestion   EventType = "question"
	EvDecision   EventType = "decision"
	EvRollback   EventType = "rollback"
	EvStepEnd    EventType = "step.end"
	EvCheckpoint EventType = "checkpoint"
	EvMigrate    EventType = "migrate"
	EvProgress   EventType = "migrate.progress"
	EvPing       EventType = "ping"
	EvWatch      EventType = "watch"
	EvPause      EventType = "pause"
	EvWindow     EventType = "window"
	EvResume     EventType = "resume"
	EvApprovalRq EventType = "approval.request"
	EvApproval   EventType = "approval"
	EvRunEnd     EventType = "run.end"
	EvNote       EventType = "note"
	EvWave       EventType = "wave"
	EvWaveItem   EventType = "wave.item"
)

// Event is one fact of a run. The engine emits them in one order; the journal records them in that
// order before the engine moves on, and the UI renders the same stream.
type Event struct {
	Seq  int64
	Time time.Time
	Run  string
	Type EventType
	Step string // the step (or rollback step) it belongs to; empty for run-level events
	Data any    // one of the *Data types below, by Type
}

// RunStartData opens a run: what runs, where from, by whom, with which values.
type RunStartData struct {
	Runbook     string            `json:"runbook"`
	Description string            `json:"description,omitempty"`
	File        string            `json:"file"`
	FileSHA256  string            `json:"file_sha256,omitempty"`
	Operator    string            `json:"operator"`
	Steps       []string          `json:"steps"`
	Vars        map[string]string `json:"vars,omitempty"` // secret values shown as [secret]
	Window      *WindowData       `json:"window,omitempty"`
	Override    string            `json:"window_override,omitempty"` // why it started outside its window
	// Waves are the items of waves that found them in a source or file: what a resume moves.
	Waves []WaveItemsData `json:"waves,omitempty"`
}

// WindowData is the change window as journaled.
type WindowData struct {
	Start            time.Time `json:"start"`
	End              time.Time `json:"end"`
	RollbackEstimate Millis    `json:"rollback_estimate_ms,omitempty"`
}

// Phase tells a forward step from a rollback step.
type Phase string

// The two phases of a run.
const (
	PhaseRun      Phase = "run"
	PhaseRollback Phase = "rollback"
)

// StepStartData opens a step.
type StepStartData struct {
	Index       int    `json:"index"` // 1-based position within its phase
	Of          int    `json:"of"`
	Phase       Phase  `json:"phase"`
	Undoes      string `json:"undoes,omitempty"` // for rollback steps: the step being undone
	Description string `json:"description,omitempty"`
	Checks      int    `json:"checks"`
	Action      string `json:"action,omitempty"` // the action's kind, if any
}

// ActionIndex is the Index of the action in Cmd, Output and action events; WatchIndex that of the
// gateway watch's commands.
const (
	ActionIndex = -1
	WatchIndex  = -2
)

// CmdData records a command just before it runs.
type CmdData struct {
	Index   int    `json:"index"` // the check's position in the step, or ActionIndex
	Check   string `json:"check"`
	Host    string `json:"host"`
	Command string `json:"command"`
	Attempt int    `json:"attempt"`
}

// OutputData carries a batch of output lines of one running command.
type OutputData struct {
	Index   int    `json:"index"`
	Check   string `json:"check"`
	Host    string `json:"host"`
	Lines   []Line `json:"lines"`
	Dropped int    `json:"dropped,omitempty"` // lines not journaled between the head and the tail
	// DroppedBytes is how much output those lines held (and what was cut off a line too long to keep).
	DroppedBytes int64 `json:"dropped_bytes,omitempty"`
}

// CheckData is the verdict of one check (or of the step's action, for EvAction).
type CheckData struct {
	Index    int    `json:"index"`
	Check    string `json:"check"`
	Kind     string `json:"kind"`
	Host     string `json:"host"`
	Attempt  int    `json:"attempt"`
	ID       string `json:"id,omitempty"`
	Duration Millis `json:"duration_ms"`
	Result
}

// GateData is the gate's verdict after one attempt.
type GateData struct {
	Attempt      int     `json:"attempt"`
	Attempts     int     `json:"attempts"`
	Require      string  `json:"require"`
	Verdict      Verdict `json:"verdict"`
	Passed       int     `json:"passed"`
	Failed       int     `json:"failed"`
	Inconclusive int     `json:"inconclusive"`
	Next         string  `json:"next,omitempty"` // e.g. "retry in 5s", "timed out"
}

// QuestionData records that the engine is waiting for a human.
type QuestionData struct {
	Kind       QuestionKind `json:"kind"`
	Action     bool         `json:"action,omitempty"` // about the step's action, not its checks
	Prompt     string       `json:"prompt"`
	Verdict    Verdict      `json:"verdict,omitempty"`
	Options    []Choice     `json:"options"`
	NeedReason []Choice     `json:"need_reason,omitempty"`
	// OnFail and Unattended are the gate's own policy, for a decider that answers unattended.
	OnFail     OnFail     `json:"on_fail,omitempty"`
	Unattended Unattended `json:"unattended,omitempty"`
}

// DecisionData records the operator's answer.
type DecisionData struct {
	Choice Choice `json:"choice"`
	Reason string `json:"reason,omitempty"`
	By     string `json:"by"`
}

// MigrateData records a migration's milestones: where the VM was (phase origin), the pre-flight's
// verdict, and how the move ended.
type MigrateData struct {
	Phase    MigratePhase `json:"phase"`
	Move     Move         `json:"move"`
	From     *Placement   `json:"from,omitempty"`
	To       *Placement   `json:"to,omitempty"`
	Warnings []string     `json:"warnings,omitempty"`
	Errors   []string     `json:"errors,omitempty"`
	Duration Millis       `json:"duration_ms,omitempty"`
	Error    string       `json:"error,omitempty"`
	// Task and TaskState: the vCenter task, and where it was when the run stopped waiting for it.
	Task      string `json:"task,omitempty"`
	TaskState string `json:"task_state,omitempty"`
	// Stage, Percent and Then (phase breach): where the move was when the gateway gate broke, and
	// what was done about it: "cancelled" (before the switch-over, on_breach: cancel) or "finishing".
	Stage   string `json:"stage,omitempty"`
	Percent int    `json:"percent,omitempty"`
	Then    string `json:"then,omitempty"`
}

// MigratePhase is where a vMotion is.
type MigratePhase string

// The migration phases.
const (
	MigrateOrigin    MigratePhase = "origin"    // where pre-flight found the VM (the rollback's target)
	MigratePreflight MigratePhase = "preflight" // vCenter's CheckRelocate answered
	MigrateStart     MigratePhase = "start"     // the relocate task started
	MigrateDone      MigratePhase = "done"      // the VM landed
	MigrateFailed    MigratePhase = "failed"    // the task failed, with vCenter's fault
	MigrateSkipped   MigratePhase = "skipped"   // the VM was already there: nothing moved
	// MigrateInterrupted: the run stopped waiting (abort, Ctrl-C, q); To is where vCenter then
	// said the VM was, TaskState whether the move went on.
	MigrateInterrupted MigratePhase = "interrupted"
	// MigrateBreach: the gateway gate broke during the move (on_breach: cancel), and at which stage.
	MigrateBreach MigratePhase = "breach"
)

// WatchPhase is a gateway watch's milestone.
type WatchPhase string

// The watch milestones.
const (
	WatchStart  WatchPhase = "start"
	WatchBreach WatchPhase = "breach" // a limit broke: the moment, and the samples around it
	WatchSettle WatchPhase = "settle" // the action ended: the gated span runs on to the settle's end
	WatchEnd    WatchPhase = "end"    // the verdict over the action and the settle time
)

// ProgressData is one progress report of the vCenter task moving a VM.
type ProgressData struct {
	VM      string `json:"vm"`
	Task    string `json:"task,omitempty"`
	Percent int    `json:"percent"`
	Stage   string `json:"stage"`
	Elapsed Millis `json:"elapsed_ms"`
}

// PingData is a batch of gateway samples (about one event a second): each sample is
// [seq, sent unix ms, RTT µs], RTT -1 for a lost request and -2 for a duplicate reply.
type PingData struct {
	Target  string     `json:"target"`
	From    string     `json:"from"`
	Samples [][3]int64 `json:"s"`
	Stats   WatchStats `json:"stats"` // the whole watch so far
	// Span is the gated span so far (the action and its settle): what the gate counts.
	Span *WatchStats `json:"span,omitempty"`
}

// WatchData records a watch's milestones: start, breach (the moment a limit broke, with the
// samples around it), and end (the verdict over the action and settle).
type WatchData struct {
	Phase   WatchPhase  `json:"phase"`
	Target  string      `json:"target"`
	From    string      `json:"from"`
	Limits  WatchLimits `json:"limits"`
	Stats   *WatchStats `json:"stats,omitempty"` // the gated span
	Whole   *WatchStats `json:"whole,omitempty"` // the whole watch, from its first request (end)
	Verdict string      `json:"verdict,omitempty"`
	Reason  string      `json:"reason,omitempty"`
	Window  [][3]int64  `json:"window,omitempty"`
	// Span is the gated span's bounds (settle and end): the action's start and end, the settle's end.
	Span *WatchSpan `json:"span,omitempty"`
	// Latency is what the move did to the round trip (end): before the switch-over against the
	// settle span.
	Latency *WatchLatency `json:"latency,omitempty"`
}

// WatchSpan bounds the gated span: from the action's start to its end and on through the settle.
type WatchSpan struct {
	From      time.Time `json:"from"`
	ActionEnd time.Time `json:"action_end"`
	To        time.Time `json:"to"`
}

// WatchLatency is the round trip before the move and after it.
type WatchLatency struct {
	Before RTTFigures `json:"before"`
	After  RTTFigures `json:"after"`
}

// RTTFigures sum up the answers of a span.
type RTTFigures struct {
	Answers int    `json:"answers"`
	P50     Millis `json:"p50_ms"`
	P95     Millis `json:"p95_ms"`
}

// Shift is the median's change, and whether both spans had answers to tell it.
func (l WatchLatency) Shift() (Millis, bool) {
	return l.After.P50 - l.Before.P50, l.Before.Answers > 0 && l.After.Answers > 0
}

// String says it as the evidence does: "RTT to the gateway 0.31 → 1.28 ms after the move (+0.97 ms)".
func (l WatchLatency) String() string {
	d, ok := l.Shift()
	if !ok {
		return fmt.Sprintf("RTT shift unknown: %d answers before the move, %d after", l.Before.Answers, l.After.Answers)
	}
	s := fmt.Sprintf("RTT to the gateway p50 %s → %s after the move (%+.2f ms)", fmtMs(l.Before.P50), fmtMs(l.After.P50), float64(d))
	if d >= 0.5 {
		s += ": traffic may now cross the inter-site link"
	}
	return s
}

// fmtMs is a figure in milliseconds with two decimals: "0.31 ms".
func fmtMs(v Millis) string { return fmt.Sprintf("%.2f ms", float64(v)) }

// packSamples turns samples into the journal's compact form.
func packSamples(ss []ping.Sample) [][3]int64 {
	out := make([][3]int64, len(ss))
	for i, s := range ss {
		rtt := s.RTT.Microseconds()
		switch {
		case s.Lost:
			rtt = -1
		case s.Dup:
			rtt = -2
		}
		out[i] = [3]int64{int64(s.Seq), s.Sent.UnixMilli(), rtt}
	}
	return out
}

// WindowEventData marks the change window's milestones as the run crosses them: open (at start),
// closing (under 30 minutes left), no-return (less left than a rollback takes), closed.
type WindowEventData struct {
	Phase    string `json:"phase"`
	Left     Millis `json:"left_ms"`
	Rollback Millis `json:"rollback_estimate_ms,omitempty"`
}

// NoteData is something a connection to the outside reported mid-run that bears on the proof
// (vCenter ended the session and cutover logged in again), journaled where it happened.
type NoteData struct {
	Source string `json:"source"`
	Text   string `json:"text"`
	// A handoff note a second engineer signed (cutover note): their key and the signature over the
	// run and the text, which verify checks.
	Key      string `json:"key,omitempty"`
	Sig      string `json:"sig,omitempty"`
	SignedAt string `json:"signed_at,omitempty"` // when they wrote it, as signed
}

// ApprovalRequest asks for sign-offs: each approver signs Message (SSHSIG, namespace
// cutover-approval) with their own key.
type ApprovalRequest struct {
	Needed  int    `json:"needed"` // approvals besides the operator
	Message string `json:"message"`
}

// ApprovalData is one sign-off, checked before it was journaled and checkable again by verify.
type ApprovalData struct {
	Message     string `json:"message"`
	Key         string `json:"key"`
	Fingerprint string `json:"fingerprint"`
	Sig         string `json:"sig"`
}

// PauseData records the operator holding the run before a step, and letting it go on.
type PauseData struct {
	Paused bool `json:"paused"`
}

// WaveData opens a wave: its items in order, how they are batched and when the wave stops.
type WaveData struct {
	Items           []string `json:"items"`
	BatchSize       int      `json:"batch_size"`
	Batches         int      `json:"batches"`
	MaxFailures     int      `json:"max_failures"`
	Rule            string   `json:"on_failure"`
	ParallelPerHost int      `json:"max_parallel_per_host"`
}

// WaveItemData is how one item of a wave ended: moved, failed, rolled back, rollback failed,
// skipped. An item rolled back later (its batch, the wave, the run) has a second one.
type WaveItemData struct {
	Item   string `json:"item"`
	Batch  int    `json:"batch"`
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
}

// RollbackData opens the rollback phase.
type RollbackData struct {
	Trigger string   `json:"trigger"` // the step whose failure fired it
	Reason  string   `json:"reason"`
	Steps   []string `json:"steps"` // rollback steps in the order they will run
}

// StepStatus is how a step ended.
type StepStatus string

// The step statuses.
const (
	StepPassed      StepStatus = "passed"
	StepFailed      StepStatus = "failed"
	StepOverridden  StepStatus = "overridden" // failed or inconclusive, and the operator proceeded
	StepAborted     StepStatus = "aborted"
	StepInterrupted StepStatus = "interrupted"
)

// StepEndData closes a step.
type StepEndData struct {
	Status   StepStatus `json:"status"`
	Reason   string     `json:"reason,omitempty"`
	Duration Millis     `json:"duration_ms"`
}

// CheckpointData signs the journal's chain head; the engine gets it from its Recorder.
type CheckpointData struct {
	Head string `json:"head"`
	Key  string `json:"key,omitempty"`
	Sig  string `json:"sig,omitempty"`
	// Error says why a checkpoint could not be signed (the agent went away): the run goes on, and
	// verify reports the gap.
	Error string `json:"error,omitempty"`
}

// RunStatus is how a run ended.
type RunStatus string

// The run statuses.
const (
	RunDone           RunStatus = "done"
	RunRolledBack     RunStatus = "rolled-back"
	RunRollbackFailed RunStatus = "rollback-failed"
	RunAborted        RunStatus = "aborted"
	RunInterrupted    RunStatus = "interrupted"
	RunError          RunStatus = "error"
)

// RunEndData closes a run.
type RunEndData struct {
	Status   RunStatus `json:"status"`
	Reason   string    `json:"reason,omitempty"`
	Duration Millis    `json:"duration_ms"`
}

// Millis is the journal's one unit of time: milliseconds. Step and run durations are whole;
// round-trip times keep microseconds as a fraction (0.48).
type Millis float64

// Std is the duration.
func (m Millis) Std() time.Duration {
	return time.Duration(math.Round(float64(m) * float64(time.Millisecond)))
}

// ms converts a duration to whole milliseconds.
func ms(d time.Duration) Millis { return Millis(d.Milliseconds()) }

// msFine converts a duration to milliseconds, keeping microseconds.
func msFine(d time.Duration) Millis { return Millis(float64(d.Microseconds()) / 1000) }
