package transcript

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/hiddeco/sshsig"
	"golang.org/x/crypto/ssh"
)

// Problem is the first thing wrong with a journal, pinned to a line.
type Problem struct {
	Line int
	Msg  string
}

func (p Problem) String() string { return fmt.Sprintf("line %d: %s", p.Line, p.Msg) }

// Report is what Verify found.
type Report struct {
	Path        string
	Run         string
	Lines       int      // complete lines whose chain link verified
	Truncated   bool     // the file ends in a torn line (a crash mid-write), after Lines
	Problem     *Problem // the first broken line; nothing after it was trusted
	Checkpoints int      // checkpoints whose signature verified
	Unsigned    int      // checkpoints without a signature
	LastSigned  int      // line of the last verified checkpoint
	Keys        []string // fingerprints of the keys that signed
	Principals  []string // who those keys belong to, per the operator's allowed signers
	Untrusted   []string // signatures that verify but that the operator's trust does not accept
	Ended       bool     // the journal ends with its run's end (no resume after it)
	EndStatus   string   // that end's status: "interrupted" may be resumed
	Approvals   []string // fingerprints of the sign-offs that verified
	// NotAllowed are sign-offs whose signature holds but whose signer the allowed signers do not
	// allow to approve: "SHA256:… (line 87): … is not in allowed_signers".
	NotAllowed []string
	// Notes are the fingerprints of the signed notes whose signatures verified.
	Notes      []string
	Detached   string // "verified", "missing", or why it failed
	Trust      string // the allowed_signers file signatures were checked against, or ""
	sigPresent bool
}

// Verdict is what a journal proves.
type Verdict int

// The verdicts, from best to worst.
const (
	// Verified: the chain is intact and every signature (checkpoints, approvals, the detached
	// signature over the whole file) verifies against allowed signers the operator named.
	Verified Verdict = iota
	// Unproven: nothing is wrong, but something is missing for proof: no trust was named,
	// signatures are missing (an unsigned or interrupted run), or the last line is torn.
	Unproven
	// Failed: a line was altered, removed or added, a signature does not verify, or a signer is
	// not trusted (unknown, expired, not yet valid, wrong namespace, revoked).
	Failed
)

func (v Verdict) String() string {
	// Only a Verified journal is ever called that: the others' names do not contain the word.
	return [...]string{"VERIFIED", "UNPROVEN", "FAILED"}[v]
}

// Verdict judges the report.
func (r *Report) Verdict() Verdict {
	switch {
	case r.Problem != nil || len(r.Untrusted) > 0 || len(r.NotAllowed) > 0 || r.sigPresent && r.Detached != "verified":
		return Failed
	case r.Trust == "" || r.Truncated || r.Unsigned > 0 || r.Detached != "verified":
		return Unproven
	}
	return Verified
}

// OK tells whether the journal is Verified.
func (r *Report) OK() bool { return r.Verdict() == Verified }

// Gaps says why an intact journal is not Verified, or "" when it is (or when it failed).
func (r *Report) Gaps() []string {
	if r.Verdict() != Unproven {
		return nil
	}
	var out []string
	signed := r.Checkpoints > 0 || r.sigPresent
	if r.Trust == "" && signed {
		out = append(out, fmt.Sprintf("chain intact, signed by %s, trust not checked: name the allowed signers (--allowed-signers FILE, or ~/.config/cutover/allowed_signers)", strings.Join(r.Keys, ", ")))
	}
	if !signed {
		out = append(out, "chain intact but not signed: anyone can write a valid chain, so it proves nothing about who wrote it")
	}
	if r.Unsigned > 0 {
		out = append(out, fmt.Sprintf("%d checkpoints are not signed", r.Unsigned))
	}
	if r.Truncated {
		out = append(out, fmt.Sprintf("the last line is torn after line %d (the run was killed mid-write)", r.Lines))
	}
	if signed && r.Detached == "missing" {
		tail := ""
		if r.LastSigned > 0 && r.LastSigned < r.Lines {
			tail = fmt.Sprintf(": lines %d-%d come after the last signed checkpoint and are signed by nothing", r.LastSigned+1, r.Lines)
		}
		out = append(out, "no detached signature (the run did not finish, or the .sig was removed)"+tail)
	}
	return out
}

