// Package report turns a run's journal into the handoff report: one page a colleague can take over
// from, in Markdown or self-contained HTML.
package report

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cutover/cutover/internal/termsafe"
	"github.com/cutover/cutover/runbook"
	"github.com/cutover/cutover/runbook/transcript"
	"github.com/gliderlabs/ssh"
)

// Report is what the handoff page says, built from the journal's events alone.
type Report struct {
	Journal    string
	Signature  Signature
	Run        string
	Runbook    string
	File       string
	Operators  []string
	Window     *runbook.WindowData
	Started    time.Time
	Ended      time.Time
	Status     string
	Headline   string // the status as the console's header says it ("DONE (1 failure overridden)")
	Reason     string
	Steps      []Step
	Problems   []Problem // failed or inconclusive checks and actions, with evidence
	Decisions  []Decision
	Notes      []Note
	Migrations []Migration
	Watches    []*Watch // the move's, then the way back's
	Waves      []Wave
	Rollback   *runbook.RollbackData
	OpenItems  []string
	// First is the first screen: what the next shift asks before anything else, in order.
	First []Fact
	// Moments are what happened, in order: step ends, questions and answers, approvals,
	// interruptions and resumes, the rollback, breaches, notes.
	Moments []runbook.Moment
	FileSHA string
	// Kept are signed notes left beside the journal that it does not hold (written after the run
	// ended), each with who signed it.
	Kept []KeptNote
	// KeptBad are files beside the journal that claim to be notes and do not verify.
	KeptBad []string
}

// KeptNote is a signed note kept beside the journal.
type KeptNote struct {
	At          time.Time
	Text, Who   string // Who: the signer's fingerprint, and whom the allowed signers say it is
	Fingerprint string
}

// AddKeptNotes adds the signed notes kept beside the journal that the journal does not hold, each
// named by the allowed signers for the note namespace when they list its signer.
func (r *Report) AddKeptNotes(notes []transcript.SignedNote, bad, journaled []string, trust *transcript.Trust) {
	for _, b := range bad {
		r.KeptBad = append(r.KeptBad, termsafe.Text(b))
	}
	for _, n := range notes {
		if slices.Contains(journaled, n.Sig) {
			continue
		}
		who := n.Fingerprint + ", not checked against allowed signers"
		if trust != nil {
			key, _, _, _, _ := ssh.ParseAuthorizedKey([]byte(n.Key))
			if names, err := trust.Check(key, transcript.NoteNamespace); err == nil {
				who = strings.Join(names, ", ") + " (" + n.Fingerprint + ")"
			} else {
				who = n.Fingerprint + ", NOT in the allowed signers for notes: " + err.Error()
			}
		}
		r.Kept = append(r.Kept, KeptNote{At: n.At, Text: termsafe.Text(n.Text), Who: termsafe.Text(who), Fingerprint: n.Fingerprint})
	}
}

// Fact is one line of the first screen.
type Fact struct {
	Label, Value string
	Bad          bool // the next shift must act on it
}

// Signature is what verify said.
type Signature struct {
	OK       bool
	Unproven bool // nothing is wrong, but the journal is not proven (see Detail)
	Detail   []string
}

// Mark is the signature's verdict in a few words.
func (s Signature) Mark() string {
	switch {
	case s.OK:
		return "✓ verified"
	case s.Unproven:
		return "⚠ UNPROVEN"
	}
	return "✗ FAILED"
}

// Step is one row of the timeline.
type Step struct {
	Name, Phase, Status, Gate, Reason, Undoes string
	Start                                     time.Time
	Duration                                  time.Duration
}

// Problem is a check or action that did not pass.
type Problem struct {
	Step, Check, Host string
	Outcome           runbook.Verdict
	Summary           string
	Evidence          []string
	Attempts          int // how many times the gate ran it; the result is the last one's
}

// attempts says, for a check the gate ran more than once, that its result is the last attempt's.
func (p Problem) attempts() string {
	if p.Attempts > 1 {
		return fmt.Sprintf(" after %d attempts", p.Attempts)
	}
	return ""
}

// times folds the attempts into the open item: " (×3)".
func (p Problem) times() string {
	if p.Attempts > 1 {
		return fmt.Sprintf(" (×%d)", p.Attempts)
	}
	return ""
}

// Decision is a question and the operator's answer.
type Decision struct {
	Step, Question, Choice, Reason, By string
	At                                 time.Time
}

// Note is what a connection reported mid-run (vCenter logged in again).
type Note struct {
	Source, Text string
	At           time.Time
}

// Migration is one vMotion.
type Migration struct {
	Step, VM, From, To, Result string
	Duration                   time.Duration
	Failed                     bool
}

// Watch is one gateway watch (the move's, the way back's): the verdict over the gated span, the
// counts labelled with their spans as every reader says them, what the move did to latency, and
// the whole history with its marks for the picture.
type Watch struct {
	Step, Target, From, Verdict, Reason string
	Limits                              runbook.WatchLimits
	Whole, Gate                         runbook.WatchStats
	Counts, GateLine                    string
	Breach                              string
	Latency                             *runbook.WatchLatency
	History                             runbook.History
	Marks                               []runbook.WatchMark
}

