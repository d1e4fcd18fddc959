package transcript

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/cutover/cutover/internal/sshtest"
	"github.com/cutover/cutover/internal/testenv"
	"github.com/cutover/cutover/runbook"
)

func newKey(t testing.TB) (ed25519.PrivateKey, *Signer) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return priv, &Signer{key: s, from: "test"}
}

const secret = `p"a<ss\w0rd-Ω`

// writeJournal journals a small run through the Recorder, the way the engine does.
func writeJournal(t testing.TB, dir string, signer *Signer) string {
	t.Helper()
	w, err := Create(dir, "20261128T220000Z-t-ab12", "op", signer, []string{secret})
	if err != nil {
		t.Fatal(err)
	}
	rec := Recorder{W: w}
	at := time.Date(2026, 11, 28, 22, 0, 0, 123, time.UTC)
	events := []struct {
		typ  runbook.EventType
		step string
		data any
	}{
		{runbook.EvRunStart, "", runbook.RunStartData{Runbook: "t", File: "runbooks.yaml", Operator: "op@test", Steps: []string{"pre"}}},
		{runbook.EvStepStart, "pre", runbook.StepStartData{Index: 1, Of: 1, Phase: runbook.PhaseRun, Checks: 1}},
		{runbook.EvCmd, "pre", runbook.CmdData{Check: "token", Host: "local", Command: "curl -H " + secret, Attempt: 1}},
		{runbook.EvOutput, "pre", runbook.OutputData{Check: "token", Lines: []runbook.Line{{Stream: "stdout", Text: "echo " + secret}}}},
		{runbook.EvCheck, "pre", runbook.CheckData{Check: "token", Kind: "command", Host: "local", Attempt: 1, Result: runbook.Result{Outcome: runbook.Pass, Summary: "exit 0"}}},
		{runbook.EvStepEnd, "pre", runbook.StepEndData{Status: runbook.StepPassed}},
		{runbook.EvCheckpoint, "pre", nil},
		{runbook.EvRunEnd, "", runbook.RunEndData{Status: runbook.RunDone}},
		{runbook.EvCheckpoint, "", nil},
	}
	for i, e := range events {
		ev := runbook.Event{Seq: int64(i + 1), Time: at.Add(time.Duration(i) * time.Millisecond), Run: "r", Type: e.typ, Step: e.step, Data: e.data}
		if ev.Type == runbook.EvCheckpoint {
			ev.Data = rec.Checkpoint() // as the engine asks for it
		}
		if err := rec.Record(&ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return w.Path()
}

// trustOf trusts exactly signer.
func trustOf(signer *Signer) *Trust {
	as, _ := ParseAllowedSigners(strings.NewReader("op@test " + signer.PublicKey()))
	return &Trust{Signers: as, Source: "allowed_signers"}
}

func TestRoundTripVerifies(t *testing.T) {
	_, signer := newKey(t)
	path := writeJournal(t, t.TempDir(), signer)
	rep, err := Verify(path, VerifyOptions{Trust: trustOf(signer)})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Lines != 9 || rep.Checkpoints != 2 || rep.LastSigned != 9 || !rep.Ended || rep.Detached != "verified" || rep.Run != "20261128T220000Z-t-ab12" {
		t.Fatalf("report = %+v", rep)
	}
	if len(rep.Keys) != 1 || rep.Keys[0] != signer.Fingerprint() {
		t.Errorf("keys = %v", rep.Keys)
	}
	data, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	var first struct {
		Seq  int64           `json:"seq"`
		Time string          `json:"time"`
		Run  string          `json:"run"`
		Type string          `json:"type"`
		Step string          `json:"step"`
		Data json.RawMessage `json:"data"`
		Prev string          `json:"prev"`
		Hash string          `json:"hash"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	if first.Time != "2026-11-28T22:00:00.000000123Z" || first.Prev != strings.Repeat("0", 64) || first.Type != "run.start" {
		t.Errorf("line 1 = %+v", first)
	}
}

// The canonical bytes of a line are a contract: other tools verify them. This pins them.
func TestLineBytesAreCanonical(t *testing.T) {
	dir := t.TempDir()
	w, err := Create(dir, "run-1", "op", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Append(1, time.Date(2026, 1, 2, 3, 4, 5, 6, time.FixedZone("X", 3600)), "step.start", "pre <x>", map[string]any{"b": 1, "a": "é"}); err != nil {
		t.Fatal(err)
	}
	w.Close()
	got, _ := os.ReadFile(w.Path())
	body := `{"seq":1,"time":"2026-01-02T02:04:05.000000006Z","run":"run-1","type":"step.start","step":"pre \u003cx\u003e","data":{"a":"é","b":1},"prev":"` + strings.Repeat("0", 64) + `"`
	want := body + `,"hash":"` + sha256Hex(body) + "\"}\n"
	if string(got) != want {
		t.Errorf("line:\n%s\nwant:\n%s", got, want)
	}
}

func sha256Hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return fmt.Sprintf("%x", h)
}

func TestSSHKeygenVerifiesDetachedAndCheckpointSignatures(t *testing.T) {
	testenv.Tool(t, "ssh-keygen", "openssh-client")
	dir := t.TempDir()
	_, signer := newKey(t)
	path := writeJournal(t, dir, signer)
	allowed := filepath.Join(dir, "allowed_signers")
	os.WriteFile(allowed, []byte(fmt.Sprintf("op@test namespaces=\"%s\" %s\n", Namespace, signer.PublicKey())), 0o600)

	verify := func(sigFile string, msg []byte) error {
		cmd := exec.Command("ssh-keygen", "-Y", "verify", "-f", allowed, "-I", "op@test", "-n", Namespace, "-s", sigFile)
		cmd.Stdin = bytes.NewReader(msg)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		return nil
	}
	data, _ := os.ReadFile(path)
	if err := verify(path+".sig", data); err != nil {
		t.Fatalf("ssh-keygen rejected the detached signature: %v", err)
	}
	if err := verify(path+".sig", append(data, '\n')); err == nil {
		t.Fatal("ssh-keygen accepted a changed journal")
	}
	// A checkpoint's signature covers its head; ssh-keygen checks it too.
	lines := bytes.Split(bytes.TrimSpace(data), []byte("\n"))
	var cp struct{ Data runbook.CheckpointData }
	json.Unmarshal(lines[6], &cp)
	cpSig := filepath.Join(dir, "cp.sig")
	os.WriteFile(cpSig, []byte(cp.Data.Sig), 0o600)
	if err := verify(cpSig, []byte(cp.Data.Head)); err != nil {
		t.Fatalf("ssh-keygen rejected a checkpoint signature: %v", err)
	}

	// And the other way round: a signature made by ssh-keygen verifies here.
	keyFile := filepath.Join(dir, "id_ed25519")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", keyFile).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v %s", err, out)
	}
	os.Remove(path + ".sig")
	if out, err := exec.Command("ssh-keygen", "-Y", "sign", "-f", keyFile, "-n", Namespace, path).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen sign: %v %s", err, out)
	}
	rep, err := Verify(path, VerifyOptions{})
	if err != nil || rep.Detached != "verified" {
		t.Fatalf("ssh-keygen's signature: %+v %v", rep, err)
	}
}