// VerifyOptions tune Verify.
type VerifyOptions struct {
	// Trust, when set, is what every signature is checked against; nil checks signatures only
	// cryptographically, and no journal is then Verified.
	Trust *Trust
}

// ErrNotJournal means the file is not a cutover journal at all (empty, or its first line is not
// one), as opposed to a journal that was altered.
var ErrNotJournal = errors.New("not a cutover journal")

var (
	hashSuffix = []byte(`,"hash":"`)
	prevSuffix = []byte(`,"prev":"`)
	seqPrefix  = []byte(`{"seq":`)
	runField   = []byte(`,"run":"`)
	typeField  = []byte(`","type":"`)
	cpType     = []byte("checkpoint")
	apType     = []byte("approval")
	noteType   = []byte("note")
	endType    = []byte("run.end")
	resumeType = []byte("resume")
)

// suffixLen is `,"hash":"` + 64 hex digits + `"}`.
const suffixLen = 9 + 64 + 2

// Verify checks the journal at path and its detached signature path+".sig" if present.
func Verify(path string, opts VerifyOptions) (*Report, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	defer f.Close()
	r := &Report{Path: path}
	if opts.Trust != nil {
		r.Trust = opts.Trust.Source
	}
	if err := r.chain(f, opts); err != nil {
		return nil, fmt.Errorf("verify %s: %w", path, err)
	}
	if r.Lines == 0 && (r.Problem == nil || r.Problem.Line == 1 && !looksLikeJournal(f)) {
		return nil, fmt.Errorf("%s: %w", path, ErrNotJournal)
	}
	sig, err := os.ReadFile(path + ".sig")
	switch {
	case errors.Is(err, os.ErrNotExist):
		r.Detached = "missing"
	case err != nil:
		return nil, fmt.Errorf("verify: %w", err)
	default:
		r.sigPresent = true
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return nil, fmt.Errorf("verify: %w", err)
		}
		r.Detached = r.detached(f, sig, opts)
	}
	return r, nil
}

// VerifyReader checks a journal's chain and checkpoints from r (no detached signature).
func VerifyReader(rd io.Reader, opts VerifyOptions) (*Report, error) {
	r := &Report{Detached: "missing"}
	if opts.Trust != nil {
		r.Trust = opts.Trust.Source
	}
	return r, r.chain(rd, opts)
}