// Build reads the events (and the verify report) into a Report: it formats the run's one fold,
// runbook.RunState, and decides nothing of its own about what a state means.
// Every string from the journal is made terminal-safe first (termsafe): the report is read in
// terminals and pasted into tickets, and a host's output must not rewrite what it shows.
func Build(journal string, events []runbook.Event, v *transcript.Report) *Report {
	r := &Report{Journal: termsafe.Text(journal)}
	r.Signature = termsafe.Value(signature(v))
	s := runbook.FoldEvents(termsafe.Value(events))
	r.Run, r.Runbook, r.File, r.Window, r.Started, r.Ended = s.ID, s.Runbook, s.File, s.Window, s.Started, s.Ended
	r.FileSHA = s.FileSHA
	r.Operators = s.Operators
	if s.HasEnded() {
		r.Status, r.Headline, r.Reason = s.Status, s.Headline(), s.Reason
	}
	for _, st := range s.Steps {
		row := Step{Name: st.Name, Phase: string(st.Phase), Status: st.Status, Reason: st.Reason, Undoes: st.Undoes, Start: st.Started, Duration: st.Duration}
		if g := st.Gate; g != nil {
			row.Gate = fmt.Sprintf("%s (%d/%d passed, attempt %d/%d)", g.Verdict, g.Passed, g.Passed+g.Failed+g.Inconclusive, g.Attempt, g.Attempts)
		}
		r.Steps = append(r.Steps, row)
	}
	for _, p := range s.Problems() {
		r.Problems = append(r.Problems, Problem{Step: p.Step, Check: p.Check, Host: p.Host, Outcome: p.Result.Outcome, Summary: p.Result.Summary, Evidence: p.Result.Evidence, Attempts: len(p.Attempts)})
	}
	for _, d := range s.Decisions {
		r.Decisions = append(r.Decisions, Decision{Step: d.Step, Question: d.Question, Choice: string(d.Choice), Reason: d.Reason, By: d.By, At: d.At})
	}
	for _, n := range s.Notes {
		r.Notes = append(r.Notes, Note{Source: n.Source, Text: n.Text, At: n.At})
	}
	for _, m := range s.Migrations {
		if !m.Done && !m.Failed && !m.Interrupted {
			continue
		}
		res := "done"
		switch {
		case m.Failed, m.Interrupted:
			res = m.Result
		case m.Skipped:
			res = m.Result
		}
		r.Migrations = append(r.Migrations, Migration{Step: m.Step, VM: m.VM, From: m.From, To: m.To, Duration: m.Elapsed, Failed: m.Failed, Result: res})
	}
	for _, w := range s.Watches {
		r.Watches = append(r.Watches, &Watch{Step: w.Step, Target: w.Target, From: w.From, Limits: w.Limits, Whole: w.Stats, Gate: w.GateStats(),
			Counts: w.Counts(), GateLine: w.GateLine(), Verdict: w.Verdict, Reason: w.Reason, Breach: w.Breach, Latency: w.Latency, History: w.History, Marks: w.Marks})
	}
	r.Waves = waves(s)
	if rb := s.Rollback; rb != nil {
		r.Rollback = &runbook.RollbackData{Trigger: rb.Trigger, Reason: rb.Reason, Steps: rb.Steps}
	}
	r.openItems(v, s)
	r.Moments = moments(s, v)
	r.First = first(r, s, v)
	return r
}

// first is the first screen: the outcome and why, where the VM is and what proved it, what was
// proceeded over and by whom, the approvals, and whether the journal can be trusted.
func first(r *Report, s *runbook.RunState, v *transcript.Report) []Fact {
	var out []Fact
	outcome := orDash(r.Headline)
	if r.Status == "" {
		outcome = "NO END in the journal (killed, or still running)"
	}
	if r.Reason != "" {
		outcome += " — " + r.Reason
	}
	out = append(out, Fact{"outcome", outcome, r.Headline != "DONE"})
	if where, proof := s.VMProof(); where != "" {
		out = append(out, Fact{"the VM now", where + ", proved by " + proof, false})
	}
	for _, st := range s.Steps {
		if st.Status != string(runbook.StepOverridden) {
			continue
		}
		by := ""
		for _, d := range s.Decisions {
			if d.Step == st.Name && d.Choice == runbook.Proceed {
				by = " (by " + d.By + ")"
			}
		}
		out = append(out, Fact{"proceeded over", st.Name + by + ": " + st.Reason, true})
	}
	for _, a := range s.Approvals {
		out = append(out, Fact{"approved", fmt.Sprintf("%s by %s: %s", a.Step, a.Fingerprint, approvalTrust(a.Fingerprint, v)), !slices.Contains(verified(v), a.Fingerprint)})
	}
	trust := r.Signature.Mark()
	if len(r.Signature.Detail) > 0 {
		trust += ": " + strings.Join(r.Signature.Detail, "; ")
	}
	out = append(out, Fact{"trust", trust, !r.Signature.OK})
	return out
}

