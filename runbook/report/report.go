// Package report turns a run's journal into the handoff report: one page a colleague can take over
// from, in Markdown or self-contained HTML.
package report

import (
	"fmt"
	"slices"
	"time"

	"github.com/cutover/cutover/checks"
	"github.com/cutover/cutover/checks/ping"
	"github.com/cutover/cutover/internal/termsafe"
	"github.com/cutover/cutover/runbook"
	"github.com/cutover/cutover/runbook/transcript"
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
	Reason     string
	Steps      []Step
	Problems   []Problem // failed or inconclusive checks and actions, with evidence
	Decisions  []Decision
	Notes      []Note
	Migrations []Migration
	Watch      *Watch
	Rollback   *runbook.RollbackData
	OpenItems  []string
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
		return "⚠ NOT VERIFIED (unproven)"
	}
	return "✗ NOT VERIFIED (failed)"
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
	Outcome           checks.Outcome
	Summary           string
	Evidence          []string
	At                time.Time
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

// Watch is the gateway watch: the verdict over the gated span and every sample, for the picture.
type Watch struct {
	Target, From, Verdict, Reason string
	Limits                        ping.Limits
	Stats                         ping.Stats
	Samples                       [][3]int64
	Breach                        string
}

// Build reads the events (and the verify report) into a Report.
// Every string from the journal is made terminal-safe first (termsafe): the report is read in
// terminals and pasted into tickets, and a host's output must not rewrite what it shows.
func Build(journal string, events []runbook.Event, v *transcript.Report) *Report {
	r := &Report{Journal: termsafe.Text(journal)}
	r.Signature = termsafe.Value(signature(v))
	events = termsafe.Value(events)
	steps := map[string]int{}
	var planned []string
	var lastQuestion string
	for _, ev := range events {
		switch d := ev.Data.(type) {
		case runbook.RunStartData:
			r.Run, r.Runbook, r.File, r.Window, r.Started = ev.Run, d.Runbook, d.File, d.Window, ev.Time
			r.addOperator(d.Operator)
			planned = d.Steps
		case runbook.StepStartData:
			steps[ev.Step] = len(r.Steps)
			r.Steps = append(r.Steps, Step{Name: ev.Step, Phase: string(d.Phase), Undoes: d.Undoes, Start: ev.Time, Status: "running"})
		case runbook.GateData:
			if i, ok := steps[ev.Step]; ok {
				r.Steps[i].Gate = fmt.Sprintf("%s (%d/%d passed, attempt %d/%d)", d.Verdict, d.Passed, d.Passed+d.Failed+d.Inconclusive, d.Attempt, d.Attempts)
			}
		case runbook.StepEndData:
			if i, ok := steps[ev.Step]; ok {
				r.Steps[i].Status, r.Steps[i].Reason, r.Steps[i].Duration = string(d.Status), d.Reason, time.Duration(d.Duration)*time.Millisecond
			}
		case runbook.CheckData:
			if d.Outcome != checks.Pass {
				r.Problems = append(r.Problems, Problem{Step: ev.Step, Check: d.Check, Host: d.Host, Outcome: d.Outcome, Summary: d.Summary, Evidence: d.Evidence, At: ev.Time})
			}
		case runbook.QuestionData:
			lastQuestion = d.Prompt
		case runbook.DecisionData:
			r.Decisions = append(r.Decisions, Decision{Step: ev.Step, Question: lastQuestion, Choice: string(d.Choice), Reason: d.Reason, By: d.By, At: ev.Time})
			r.addOperator(d.By)
		case runbook.MigrateData:
			switch d.Phase {
			case "done", "failed", "skipped":
				m := Migration{Step: ev.Step, VM: d.Move.VM, To: d.Move.Host, Duration: time.Duration(d.Duration) * time.Millisecond, Failed: d.Phase == "failed", Result: d.Phase}
				if d.From != nil {
					m.From = d.From.Host
				}
				if d.Error != "" {
					m.Result = d.Error
				}
				r.Migrations = append(r.Migrations, m)
			}
		case runbook.WatchData:
			if d.Phase == "start" {
				r.Watch = &Watch{Target: d.Target, From: d.From, Limits: d.Limits}
			}
			if r.Watch != nil && d.Phase == "breach" {
				r.Watch.Breach = d.Reason
			}
			if r.Watch != nil && d.Phase == "end" {
				r.Watch.Verdict, r.Watch.Reason = d.Verdict, d.Reason
				if d.Stats != nil {
					r.Watch.Stats = *d.Stats
				}
			}
		case runbook.PingData:
			if r.Watch != nil {
				r.Watch.Samples = append(r.Watch.Samples, d.Samples...)
			}
		case runbook.NoteData:
			r.Notes = append(r.Notes, Note{Source: d.Source, Text: d.Text, At: ev.Time})
		case runbook.RollbackData:
			rb := d
			r.Rollback = &rb
		case runbook.RunEndData:
			r.Status, r.Reason, r.Ended = string(d.Status), d.Reason, ev.Time
		}
	}
	for _, name := range planned { // steps the run never reached
		if _, ok := steps[name]; !ok && r.Status != "" {
			r.Steps = append(r.Steps, Step{Name: name, Phase: "run", Status: "skipped"})
		}
	}
	r.openItems(v)
	return r
}

func (r *Report) addOperator(who string) {
	if who != "" && who != "--yes" && who != "cutover" && !slices.Contains(r.Operators, who) {
		r.Operators = append(r.Operators, who)
	}
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
func (r *Report) openItems(v *transcript.Report) {
	if v != nil && !v.OK() {
		r.OpenItems = append(r.OpenItems, "the journal does not fully verify: see Signature")
	}
	switch r.Status {
	case "":
		r.OpenItems = append(r.OpenItems, "the run has no end in the journal: it was killed or is still running (cutover resume)")
	case string(runbook.RunRollbackFailed):
		r.OpenItems = append(r.OpenItems, "the rollback did not complete: the system is between states — "+r.Reason)
	case string(runbook.RunAborted), string(runbook.RunInterrupted):
		r.OpenItems = append(r.OpenItems, "the run stopped before the end: "+r.Reason)
	}
	for _, s := range r.Steps {
		if s.Status == string(runbook.StepOverridden) {
			r.OpenItems = append(r.OpenItems, fmt.Sprintf("step %s was proceeded over: %s", s.Name, s.Reason))
		}
	}
	for _, p := range r.Problems {
		if p.Outcome == checks.Inconclusive {
			r.OpenItems = append(r.OpenItems, fmt.Sprintf("%s / %s could not be checked: %s", p.Step, p.Check, p.Summary))
		}
	}
}
