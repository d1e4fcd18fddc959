package report

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cutover/cutover/runbook"
	"github.com/cutover/cutover/runbook/transcript"
)

var update = flag.Bool("update", false, "rewrite golden files")

var t0 = time.Date(2026, 11, 28, 22, 0, 0, 0, time.UTC)

// run is a rolled-back migration as the engine journals it.
func run() []runbook.Event {
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Second) }
	ev := func(i int, typ runbook.EventType, step string, data any) runbook.Event {
		return runbook.Event{Seq: int64(i), Time: at(i), Run: "r1", Type: typ, Step: step, Data: data}
	}
	var samples [][3]int64
	for i := range 40 {
		rtt := int64(400 + i%5*20)
		if i == 20 || i == 21 {
			rtt = -1
		}
		samples = append(samples, [3]int64{int64(i), at(10).UnixMilli() + int64(i)*200, rtt})
	}
	from := &runbook.Placement{Host: "esx-a-01", Cluster: "SITE-A"}
	return []runbook.Event{
		ev(1, runbook.EvRunStart, "", runbook.RunStartData{Runbook: "stretched-vlan-vmotion", File: "runbooks.yaml", Operator: "alice@noc", Steps: []string{"pre-checks", "migrate", "post-checks"},
			Window: &runbook.WindowData{Start: t0, End: t0.Add(4 * time.Hour)}}),
		ev(2, runbook.EvStepStart, "pre-checks", runbook.StepStartData{Index: 1, Of: 3, Phase: runbook.PhaseRun}),
		ev(3, runbook.EvCheck, "pre-checks", runbook.CheckData{Check: "clock", Host: "app", Result: runbook.Result{Outcome: runbook.Inconclusive, Summary: "chronyd is not running", Evidence: []string{"506 Cannot talk to daemon"}}}),
		ev(4, runbook.EvGate, "pre-checks", runbook.GateData{Attempt: 1, Attempts: 1, Verdict: runbook.Inconclusive, Passed: 12, Inconclusive: 1}),
		ev(5, runbook.EvQuestion, "pre-checks", runbook.QuestionData{Kind: runbook.AskGate, Prompt: "step pre-checks: clock: chronyd is not running"}),
		ev(6, runbook.EvDecision, "pre-checks", runbook.DecisionData{Choice: runbook.Proceed, Reason: "NTP checked on the console | ok", By: "bob@noc"}),
		ev(7, runbook.EvStepEnd, "pre-checks", runbook.StepEndData{Status: runbook.StepOverridden, Reason: "clock inconclusive; operator proceeded", Duration: 6000}),
		ev(9, runbook.EvStepStart, "migrate", runbook.StepStartData{Index: 2, Of: 3, Phase: runbook.PhaseRun}),
		ev(10, runbook.EvWatch, "migrate", runbook.WatchData{Phase: "start", Target: "10.20.0.1", From: "app", Limits: runbook.WatchLimits{MaxLost: 1}}),
		ev(12, runbook.EvPing, "migrate", runbook.PingData{Target: "10.20.0.1", From: "app", Samples: samples[:25]}),
		ev(13, runbook.EvWatch, "migrate", runbook.WatchData{Phase: "breach", Reason: "2 packets lost, limit 1"}),
		ev(14, runbook.EvMigrate, "migrate", runbook.MigrateData{Phase: "done", Move: runbook.Move{VM: "app-01", Host: "esx-b-01"}, From: from, To: &runbook.Placement{Host: "esx-b-01"}, Duration: 4100}),
		ev(16, runbook.EvPing, "migrate", runbook.PingData{Samples: samples[25:]}),
		ev(17, runbook.EvWatch, "migrate", runbook.WatchData{Phase: "end", Verdict: "fail", Reason: "2 packets lost, limit 1",
			Stats: &runbook.WatchStats{Sent: 40, Received: 38, Lost: 2, LongestOutage: 400, RTTP95: 0.48}}),
		ev(18, runbook.EvStepEnd, "migrate", runbook.StepEndData{Status: runbook.StepFailed, Reason: "gateway watch: 2 packets lost, limit 1", Duration: 9000}),
		ev(19, runbook.EvRollback, "", runbook.RollbackData{Trigger: "migrate", Reason: "gateway watch: 2 packets lost, limit 1", Steps: []string{"migrate-back"}}),
		ev(20, runbook.EvStepStart, "migrate-back", runbook.StepStartData{Index: 1, Of: 1, Phase: runbook.PhaseRollback, Undoes: "migrate"}),
		ev(24, runbook.EvMigrate, "migrate-back", runbook.MigrateData{Phase: "done", Move: runbook.Move{VM: "app-01", Host: "esx-a-01"}, From: &runbook.Placement{Host: "esx-b-01"}, To: from, Duration: 3900}),
		ev(25, runbook.EvStepEnd, "migrate-back", runbook.StepEndData{Status: runbook.StepPassed, Duration: 5000}),
		ev(26, runbook.EvRunEnd, "", runbook.RunEndData{Status: runbook.RunRolledBack, Reason: "gateway watch: 2 packets lost, limit 1"}),
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		os.WriteFile(path, got, 0o644)
	}
	want, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(want, got) {
		t.Errorf("%s differs (check, then go test ./runbook/report -update):\n%s", path, got)
	}
}

