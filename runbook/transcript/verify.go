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
	Principals  []string // who those keys belong to, per the allowed signers
	Ended       bool     // the journal holds run.end
	Approvals   []string // fingerprints of the sign-offs that verified
	Detached    string   // "verified", "missing", or why it failed
	sigPresent  bool
	required    bool // allowed signers were given: signatures are mandatory
}

// OK tells whether the whole journal verified: every line chained, every signature good, and, when
// allowed signers were given, every key allowed.
func (r *Report) OK() bool {
	if r.Problem != nil || r.Truncated {
		return false
	}
	if r.Detached == "verified" {
		return true
	}
	// An unsigned journal is only as good as its chain; that passes unless signatures were required.
	return !r.sigPresent && r.Checkpoints == 0 && !r.required
}

// VerifyOptions tune Verify.
type VerifyOptions struct {
	// AllowedSigners, when not nil, must list every signing key for the namespace.
	AllowedSigners []AllowedSigner
}

var (
	hashSuffix = []byte(`,"hash":"`)
	prevSuffix = []byte(`,"prev":"`)
	seqPrefix  = []byte(`{"seq":`)
	runField   = []byte(`,"run":"`)
	typeField  = []byte(`","type":"`)
	cpType     = []byte("checkpoint")
	apType     = []byte("approval")
	endType    = []byte("run.end")
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
	r := &Report{Path: path, required: opts.AllowedSigners != nil}
	if err := r.chain(f, opts); err != nil {
		return nil, fmt.Errorf("verify %s: %w", path, err)
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
	r := &Report{Detached: "missing", required: opts.AllowedSigners != nil}
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
		r.Ended = true
	case bytes.Equal(typ, apType):
		return r.approval(line, opts)
	}
	return ""
}

// approval verifies a sign-off line: its signature over its message, by a key that does not sign
// the journal itself, allowed for the approval namespace when allowed signers were given.
func (r *Report) approval(line []byte, opts VerifyOptions) string {
	var l struct {
		Data struct{ Message, Sig string } `json:"data"`
	}
	if err := json.Unmarshal(line, &l); err != nil {
		return "approval is not valid JSON: " + err.Error()
	}
	d, err := checkApproval(l.Data.Message, []byte(l.Data.Sig), "", opts.AllowedSigners)
	if err != nil {
		return "approval does not verify: " + err.Error()
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
		if l.Data.Error != "" || opts.AllowedSigners != nil {
			return "checkpoint is not signed" + errSuffix(l.Data.Error)
		}
		return ""
	}
	key, msg := r.checkSig([]byte(l.Data.Sig), bytes.NewReader([]byte(l.Data.Head)), opts)
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

// checkSig verifies an armored SSHSIG over msg and, with allowed signers, that its key may sign.
// It returns the key in authorized_keys form, or what is wrong.
func (r *Report) checkSig(armored []byte, msg io.Reader, opts VerifyOptions) (string, string) {
	sig, err := sshsig.Unarmor(armored)
	if err != nil {
		return "", "signature is malformed: " + err.Error()
	}
	if err := sshsig.Verify(msg, sig, sig.PublicKey, sig.HashAlgorithm, Namespace); err != nil {
		return "", "signature does not verify: " + err.Error()
	}
	fp := ssh.FingerprintSHA256(sig.PublicKey)
	if !slices.Contains(r.Keys, fp) {
		r.Keys = append(r.Keys, fp)
	}
	if opts.AllowedSigners != nil {
		principals, ok := Allowed(opts.AllowedSigners, sig.PublicKey)
		if !ok {
			return "", fmt.Sprintf("signed by %s %s, which the allowed signers do not list for namespace %s", sig.PublicKey.Type(), fp, Namespace)
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
	if _, msg := r.checkSig(sig, f, opts); msg != "" {
		return msg
	}
	return "verified"
}