// Rows are the report's head table, the same in Markdown and HTML: the first screen, then the run's
// particulars.
func (r *Report) Rows() []Fact {
	rows := slices.Clone(r.First)
	rows = append(rows, Fact{Label: "run", Value: r.Run}, Fact{Label: "operators", Value: strings.Join(r.Operators, ", ")},
		Fact{Label: "started", Value: stamp(r.Started)}, Fact{Label: "ended", Value: stamp(r.Ended)})
	if r.Window != nil {
		rows = append(rows, Fact{Label: "window", Value: stamp(r.Window.Start) + " → " + stamp(r.Window.End)})
	}
	file := r.File
	if r.FileSHA != "" {
		file += " (sha256 " + r.FileSHA + ")"
	}
	return append(rows, Fact{Label: "runbook file", Value: file}, Fact{Label: "journal", Value: r.Journal})
}

func verified(v *transcript.Report) []string {
	if v == nil {
		return nil
	}
	return v.Approvals
}

// approvalTrust says what verify found of a sign-off.
func approvalTrust(fp string, v *transcript.Report) string {
	if v == nil {
		return "not verified"
	}
	if slices.Contains(v.Approvals, fp) {
		return "signature verified"
	}
	for _, n := range v.NotAllowed {
		if strings.HasPrefix(n, fp+" ") {
			return "NOT ALLOWED: " + n
		}
	}
	return "not verified"
}

// moments are the fold's, an approval's with what verify found of it.
func moments(s *runbook.RunState, v *transcript.Report) []runbook.Moment {
	out := slices.Clone(s.Moments)
	for i, m := range out {
		if m.Kind == "approval" {
			out[i].Text += " (" + approvalTrust(m.By, v) + ")"
		}
		if m.Kind == "note" && strings.HasSuffix(m.By, " (signed note)") {
			state := "not verified"
			if v != nil && slices.Contains(v.Notes, strings.TrimSuffix(m.By, " (signed note)")) {
				state = "signature verified"
			}
			out[i].Text += " (" + state + ")"
		}
	}
	return out
}

func signature(v *transcript.Report) Signature {
	if v == nil {
		return Signature{Detail: []string{"not verified"}}
	}
	s := Signature{OK: v.OK(), Unproven: v.Verdict() == transcript.Unproven}
	switch {
	case v.Problem != nil:
		s.Detail = append(s.Detail, fmt.Sprintf("chain BROKEN at line %d: %s — nothing from there on can be trusted", v.Problem.Line, v.Problem.Msg))
	case v.Truncated:
		s.Detail = append(s.Detail, fmt.Sprintf("chain intact through line %d, then a torn line (the run was killed mid-write)", v.Lines))
	default:
		s.Detail = append(s.Detail, fmt.Sprintf("hash chain intact, %d lines", v.Lines))
	}
	s.Detail = append(s.Detail, fmt.Sprintf("%d signed checkpoints, %d unsigned", v.Checkpoints, v.Unsigned))
	if len(v.Keys) > 0 {
		who := "trust not checked (no allowed signers named)"
		switch {
		case v.Trust != "" && len(v.Principals) > 0:
			who = fmt.Sprintf("trusted as %v by %s", v.Principals, v.Trust)
		case v.Trust != "":
			who = "NOT trusted by " + v.Trust
		}
		s.Detail = append(s.Detail, fmt.Sprintf("signed by %v, %s", v.Keys, who))
	}
	for _, u := range v.Untrusted {
		s.Detail = append(s.Detail, "untrusted: "+u)
	}
	s.Detail = append(s.Detail, "detached signature: "+v.Detached)
	s.Detail = append(s.Detail, v.Gaps()...)
	return s
}

// openItems lists what the next person has to look at.
func (r *Report) openItems(v *transcript.Report, s *runbook.RunState) {
	if v != nil && !v.OK() {
		r.OpenItems = append(r.OpenItems, "the journal does not fully verify: see Signature")
	}
	switch r.Status {
	case "":
		r.OpenItems = append(r.OpenItems, "the run has no end in the journal: it was killed or is still running (cutover resume)")
	case string(runbook.RunRollbackFailed):
		r.OpenItems = append(r.OpenItems, s.Outcome()+" — "+r.Reason)
	case string(runbook.RunAborted), string(runbook.RunInterrupted):
		r.OpenItems = append(r.OpenItems, "the run stopped before the end: "+r.Reason)
	}
	for _, s := range r.Steps {
		if s.Status == string(runbook.StepOverridden) {
			r.OpenItems = append(r.OpenItems, fmt.Sprintf("step %s was proceeded over: %s", s.Name, s.Reason))
		}
	}
	for _, p := range r.Problems {
		if p.Outcome == runbook.Inconclusive {
			r.OpenItems = append(r.OpenItems, fmt.Sprintf("%s / %s could not be checked%s: %s", p.Step, p.Check, p.times(), p.Summary))
		}
	}
}
