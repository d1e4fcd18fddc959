package main

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/testenv"
	"github.com/cutover/cutover/lab"
	"github.com/cutover/cutover/runbook"
	"github.com/cutover/cutover/runbook/report"
	"github.com/cutover/cutover/runbook/transcript"
)

// The lab's hosts run their commands as links to this test binary.
func TestMain(m *testing.M) {
	if lab.IsTool() {
		os.Exit(lab.RunTool())
	}
	log.SetOutput(io.Discard) // as main does: only the vCenter simulator writes there
	code := testenv.Main(m)
	removeBinary()
	os.Exit(code)
}

// labRun runs the seed runbook in the lab with a quick vMotion and returns exit code, output, the
// journal's lines and the journal's path.
func labRun(t *testing.T, file, stdin string, args ...string) (int, string, string, []journalLine, string) {
	t.Helper()
	tr := t.TempDir()
	all := append([]string{"lab", "--file", file, "--plain", "--transcript", tr, "--relocate-time", "300ms", "--operator", "trainee@lab"}, args...)
	code, out, errs := cli(t, stdin, all...)
	m, _ := filepath.Glob(filepath.Join(tr, "*.jsonl"))
	if len(m) != 1 {
		return code, out, errs, nil, ""
	}
	return code, out, errs, readJournal(t, m[0]), m[0]
}

// finalHost is where the journal last saw the VM: the last migrate "done" or "skipped".
func finalHost(lines []journalLine) string {
	host := "esx-a-01" // where the lab starts it
	for _, l := range lines {
		if l.Type == "migrate" && (l.Data["phase"] == "done" || l.Data["phase"] == "skipped") {
			host = l.Data["to"].(map[string]any)["host"].(string)
		}
	}
	return host
}

func checkOutcome(lines []journalLine, step, kind string) []string {
	var out []string
	for _, l := range lines {
		if l.Type == "check" && l.Step == step && l.Data["kind"] == kind {
			out = append(out, fmt.Sprintf("%v: %v", l.Data["outcome"], l.Data["summary"]))
		}
	}
	return out
}

func TestLabCleanRunMovesTheVMAndVerifies(t *testing.T) {
	t.Parallel() // waits on lab moves and settles: beside the other slow ones (CI runs the package under -race)
	code, out, errs, lines, journal := labRun(t, "../../runbooks.yaml", "", "--yes")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	assertOneStory(t, journal)
	if h := finalHost(lines); h != "esx-b-01" {
		t.Errorf("VM ends on %s", h)
	}
	var pings, lost int
	verdict := ""
	for _, l := range lines {
		if l.Type == "ping" {
			for _, s := range l.Data["s"].([]any) {
				pings++
				if s.([]any)[2].(float64) == -1 {
					lost++
				}
			}
		}
		if l.Type == "watch" && l.Data["phase"] == "end" {
			verdict = fmt.Sprint(l.Data["verdict"])
		}
	}
	if got := checkOutcome(lines, "netbox-record", "netbox_vm"); len(got) != 1 || got[0] != "pass: NetBox has app-01 in cluster SITE-B, site SITE-B, as vCenter does" {
		t.Errorf("netbox_vm: %v", got)
	}
	if got := checkOutcome(lines, "pre-checks", "ipam"); len(got) != 1 || got[0] != "pass: 10.20.0.15 is Active in 10.20.0.0/24 on VLAN 200 (stretched)" {
		t.Errorf("ipam pre-check: %v", got)
	}
	// A clean vMotion loses one packet at switch-over: the gate allows exactly that.
	if pings < 10 || lost != 1 || verdict != "pass" {
		t.Errorf("watch: %d samples, %d lost, verdict %q", pings, lost, verdict)
	}
	for _, want := range []string{"lab: ready in", "progress [", "vcenter  app-01 now on esx-b-01 (SITE-B)", "run      DONE"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	allowed := strings.TrimSuffix(journal, ".jsonl") + ".allowed_signers"
	cmd := exec.Command("ssh-keygen", "-Y", "verify", "-f", allowed, "-I", "trainee@lab", "-n", "cutover-transcript", "-s", journal+".sig")
	data, _ := os.ReadFile(journal)
	cmd.Stdin = bytes.NewReader(data)
	if o, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("ssh-keygen -Y verify: %v %s", err, o)
	}
	if code, vout, _ := cli(t, "", "verify", journal, "--allowed-signers", allowed); code != 0 {
		t.Errorf("cutover verify: %d\n%s", code, vout)
	}
}

