package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// cli runs cutover in process with the given stdin and returns exit code, stdout and stderr.
func cli(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, streams{in: strings.NewReader(stdin), out: &out, err: &errb})
	return code, out.String(), errb.String()
}

// newSigningKey makes an ed25519 key with ssh-keygen and an allowed_signers file for it.
func newSigningKey(t *testing.T, dir, principal string) (key, allowed string) {
	t.Helper()
	key = filepath.Join(dir, "id_ed25519")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", principal, "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v %s", err, out)
	}
	pub, err := os.ReadFile(key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	allowed = filepath.Join(dir, "allowed_signers")
	os.WriteFile(allowed, []byte(principal+" "+string(pub)), 0o600)
	return key, allowed
}

func journalOf(t *testing.T, dir string) string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	if len(m) != 1 {
		t.Fatalf("journals in %s: %v", dir, m)
	}
	return m[0]
}

func types(t *testing.T, journal string) []string {
	t.Helper()
	var out []string
	for _, l := range readJournal(t, journal) {
		out = append(out, strings.TrimSpace(l.Type+" "+l.Step))
	}
	return out
}

func TestValidate(t *testing.T) {
	if code, out, errs := cli(t, "", "validate", "../../runbooks.yaml"); code != 0 || !strings.Contains(out, "ok: stretched-vlan-vmotion (4 steps), local-preflight") {
		t.Errorf("validate runbooks.yaml: %d %q %q", code, out, errs)
	}
	code, _, errs := cli(t, "", "validate", "testdata/broken.yaml")
	want := "testdata/broken.yaml:6:56: runbooks[0].steps[0].checks[0].timeout: want a duration such as 500ms, 5s or 2m, got \"5 seconds\"\n" +
		"testdata/broken.yaml:7:25: runbooks[0].steps[0].gate.require: requires 2 passing checks but the step has 1\n"
	if code != exitBadInput || errs != "cutover: "+want {
		t.Errorf("validate broken: %d\n%s\nwant\n%s", code, errs, want)
	}
	if code, _, _ := cli(t, "", "validate", "testdata/missing.yaml"); code != exitBadInput {
		t.Errorf("missing file: exit %d", code)
	}
}

func TestSchemaIsJSONFromTheTypes(t *testing.T) {
	code, out, _ := cli(t, "", "schema")
	var s map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &s) != nil {
		t.Fatalf("schema: %d %q", code, out)
	}
	for _, want := range []string{`"on_fail"`, `"rollback"`, `"const": "command"`, `"not_match"`, `"additionalProperties": false`} {
		if !strings.Contains(out, want) {
			t.Errorf("schema lacks %s", want)
		}
	}
}