func TestReportGolden(t *testing.T) {
	v := &transcript.Report{Lines: 26, Checkpoints: 4, Keys: []string{"SHA256:abc"}, Principals: []string{"alice@noc"}, Detached: "verified", Trust: "allowed_signers"}
	r := Build("transcripts/r1.jsonl", run(), v)
	var md, html bytes.Buffer
	if err := r.Markdown(&md); err != nil {
		t.Fatal(err)
	}
	if err := r.HTML(&html); err != nil {
		t.Fatal(err)
	}
	golden(t, "report.md", md.Bytes())
	golden(t, "report.html", html.Bytes())
	for _, want := range []string{"bob@noc", "NTP checked on the console \\| ok", "esx-a-01 → esx-b-01 in 4.1s", "post-checks | run | skipped", "Gated span: 40 sent, 2 lost · whole watch: 40 sent, 2 lost", "step pre-checks was proceeded over"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("markdown lacks %q", want)
		}
	}
	if strings.Contains(html.String(), "http://") && !strings.Contains(html.String(), `xmlns="http://www.w3.org/2000/svg"`) {
		t.Error("the HTML report must not load anything")
	}
	if !strings.Contains(html.String(), `aria-label="gateway RTT over the whole watch: 40 sent, 2 lost"`) || strings.Count(html.String(), "lost at 22:00:14") != 2 {
		t.Error("the SVG does not draw the run's samples and losses")
	}
	_, spark, _ := strings.Cut(md.String(), "## Gateway watch")
	if _, spark, _ = strings.Cut(spark, "```\n"); strings.Count(strings.SplitN(spark, "\n", 2)[0], "✗") != 2 {
		t.Errorf("the sparkline does not show both losses:\n%s", spark)
	}
}

func TestOpenItemsOfAnUnfinishedRun(t *testing.T) {
	evs := run()[:10]
	r := Build("x.jsonl", evs, &transcript.Report{Lines: 10, Truncated: true, Detached: "missing"})
	got := strings.Join(r.OpenItems, "\n")
	for _, want := range []string{"does not fully verify", "no end in the journal", "clock could not be checked"} {
		if !strings.Contains(got, want) {
			t.Errorf("open items lack %q:\n%s", want, got)
		}
	}
}

func TestSparklineBucketsKeepLosses(t *testing.T) {
	w := &Watch{}
	for i := range 1000 {
		rtt := int64(500)
		if i == 777 {
			rtt = -1
		}
		w.History.Add([3]int64{int64(i), int64(i), rtt})
	}
	line := Sparkline(w, 100)
	if n := len([]rune(line)); n != 100 || strings.Count(line, "✗") != 1 {
		t.Errorf("sparkline %q (%d marks)", line, n)
	}
}

func TestNotesReachBothFormats(t *testing.T) {
	evs := append(run(), runbook.Event{Seq: 99, Time: t0.Add(time.Minute), Run: "r1", Type: runbook.EvNote,
		Data: runbook.NoteData{Source: "vcenter", Text: "the session expired; logged in again <again>"}})
	r := Build("x.jsonl", evs, &transcript.Report{})
	var md, html strings.Builder
	if err := r.Markdown(&md); err != nil {
		t.Fatal(err)
	}
	if err := r.HTML(&html); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "## What happened, in order") || !strings.Contains(md.String(), "| note: the session expired; logged in again \\<again\\> | vcenter |") {
		t.Errorf("markdown:\n%s", md.String())
	}
	if !strings.Contains(html.String(), "<td>note: the session expired; logged in again &lt;again&gt;</td><td>vcenter</td>") {
		t.Errorf("html lacks the escaped note")
	}
}

// BenchmarkReport200k folds a 200,000-event run (a four-hour watch's pings, chatty checks'
// output, checks and gates) and renders its report in Markdown and HTML.
func BenchmarkReport200k(b *testing.B) {
	evs := run()
	seq := int64(len(evs))
	at := t0
	for i := 0; len(evs) < 200_000; i++ {
		seq++
		at = at.Add(50 * time.Millisecond)
		var d any
		typ := runbook.EvOutput
		switch i % 4 {
		case 0:
			typ = runbook.EvPing
			d = runbook.PingData{Target: "10.20.0.1", From: "app", Samples: [][3]int64{{int64(i), at.UnixMilli(), 300 + int64(i%50)}}, Stats: runbook.WatchStats{Sent: i}}
		case 1:
			typ = runbook.EvCheck
			d = runbook.CheckData{Index: i % 12, Check: "unit_active nginx", Kind: "unit_active", Host: "app", Result: runbook.Result{Outcome: runbook.Pass, Summary: "active"}}
		default:
			d = runbook.OutputData{Index: i % 12, Check: "journal", Host: "app", Lines: []runbook.Line{{Stream: "stdout", Text: "Dec 01 19:18:18 app-01 nginx[1203]: 10.20.0.1 - - GET /health HTTP/1.1 200"}}}
		}
		evs = append(evs[:len(evs)-1], runbook.Event{Seq: seq, Time: at, Run: "r1", Type: typ, Step: "migrate", Data: d}, evs[len(evs)-1])
	}
	b.ResetTimer()
	for range b.N {
		r := Build("big.jsonl", evs, &transcript.Report{})
		var md, page strings.Builder
		if err := r.Markdown(&md); err != nil {
			b.Fatal(err)
		}
		if err := r.HTML(&page); err != nil {
			b.Fatal(err)
		}
	}
}