// With update: true a stale NetBox record is written, before and after in the journal.
func TestLabNetBoxUpdate(t *testing.T) {
	t.Parallel() // waits on lab moves and settles: beside the other slow ones (CI runs the package under -race)
	seed, err := os.ReadFile("../../runbooks.yaml")
	if err != nil {
		t.Fatal(err)
	}
	const check = `{kind: netbox_vm, vm: "{{ .vm }}", site: "{{ .target_site }}"}`
	if !bytes.Contains(seed, []byte(check)) {
		t.Fatal("the seed runbook has no netbox_vm check")
	}
	file := filepath.Join(t.TempDir(), "runbooks.yaml")
	os.WriteFile(file, bytes.Replace(seed, []byte(check), []byte(`{kind: netbox_vm, vm: "{{ .vm }}", site: "{{ .target_site }}", update: true}`), 1), 0o600)
	code, out, errs, lines, _ := labRun(t, file, "", "--yes", "--fault", "netbox-stale", "--relocate-time", "500ms")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	if got := checkOutcome(lines, "netbox-record", "netbox_vm"); len(got) != 1 || got[0] != "pass: NetBox record of app-01 updated: cluster SITE-A → SITE-B, site SITE-A → SITE-B" {
		t.Errorf("netbox_vm: %v", got)
	}
	var evidence []any
	for _, l := range lines {
		if l.Type == "check" && l.Data["kind"] == "netbox_vm" {
			evidence, _ = l.Data["evidence"].([]any)
		}
	}
	if len(evidence) < 2 || evidence[0] != "NetBox before: virtual machine app-01, cluster SITE-A, site SITE-A" || evidence[1] != "NetBox after:  virtual machine app-01, cluster SITE-B, site SITE-B" {
		t.Errorf("journaled evidence %q", evidence)
	}
}

