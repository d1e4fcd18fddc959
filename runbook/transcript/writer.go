// Package transcript is the run journal: append-only JSON lines, each fsynced before the engine
// moves on, chained by SHA-256 and signed with SSH keys, verifiable by anyone with stock OpenSSH.
//
// Each line is {"seq","time","run","type","step","data","prev","hash"} in that order. "hash" is the
// SHA-256 of the line's bytes before `,"hash":`, and "prev" is the previous line's "hash" (64 zeros
// on line 1). So every line vouches for itself and for all lines before it, and a changed byte is
// pinned to the line that holds it.
package transcript

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// TimeFormat is the journal's time format: RFC 3339 in UTC with fixed nanoseconds, so lines sort
// as text.
const TimeFormat = "2006-01-02T15:04:05.000000000Z07:00"

// runIDPattern keeps run ids safe as file names and free of JSON escapes.
var runIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// Writer appends lines to one run's journal.
type Writer struct {
	f      *os.File
	path   string
	run    string
	seq    int64
	prev   [32]byte
	signer *Signer
	redact *redactor
	buf    []byte
	lock   *Lock

	// Sync runs beside Write (its callers append under their own lock and sync outside it), so
	// what it reads of the writer is its own.
	written atomic.Int64 // lines written
	syncMu  sync.Mutex
	synced  int64 // lines known durable
	syncErr error
}

// Create starts the journal <dir>/<run>.jsonl and holds its write lock for operator until Close.
// It refuses to overwrite an existing one. signer may be nil (an unsigned, chain-only journal);
// secrets are redacted from every line.
func Create(dir, run, operator string, signer *Signer, secrets []string) (*Writer, error) {
	if !runIDPattern.MatchString(run) {
		return nil, fmt.Errorf("create journal: bad run id %q", run)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("create journal: %w", err)
	}
	path := filepath.Join(dir, run+".jsonl")
	lock, err := LockJournal(path, operator)
	if err != nil {
		return nil, fmt.Errorf("create journal: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o600)
	if err != nil {
		lock.Release()
		return nil, fmt.Errorf("create journal: %w", err)
	}
	if err := syncDir(dir); err != nil {
		f.Close()
		lock.Release()
		return nil, fmt.Errorf("create journal: %w", err)
	}
	return &Writer{f: f, path: path, run: run, signer: signer, redact: newRedactor(secrets), buf: make([]byte, 0, 4096), lock: lock}, nil
}

// Path is the journal file's path.
func (w *Writer) Path() string { return w.path }

// Signer is the key signing this journal, or nil.
func (w *Writer) Signer() *Signer { return w.signer }

// Head is the hash of the last line written, hex-encoded: what a checkpoint signs.
func (w *Writer) Head() string { return hex.EncodeToString(w.prev[:]) }

// Seq is the number of lines written.
func (w *Writer) Seq() int64 { return w.seq }

// Append writes one line and fsyncs it. seq must be the next line number.
func (w *Writer) Append(seq int64, t time.Time, typ, step string, data any) error {
	if err := w.Write(seq, t, typ, step, data); err != nil {
		return err
	}
	return w.Sync(seq)
}

// Write writes one line: once it returns, a killed process loses nothing of it (the kernel has
// it); Sync makes it durable against the machine's crash. seq must be the next line number.
// Writes are the caller's to serialise.
func (w *Writer) Write(seq int64, t time.Time, typ, step string, data any) error {
	if seq != w.seq+1 {
		return fmt.Errorf("append to %s: seq %d after %d", w.path, seq, w.seq)
	}
	sum, err := w.encode(seq, t, typ, step, data)
	if err != nil {
		return err
	}
	if _, err := w.f.Write(w.buf); err != nil {
		return fmt.Errorf("append to %s: %w", w.path, err)
	}
	w.seq, w.prev = seq, sum
	w.written.Store(seq)
	return nil
}

// Sync returns once line seq and every line before it are on disk. Callers that write at once
// share one fdatasync: one whose line another's sync covered returns at once. Safe beside Write.
func (w *Writer) Sync(seq int64) error {
	w.syncMu.Lock()
	defer w.syncMu.Unlock()
	if w.syncErr != nil {
		return w.syncErr
	}
	if w.synced >= seq {
		return nil
	}
	upto := w.written.Load() // everything written before the fdatasync starts is in it
	if err := unix.Fdatasync(int(w.f.Fd())); err != nil {
		w.syncErr = fmt.Errorf("fsync %s: %w", w.path, err)
		return w.syncErr
	}
	w.synced = upto
	return nil
}

// encode builds the line into w.buf and returns its hash.
func (w *Writer) encode(seq int64, t time.Time, typ, step string, data any) ([32]byte, error) {
	raw, err := json.Marshal(data)
	if err != nil {
		return [32]byte{}, fmt.Errorf("append to %s: encode %s: %w", w.path, typ, err)
	}
	b := w.buf[:0]
	b = append(b, `{"seq":`...)
	b = strconv.AppendInt(b, seq, 10)
	b = append(b, `,"time":"`...)
	b = t.UTC().AppendFormat(b, TimeFormat)
	b = append(b, `","run":"`...)
	b = append(b, w.run...)
	b = append(b, `","type":`...)
	b = appendString(b, typ)
	b = append(b, `,"step":`...)
	b = appendString(b, step)
	b = append(b, `,"data":`...)
	b = append(b, w.redact.apply(raw)...)
	b = append(b, `,"prev":"`...)
	b = hex.AppendEncode(b, w.prev[:])
	b = append(b, '"')
	sum := sha256.Sum256(b)
	b = append(b, `,"hash":"`...)
	b = hex.AppendEncode(b, sum[:])
	b = append(b, "\"}\n"...)
	w.buf = b
	return sum, nil
}

func appendString(b []byte, s string) []byte {
	q, _ := json.Marshal(s) // a string always encodes
	return append(b, q...)
}

// Checkpoint signs the chain head. With no signer it returns only the head.
func (w *Writer) Checkpoint() (head, key, sig string, err error) {
	head = w.Head()
	if w.signer == nil {
		return head, "", "", nil
	}
	sig, err = w.signer.Sign([]byte(head))
	return head, w.signer.PublicKey(), sig, err
}

// Close closes the journal and, when it has a signer, writes <journal>.sig: a detached SSHSIG
// signature over the whole file that `ssh-keygen -Y verify` checks.
// The write lock is held until the signature is in place.
func (w *Writer) Close() error {
	defer w.lock.Release()
	if err := w.Sync(w.written.Load()); err != nil {
		w.f.Close()
		return err
	}
	if err := w.f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", w.path, err)
	}
	if w.signer == nil {
		return nil
	}
	return SignFile(w.path, w.signer)
}

// SignFile writes path.sig, a detached signature over the file at path, atomically: on any
// failure (a full disk) neither a partial .sig nor its temporary file is left behind.
func SignFile(path string, s *Signer) (err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("sign %s: %w", path, err)
	}
	sig, err := s.Sign(data)
	if err != nil {
		return err
	}
	tmp := path + ".sig.tmp"
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("sign %s: %w", path, err)
	}
	_, werr := f.WriteString(sig)
	serr := f.Sync()
	if cerr := f.Close(); werr == nil && serr == nil {
		werr = cerr
	}
	if err := errors.Join(werr, serr); err != nil {
		return fmt.Errorf("sign %s: %w", path, err)
	}
	if err := os.Rename(tmp, path+".sig"); err != nil {
		return fmt.Errorf("sign %s: %w", path, err)
	}
	return syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
