package runbook

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cutover/cutover/checks"
)

// fakeVCenter is an in-memory vCenter: VMs on hosts, and relocations that can be made to fail.
type fakeVCenter struct {
	on       map[string]string
	failNext bool
	moves    []string
}

func (f *fakeVCenter) VMState(_ context.Context, vm string) (checks.VMState, error) {
	h, ok := f.on[vm]
	if !ok {
		return checks.VMState{}, errors.New("no such VM " + vm)
	}
	return checks.VMState{Name: vm, Host: h, PowerState: "poweredOn", Tools: "guestToolsRunning", IP: "10.20.0.15"}, nil
}

func (f *fakeVCenter) Locate(ctx context.Context, vm string) (checks.Placement, error) {
	st, err := f.VMState(ctx, vm)
	return checks.Placement{Host: st.Host, Cluster: "site-" + st.Host[4:5], Pool: "Resources", Datastore: "stretched-ds"}, err
}

func (f *fakeVCenter) TaskStatus(context.Context, string) (checks.TaskStatus, error) {
	return checks.TaskStatus{State: "success", Percent: 100}, nil
}

func (f *fakeVCenter) CancelTask(context.Context, string) error { return nil }

func (f *fakeVCenter) Preflight(context.Context, checks.Move) ([]string, []string, error) {
	return nil, nil, nil
}

func (f *fakeVCenter) Relocate(_ context.Context, m checks.Move, progress func(checks.MoveProgress)) error {
	f.moves = append(f.moves, m.VM+"→"+m.Host)
	for _, p := range []int{0, 40, 80} {
		progress(checks.MoveProgress{Percent: p, Stage: "copying memory", Elapsed: time.Duration(p) * time.Millisecond})
	}
	if f.failNext {
		f.failNext = false
		return errors.New("relocate app-01 → esx-b-01: vCenter task task-42 failed: MigrationFault")
	}
	f.on[m.VM] = m.Host
	progress(checks.MoveProgress{Percent: 100, Stage: "success"})
	return nil
}

const migrateBook = `
version: 1
runbooks:
  - name: t
    vars: {vm: app-01, target: esx-b-01}
    steps:
      - name: migrate
        migrate: {vm: "{{ .vm }}", host: "{{ .target }}"}
        checks: [{kind: vm_on_host, vm: "{{ .vm }}", esx_host: "{{ .target }}"}]
        rollback:
          - name: migrate-back
            migrate: {vm: "{{ .vm }}", host: "{{ .origin_host }}"}
            checks: [{kind: vm_on_host, vm: "{{ .vm }}", esx_host: "{{ .origin_host }}"}]
      - name: post
        checks: [{kind: command, name: app answers, run: "curl app"}]
`

func TestEngineMigrateRecordsOriginAndRollsBack(t *testing.T) {
	vc := &fakeVCenter{on: map[string]string{"app-01": "esx-a-01"}}
	h := newHarness(t, migrateBook, map[string][]reply{"curl app": {{exit: 7}}})
	h.cfg.VSphere = vc
	out := h.run(t, context.Background())
	if out.Status != RunRolledBack || vc.on["app-01"] != "esx-a-01" || strings.Join(vc.moves, ",") != "app-01→esx-b-01,app-01→esx-a-01" {
		t.Fatalf("outcome %+v, VM on %s, moves %v", out, vc.on["app-01"], vc.moves)
	}
	got := trace(h.rec.events)
	want := []string{
		"run.start", "checkpoint", "step.start migrate run",
		"migrate", "migrate", "migrate", "migrate.progress", "migrate.progress", "migrate.progress", "migrate.progress", "migrate",
		"action migrate migrate app-01 to esx-b-01 pass",
		"check migrate vm_on_host app-01 pass", "gate migrate pass 1/1", "step.end migrate passed", "checkpoint migrate",
		"step.start post run", "cmd post curl app", "check post app answers fail", "gate post fail 1/1", "step.end post failed", "checkpoint post",
		"rollback post [migrate-back]",
		"step.start migrate-back rollback",
		"migrate", "migrate", "migrate", "migrate.progress", "migrate.progress", "migrate.progress", "migrate.progress", "migrate",
		"action migrate-back migrate app-01 to esx-a-01 pass",
		"check migrate-back vm_on_host app-01 pass", "gate migrate-back pass 1/1", "step.end migrate-back passed", "checkpoint migrate-back",
		"run.end rolled-back", "checkpoint",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("events:\n  %s", strings.Join(got, "\n  "))
	}
	var phases []string
	for _, ev := range h.rec.events {
		if d, ok := ev.Data.(MigrateData); ok {
			phases = append(phases, string(d.Phase)+":"+d.From.Host)
		}
	}
	if strings.Join(phases, ",") != "origin:esx-a-01,preflight:esx-a-01,start:esx-a-01,done:esx-a-01,origin:esx-b-01,preflight:esx-b-01,start:esx-b-01,done:esx-b-01" {
		t.Errorf("migrate phases %v", phases)
	}
}

func TestEngineFailedRelocationTriggersRollback(t *testing.T) {
	vc := &fakeVCenter{on: map[string]string{"app-01": "esx-a-01"}, failNext: true}
	h := newHarness(t, migrateBook, nil)
	h.cfg.VSphere = vc
	out := h.run(t, context.Background())
	if out.Status != RunRolledBack || !strings.Contains(out.Reason, "vCenter task task-42 failed: MigrationFault") {
		t.Fatalf("outcome %+v", out)
	}
	got := strings.Join(trace(h.rec.events), "\n")
	for _, want := range []string{
		"action migrate migrate app-01 to esx-b-01 fail\nstep.end migrate failed",
		"rollback migrate [migrate-back]",
		"action migrate-back migrate app-01 to esx-a-01 pass", // the VM never left: nothing to move
		"run.end rolled-back",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("events lack %q:\n%s", want, got)
		}
	}
	if vc.on["app-01"] != "esx-a-01" || len(vc.moves) != 1 {
		t.Errorf("VM on %s after moves %v", vc.on["app-01"], vc.moves)
	}
}

func TestEngineMigrateWithoutVCenterIsInconclusive(t *testing.T) {
	h := newHarness(t, migrateBook, nil, Answer{Choice: Abort, Reason: "no vCenter today"})
	out := h.run(t, context.Background())
	if out.Status != RunAborted {
		t.Fatalf("outcome %+v", out)
	}
	if q := h.decider.questions[0]; q.Verdict != Inconclusive || !strings.Contains(q.Prompt, "no vCenter connection") {
		t.Errorf("question %+v", q)
	}
}
