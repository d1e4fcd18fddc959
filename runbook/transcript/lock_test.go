package transcript

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func lockT(t *testing.T, journal string) *Lock {
	t.Helper()
	l, err := LockJournal(journal, "tester")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Release)
	return l
}

// A second writer is refused, named; the lock is free again once the first closes, and a journal
// being written cannot be reopened.
func TestOneWriterPerJournal(t *testing.T) {
	dir := t.TempDir()
	w, err := Create(dir, "run-1", "first@host", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	path := w.Path()
	_, err = LockJournal(path, "second@host")
	var le *LockedError
	if !errors.As(err, &le) || !errors.Is(err, ErrLocked) || le.Holder == nil || le.Holder.PID != os.Getpid() || le.Holder.Operator != "first@host" {
		t.Fatalf("second lock: %v", err)
	}
	if !strings.Contains(err.Error(), "first@host") || !strings.Contains(err.Error(), "pid ") {
		t.Errorf("refusal does not name the holder: %v", err)
	}
	if _, err := Create(dir, "run-1", "second@host", nil, nil); !errors.Is(err, ErrLocked) {
		t.Errorf("create over a live journal: %v", err)
	}
	w.Close()
	if _, err := os.Stat(path + ".lock"); !os.IsNotExist(err) {
		t.Errorf("lock file left behind: %v", err)
	}
	l, err := LockJournal(path, "second@host")
	if err != nil {
		t.Fatalf("after close: %v", err)
	}
	l.Release()
	l.Release() // twice is harmless
	if _, _, err := Reopen(path, nil, nil, nil); err == nil {
		t.Error("reopen without the lock")
	}
	other := lockT(t, filepath.Join(dir, "other.jsonl"))
	if _, _, err := Reopen(path, other, nil, nil); err == nil {
		t.Error("reopen with another journal's lock")
	}
}