// updating tells whether -update was given (the flag is teatest's golden package's).
func updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// runbooks.schema.json is committed for editors; it must be exactly what cutover schema prints.
func TestCommittedSchemaIsCurrent(t *testing.T) {
	_, out, _ := cli(t, "", "schema")
	const golden = "../../runbooks.schema.json"
	if updating() {
		os.WriteFile(golden, []byte(out), 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil || string(want) != out {
		t.Errorf("%s is stale: run go test ./cmd/cutover -run TestCommittedSchemaIsCurrent -update", golden)
	}
}

func TestRunPreflightSignedAndVerified(t *testing.T) {
	dir := t.TempDir()
	key, allowed := newSigningKey(t, dir, "op@test")
	tr := filepath.Join(dir, "transcripts")
	code, out, errs := cli(t, "", "run", "../../runbooks.yaml", "local-preflight", "--plain", "--yes", "--transcript", tr, "--sign-key", key, "--operator", "op@test")
	if code != 0 {
		t.Fatalf("run: exit %d\n%s\n%s", code, out, errs)
	}
	for _, want := range []string{"step     [1/3] clock-and-dns", "✓ hosts file unchanged: exit 0, same as baseline hosts-before", "signed   checkpoint", "run      DONE"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	journal := journalOf(t, tr)
	code, vout, _ := cli(t, "", "verify", journal, "--allowed-signers", allowed)
	if code != 0 || !strings.Contains(vout, "VERIFIED") || !strings.Contains(vout, "trusted as op@test") {
		t.Fatalf("verify: %d\n%s", code, vout)
	}
	cmd := exec.Command("ssh-keygen", "-Y", "verify", "-f", allowed, "-I", "op@test", "-n", "cutover-transcript", "-s", journal+".sig")
	data, _ := os.ReadFile(journal)
	cmd.Stdin = bytes.NewReader(data)
	if o, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen -Y verify: %v %s", err, o)
	}

	// One changed byte, and both verifiers refuse.
	data[bytes.Index(data, []byte(`"type":"step.start"`))+10] ^= 0x20
	os.WriteFile(journal, data, 0o600)
	code, vout, _ = cli(t, "", "verify", journal)
	if code != exitFailed || !strings.Contains(vout, "BROKEN at line 3: content does not match its hash") {
		t.Errorf("tampered verify: %d\n%s", code, vout)
	}
}

func TestRunRollbackDrillExitsOne(t *testing.T) {
	dir := t.TempDir()
	tr := filepath.Join(dir, "transcripts")
	drill := filepath.Join(dir, "drill dir") // a space: the value must reach the shell quoted
	code, out, _ := cli(t, "", "run", "../../runbooks.yaml", "rollback-drill", "--plain", "--yes", "--transcript", tr, "--var", "dir="+drill)
	if code != exitFailed || !strings.Contains(out, "ROLLED-BACK") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	if _, err := os.Stat(drill); !os.IsNotExist(err) {
		t.Errorf("rollback left %s behind: %v", drill, err)
	}
	got := strings.Join(types(t, journalOf(t, tr)), "\n")
	for _, want := range []string{"rollback", "step.start revert-change\ncmd revert-change", "step.end remove-drill-dir", "run.end"} {
		if !strings.Contains(got, want) {
			t.Errorf("journal lacks %q:\n%s", want, got)
		}
	}
	// Intact but unsigned: nothing is wrong, and nothing is proven.
	if code, out, _ := cli(t, "", "verify", journalOf(t, tr)); code != exitUnproven || !strings.Contains(out, "not signed") {
		t.Errorf("unsigned journal verify: exit %d\n%s", code, out)
	}
}

func TestRunAsksOnStdinAndRedactsSecrets(t *testing.T) {
	tr := t.TempDir()
	const token = "tok-9f8e7d6c5b"
	code, out, errs := cli(t, "x\np\n\nchecked the API by hand\n", "run", "testdata/ask.yaml", "--plain", "--transcript", tr, "--var", "secret:token="+token)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	for _, want := range []string{`"x" is not one of the choices`, "proceed needs a reason", "decision proceed by", "checked the API by hand", "calling with [REDACTED]"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	data, _ := os.ReadFile(journalOf(t, tr))
	if bytes.Contains(data, []byte(token)) || strings.Contains(out, token) {
		t.Error("the secret reached the journal or the screen")
	}
	if !bytes.Contains(data, []byte(`"reason":"checked the API by hand"`)) {
		t.Error("the decision's reason is not in the journal")
	}
}

func TestRunWithoutAnOperatorAborts(t *testing.T) {
	code, out, _ := cli(t, "", "run", "testdata/ask.yaml", "--plain", "--transcript", t.TempDir(), "--var", "secret:token=x")
	if code != exitFailed || !strings.Contains(out, "standard input closed") || !strings.Contains(out, "ABORTED") {
		t.Errorf("exit %d:\n%s", code, out)
	}
}

func TestRunBadInput(t *testing.T) {
	for name, args := range map[string][]string{
		"no such runbook": {"run", "../../runbooks.yaml", "nope"},
		"bad var":         {"run", "../../runbooks.yaml", "local-preflight", "--var", "novalue"},
		"undeclared var":  {"run", "../../runbooks.yaml", "local-preflight", "--var", "nope=1"},
		"missing secret":  {"run", "testdata/ask.yaml"},
		"bad key":         {"run", "../../runbooks.yaml", "local-preflight", "--sign-key", "testdata/ask.yaml"},
		"unknown flag":    {"run", "--frobnicate"},
	} {
		t.Run(name, func(t *testing.T) {
			code, _, errs := cli(t, "", append(args, "--transcript", t.TempDir())...)
			if code != exitBadInput || errs == "" {
				t.Errorf("exit %d, stderr %q", code, errs)
			}
		})
	}
}

// The real binary, interrupted with SIGINT mid-command, exits 130 and leaves a signed journal.
func TestInterruptedRunIsRecordedAndSigned(t *testing.T) {
	dir := t.TempDir()
	bin := cutoverBin(t)
	key, allowed := newSigningKey(t, dir, "op@test")
	tr := filepath.Join(dir, "tr")
	cmd := exec.Command(bin, "run", "testdata/slow.yaml", "--plain", "--yes", "--transcript", tr, "--sign-key", key)
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if strings.Contains(sc.Text(), "| started") {
			break
		}
	}
	// The output line is journaled before it is printed; now interrupt mid-step.
	cmd.Process.Signal(syscall.SIGINT)
	var rest strings.Builder
	for sc.Scan() {
		rest.WriteString(sc.Text() + "\n")
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("cutover did not stop after SIGINT")
	}
	if code := cmd.ProcessState.ExitCode(); code != exitInterrupted {
		t.Fatalf("exit %d:\n%s", code, rest.String())
	}
	got := strings.Join(types(t, journalOf(t, tr)), "\n")
	if !strings.HasSuffix(got, "decision wait\nstep.end wait\ncheckpoint wait\nrun.end\ncheckpoint") || strings.Contains(got, "never") {
		t.Errorf("journal:\n%s", got)
	}
	if data, _ := os.ReadFile(journalOf(t, tr)); !bytes.Contains(data, []byte(`"choice":"abort","reason":"interrupted: interrupt signal received"`)) {
		t.Errorf("the interrupt is not journaled as an abort:\n%s", data)
	}
	code, vout, _ := cli(t, "", "verify", journalOf(t, tr), "--allowed-signers", allowed)
	if code != 0 {
		t.Errorf("verify after interrupt: %d\n%s", code, vout)
	}
	fmt.Fprint(os.Stderr, "")
}

func TestRunRefusesToStartOutsideTheWindow(t *testing.T) {
	code, _, errs := cli(t, "", "run", "testdata/window.yaml", "--plain", "--yes", "--transcript", t.TempDir())
	if code != exitBadInput || !strings.Contains(errs, "outside the change window: it closed at 2025-01-01T04:00:00Z") || !strings.Contains(errs, "--override-window --reason") {
		t.Fatalf("exit %d: %s", code, errs)
	}
	tr := t.TempDir()
	code, out, errs := cli(t, "", "run", "testdata/window.yaml", "--plain", "--yes", "--transcript", tr, "--override-window", "--reason", "emergency change CHG-4711")
	if code != 0 {
		t.Fatalf("override: exit %d\n%s\n%s", code, out, errs)
	}
	data, _ := os.ReadFile(journalOf(t, tr))
	if !bytes.Contains(data, []byte(`"choice":"override-window","reason":"outside the change window: it closed at 2025-01-01T04:00:00Z`)) || !bytes.Contains(data, []byte("started anyway: emergency change CHG-4711")) {
		t.Errorf("the override is not journaled:\n%s", data)
	}
	if !strings.Contains(out, "window   CLOSED") {
		t.Errorf("output:\n%s", out)
	}
}
