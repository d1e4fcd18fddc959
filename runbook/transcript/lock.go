package transcript

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// A journal has exactly one writer. The writer holds an exclusive flock(2) on <journal>.lock for
// the run's whole life; the kernel drops it when the process dies, so a kill -9 leaves nothing
// that blocks a resume. The file itself only says who holds the lock, for the refusal.

// Holder is who writes a journal.
type Holder struct {
	PID      int       `json:"pid"`
	Host     string    `json:"host"`
	Operator string    `json:"operator"`
	Since    time.Time `json:"since"`
}

// LockedError is the refusal to write a journal another process writes.
type LockedError struct {
	Journal string
	Holder  *Holder // nil when the holder has not said who it is yet
}

func (e *LockedError) Error() string {
	if e.Holder == nil {
		return fmt.Sprintf("%s is being written by another cutover process: a journal has one writer", e.Journal)
	}
	h := e.Holder
	return fmt.Sprintf("%s is being written by pid %d on %s (operator %s) since %s: a journal has one writer; shadow it, or stop that run first",
		e.Journal, h.PID, h.Host, h.Operator, h.Since.Local().Format(time.DateTime))
}

// ErrLocked matches a LockedError with errors.Is.
var ErrLocked = errors.New("journal locked by another writer")

func (e *LockedError) Is(target error) bool { return target == ErrLocked }

// Lock is a held write lock on a journal.
type Lock struct {
	f    *os.File
	path string
}

func lockPath(journal string) string { return journal + ".lock" }

// A holder that has died can hold the lock a moment longer through a child it was forking: the
// child shares the open lock file until its exec closes it (close-on-exec). A refusal naming a
// dead process would be wrong, so that moment is waited out, boundedly; a live holder is refused
// at once.
const deadHolderWait = 3 * time.Second

// LockJournal takes the write lock of journal for operator, or says who holds it.
func LockJournal(journal, operator string) (*Lock, error) {
	deadline := time.Now().Add(deadHolderWait)
	for {
		l, err := tryLock(journal, operator)
		var locked *LockedError
		if !errors.As(err, &locked) || !locked.Holder.gone() || time.Now().After(deadline) {
			return l, err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func tryLock(journal, operator string) (*Lock, error) {
	path := lockPath(journal)
	for range 10 {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, fmt.Errorf("lock %s: %w", journal, err)
		}
		if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
			f.Close()
			if errors.Is(err, unix.EWOULDBLOCK) {
				return nil, &LockedError{Journal: journal, Holder: readHolder(path)}
			}
			return nil, fmt.Errorf("lock %s: %w", journal, err)
		}
		// The last holder may have removed the file between our open and our flock: then we
		// hold a lock on a file nobody else will open. Take the one at the path.
		var held, now syscall.Stat_t
		if syscall.Fstat(int(f.Fd()), &held) != nil || syscall.Stat(path, &now) != nil || held.Ino != now.Ino || held.Dev != now.Dev {
			f.Close()
			continue
		}
		host, _ := os.Hostname()
		info, _ := json.Marshal(Holder{PID: os.Getpid(), Host: host, Operator: operator, Since: time.Now().UTC()})
		if err := f.Truncate(0); err == nil {
			f.WriteAt(append(info, '\n'), 0)
		}
		return &Lock{f: f, path: path}, nil
	}
	return nil, fmt.Errorf("lock %s: the lock file keeps changing", journal)
}

// gone says the holder is a process of this host that no longer exists. Unknown holders and
// holders on other hosts are never gone: they are refused, not waited for.
func (h *Holder) gone() bool {
	if h == nil {
		return false
	}
	if host, _ := os.Hostname(); host != h.Host {
		return false
	}
	return errors.Is(unix.Kill(h.PID, 0), unix.ESRCH)
}

func readHolder(path string) *Holder {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var h Holder
	if json.Unmarshal(b, &h) != nil || h.PID == 0 {
		return nil
	}
	return &h
}

// Release removes the lock file and drops the lock. It may be called more than once.
func (l *Lock) Release() {
	if l == nil || l.f == nil {
		return
	}
	os.Remove(l.path) // while still held: nobody can take a lock on the removed file meanwhile
	l.f.Close()
	l.f = nil
}
