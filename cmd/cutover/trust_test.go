package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cutover/cutover/runbook"
	"github.com/cutover/cutover/runbook/transcript"
)

// forge rewrites journal as an attacker with write access would: every output line replaced,
// the chain rebuilt and every checkpoint and the detached signature made with the attacker's
// key, and an allowed_signers naming that key written beside it.
func forge(t *testing.T, journal string, n int) {
	t.Helper()
	events, err := transcript.ReadEvents(journal)
	if err != nil {
		t.Fatal(err)
	}
	key, pub := sshtestKeygen(t, "mallory")
	signer, err := transcript.LoadSigner(key, "")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	w, err := transcript.Create(dir, events[0].Run, "mallory", signer, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range events[:n] {
		ev := events[i]
		if d, ok := ev.Data.(runbook.OutputData); ok {
			for j := range d.Lines {
				d.Lines[j].Text = "forged: all good"
			}
			ev.Data = d
		}
		rec := transcript.Recorder{W: w}
		if ev.Type == runbook.EvCheckpoint {
			ev.Data = rec.Checkpoint() // re-signed with the forger's key
		}
		if err := rec.Record(&ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	for _, ext := range []string{"", ".sig"} {
		b, err := os.ReadFile(w.Path() + ext)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(journal+ext, b, 0o600)
	}
	os.WriteFile(strings.TrimSuffix(journal, ".jsonl")+".allowed_signers", []byte("trainee@lab "+pub+"\n"), 0o600)
}

// A journal rewritten and re-signed with another key, its allowed_signers beside it rewritten
// too, is never reported verified: trust comes only from what the operator names.
func TestForgedJournalIsNotVerified(t *testing.T) {
	t.Parallel() // waits on lab moves and settles: beside the other slow ones (CI runs the package under -race)
	_, _, _, lines, journal := labRun(t, "../../runbooks.yaml", "", "--yes")
	if journal == "" {
		t.Fatal("no journal")
	}
	mine := filepath.Join(t.TempDir(), "allowed_signers") // the operator's copy, kept before the forgery
	os.WriteFile(mine, mustRead(t, strings.TrimSuffix(journal, ".jsonl")+".allowed_signers"), 0o600)
	if code, out, _ := cli(t, "", "verify", journal, "--allowed-signers", mine); code != 0 {
		t.Fatalf("genuine journal: exit %d\n%s", code, out)
	}
	forge(t, journal, len(lines))

	// Without trust named: intact and signed, but unproven.
	code, out, _ := cli(t, "", "verify", journal)
	if code != exitUnproven || strings.Contains(out, "VERIFIED") || !strings.Contains(out, "trust not checked") {
		t.Errorf("forged, no trust named: exit %d\n%s", code, out)
	}
	// Against the operator's own allowed signers: failed, naming the foreign key.
	code, out, _ = cli(t, "", "verify", journal, "--allowed-signers", mine)
	if code != exitFailed || !strings.Contains(out, "not in "+mine) {
		t.Errorf("forged, operator's trust: exit %d\n%s", code, out)
	}
	// The report neither reads the allowed_signers beside the journal nor calls it verified.
	_, md, _ := cli(t, "", "report", journal)
	if strings.Contains(md, "✓ verified") || !strings.Contains(md, "## Signature: ⚠ UNPROVEN") {
		t.Errorf("report of the forgery:\n%s", md)
	}
	_, md, _ = cli(t, "", "report", journal, "--allowed-signers", mine)
	if !strings.Contains(md, "## Signature: ✗ FAILED") {
		t.Errorf("report against the operator's trust:\n%s", md)
	}
}

// What is missing is never called verified: an empty file, a journal without signatures, one cut
// to its unsigned first line, and one appended and re-signed by another key.
func TestVerifyWithoutProof(t *testing.T) {
	t.Parallel() // waits on lab moves and settles: beside the other slow ones (CI runs the package under -race)
	_, _, _, lines, journal := labRun(t, "../../runbooks.yaml", "", "--yes")
	mine := strings.TrimSuffix(journal, ".jsonl") + ".allowed_signers"
	dir := t.TempDir()

	empty := filepath.Join(dir, "empty.jsonl")
	os.WriteFile(empty, nil, 0o600)
	if code, _, errs := cli(t, "", "verify", empty); code != exitBadInput || !strings.Contains(errs, "not a cutover journal") {
		t.Errorf("empty file: exit %d %s", code, errs)
	}

	data := mustRead(t, journal)
	first := filepath.Join(dir, "first.jsonl")
	os.WriteFile(first, data[:strings.IndexByte(string(data), '\n')+1], 0o600)
	if code, out, _ := cli(t, "", "verify", first, "--allowed-signers", mine); code != exitUnproven || strings.Contains(out, "VERIFIED") || !strings.Contains(out, "not signed") {
		t.Errorf("cut to its unsigned first line: exit %d\n%s", code, out)
	}
	os.WriteFile(first+".sig", mustRead(t, journal+".sig"), 0o600)
	if code, out, _ := cli(t, "", "verify", first, "--allowed-signers", mine); code != exitFailed {
		t.Errorf("cut, with the whole journal's signature: exit %d\n%s", code, out)
	}

	appended := filepath.Join(dir, "appended.jsonl")
	os.WriteFile(appended, data, 0o600)
	forgeTail(t, appended, len(lines))
	if code, out, _ := cli(t, "", "verify", appended); code != exitUnproven || strings.Contains(out, "VERIFIED") {
		t.Errorf("appended and re-signed, no trust named: exit %d\n%s", code, out)
	}
	if code, out, _ := cli(t, "", "verify", appended, "--allowed-signers", mine); code != exitFailed {
		t.Errorf("appended and re-signed, operator's trust: exit %d\n%s", code, out)
	}

	// An expired signer, as ssh-keygen reads valid-before.
	expired := filepath.Join(dir, "expired_signers")
	line := string(mustRead(t, mine))
	principal, key, _ := strings.Cut(strings.TrimSpace(line), " ")
	os.WriteFile(expired, []byte(principal+` valid-before="20200101" `+key+"\n"), 0o600)
	if code, out, _ := cli(t, "", "verify", journal, "--allowed-signers", expired); code != exitFailed || !strings.Contains(out, "expired") {
		t.Errorf("expired signer: exit %d\n%s", code, out)
	}
	cmd := exec.Command("ssh-keygen", "-Y", "verify", "-f", expired, "-I", principal, "-n", transcript.Namespace, "-s", journal+".sig")
	cmd.Stdin, _ = os.Open(journal)
	if cmd.Run() == nil {
		t.Error("ssh-keygen accepts the expired signer: the oracle disagrees")
	}
}

// forgeTail appends to a finished journal as another key's holder would: a note chained to the
// last line, a checkpoint over it signed by that key, and a new detached signature by that key.
// Every line before stays as the genuine run wrote and signed it.
func forgeTail(t *testing.T, journal string, n int) {
	t.Helper()
	key, _ := sshtestKeygen(t, "mallory")
	signer, err := transcript.LoadSigner(key, "")
	if err != nil {
		t.Fatal(err)
	}
	data := mustRead(t, journal)
	last := data[:len(data)-1]
	last = last[strings.LastIndexByte(string(last), '\n')+1:]
	prev := string(last[len(last)-66 : len(last)-2])
	run := events0Run(t, journal)
	appendLine := func(seq int, typ, dataJSON string) {
		body := fmt.Sprintf(`{"seq":%d,"time":"2026-12-01T00:00:00.000000000Z","run":"%s","type":"%s","step":"","data":%s,"prev":"%s"`, seq, run, typ, dataJSON, prev)
		sum := sha256.Sum256([]byte(body))
		prev = hex.EncodeToString(sum[:])
		data = append(data, body+`,"hash":"`+prev+"\"}\n"...)
	}
	appendLine(n+1, "note", `{"source":"mallory","text":"nothing to see"}`)
	sig, err := signer.Sign([]byte(prev))
	if err != nil {
		t.Fatal(err)
	}
	cp, _ := json.Marshal(map[string]string{"head": prev, "key": signer.PublicKey(), "sig": sig})
	appendLine(n+2, "checkpoint", string(cp))
	os.WriteFile(journal, data, 0o600)
	if err := transcript.SignFile(journal, signer); err != nil {
		t.Fatal(err)
	}
}

func events0Run(t *testing.T, journal string) string {
	t.Helper()
	events, err := transcript.ReadEvents(journal)
	if err != nil {
		t.Fatal(err)
	}
	return events[0].Run
}

// resume continues only a journal the operator's trust vouches for: a re-signed forgery of an
// interrupted run is refused (its baselines and origin would be the forger's), and so is any
// journal when no allowed signers are named.
func TestResumeRefusesAJournalItCannotTrust(t *testing.T) {
	tr := filepath.Join(t.TempDir(), "tr")
	first, _ := waitingLab(t, "--file", mustAbs(t, "../../runbooks.yaml"), "--transcript", tr, "--operator", "trainee@lab")
	journal := journalOf(t, tr)
	first.Process.Kill()
	first.Wait()
	mine := filepath.Join(t.TempDir(), "allowed_signers")
	os.WriteFile(mine, mustRead(t, strings.TrimSuffix(journal, ".jsonl")+".allowed_signers"), 0o600)

	code, _, errs := cli(t, "", "lab", "--resume", journal, "--plain", "--yes")
	if code != exitBadInput || !strings.Contains(errs, "no allowed signers are named") {
		t.Errorf("resume without trust: exit %d %s", code, errs)
	}
	events, _ := transcript.ReadEvents(journal)
	forge(t, journal, len(events))
	os.Remove(journal + ".sig") // an interrupted run has none
	before := mustRead(t, journal)
	code, _, errs = cli(t, "", "lab", "--resume", journal, "--plain", "--yes", "--allowed-signers", mine)
	if code != exitBadInput || !strings.Contains(errs, "do not trust") {
		t.Errorf("resume of a forgery: exit %d %s", code, errs)
	}
	if !bytes.Equal(before, mustRead(t, journal)) {
		t.Error("the refused resume wrote to the journal")
	}
}

// Journals written by earlier releases stay readable: each kept in testdata/journals verifies
// against the allowed signers it was written with, and renders (report and plain replay) with its
// outcome. A change to the journal's format must keep these green.
func TestKeptJournalsStillVerifyAndRender(t *testing.T) {
	journals, _ := filepath.Glob("testdata/journals/*.jsonl")
	if len(journals) == 0 {
		t.Fatal("no kept journals")
	}
	for _, j := range journals {
		allowed := strings.TrimSuffix(j, ".jsonl") + ".allowed_signers"
		if code, out, _ := cli(t, "", "verify", j, "--allowed-signers", allowed); code != 0 {
			t.Errorf("%s: verify exit %d\n%s", j, code, out)
		}
		code, md, errs := cli(t, "", "report", j, "--allowed-signers", allowed)
		if code != 0 || !strings.Contains(md, "## Signature: ✓ verified") || !strings.Contains(md, "**ROLLED-BACK**") || !strings.Contains(md, "| migrate | run | rolled back |") {
			t.Errorf("%s: report exit %d %s\n%s", j, code, errs, md)
		}
		if code, out, _ := cli(t, "", "replay", j, "--plain"); code != 0 || !strings.Contains(out, "ROLLBACK") {
			t.Errorf("%s: replay exit %d\n%s", j, code, out)
		}
		assertOneStory(t, j)
	}
}
