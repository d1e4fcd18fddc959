package transcript

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hiddeco/sshsig"
	"golang.org/x/crypto/ssh"

	"github.com/cutover/cutover/runbook"
)

// Handoff notes by a second engineer: signed with their own key like an approval, dropped beside
// the journal, journaled by the run while it runs (it is the journal's one writer), kept beside it
// once the run has ended.

// NoteNamespace is the SSHSIG namespace of signed notes.
const NoteNamespace = "cutover-note"

// NoteDir is where signed notes for a journal are dropped.
func NoteDir(journal string) string { return strings.TrimSuffix(journal, ".jsonl") + ".notes" }

// noteMessage is what a note's signature covers: the run, when it was written and the text, so
// that a note can neither be moved to another run nor redated.
func noteMessage(run, at, text string) string {
	return "cutover note\nrun " + run + "\nat " + at + "\n\n" + text
}

// noteTime is how a note's time is written and signed.
const noteTime = time.RFC3339Nano

// SignedNote is a note as dropped beside a journal.
type SignedNote struct {
	Run  string    `json:"run"`
	Text string    `json:"text"`
	At   time.Time `json:"at"`
	Sig  string    `json:"sig"` // armored SSHSIG over noteMessage
	// Filled in by checking: the signer.
	Key         string `json:"-"`
	Fingerprint string `json:"-"`
	File        string `json:"-"`
}

// maxNote bounds a note's text: a note is a handoff line, not a log.
const maxNote = 4000

// WriteNote signs text for the journal's run with signer and drops it where the run (or, after
// it, the report and the bundle) picks it up. It returns the file written and whether the run
// had already ended.
func WriteNote(journal, text string, signer *Signer) (string, bool, error) {
	text = strings.TrimSpace(text)
	switch {
	case text == "":
		return "", false, errors.New("note: the text is empty")
	case len(text) > maxNote:
		return "", false, fmt.Errorf("note: %d bytes; a note may hold %d", len(text), maxNote)
	}
	events, err := ReadEvents(journal)
	if err != nil {
		return "", false, fmt.Errorf("note: %w", err)
	}
	run, ended := "", false
	for _, ev := range events {
		switch ev.Data.(type) {
		case runbook.RunStartData:
			run = ev.Run
		case runbook.RunEndData:
			ended = true
		case runbook.ResumeData:
			ended = false
		}
	}
	if run == "" {
		return "", false, fmt.Errorf("note: %s starts no run", journal)
	}
	at := time.Now().UTC()
	sig, err := sshsig.Sign(strings.NewReader(noteMessage(run, at.Format(noteTime), text)), signer.key, sshsig.HashSHA512, NoteNamespace)
	if err != nil {
		return "", false, fmt.Errorf("note with %s: %w", signer, err)
	}
	n := SignedNote{Run: run, Text: text, At: at, Sig: string(sshsig.Armor(sig))}
	b, err := json.Marshal(n)
	if err != nil {
		return "", false, err
	}
	dir := NoteDir(journal)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", false, err
	}
	name := filepath.Join(dir, n.At.Format("20060102T150405.000000000Z")+"-"+messageID(n.Sig)+".note")
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return "", false, err
	}
	return name, ended, os.Rename(tmp, name)
}

// checkNote verifies a dropped note for run: its signature over the run and the text.
func checkNote(b []byte, run string) (SignedNote, error) {
	var n SignedNote
	if len(b) > 64<<10 {
		return n, errors.New("larger than a note can be")
	}
	if err := json.Unmarshal(b, &n); err != nil {
		return n, err
	}
	if n.Run != run {
		return n, fmt.Errorf("signed for run %q, not %q", n.Run, run)
	}
	key, err := verifyNote(run, n.At.UTC().Format(noteTime), n.Text, n.Sig)
	if err != nil {
		return n, err
	}
	n.Key, n.Fingerprint = strings.TrimSpace(string(ssh.MarshalAuthorizedKey(key))), ssh.FingerprintSHA256(key)
	return n, nil
}

func verifyNote(run, at, text, armored string) (ssh.PublicKey, error) {
	sig, err := sshsig.Unarmor([]byte(armored))
	if err != nil {
		return nil, err
	}
	if err := sshsig.Verify(bytes.NewReader([]byte(noteMessage(run, at, text))), sig, sig.PublicKey, sig.HashAlgorithm, NoteNamespace); err != nil {
		return nil, err
	}
	return sig.PublicKey, nil
}

// ReadNotes returns the signed notes dropped beside a journal for its run, in the order written
// (those a run has taken for its journal too: *.journaled); a file that does not verify is returned
// in bad with why.
func ReadNotes(journal, run string) (notes []SignedNote, bad []string) {
	files, _ := filepath.Glob(filepath.Join(NoteDir(journal), "*.note"))
	taken, _ := filepath.Glob(filepath.Join(NoteDir(journal), "*.note.journaled"))
	files = append(files, taken...)
	slices.SortFunc(files, func(a, b string) int { return strings.Compare(filepath.Base(a), filepath.Base(b)) })
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err == nil {
			var n SignedNote
			if n, err = checkNote(b, run); err == nil {
				n.File = f
				notes = append(notes, n)
				continue
			}
		}
		bad = append(bad, fmt.Sprintf("%s: %v", filepath.Base(f), err))
	}
	return notes, bad
}

// FollowNotes hands the run the signed notes dropped for it while it runs, each once, as the
// journal's NoteData (its signer, the text, the signature), until ctx ends. A note that does not
// verify is left where it is, never journaled.
func FollowNotes(ctx context.Context, journal, run string, poll time.Duration, out chan<- runbook.NoteData) {
	for {
		notes, _ := ReadNotes(journal, run)
		for _, n := range notes {
			if strings.HasSuffix(n.File, ".journaled") {
				continue // taken by this run, or by the run before a resume
			}
			select {
			case out <- runbook.NoteData{Source: n.Fingerprint + " (signed note)", Text: n.Text, Key: n.Key, Sig: n.Sig, SignedAt: n.At.UTC().Format(noteTime)}:
				os.Rename(n.File, n.File+".journaled")
			case <-ctx.Done():
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(poll):
		}
	}
}