func lineOf(data []byte, off int) int { return bytes.Count(data[:off], []byte("\n")) + 1 }

func TestEveryFlippedByteIsPinnedToItsLine(t *testing.T) {
	dir := t.TempDir()
	_, signer := newKey(t)
	path := writeJournal(t, dir, signer)
	orig, _ := os.ReadFile(path)
	sig, _ := os.ReadFile(path + ".sig")
	flipped := filepath.Join(dir, "flipped.jsonl")
	os.WriteFile(flipped+".sig", sig, 0o600)
	for off := range orig {
		data := bytes.Clone(orig)
		data[off] ^= 0x01
		os.WriteFile(flipped, data, 0o600)
		rep, err := Verify(flipped, VerifyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		want := lineOf(orig, off)
		if rep.OK() || rep.Problem == nil || rep.Problem.Line != want {
			t.Fatalf("byte %d (line %d, %q→%q): report %+v problem %v", off, want, orig[off], data[off], rep, rep.Problem)
		}
	}
}

func TestTornLastLineIsTruncationNotTampering(t *testing.T) {
	dir := t.TempDir()
	_, signer := newKey(t)
	path := writeJournal(t, dir, signer)
	orig, _ := os.ReadFile(path)
	lastStart := bytes.LastIndexByte(orig[:len(orig)-1], '\n') + 1
	cut := filepath.Join(dir, "cut.jsonl")
	for end := lastStart + 1; end < len(orig)-1; end++ {
		os.WriteFile(cut, orig[:end], 0o600)
		rep, err := Verify(cut, VerifyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !rep.Truncated || rep.Problem != nil || rep.Lines != 8 || rep.OK() {
			t.Fatalf("cut at %d: %+v %v", end, rep, rep.Problem)
		}
	}
}

func TestRemovedOrReorderedLines(t *testing.T) {
	dir := t.TempDir()
	path := writeJournal(t, dir, nil)
	orig, _ := os.ReadFile(path)
	lines := bytes.SplitAfter(orig, []byte("\n"))
	try := func(name string, ls [][]byte, wantLine int, wantMsg string) {
		p := filepath.Join(dir, name)
		os.WriteFile(p, bytes.Join(ls, nil), 0o600)
		rep, err := Verify(p, VerifyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Problem == nil || rep.Problem.Line != wantLine || !strings.Contains(rep.Problem.Msg, wantMsg) {
			t.Errorf("%s: problem %v", name, rep.Problem)
		}
	}
	try("removed.jsonl", append(append([][]byte{}, lines[:3]...), lines[4:]...), 4, "prev does not match line 3")
	try("swapped.jsonl", append(append([][]byte{}, lines[0], lines[2], lines[1]), lines[3:]...), 2, "prev does not match line 1")
	try("headless.jsonl", lines[1:], 1, "prev is not zero")
}

func TestSecretsNeverReachTheFile(t *testing.T) {
	path := writeJournal(t, t.TempDir(), nil)
	data, _ := os.ReadFile(path)
	q, _ := json.Marshal(secret)
	for _, form := range []string{secret, string(q[1 : len(q)-1]), "p\\\"a", "ss\\\\w0rd"} {
		if bytes.Contains(data, []byte(form)) {
			t.Errorf("journal holds %q", form)
		}
	}
	if c := bytes.Count(data, []byte(Redacted)); c != 2 {
		t.Errorf("%d redactions, want 2", c)
	}
	if rep, _ := Verify(path, VerifyOptions{}); rep.Verdict() != Unproven || rep.Checkpoints != 0 || rep.Unsigned != 2 {
		t.Errorf("unsigned journal: %+v", rep)
	}
}

func TestAllowedSigners(t *testing.T) {
	dir := t.TempDir()
	_, signer := newKey(t)
	_, other := newKey(t)
	path := writeJournal(t, dir, signer)
	tests := []struct {
		name, file string
		ok         bool
		principal  string
	}{
		{"listed", "op@test " + signer.PublicKey() + " laptop\n", true, "op@test"},
		{"listed with namespaces", `alice,bob namespaces="git,cutover-*" ` + signer.PublicKey() + "\n", true, "alice"},
		{"other namespace", `op@test namespaces="git" ` + signer.PublicKey() + "\n", false, ""},
		{"other key", "op@test " + other.PublicKey() + "\n", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			as, err := ParseAllowedSigners(strings.NewReader("# comment\n\n" + tt.file))
			if err != nil {
				t.Fatal(err)
			}
			rep, err := Verify(path, VerifyOptions{Trust: &Trust{Signers: as, Source: "allowed"}})
			if err != nil {
				t.Fatal(err)
			}
			if rep.OK() != tt.ok {
				t.Fatalf("OK = %v: %+v %v", rep.OK(), rep, rep.Problem)
			}
			if tt.ok && rep.Principals[0] != tt.principal {
				t.Errorf("principals = %v", rep.Principals)
			}
			if !tt.ok && (rep.Verdict() != Failed || rep.Problem != nil || len(rep.Untrusted) == 0 || !strings.HasPrefix(rep.Untrusted[0], "line 7: checkpoint: ")) {
				t.Errorf("untrusted = %v, problem %v", rep.Untrusted, rep.Problem)
			}
		})
	}
	if _, err := ParseAllowedSigners(strings.NewReader("ca@x no-such-option " + signer.PublicKey())); err == nil {
		t.Error("an unknown option accepted")
	}
	unsigned := writeJournal(t, t.TempDir(), nil)
	as, _ := ParseAllowedSigners(strings.NewReader("op@test " + signer.PublicKey()))
	if rep, _ := Verify(unsigned, VerifyOptions{Trust: &Trust{Signers: as, Source: "allowed"}}); rep.OK() || rep.Verdict() != Unproven {
		t.Error("an unsigned journal passed with allowed signers required")
	}
	// Signed and intact, but nobody named whom to trust: not verified.
	if rep, _ := Verify(path, VerifyOptions{}); rep.OK() || rep.Verdict() != Unproven || len(rep.Gaps()) == 0 {
		t.Errorf("no trust named: %v %v", rep.Verdict(), rep.Gaps())
	}
}

func TestLoadSigner(t *testing.T) {
	dir := t.TempDir()
	priv, _ := newKey(t)
	block, err := ssh.MarshalPrivateKeyWithPassphrase(priv, "", []byte("hunter2"))
	if err != nil {
		t.Fatal(err)
	}
	locked := filepath.Join(dir, "locked")
	os.WriteFile(locked, pem.EncodeToMemory(block), 0o600)
	block, _ = ssh.MarshalPrivateKey(priv, "")
	plain := filepath.Join(dir, "plain")
	os.WriteFile(plain, pem.EncodeToMemory(block), 0o600)

	s, err := LoadSigner(plain, "")
	if err != nil || !strings.HasPrefix(s.PublicKey(), "ssh-ed25519 ") {
		t.Fatalf("plain key: %v %v", s, err)
	}
	if _, err := LoadSigner(locked, ""); err == nil || !strings.Contains(err.Error(), "ssh-add "+locked) {
		t.Errorf("locked key without agent: %v", err)
	}
	if _, err := LoadSigner("", ""); err != ErrNoKey {
		t.Errorf("no key: %v", err)
	}

	// A real agent protocol on a unix socket, holding the locked key.
	sock := sshtest.Agent(t, priv)
	for _, path := range []string{locked, ""} {
		s, err := LoadSigner(path, sock)
		if err != nil {
			t.Fatalf("LoadSigner(%q) via agent: %v", path, err)
		}
		sig, err := s.Sign([]byte("head"))
		if err != nil || !strings.HasPrefix(sig, "-----BEGIN SSH SIGNATURE-----") {
			t.Errorf("agent signature: %q %v", sig, err)
		}
	}
}

// Follow reads a journal as it grows, line pieces included, and stops after run.end's checkpoint.
func TestFollowAGrowingJournal(t *testing.T) {
	_, signer := newKey(t)
	full, _ := os.ReadFile(writeJournal(t, t.TempDir(), signer))
	path := filepath.Join(t.TempDir(), "live.jsonl")
	os.WriteFile(path, nil, 0o600)
	got := make(chan runbook.Event, 100)
	done := make(chan error, 1)
	go func() {
		done <- Follow(context.Background(), path, 5*time.Millisecond, func(ev runbook.Event) { got <- ev })
	}()
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	for i := 0; i < len(full); i += 37 { // the writer's lines arrive in arbitrary pieces
		f.Write(full[i:min(i+37, len(full))])
	}
	f.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	close(got)
	var types []string
	for ev := range got {
		types = append(types, string(ev.Type))
	}
	if strings.Join(types, ",") != "run.start,step.start,cmd,output,check,step.end,checkpoint,run.end,checkpoint" {
		t.Errorf("followed %v", types)
	}
	// A tampered line stops the follower with the line named.
	bad := bytes.Replace(full, []byte(`"Operator"`), []byte(`"Operator"`), 1)
	bad[bytes.IndexByte(bad, '\n')+20] ^= 1
	os.WriteFile(path, bad, 0o600)
	err := Follow(context.Background(), path, 5*time.Millisecond, func(runbook.Event) {})
	if err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("tampered: %v", err)
	}
}

func TestReopenDropsATornLineAndContinuesTheChain(t *testing.T) {
	_, signer := newKey(t)
	path := writeJournal(t, t.TempDir(), signer)
	full, _ := os.ReadFile(path)
	// Cut the last two lines (run.end and its checkpoint) and tear the one before.
	lines := bytes.SplitAfter(full, []byte("\n"))
	kept := bytes.Join(lines[:6], nil)
	os.WriteFile(path, append(kept, lines[6][:40]...), 0o600)
	os.Remove(path + ".sig")
	w, dropped, err := Reopen(path, lockT(t, path), signer, nil)
	if err != nil || dropped != 40 || w.Seq() != 6 {
		t.Fatalf("reopen: %v dropped %d seq %d", err, dropped, w.Seq())
	}
	rec := Recorder{W: w}
	for i, typ := range []runbook.EventType{runbook.EvRunEnd, runbook.EvCheckpoint} {
		ev := runbook.Event{Seq: int64(7 + i), Time: time.Now(), Type: typ, Data: runbook.RunEndData{Status: runbook.RunDone}}
		if ev.Type == runbook.EvCheckpoint {
			ev.Data = rec.Checkpoint() // as the engine asks for it
		}
		if err := rec.Record(&ev); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	rep, err := Verify(path, VerifyOptions{Trust: trustOf(signer)})
	if err != nil || !rep.OK() || rep.Lines != 8 || !rep.Ended {
		t.Fatalf("after resume: %+v %v", rep, err)
	}
	if _, _, err := Reopen(path, lockT(t, path), signer, nil); !errors.Is(err, ErrFinished) {
		t.Errorf("a finished journal: %v", err)
	}
}

// sharedWriter writes as the engine's emit does: the next seq and its line under one lock, the
// sync outside it.
type sharedWriter struct {
	w   *Writer
	mu  sync.Mutex
	seq int64
}

// write writes one line and returns its seq once the line is durable.
func (sw *sharedWriter) write(t time.Time, typ, step string, data any) (int64, error) {
	sw.mu.Lock()
	sw.seq++
	seq := sw.seq
	err := sw.w.Write(seq, t, typ, step, data)
	sw.mu.Unlock()
	if err != nil {
		return seq, err
	}
	return seq, sw.w.Sync(seq)
}

// Lines written by many at once and synced outside the writers' lock: each Sync returns with its
// line on disk, and the journal is one intact chain.
func TestConcurrentWritesShareSyncs(t *testing.T) {
	dir := t.TempDir()
	w, err := Create(dir, "r1", "op", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	sw := &sharedWriter{w: w}
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				s, err := sw.write(time.Now(), "output", "s", map[string]string{"text": "x"})
				if err != nil {
					t.Error(err)
					return
				}
				w.syncMu.Lock()
				synced := w.synced
				w.syncMu.Unlock()
				if synced < s {
					t.Errorf("Sync(%d) returned with %d synced", s, synced)
				}
			}
		}()
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	rep, err := Verify(filepath.Join(dir, "r1.jsonl"), VerifyOptions{})
	if err != nil || rep.Lines != 800 {
		t.Fatalf("verify: %+v %v", rep, err)
	}
}
