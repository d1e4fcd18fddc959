package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/cutover/cutover/runbook"
)

// A wave's page: the summary first, one row per VM with where it went, what its watch saw and how
// it ended; the failed one stands out.
func TestWaveTable(t *testing.T) {
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Second) }
	ev := func(i int, typ runbook.EventType, step string, data any) runbook.Event {
		return runbook.Event{Seq: int64(i), Time: at(i), Run: "r1", Type: typ, Step: step, Data: data}
	}
	a, b := &runbook.Placement{Host: "esx-a-01"}, &runbook.Placement{Host: "esx-b-01"}
	move := runbook.ItemStep("tier", "app-01", "move")
	bad := runbook.ItemStep("tier", "app-02", "move")
	events := []runbook.Event{
		ev(1, runbook.EvRunStart, "", runbook.RunStartData{Runbook: "wave", Steps: []string{"tier"}}),
		ev(2, runbook.EvStepStart, "tier", runbook.StepStartData{Index: 1, Of: 1, Phase: runbook.PhaseRun}),
		ev(3, runbook.EvWave, "tier", runbook.WaveData{Items: []string{"app-01", "app-02", "app-03"}, BatchSize: 2, Batches: 2, MaxFailures: 1, Rule: runbook.RollbackVM, ParallelPerHost: 2}),
		ev(4, runbook.EvStepStart, move, runbook.StepStartData{Index: 1, Of: 1, Phase: runbook.PhaseRun}),
		ev(5, runbook.EvMigrate, move, runbook.MigrateData{Phase: runbook.MigrateOrigin, From: a}),
		ev(6, runbook.EvMigrate, move, runbook.MigrateData{Phase: runbook.MigrateDone, From: a, To: b}),
		ev(7, runbook.EvWatch, move, runbook.WatchData{Phase: runbook.WatchEnd, Verdict: "pass", Stats: &runbook.WatchStats{Sent: 50, Lost: 1},
			Latency: &runbook.WatchLatency{Before: runbook.RTTFigures{Answers: 20, P50: 0.3}, After: runbook.RTTFigures{Answers: 20, P50: 2.3}}}),
		ev(8, runbook.EvStepEnd, move, runbook.StepEndData{Status: runbook.StepPassed}),
		ev(9, runbook.EvWaveItem, "tier", runbook.WaveItemData{Item: "app-01", Batch: 1, Status: runbook.ItemMoved}),
		ev(10, runbook.EvStepStart, bad, runbook.StepStartData{Index: 1, Of: 1, Phase: runbook.PhaseRun}),
		ev(11, runbook.EvMigrate, bad, runbook.MigrateData{Phase: runbook.MigrateOrigin, From: a}),
		ev(12, runbook.EvStepEnd, bad, runbook.StepEndData{Status: runbook.StepFailed, Reason: "MigrationFault"}),
		ev(13, runbook.EvWaveItem, "tier", runbook.WaveItemData{Item: "app-02", Batch: 1, Status: runbook.ItemRolledBack, Reason: "step move: MigrationFault"}),
		ev(14, runbook.EvWaveItem, "tier", runbook.WaveItemData{Item: "app-03", Batch: 2, Status: runbook.ItemMoved}),
		ev(15, runbook.EvStepEnd, "tier", runbook.StepEndData{Status: runbook.StepPassed, Reason: "2 moved, 1 rolled back"}),
		ev(16, runbook.EvRunEnd, "", runbook.RunEndData{Status: runbook.RunDone}),
	}
	r := Build("j.jsonl", events, nil)
	var md, html bytes.Buffer
	r.Markdown(&md)
	r.HTML(&html)
	for _, want := range []string{
		"## Wave tier\n\n3 VMs in 2 batch(es) of 2 (max\\_failures 1, on\\_failure rollback\\_vm): 2 moved, 1 rolled back",
		"| app-01 | 1 | esx-a-01 → esx-b-01 | 1/50 | 0.30 → 2.30 ms (+2.00) | pass | moved |",
		"| app-02 | 1 | esx-a-01 → — | — | — | — | **rolled back: step move: MigrationFault** |",
	} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("Markdown lacks %q:\n%s", want, md.String())
		}
	}
	for _, want := range []string{"<h2>Wave tier</h2>", "<td>esx-a-01 → esx-b-01</td>", `<td class="bad">rolled back: step move: MigrationFault</td>`} {
		if !strings.Contains(html.String(), want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	if strings.Index(md.String(), "## Wave") > strings.Index(md.String(), "## Timeline") {
		t.Error("the wave's summary comes after the timeline")
	}
}