func (r *Report) chain(rd io.Reader, opts VerifyOptions) error {
	br := bufio.NewReaderSize(rd, 256<<10)
	var prev [32]byte
	var run []byte
	for n := 1; ; n++ {
		line, err := br.ReadSlice('\n')
		for err == bufio.ErrBufferFull {
			// A line longer than the buffer: gather it whole.
			buf := slices.Clone(line)
			line, err = br.ReadSlice('\n')
			line = append(buf, line...)
		}
		if len(line) > 0 && line[len(line)-1] != '\n' {
			// A torn write leaves a prefix of a line. A whole line whose newline became some
			// other byte is not torn: it was altered.
			var p [32]byte = prev
			if r.verifyLine(n, line[:len(line)-1], &p, &run, VerifyOptions{}) == "" {
				r.Problem = &Problem{Line: n, Msg: "line does not end with a newline: the file was altered"}
				return nil
			}
			r.Truncated = true
			return nil
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		line = line[:len(line)-1]
		if msg := r.verifyLine(n, line, &prev, &run, opts); msg != "" {
			r.Problem = &Problem{Line: n, Msg: msg}
			return nil
		}
		r.Lines = n
	}
}

// verifyLine checks one line's own hash, its link to the previous line, its seq and run, and the
// signature of a checkpoint. It returns what is wrong, or "".
func (r *Report) verifyLine(n int, line []byte, prev *[32]byte, run *[]byte, opts VerifyOptions) string {
	if len(line) < suffixLen+len(seqPrefix) || !bytes.Equal(line[len(line)-suffixLen:len(line)-suffixLen+len(hashSuffix)], hashSuffix) || !bytes.HasSuffix(line, []byte(`"}`)) {
		return "not a journal line (no hash at its end)"
	}
	body := line[:len(line)-suffixLen]
	var want [32]byte
	if _, err := hex.Decode(want[:], line[len(line)-66:len(line)-2]); err != nil {
		return "hash is not hex"
	}
	if sha256.Sum256(body) != want {
		return "content does not match its hash: the line was altered"
	}
	// From here on the line is exactly as its writer wrote it; what remains is whether it belongs.
	if len(body) < 74 || !bytes.Equal(body[len(body)-74:len(body)-65], prevSuffix) {
		return "no prev field"
	}
	var p [32]byte
	if _, err := hex.Decode(p[:], body[len(body)-65:len(body)-1]); err != nil || p != *prev {
		if n == 1 {
			return "prev is not zero: this is not the first line of a journal"
		}
		return fmt.Sprintf("prev does not match line %d: a line was removed, inserted or reordered", n-1)
	}
	*prev = want
	if !bytes.HasPrefix(body, seqPrefix) {
		return "no seq field"
	}
	rest := body[len(seqPrefix):]
	end := bytes.IndexByte(rest, ',')
	if seq, err := strconv.Atoi(string(rest[:max(end, 0)])); err != nil || seq != n {
		return fmt.Sprintf("seq is %q, want %d", rest[:max(end, 0)], n)
	}
	i := bytes.Index(body, runField)
	if i < 0 {
		return "no run field"
	}
	rest = body[i+len(runField):]
	j := bytes.Index(rest, typeField)
	if j < 0 {
		return "no type field"
	}
	if n == 1 {
		*run = slices.Clone(rest[:j])
		r.Run = string(*run)
	} else if !bytes.Equal(rest[:j], *run) {
		return fmt.Sprintf("run %q differs from line 1's %q", rest[:j], *run)
	}
	typ := rest[j+len(typeField):]
	typ = typ[:max(bytes.IndexByte(typ, '"'), 0)]
	switch {
	case bytes.Equal(typ, cpType):
		return r.checkpoint(n, line, opts)
	case bytes.Equal(typ, endType):
		r.Ended, r.EndStatus = true, ""
		var l struct {
			Data struct{ Status string } `json:"data"`
		}
		if json.Unmarshal(line, &l) == nil {
			r.EndStatus = l.Data.Status
		}
	case bytes.Equal(typ, resumeType):
		r.Ended, r.EndStatus = false, "" // a run interrupted by a signal, taken up again
	case bytes.Equal(typ, apType):
		return r.approval(n, line, opts)
	case bytes.Equal(typ, noteType):
		return r.note(n, line)
	}
	return ""
}

// note verifies a signed note's signature (a note without one is the operator's or a client's,
// covered by the journal's own signatures).
func (r *Report) note(n int, line []byte) string {
	if !bytes.Contains(line, []byte(`"sig":`)) {
		return ""
	}
	var l struct {
		Run  string `json:"run"`
		Data struct {
			Text, Key, Sig string
			SignedAt       string `json:"signed_at"`
		} `json:"data"`
	}
	if err := json.Unmarshal(line, &l); err != nil {
		return "note is not valid JSON: " + err.Error()
	}
	if l.Data.Sig == "" {
		return ""
	}
	key, err := verifyNote(l.Run, l.Data.SignedAt, l.Data.Text, l.Data.Sig)
	if err != nil {
		return "signed note does not verify: " + err.Error()
	}
	if got := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(key))); got != l.Data.Key {
		return "signed note names a key other than the one that signed it"
	}
	r.Notes = append(r.Notes, ssh.FingerprintSHA256(key))
	return ""
}

// approval verifies a sign-off line: its signature over its message, by a key that does not sign
// the journal itself, allowed for the approval namespace when allowed signers were given.
func (r *Report) approval(n int, line []byte, opts VerifyOptions) string {
	var l struct {
		Data struct{ Message, Sig string } `json:"data"`
	}
	if err := json.Unmarshal(line, &l); err != nil {
		return "approval is not valid JSON: " + err.Error()
	}
	d, err := checkApproval(l.Data.Message, []byte(l.Data.Sig), "", nil)
	if err != nil {
		return "approval does not verify: " + err.Error()
	}
	if opts.Trust != nil {
		key, _, _, _, _ := ssh.ParseAuthorizedKey([]byte(d.Key))
		if _, err := opts.Trust.Check(key, ApprovalNamespace); err != nil {
			r.NotAllowed = append(r.NotAllowed, fmt.Sprintf("%s (line %d): %v", d.Fingerprint, n, err))
			return "" // the chain is intact; the sign-off is not counted, and says why
		}
	}
	if slices.Contains(r.Keys, d.Fingerprint) {
		return "approval is signed by the key that signs the journal: it needs another person"
	}
	r.Approvals = append(r.Approvals, d.Fingerprint)
	return ""
}

