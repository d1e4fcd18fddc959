package transcript

import (
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ErrFinished means the journal already holds its run's end: there is nothing to resume. A run a
// signal interrupted (its end says "interrupted") may be resumed.
var ErrFinished = errors.New("the run already ended")

// Reopen continues a journal after a crash or kill: it verifies the chain, cuts a torn last line
// (returning how many bytes it dropped, for the resume event), and returns a writer that appends
// after the last whole line. A journal that does not verify is refused: resuming must not extend
// a chain that cannot be trusted. lock is the journal's write lock, taken before the caller read
// the journal to rebuild its state; the writer holds it from here on.
func Reopen(path string, lock *Lock, signer *Signer, secrets []string) (_ *Writer, _ int64, err error) {
	if lock == nil || lock.f == nil || lock.path != lockPath(path) {
		return nil, 0, fmt.Errorf("resume %s: the journal's write lock is not held", path)
	}
	defer func() {
		if err != nil {
			lock.Release()
		}
	}()
	rep, err := Verify(path, VerifyOptions{})
	if err != nil {
		return nil, 0, err
	}
	if rep.Problem != nil {
		return nil, 0, fmt.Errorf("resume %s: the journal does not verify at line %d: %s", path, rep.Problem.Line, rep.Problem.Msg)
	}
	if rep.Ended && rep.EndStatus != "interrupted" {
		return nil, 0, fmt.Errorf("resume %s: %w", path, ErrFinished)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, fmt.Errorf("resume: %w", err)
	}
	whole := int64(len(data))
	if rep.Truncated {
		whole = int64(strings.LastIndexByte(string(data), '\n') + 1)
	}
	dropped := int64(len(data)) - whole
	if dropped > 0 {
		if err := os.Truncate(path, whole); err != nil {
			return nil, 0, fmt.Errorf("resume: drop the torn line: %w", err)
		}
	}
	w := &Writer{path: path, run: rep.Run, seq: int64(rep.Lines), signer: signer, redact: newRedactor(secrets), buf: make([]byte, 0, 4096), lock: lock}
	if rep.Lines > 0 {
		last := data[:whole-1]
		last = last[strings.LastIndexByte(string(last), '\n')+1:]
		if _, err := hex.Decode(w.prev[:], last[len(last)-66:len(last)-2]); err != nil {
			return nil, 0, fmt.Errorf("resume: last line's hash: %w", err)
		}
	}
	// A stale detached signature would now sign a shorter file than the one that will exist.
	os.Remove(path + ".sig")
	if w.f, err = os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0o600); err != nil {
		return nil, 0, fmt.Errorf("resume: %w", err)
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		w.f.Close()
		return nil, 0, err
	}
	return w, dropped, nil
}