func TestLabFaults(t *testing.T) {
	t.Parallel() // waits on lab moves and settles: beside the other slow ones (CI runs the package under -race)
	quick := filepath.Join(t.TempDir(), "runbooks.yaml")
	seed, err := os.ReadFile("../../runbooks.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// Same runbook, shorter waits, so a fault that hangs a check costs seconds, not minutes (3 s:
	// under -race each lab tool is a race-instrumented binary that takes a while to start).
	os.WriteFile(quick, []byte(strings.NewReplacer("timeout: 10s", "timeout: 3s", "interval: 2s", "interval: 100ms", "settle: 5s", "settle: 600ms").Replace(string(seed))), 0o600)

	tests := []struct {
		fault    string
		stdin    string
		yes      bool
		code     int
		final    string // where the VM ends
		evidence func(t *testing.T, out string, lines []journalLine)
	}{
		{"relocate-fails", "", true, 1, "esx-a-01", func(t *testing.T, out string, lines []journalLine) {
			if !strings.Contains(out, "relocation FAILED") || !strings.Contains(out, "did not receive data from the source host on the vMotion network. (MigrationFault)") || !strings.Contains(out, "ROLLED-BACK") {
				t.Errorf("output:\n%s", out)
			}
		}},
		{"ping-loss=3", "", true, 1, "esx-a-01", func(t *testing.T, out string, lines []journalLine) {
			var breach, end map[string]any
			for _, l := range lines {
				if l.Type == "watch" && l.Data["phase"] == "breach" {
					breach = l.Data
				}
				if l.Type == "watch" && l.Data["phase"] == "end" && l.Step == "migrate" {
					end = l.Data
				}
			}
			if breach == nil || breach["reason"] != "2 packets lost, limit 1" || len(breach["window"].([]any)) == 0 {
				t.Errorf("breach %v", breach)
			}
			// The watch stops at the breach: the second loss; the third need not be waited for.
			if end == nil || end["verdict"] != "fail" || end["stats"].(map[string]any)["lost"].(float64) < 2 {
				t.Errorf("watch end %v", end)
			}
			if !strings.Contains(out, "gateway watch: 2 packets lost, limit 1") || !strings.Contains(out, "ROLLED-BACK") {
				t.Errorf("output:\n%s", out)
			}
			// The way back is watched too, with the move's limits, and holds (one lost at its
			// switch-over, the usual).
			var back map[string]any
			for _, l := range lines {
				if l.Type == "watch" && l.Data["phase"] == "end" && l.Step == "migrate-back" {
					back = l.Data
				}
			}
			if back == nil || back["verdict"] != "pass" || back["limits"].(map[string]any)["max_lost"].(float64) != 1 {
				t.Errorf("the way back's watch %v", back)
			}
		}},
		{"trombone=5ms", "", true, 1, "esx-a-01", func(t *testing.T, out string, lines []journalLine) {
			// The gateway answers from SITE-A across a 5 ms link: on SITE-B the round trip grows
			// by ~10 ms, past the runbook's max_rtt_increase of 5 ms; nothing was lost.
			var end map[string]any
			for _, l := range lines {
				if l.Type == "watch" && l.Data["phase"] == "end" && l.Step == "migrate" {
					end = l.Data
				}
			}
			if end == nil || end["verdict"] != "fail" || !strings.HasPrefix(end["reason"].(string), "RTT up ") || !strings.Contains(end["reason"].(string), "limit +5ms") {
				t.Fatalf("watch end %v", end)
			}
			lat := end["latency"].(map[string]any)
			before, after := lat["before"].(map[string]any)["p50_ms"].(float64), lat["after"].(map[string]any)["p50_ms"].(float64)
			if before > 1 || after-before < 9 || after-before > 12 {
				t.Errorf("RTT p50 before %.2f ms, after %.2f ms", before, after)
			}
			if !strings.Contains(out, "traffic may now cross the inter-site link") || !strings.Contains(out, "ROLLED-BACK") {
				t.Errorf("output:\n%s", out)
			}
		}},
		{"unit-down=nginx", "", true, 1, "esx-a-01", func(t *testing.T, out string, lines []journalLine) {
			if got := checkOutcome(lines, "post-checks", "unit_active"); len(got) == 0 || !strings.HasPrefix(got[0], "fail: nginx.service failed (failed)") {
				t.Errorf("post unit_active: %v", got)
			}
			if got := checkOutcome(lines, "migrate-back", "unit_active"); len(got) == 0 || !strings.HasPrefix(got[len(got)-1], "pass") {
				t.Errorf("rollback unit_active: %v", got)
			}
		}},
		{"new-journal-error", "", true, 1, "esx-a-01", func(t *testing.T, out string, lines []journalLine) {
			if got := checkOutcome(lines, "post-checks", "journal_regressions"); len(got) == 0 || !strings.Contains(got[0], "1 new error(s) since the baseline: nginx[") || !strings.Contains(got[0], "SSL_do_handshake() failed") {
				t.Errorf("journal_regressions: %v", got)
			}
		}},
		{"clock-skew=5s", "", true, 1, "esx-a-01", func(t *testing.T, out string, lines []journalLine) {
			if got := checkOutcome(lines, "pre-checks", "clock"); len(got) == 0 || got[0] != "fail: clock is off by 5s, more than 100ms" {
				t.Errorf("clock: %v", got)
			}
			if !strings.Contains(out, "ABORTED") {
				t.Errorf("a sick VM must not be moved:\n%s", out)
			}
		}},
		{"ipam-moved", "", true, 1, "esx-a-01", func(t *testing.T, out string, lines []journalLine) {
			got := checkOutcome(lines, "pre-checks", "ipam")
			if len(got) == 0 || got[0] != "fail: 10.20.1.15 is in prefix 10.20.1.0/24, which is Reserved, not Active" {
				t.Errorf("ipam: %v", got)
			}
			if !strings.Contains(out, "NetBox prefix: 10.20.1.0/24 Reserved, VLAN 200 (stretched), site group stretched-dc") || !strings.Contains(out, "ABORTED") {
				t.Errorf("output:\n%s", out)
			}
		}},
		{"netbox-stale", "p\np updated NetBox by hand, NET-1234\n", false, 0, "esx-b-01", func(t *testing.T, out string, lines []journalLine) {
			got := checkOutcome(lines, "netbox-record", "netbox_vm")
			if len(got) == 0 || got[0] != "fail: NetBox record of app-01 is stale: update cluster SITE-A → SITE-B, site SITE-A → SITE-B" {
				t.Errorf("netbox_vm: %v", got)
			}
			// The move is proven; the operator, not the stale record, decides; the end says so.
			if !strings.Contains(out, "?? netbox-record:") || !strings.Contains(out, "updated NetBox by hand, NET-1234") || !strings.Contains(out, "\ndone (1 failure overridden: netbox-record)\n") {
				t.Errorf("output:\n%s", out)
			}
		}},
		{"netbox-stale", "", true, 0, "esx-b-01", func(t *testing.T, out string, lines []journalLine) {
			// Unattended, the gate's own word decides: the move is proven, the record is left to fix.
			if !strings.Contains(out, "--yes: the gate says unattended: proceed") || strings.Contains(out, "ROLLBACK") {
				t.Errorf("output:\n%s", out)
			}
		}},
		{"session-expires", "", true, 0, "esx-b-01", func(t *testing.T, out string, lines []journalLine) {
			var notes []string
			for _, l := range lines {
				if l.Type == "note" {
					notes = append(notes, fmt.Sprintf("%s %v: %v", l.Step, l.Data["source"], l.Data["text"]))
				}
			}
			// Logged in again and followed the running task: the move is not failed for it. At the
			// end the session is logged out of, and the journal says so.
			if len(notes) != 2 || !strings.Contains(notes[0], "vcenter: the session expired") || !strings.Contains(notes[0], "logged in again") ||
				notes[1] != " vcenter: logged out: the run's vCenter session is ended" {
				t.Errorf("notes %q", notes)
			}
			if !strings.Contains(out, "note     vcenter: the session expired") || !strings.Contains(out, "moved esx-a-01 → esx-b-01") {
				t.Errorf("output:\n%s", out)
			}
		}},
		{"preflight-error", "", true, 1, "esx-a-01", func(t *testing.T, out string, lines []journalLine) {
			// vCenter's own words end the step before any move starts.
			if !strings.Contains(out, "vCenter pre-flight refuses the move: Currently connected network interface 'Network adapter 1' uses network 'VLAN200-stretched', which is not accessible. (NetworkInaccessible)") ||
				strings.Contains(out, "relocating app-01 → esx-b-01") {
				t.Errorf("output:\n%s", out)
			}
		}},
		{"preflight-warning", "", true, 0, "esx-b-01", func(t *testing.T, out string, lines []journalLine) {
			// A warning goes to the operator; --yes answers it, journaled with its rule.
			if !strings.Contains(out, "vCenter warns about moving app-01 to esx-b-01: The target host does not support the virtual machine's current hardware requirements") ||
				!strings.Contains(out, "--yes: answers warning") {
				t.Errorf("output:\n%s", out)
			}
		}},
		{"preflight-warning", "a\nsite B lacks EVC; CHG-7 to enable it first\n", false, 1, "esx-a-01", func(t *testing.T, out string, lines []journalLine) {
			if !strings.Contains(out, "site B lacks EVC; CHG-7 to enable it first") || strings.Contains(out, "relocating app-01 → esx-b-01") {
				t.Errorf("output:\n%s", out)
			}
		}},
		{"slow-check", "a systemctl hangs on app-01; calling the owner\n", false, 1, "esx-a-01", func(t *testing.T, out string, lines []journalLine) {
			if got := checkOutcome(lines, "pre-checks", "unit_active"); len(got) == 0 || !strings.HasPrefix(got[0], "inconclusive: timed out") {
				t.Errorf("unit_active: %v", got)
			}
			if !strings.Contains(out, "?? pre-checks:") || !strings.Contains(out, "decision abort") {
				t.Errorf("the operator must be asked:\n%s", out)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.fault, func(t *testing.T) {
			args := []string{"--fault", tt.fault}
			if tt.yes {
				args = append(args, "--yes")
			}
			code, out, errs, lines, journal := labRun(t, quick, tt.stdin, args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\n%s\n%s", code, tt.code, out, errs)
			}
			assertOneStory(t, journal)
			events, err := transcript.ReadEvents(journal)
			if err != nil {
				t.Fatal(err)
			}
			assertWatchCountsAgree(t, out, journal, events, report.Build(journal, events, nil))
			if h := finalHost(lines); h != tt.final {
				t.Errorf("VM ends on %s, want %s", h, tt.final)
			}
			tt.evidence(t, out, lines)
		})
	}
	t.Run("host-key-changed=app", func(t *testing.T) {
		code, _, errs, lines, _ := labRun(t, quick, "", "--fault", "host-key-changed=app", "--yes")
		if code != exitBadInput || !strings.Contains(errs, "host app: ") || !strings.Contains(errs, "HOST KEY MISMATCH") || lines != nil {
			t.Errorf("exit %d, journal %d lines\n%s", code, len(lines), errs)
		}
	})
	t.Run("unknown fault", func(t *testing.T) {
		if code, _, errs := cli(t, "", "lab", "--fault", "meteor"); code != exitBadInput || !strings.Contains(errs, "unknown fault") {
			t.Errorf("exit %d %s", code, errs)
		}
	})
}

// BenchmarkLabCleanRun is the README's first command: the seed runbook end to end in the lab, with
// the lab's default 3 s vMotion.
func BenchmarkLabCleanRun(b *testing.B) {
	for range b.N {
		var out, errs strings.Builder
		code := run([]string{"lab", "--file", "../../runbooks.yaml", "--plain", "--yes", "--transcript", b.TempDir()}, streams{in: strings.NewReader(""), out: &out, err: &errs})
		if code != 0 {
			b.Fatalf("exit %d\n%s\n%s", code, out.String(), errs.String())
		}
	}
}

func TestReportOfALabRun(t *testing.T) {
	t.Parallel() // waits on lab moves and settles: beside the other slow ones (CI runs the package under -race)
	code, out, errs, lines, journal := labRun(t, "../../runbooks.yaml", "", "--yes", "--fault", "ping-loss=3")
	if code != exitFailed {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	// The move's watch, from its journaled samples: the picture must count what the journal holds.
	sent, lost := 0, 0
	for _, l := range lines {
		if l.Type == "ping" && l.Step == "migrate" {
			for _, s := range l.Data["s"].([]any) {
				sent++
				if s.([]any)[2].(float64) == -1 {
					lost++
				}
			}
		}
	}
	code, md, errs := cli(t, "", "report", journal, "--allowed-signers", strings.TrimSuffix(journal, ".jsonl")+".allowed_signers")
	if code != 0 {
		t.Fatalf("report: %d %s", code, errs)
	}
	for _, want := range []string{"## Signature: ✓ verified", `trusted as \[trainee@lab\]`, "**ROLLED-BACK**", "## Gateway watch, migrate: FAIL", "**Fail: 2 packets lost, limit 1.**", "## Gateway watch, migrate-back: PASS", "migrate-back (undoes migrate) | rollback | passed", "| post-checks | run | skipped |"} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	html := filepath.Join(t.TempDir(), "handoff.html")
	if code, _, errs := cli(t, "", "report", journal, "-o", html); code != 0 {
		t.Fatalf("html: %s", errs)
	}
	page, _ := os.ReadFile(html)
	if !bytes.Contains(page, []byte(" lost at ")) || !bytes.Contains(page, []byte(fmt.Sprintf("whole watch: %d sent, %d lost\"", sent, lost))) {
		t.Errorf("the picture does not show the move's %d sent, %d lost", sent, lost)
	}
}

// Two-person approval in the lab: the migrate step waits until a second engineer signs off with
// their own key; the sign-off is journaled and verify checks it.
func TestLabTwoPersonApproval(t *testing.T) {
	t.Parallel() // waits on lab moves and settles: beside the other slow ones (CI runs the package under -race)
	seed, _ := os.ReadFile("../../runbooks.yaml")
	book := filepath.Join(t.TempDir(), "runbooks.yaml")
	os.WriteFile(book, []byte(strings.Replace(string(seed), "        migrate: {vm: \"{{ .vm }}\", host: \"{{ .target }}\"}\n", "        approval: {required: 2}\n        migrate: {vm: \"{{ .vm }}\", host: \"{{ .target }}\"}\n", 1)), 0o600)
	tr := t.TempDir()
	done := make(chan string, 1)
	go func() {
		code, out, errs := cli(t, "", "lab", "--file", book, "--plain", "--yes", "--transcript", tr, "--relocate-time", "300ms", "--operator", "alice@lab")
		done <- fmt.Sprintf("%d\n%s\n%s", code, out, errs)
	}()
	journal := journalWith(t, tr, `"type":"approval.request"`, done)
	key, pub := sshtestKeygen(t, "bob@lab")
	if code, out, errs := cli(t, "", "approve", journal, "--step", "migrate", "--sign-key", key); code != 0 || !strings.Contains(out, "approved step migrate") {
		t.Fatalf("approve: %d %s %s", code, out, errs)
	}
	res := <-done
	if !strings.HasPrefix(res, "0\n") || !strings.Contains(res, "APPROVAL step migrate waits for 1 more engineer") || !strings.Contains(res, "approved step migrate by SHA256:") {
		t.Fatalf("run:\n%s", res)
	}
	allowed := strings.TrimSuffix(journal, ".jsonl") + ".allowed_signers"
	f, _ := os.OpenFile(allowed, os.O_APPEND|os.O_WRONLY, 0)
	fmt.Fprintf(f, "bob@lab namespaces=\"cutover-approval\" %s\n", pub)
	f.Close()
	code, vout, _ := cli(t, "", "verify", journal, "--allowed-signers", allowed)
	if code != 0 || !strings.Contains(vout, "approvals  1 verified: SHA256:") {
		t.Errorf("verify: %d\n%s", code, vout)
	}
	// An approver the allowed signers do not list fails verification.
	os.WriteFile(allowed+".strict", bytes.Split(mustRead(t, allowed), []byte("\nbob@lab"))[0], 0o600)
	if code, vout, _ := cli(t, "", "verify", journal, "--allowed-signers", allowed+".strict"); code != exitFailed || !strings.Contains(vout, "approval   NOT ALLOWED: SHA256:") ||
		!strings.Contains(vout, "is not in "+allowed+".strict") || strings.Contains(vout, "BROKEN") || strings.Contains(vout, "approvals  1 verified") {
		t.Errorf("unlisted approver: %d\n%s", code, vout)
	}
}

func sshtestKeygen(t *testing.T, comment string) (string, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "id")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	return path, strings.TrimSpace(string(mustRead(t, path+".pub")))
}

func mustRead(t *testing.T, p string) []byte {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// assertOneStory holds the report's timeline to the run's one fold (runbook.RunState), which the
// console renders: the same steps, in the same order, in the same states.
func assertOneStory(t *testing.T, journal string) {
	t.Helper()
	events, err := transcript.ReadEvents(journal)
	if err != nil {
		t.Fatal(err)
	}
	fold := runbook.FoldEvents(events)
	rep := report.Build(journal, events, nil)
	var console, handoff []string
	for _, st := range fold.Steps {
		console = append(console, st.Name+" "+st.Status)
	}
	for _, st := range rep.Steps {
		handoff = append(handoff, st.Name+" "+st.Status)
	}
	if strings.Join(console, ", ") != strings.Join(handoff, ", ") {
		t.Errorf("console and report disagree:\nconsole %v\nreport  %v", console, handoff)
	}
	if fold.Status != rep.Status && rep.Status != "" {
		t.Errorf("run status: console %s, report %s", fold.Status, rep.Status)
	}
	assertConsoleFrameSaysWhatTheReportSays(t, journal, events, rep)
}

// on_breach: cancel — a gateway that breaks while memory is copied cancels the vMotion through
// vCenter (the VM never leaves); one that breaks at the switch-over lets the move finish and the
// rollback bring the VM back, as does the default (finish) for an early break.
func TestOnBreachCancel(t *testing.T) {
	t.Parallel() // waits on lab moves and settles: beside the other slow ones (CI runs the package under -race)
	seed, err := os.ReadFile("../../runbooks.yaml")
	if err != nil {
		t.Fatal(err)
	}
	const watch = "ping: {from: app, target: auto, interval: 200ms, settle: 5s, max_lost: 1, max_rtt_increase: 5ms}"
	if !strings.Contains(string(seed), watch) {
		t.Fatalf("the seed runbook's watch changed: update this test")
	}
	write := func(onBreach string) string {
		book := filepath.Join(t.TempDir(), "runbooks.yaml")
		text := strings.NewReplacer("timeout: 10s", "timeout: 3s", "interval: 2s", "interval: 100ms", "settle: 5s", "settle: 600ms").Replace(string(seed))
		if onBreach != "" {
			text = strings.Replace(text, "max_rtt_increase: 5ms}", "max_rtt_increase: 5ms, on_breach: "+onBreach+"}", 1)
		}
		os.WriteFile(book, []byte(text), 0o600)
		return book
	}
	for _, tc := range []struct {
		onBreach, fault, then string
		moves                 int // migrations that landed
	}{
		{"cancel", "ping-loss-early=3", "cancelled", 0},
		{"cancel", "ping-loss=3", "finishing", 2},
		{"", "ping-loss-early=3", "", 2},
	} {
		t.Run(tc.onBreach+" "+tc.fault, func(t *testing.T) {
			code, out, errs, lines, journal := labRun(t, write(tc.onBreach), "", "--yes", "--fault", tc.fault, "--relocate-time", "3s")
			if code != exitFailed || finalHost(lines) != "esx-a-01" {
				t.Fatalf("exit %d, VM on %s\n%s\n%s", code, finalHost(lines), out, errs)
			}
			then, landed := "", 0
			for _, l := range lines {
				if l.Type == "migrate" && l.Data["phase"] == "breach" {
					then = fmt.Sprint(l.Data["then"])
				}
				if l.Type == "migrate" && l.Data["phase"] == "done" {
					landed++
				}
			}
			if then != tc.then || landed != tc.moves {
				t.Errorf("breach then %q, %d moves landed; want %q, %d\n%s", then, landed, tc.then, tc.moves, out)
			}
			assertOneStory(t, journal)
		})
	}
}

// A second engineer adds handoff notes with their own key: one while the run runs (the run
// journals it, verify checks its signature), one after it ended (kept beside the journal; the
// report shows it, naming the signer the allowed signers know for notes).
func TestSignedHandoffNotes(t *testing.T) {
	t.Parallel() // waits on lab moves and settles: beside the other slow ones (CI runs the package under -race)
	tr := t.TempDir()
	done := make(chan string, 1)
	go func() {
		code, out, errs := cli(t, "", "lab", "--file", "../../runbooks.yaml", "--plain", "--yes", "--transcript", tr, "--relocate-time", "3s", "--operator", "alice@lab")
		done <- fmt.Sprintf("%d\n%s\n%s", code, out, errs)
	}()
	journal := journalWith(t, tr, `"type":"migrate"`, done)
	key, pub := sshtestKeygen(t, "bob@lab")
	if code, out, errs := cli(t, "", "note", journal, "ARP on leaf-3 was stale;", "cleared by hand", "--sign-key", key); code != 0 || !strings.Contains(out, "the run journals it") {
		t.Fatalf("note: %d %s %s", code, out, errs)
	}
	if res := <-done; !strings.HasPrefix(res, "0\n") || !strings.Contains(res, "note     SHA256:") || !strings.Contains(res, "ARP on leaf-3 was stale; cleared by hand") {
		t.Fatalf("the run did not journal the note:\n%s", res)
	}
	if code, out, _ := cli(t, "", "note", journal, "checked the app owner's dashboard at 03:10: green", "--sign-key", key); code != 0 || !strings.Contains(out, "the run has ended") {
		t.Fatalf("note after the end: %d %s", code, out)
	}
	allowed := strings.TrimSuffix(journal, ".jsonl") + ".allowed_signers"
	f, _ := os.OpenFile(allowed, os.O_APPEND|os.O_WRONLY, 0)
	fmt.Fprintf(f, "bob@lab namespaces=\"cutover-note\" %s\n", pub)
	f.Close()
	code, vout, _ := cli(t, "", "verify", journal, "--allowed-signers", allowed)
	if code != 0 {
		t.Errorf("verify: %d\n%s", code, vout)
	}
	code, md, errs := cli(t, "", "report", journal, "--allowed-signers", allowed)
	if code != 0 || !strings.Contains(md, "note: ARP on leaf-3 was stale; cleared by hand (signature verified)") ||
		!strings.Contains(md, "## Notes kept beside the journal") || !strings.Contains(md, "| bob@lab (SHA256:") || !strings.Contains(md, "checked the app owner's dashboard at 03:10: green") {
		t.Errorf("report: %d %s\n%s", code, errs, md)
	}
	// A note's signature covers the run and the text: moved to another run's notes, or edited, it
	// is not shown.
	notes, _ := filepath.Glob(filepath.Join(transcript.NoteDir(journal), "*.note"))
	if len(notes) != 1 {
		t.Fatalf("kept notes %v", notes)
	}
	b := mustRead(t, notes[0])
	os.WriteFile(notes[0], bytes.Replace(b, []byte("green"), []byte("red"), 1), 0o644)
	if _, md, _ := cli(t, "", "report", journal, "--allowed-signers", allowed); strings.Contains(md, "dashboard at 03:10") || !strings.Contains(md, "**Not shown, does not verify:** ") {
		t.Errorf("an edited note is shown:\n%s", md)
	}
}

// journalWith waits up to 30 s for the one journal in dir to hold text; done has the run's result
// for the failure message.
func journalWith(t *testing.T, dir, text string, done <-chan string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if m, _ := filepath.Glob(filepath.Join(dir, "*.jsonl")); len(m) == 1 {
			if b, _ := os.ReadFile(m[0]); bytes.Contains(b, []byte(text)) {
				return m[0]
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the journal never held %s:\n%s", text, <-done)
	return ""
}

// The lab runs from any directory: without ./runbooks.yaml it runs the seed the binary carries
// (--print-runbook writes it out, byte for byte the repository's); it takes run's --sign-key (the
// operator's own key signs, the allowed_signers beside the journal names it) and --ssh-timings.
func TestLabRunsAnywhere(t *testing.T) {
	dir := t.TempDir()
	key, _ := sshtestKeygen(t, "oncall@noc")
	cmd := exec.Command(cutoverBin(t), "lab", "--plain", "--yes", "--relocate-time", "300ms", "--operator", "oncall@noc", "--sign-key", key, "--ssh-timings")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "TMPDIR="+shortTempDir(t))
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "running the built-in seed runbook") || !strings.Contains(string(out), "ssh timings:") {
		t.Fatalf("%v\n%s", err, out)
	}
	journal := journalOf(t, filepath.Join(dir, "transcripts"))
	allowed := strings.TrimSuffix(journal, ".jsonl") + ".allowed_signers"
	if code, vout, _ := cli(t, "", "verify", journal, "--allowed-signers", allowed); code != 0 || !strings.Contains(vout, "trusted as oncall@noc") {
		t.Errorf("verify: %d\n%s", code, vout)
	}
	if data := mustRead(t, journal); !bytes.Contains(data, []byte(`"file":"(built in: cutover lab --print-runbook)"`)) {
		t.Error("the journal does not say the runbook was the built-in one")
	}
	printed, err := exec.Command(cutoverBin(t), "lab", "--print-runbook").Output()
	if err != nil || !bytes.Equal(printed, mustRead(t, "../../runbooks.yaml")) {
		t.Errorf("--print-runbook: %v, %d bytes", err, len(printed))
	}
}