// checkpoint verifies a checkpoint line: it signs the hash of the line before it.
func (r *Report) checkpoint(n int, line []byte, opts VerifyOptions) string {
	var l struct {
		Prev string `json:"prev"`
		Data struct {
			Head, Key, Sig, Error string
		} `json:"data"`
	}
	if err := json.Unmarshal(line, &l); err != nil {
		return "checkpoint is not valid JSON: " + err.Error()
	}
	if l.Data.Head != l.Prev {
		return "checkpoint head is not the hash of the line before it"
	}
	if l.Data.Sig == "" {
		r.Unsigned++
		if l.Data.Error != "" {
			return "checkpoint is not signed" + errSuffix(l.Data.Error)
		}
		return ""
	}
	key, msg := r.checkSig(fmt.Sprintf("line %d: checkpoint", n), []byte(l.Data.Sig), bytes.NewReader([]byte(l.Data.Head)), opts)
	if msg != "" {
		return "checkpoint " + msg
	}
	if key != l.Data.Key {
		return "checkpoint names a different key than the one that signed it"
	}
	r.Checkpoints++
	r.LastSigned = n
	return ""
}

func errSuffix(e string) string {
	if e == "" {
		return ""
	}
	return ": " + e
}

// checkSig verifies an armored SSHSIG over msg and, with trust, that its key may sign; a key the
// trust refuses is noted in Untrusted under what. It returns the key in authorized_keys form, or
// what is wrong with the signature itself.
func (r *Report) checkSig(what string, armored []byte, msg io.Reader, opts VerifyOptions) (string, string) {
	sig, err := sshsig.Unarmor(armored)
	if err != nil {
		return "", "signature is malformed: " + err.Error()
	}
	if err := sshsig.Verify(msg, sig, sig.PublicKey, sig.HashAlgorithm, Namespace); err != nil {
		return "", "signature does not verify: " + err.Error()
	}
	fp := ssh.FingerprintSHA256(sig.PublicKey)
	if c, ok := sig.PublicKey.(*ssh.Certificate); ok {
		fp = ssh.FingerprintSHA256(c.Key) + " (certificate)"
	}
	if !slices.Contains(r.Keys, fp) {
		r.Keys = append(r.Keys, fp)
	}
	if opts.Trust != nil {
		principals, err := opts.Trust.Check(sig.PublicKey, Namespace)
		if err != nil {
			if msg := err.Error(); !slices.ContainsFunc(r.Untrusted, func(u string) bool { return strings.HasSuffix(u, msg) }) {
				r.Untrusted = append(r.Untrusted, what+": "+msg)
			}
		}
		for _, p := range principals {
			if !slices.Contains(r.Principals, p) {
				r.Principals = append(r.Principals, p)
			}
		}
	}
	return string(bytes.TrimSpace(ssh.MarshalAuthorizedKey(sig.PublicKey))), ""
}

func (r *Report) detached(f io.Reader, sig []byte, opts VerifyOptions) string {
	if _, msg := r.checkSig("detached signature", sig, f, opts); msg != "" {
		return msg
	}
	return "verified"
}

// looksLikeJournal reports whether the file's first line has a journal line's shape at either
// end, so that an altered first line (a flipped byte leaves one end intact) is told from a file
// that never was a journal.
func looksLikeJournal(f *os.File) bool {
	b := make([]byte, 1<<20)
	n, _ := f.ReadAt(b, 0)
	line, _, _ := bytes.Cut(b[:n], []byte("\n"))
	if bytes.HasPrefix(line, seqPrefix) {
		return true
	}
	return len(line) >= suffixLen && bytes.HasPrefix(line[len(line)-suffixLen:], hashSuffix) && bytes.HasSuffix(line, []byte(`"}`))
}
