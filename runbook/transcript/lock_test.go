package transcript

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
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

// holdAs takes journal's lock through an open file of its own, as a child forked by the writer
// holds it until its exec, and records pid as the holder.
func holdAs(t *testing.T, journal string, pid int) *os.File {
	t.Helper()
	f, err := os.OpenFile(lockPath(journal), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	info, _ := json.Marshal(Holder{PID: pid, Host: host, Operator: "first@host", Since: time.Now().UTC()})
	if _, err := f.Write(info); err != nil {
		t.Fatal(err)
	}
	return f
}

// A writer killed while forking leaves the lock with the child for a moment: the next writer
// waits that out instead of refusing in the name of a dead process. A live holder is refused.
func TestDeadHoldersLockIsWaitedOut(t *testing.T) {
	dir := t.TempDir()
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	journal := filepath.Join(dir, "run.jsonl")
	child := holdAs(t, journal, gone.Process.Pid)
	var locked *LockedError
	if _, err := tryLock(journal, "second@host"); !errors.As(err, &locked) || !locked.Holder.gone() {
		t.Fatalf("one try at a lock a dead process's child holds: %v", err)
	}
	released := make(chan struct{})
	go func() {
		// The child's exec closes the lock file, a moment after its parent died.
		time.Sleep(100 * time.Millisecond)
		child.Close()
		close(released)
	}()
	l, err := LockJournal(journal, "second@host")
	if err != nil {
		t.Fatalf("a dead holder's lock was not waited out: %v", err)
	}
	<-released
	l.Release()

	live := filepath.Join(dir, "live.jsonl")
	holdAs(t, live, os.Getpid())
	if _, err := LockJournal(live, "second@host"); !errors.Is(err, ErrLocked) {
		t.Errorf("a live holder: %v", err)
	}
}
