package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/cutover/cutover/internal/vcsimtest"
	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
)

// vcenter starts govmomi's simulator with two clusters of two hosts (every cluster's root pool is
// named "Resources") and points the GOVC_* variables at it, as an operator would.
func vcenter(t *testing.T) (*simulator.Model, *simulator.Server) {
	t.Helper()
	v := vcsimtest.Start(t, 1, 2, 2)
	t.Setenv("GOVC_URL", v.Host)
	t.Setenv("GOVC_USERNAME", v.Username)
	t.Setenv("GOVC_PASSWORD", v.Password)
	t.Setenv("GOVC_TLS_CA_CERTS", v.CACerts)
	return v.Model, v.Server
}

// sessions counts the vCenter sessions open besides the one asking, as govc session.ls would.
func sessions(t *testing.T, s *simulator.Server) int {
	t.Helper()
	ctx := context.Background()
	c, err := govmomi.NewClient(ctx, s.URL, true)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Logout(ctx)
	var sm mo.SessionManager
	if err := property.DefaultCollector(c.Client).RetrieveOne(ctx, *c.ServiceContent.SessionManager, []string{"sessionList", "currentSession"}, &sm); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, us := range sm.SessionList {
		if sm.CurrentSession == nil || us.Key != sm.CurrentSession.Key {
			n++
		}
	}
	return n
}

const crossClusterRunbook = `version: 1
runbooks:
  - name: cross-cluster
    vars: {vm: DC0_C0_RP0_VM0, target: DC0_C1_H0}
    steps:
      - name: migrate
        migrate: {vm: "{{ .vm }}", host: "{{ .target }}"}
        rollback:
          - name: migrate-back
            migrate: {vm: "{{ .vm }}", host: "{{ .origin_host }}", pool: "{{ .origin_pool }}", datastore: "{{ .origin_datastore }}"}
            checks:
              - {kind: vm_on_host, vm: "{{ .vm }}", esx_host: "{{ .origin_host }}"}
      - name: post-checks
        checks:
          - {kind: command, name: app-answers, run: "exit 1"}
        gate: {on_fail: rollback}
`

// A move to another cluster, then a failed gate: the rollback moves the VM back by the origin's
// references (host, pool, datastore), though both clusters' root pools are named "Resources".
func TestRollbackAcrossClusters(t *testing.T) {
	vcenter(t)
	dir := t.TempDir()
	book := filepath.Join(dir, "runbooks.yaml")
	os.WriteFile(book, []byte(crossClusterRunbook), 0o600)
	tr := t.TempDir()
	code, out, errs := cli(t, "", "run", book, "--plain", "--yes", "--transcript", tr)
	if code != 1 || !strings.Contains(out, "ROLLED-BACK") || strings.Contains(out, "ambiguous") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	lines := readJournal(t, journalOf(t, tr))
	var origin, back map[string]any
	for _, l := range lines {
		if l.Type == "migrate" && l.Data["phase"] == "origin" && origin == nil {
			origin = l.Data["from"].(map[string]any)
		}
		if l.Type == "migrate" && l.Data["phase"] == "done" && l.Step == "migrate-back" {
			back = l.Data["to"].(map[string]any)
		}
	}
	if origin == nil || back == nil || back["host_ref"] != origin["host_ref"] || back["pool_ref"] != origin["pool_ref"] || back["pool_path"] != "/DC0/host/DC0_C0/Resources" {
		t.Errorf("origin %v, back %v\n%s", origin, back, out)
	}
}

// Every run ends its vCenter session, whether it is done, rolled back or aborted: ten runs leave
// none open (vCenter caps sessions per user), and the journal says so.
func TestRunsLeaveNoVCenterSession(t *testing.T) {
	_, srv := vcenter(t)
	dir := t.TempDir()
	book := filepath.Join(dir, "runbooks.yaml")
	os.WriteFile(book, []byte(crossClusterRunbook+`  - name: check-only
    steps:
      - name: where
        checks:
          - {kind: vm_on_host, vm: DC0_C0_RP0_VM0, esx_host: DC0_C0_H0}
  - name: aborts
    steps:
      - name: where
        checks:
          - {kind: vm_on_host, vm: DC0_C0_RP0_VM0, esx_host: nowhere}
        gate: {on_fail: abort}
`), 0o600)
	before := sessions(t, srv)
	for i := range 10 {
		name := []string{"check-only", "cross-cluster", "aborts"}[i%3]
		tr := t.TempDir()
		code, out, errs := cli(t, "", "run", book, name, "--plain", "--yes", "--transcript", tr)
		if code == exitBadInput {
			t.Fatalf("%s: exit %d\n%s\n%s", name, code, out, errs)
		}
		var notes []string
		for _, l := range readJournal(t, journalOf(t, tr)) {
			if l.Type == "note" {
				notes = append(notes, fmt.Sprint(l.Data["text"]))
			}
		}
		if len(notes) != 1 || notes[0] != "logged out: the run's vCenter session is ended" {
			t.Errorf("%s: notes %q", name, notes)
		}
	}
	if after := sessions(t, srv); after != before {
		t.Errorf("vCenter sessions: %d before ten runs, %d after", before, after)
	}
}

