package runbook

import (
	"context"
	"fmt"
	"sync"
)

// stream is the run's one ordered event stream, shared by the engines of its items.
type stream struct {
	mu        sync.Mutex // serialises emit
	seq       int64
	journalEr error
	ended     bool // run.end is journaled: no note may follow it (guarded by mu)
	cancel    context.CancelCauseFunc
}

// Redactor returns a function that replaces every form of each secret (SecretForms) with
// [REDACTED].
func Redactor(secrets []string) func(string) string { return newRedaction(secrets).apply }

func (e *Engine) redact(s string) string { return e.redaction.apply(s) }

// Note journals what a client of the outside world (vCenter, NetBox) reports mid-run. Safe from
// any goroutine.
func (e *Engine) Note(source, text string) bool { return e.note(NoteData{Source: source, Text: text}) }

// note journals a note, secrets redacted. A signed note whose text held a secret loses its
// signature with the secret (the signature covers the text as written): the journal says so.
func (e *Engine) note(n NoteData) bool {
	e.mu.Lock()
	ended := e.ended
	e.mu.Unlock()
	if ended { // a note after the run's end would stand outside its record
		return false
	}
	text := e.redact(n.Text)
	if n.Sig != "" && text != n.Text {
		n.Key, n.Sig, n.SignedAt = "", "", ""
		n.Source += ", redacted: its signature is withheld"
	}
	e.emit(EvNote, "", NoteData{Source: e.redact(n.Source), Text: text, Key: n.Key, Sig: n.Sig, SignedAt: n.SignedAt})
	return true
}

// emit records an event and shows it to the watcher, and returns once it is durable: the engine
// acts on nothing it has not journaled. The watcher sees events in order, under the lock; the
// disk flush is outside it, shared by the events emitted meanwhile (a wave's hundreds of checks
// would otherwise queue for one fdatasync each). After a journal failure emit does nothing: the
// run is being stopped.
func (e *Engine) emit(typ EventType, step string, data any) {
	step, data = e.qualify(step, data)
	e.mu.Lock()
	if e.journalEr != nil {
		e.mu.Unlock()
		return
	}
	e.seq++
	if typ == EvCheckpoint {
		data = e.cfg.Recorder.Checkpoint() // under the lock: it signs exactly the lines before it
	}
	ev := Event{Seq: e.seq, Time: e.cfg.Clock().UTC(), Run: e.cfg.RunID, Type: typ, Step: step, Data: data}
	if err := e.cfg.Recorder.Record(&ev); err != nil {
		e.failJournal(err)
		e.mu.Unlock()
		return
	}
	if e.cfg.Watch != nil {
		e.cfg.Watch(ev)
	}
	e.mu.Unlock()
	if s, ok := e.cfg.Recorder.(Syncer); ok {
		if err := s.Sync(ev.Seq); err != nil {
			e.mu.Lock()
			if e.journalEr == nil {
				e.failJournal(err)
			}
			e.mu.Unlock()
		}
	}
}

// failJournal stops the run on a journal that cannot be written (under e.mu).
func (e *Engine) failJournal(err error) {
	e.journalEr = fmt.Errorf("%w: %w", ErrJournal, err)
	e.cancel(e.journalEr)
}

func (e *Engine) journalErr() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.journalEr
}
