package runbook

import (
	"strings"
	"testing"
	"time"
)

// events numbers a scripted run's events.
func events(evs ...Event) []Event {
	t0 := time.Date(2026, 11, 28, 22, 0, 0, 0, time.UTC)
	for i := range evs {
		evs[i].Seq, evs[i].Run, evs[i].Time = int64(i+1), "r1", t0.Add(time.Duration(i)*time.Second)
	}
	return evs
}

func ev(typ EventType, step string, data any) Event { return Event{Type: typ, Step: step, Data: data} }

// A check that failed on every attempt of a retrying gate is one problem, with its attempts.
func TestRunStateCountsAttemptsNotRepeats(t *testing.T) {
	var evs []Event
	evs = append(evs, ev(EvRunStart, "", RunStartData{Runbook: "rb", Steps: []string{"pre"}}), ev(EvStepStart, "pre", StepStartData{Phase: PhaseRun}))
	for a := 1; a <= 3; a++ {
		evs = append(evs, ev(EvCheck, "pre", CheckData{Index: 0, Check: "slow", Attempt: a, Result: Result{Outcome: Inconclusive, Summary: "timed out"}}),
			ev(EvGate, "pre", GateData{Attempt: a, Attempts: 3, Verdict: Inconclusive, Inconclusive: 1}))
	}
	s := FoldEvents(events(evs...))
	p := s.Problems()
	if len(p) != 1 || len(p[0].Attempts) != 3 || p[0].Result.Summary != "timed out" {
		t.Fatalf("problems %+v", p)
	}
}

// A run killed mid-step and resumed shows the step once, as it ended after the resume.
func TestRunStateResumedStepKeepsItsRow(t *testing.T) {
	s := FoldEvents(events(
		ev(EvRunStart, "", RunStartData{Runbook: "rb", Steps: []string{"pre", "migrate"}}),
		ev(EvStepStart, "pre", StepStartData{Phase: PhaseRun}), ev(EvStepEnd, "pre", StepEndData{Status: StepPassed}),
		ev(EvStepStart, "migrate", StepStartData{Phase: PhaseRun, Action: "migrate"}),
		// killed here
		ev(EvResume, "", ResumeData{Operator: "second", Completed: []string{"pre"}, InFlight: "migrate"}),
		ev(EvStepStart, "migrate", StepStartData{Phase: PhaseRun, Action: "migrate"}), ev(EvStepEnd, "migrate", StepEndData{Status: StepPassed}),
		ev(EvRunEnd, "", RunEndData{Status: RunDone}),
	))
	var rows []string
	for _, st := range s.Steps {
		rows = append(rows, st.Name+" "+st.Status)
	}
	if got := strings.Join(rows, ", "); got != "pre passed, migrate passed" {
		t.Errorf("rows: %s", got)
	}
	if s.Outcome() != "done" || len(s.Operators) != 1 || s.Operators[0] != "second" {
		t.Errorf("outcome %q operators %v", s.Outcome(), s.Operators)
	}
}

// A failed vMotion stays FAILED when the rollback's move finds the VM already home.
func TestRunStateFailedVMotionIsNotOverwritten(t *testing.T) {
	move := Move{VM: "app-01", Host: "esx-b-01"}
	back := Move{VM: "app-01", Host: "esx-a-01"}
	s := FoldEvents(events(
		ev(EvRunStart, "", RunStartData{Runbook: "rb", Steps: []string{"migrate"}}),
		ev(EvStepStart, "migrate", StepStartData{Phase: PhaseRun, Action: "migrate"}),
		ev(EvMigrate, "migrate", MigrateData{Phase: "origin", Move: move, From: &Placement{Host: "esx-a-01"}}),
		ev(EvMigrate, "migrate", MigrateData{Phase: "start", Move: move, From: &Placement{Host: "esx-a-01"}}),
		ev(EvProgress, "migrate", ProgressData{VM: "app-01", Percent: 92, Stage: "Switching over"}),
		ev(EvMigrate, "migrate", MigrateData{Phase: "failed", Move: move, Error: "MigrationFault"}),
		ev(EvStepEnd, "migrate", StepEndData{Status: StepFailed}),
		ev(EvRollback, "", RollbackData{Trigger: "migrate", Steps: []string{"migrate-back"}}),
		ev(EvStepStart, "migrate-back", StepStartData{Phase: PhaseRollback, Undoes: "migrate", Action: "migrate"}),
		ev(EvMigrate, "migrate-back", MigrateData{Phase: "skipped", Move: back}),
		ev(EvStepEnd, "migrate-back", StepEndData{Status: StepPassed}),
		ev(EvRunEnd, "", RunEndData{Status: RunRolledBack}),
	))
	m := s.Migration()
	if m == nil || !m.Failed || m.Percent != 92 || m.Result != "MigrationFault" || len(s.Migrations) != 2 || !s.Migrations[1].Skipped {
		t.Fatalf("migration shown %+v of %d", m, len(s.Migrations))
	}
}

// A rollback step the operator passed with a reason is said to be accepted, not "between states".
func TestRunStateAcceptedRollback(t *testing.T) {
	s := FoldEvents(events(
		ev(EvRunStart, "", RunStartData{Runbook: "rb", Steps: []string{"migrate"}}),
		ev(EvStepStart, "migrate", StepStartData{Phase: PhaseRun}), ev(EvStepEnd, "migrate", StepEndData{Status: StepFailed}),
		ev(EvRollback, "", RollbackData{Trigger: "migrate", Steps: []string{"migrate-back"}}),
		ev(EvStepStart, "migrate-back", StepStartData{Phase: PhaseRollback, Undoes: "migrate"}),
		ev(EvQuestion, "migrate-back", QuestionData{Kind: AskRollback, Prompt: "gate did not hold"}),
		ev(EvDecision, "migrate-back", DecisionData{Choice: Proceed, Reason: "VM verified on esx-a-01 by hand", By: "alice"}),
		ev(EvStepEnd, "migrate-back", StepEndData{Status: StepOverridden}),
		ev(EvRunEnd, "", RunEndData{Status: RunRollbackFailed}),
	))
	if got := s.Outcome(); !strings.Contains(got, "migrate-back accepted by the operator") || s.Step("migrate").Status != "rolled back" {
		t.Errorf("outcome %q, migrate %s", got, s.Step("migrate").Status)
	}
	if d := s.Decisions; len(d) != 1 || d[0].Question != "gate did not hold" {
		t.Errorf("decisions %+v", d)
	}
}

// A run that proceeded over a failure is done, and says so: the overridden step is named.
func TestRunStateDoneWithAnOverrideSaysSo(t *testing.T) {
	s := NewRunState()
	for i, e := range []Event{
		{Type: EvRunStart, Data: RunStartData{Runbook: "r", Operator: "op"}},
		{Type: EvStepStart, Step: "pre", Data: StepStartData{Index: 1, Of: 2, Phase: PhaseRun}},
		{Type: EvStepEnd, Step: "pre", Data: StepEndData{Status: StepOverridden, Reason: "clock inconclusive; operator proceeded"}},
		{Type: EvStepStart, Step: "move", Data: StepStartData{Index: 2, Of: 2, Phase: PhaseRun}},
		{Type: EvStepEnd, Step: "move", Data: StepEndData{Status: StepPassed}},
		{Type: EvRunEnd, Data: RunEndData{Status: RunDone}},
	} {
		e.Seq = int64(i + 1)
		s.Apply(e)
	}
	if got := s.Outcome(); got != "done (1 failure overridden: pre)" {
		t.Errorf("outcome %q", got)
	}
}