// A password in a malformed GOVC_URL leaves in no form: not raw, decoded, or encoded, in any output.
func TestMalformedGOVCURLLeaksNoPassword(t *testing.T) {
	const pw = "Tr0ub4dor&3%zz"
	t.Setenv("GOVC_URL", "https://administrator:"+pw+"@127.0.0.1:9/sdk")
	t.Setenv("GOVC_USERNAME", "")
	t.Setenv("GOVC_PASSWORD", "")
	dir := t.TempDir()
	book := filepath.Join(dir, "runbooks.yaml")
	os.WriteFile(book, []byte(crossClusterRunbook), 0o600)
	code, out, errs := cli(t, "", "run", book, "--plain", "--yes", "--transcript", t.TempDir())
	if code != exitBadInput || !strings.Contains(errs, "GOVC_URL is not a valid URL") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	for _, form := range []string{pw, "Tr0ub4dor", url.QueryEscape(pw), base64.StdEncoding.EncodeToString([]byte(pw)), hex.EncodeToString([]byte(pw))} {
		if strings.Contains(out+errs, form) {
			t.Errorf("%q left in the output:\n%s\n%s", form, out, errs)
		}
	}
}

// Interrupted mid-vMotion (the lab's vCenter, the real binary, SIGINT): the run ends saying where
// the VM is and that the task goes on, in the journal and the exit message.
func TestInterruptedMoveSaysWhereTheVMIs(t *testing.T) {
	tr := t.TempDir()
	cmd := exec.Command(cutoverBin(t), "lab", "--file", "../../runbooks.yaml", "--plain", "--yes", "--transcript", tr, "--relocate-time", "20s", "--operator", "trainee@lab")
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	sc := bufio.NewScanner(stdout)
	var seen strings.Builder
	for sc.Scan() {
		seen.WriteString(sc.Text() + "\n")
		if strings.Contains(sc.Text(), "progress") && strings.Contains(sc.Text(), "%") && !strings.Contains(sc.Text(), "  0%") {
			break
		}
	}
	cmd.Process.Signal(syscall.SIGINT)
	for sc.Scan() {
		seen.WriteString(sc.Text() + "\n")
	}
	cmd.Wait()
	out := seen.String()
	if code := cmd.ProcessState.ExitCode(); code != exitInterrupted {
		t.Fatalf("exit %d\n%s", code, out)
	}
	want := regexp.MustCompile(`interrupted mid-move: app-01 is on esx-a-01; vCenter task task-\d+ still running \(\d+%\): check before acting`)
	if !want.MatchString(out[strings.LastIndex(out, "interrupted"):]) && !want.MatchString(out) {
		t.Errorf("the exit message does not say where the VM is:\n%s", out)
	}
	var interrupted map[string]any
	for _, l := range readJournal(t, journalOf(t, tr)) {
		if l.Type == "migrate" && l.Data["phase"] == "interrupted" {
			interrupted = l.Data
		}
	}
	if interrupted == nil || interrupted["task_state"] != "running" || interrupted["to"].(map[string]any)["host"] != "esx-a-01" {
		t.Errorf("journal: %v\n%s", interrupted, out)
	}
}

// govcBin builds govc (govmomi's own command code, internal/govc) for this test.
func govcBin(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "govc")
	if out, err := exec.Command("go", "build", "-o", path, "github.com/cutover/cutover/internal/govc").CombinedOutput(); err != nil {
		t.Fatalf("build govc: %v\n%s", err, out)
	}
	return path
}

// The lab for govc users: with the variables the lab writes (--govc-env), govc sees the VM where
// cutover says it is, before the move and after it, while the run waits for the operator.
func TestGovcSeesTheLabVMWhereCutoverSays(t *testing.T) {
	t.Parallel() // waits on lab moves and settles: beside the other slow ones (CI runs the package under -race)
	govc := govcBin(t)
	env := filepath.Join(t.TempDir(), "govc.env")
	os.WriteFile(env, []byte("stale\n"), 0o644) // a file left from before: rewritten, and private
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- run([]string{"lab", "--file", "../../runbooks.yaml", "--plain", "--transcript", t.TempDir(), "--relocate-time", "300ms",
			"--fault", "netbox-stale", "--govc-env", env}, streams{in: inR, out: outW, err: io.Discard})
		outW.Close()
	}()
	where := func() string {
		t.Helper()
		out, err := exec.Command("sh", "-c", `. "$1" && exec "$2" vm.info app-01`, "sh", env, govc).CombinedOutput()
		m := regexp.MustCompile(`(?m)^\s*Host:\s+(\S+)`).FindSubmatch(out)
		if err != nil || m == nil {
			t.Fatalf("govc vm.info: %v\n%s", err, out)
		}
		return string(m[1])
	}
	var seen strings.Builder
	sc := bufio.NewScanner(outR)
	for sc.Scan() {
		line := sc.Text()
		seen.WriteString(line + "\n")
		switch {
		case strings.Contains(line, "question Move app-01 from esx-a-01"):
			if h := where(); h != "esx-a-01" {
				t.Errorf("before the move govc says %s, cutover esx-a-01", h)
			}
			go io.WriteString(inW, "p\n") // the prompt is still being written: answer beside it
		case strings.Contains(line, "question") && strings.Contains(line, "netbox-record"):
			if !strings.Contains(seen.String(), "app-01 now on esx-b-01") {
				t.Fatalf("cutover has not said where the VM landed:\n%s", seen.String())
			}
			if h := where(); h != "esx-b-01" {
				t.Errorf("after the move govc says %s, cutover esx-b-01", h)
			}
			go io.WriteString(inW, "p NetBox to be fixed by the next shift\n")
		}
	}
	if code := <-done; code != 0 {
		t.Errorf("exit %d\n%s", code, seen.String())
	}
	data, _ := os.ReadFile(env)
	if !strings.Contains(string(data), "export GOVC_PASSWORD=") || !strings.Contains(string(data), "export GOVC_TLS_CA_CERTS=") {
		t.Errorf("govc env file:\n%s", data)
	}
	if fi, err := os.Stat(env); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("govc env file mode %v %v: it holds a password", fi.Mode(), err)
	}
}
