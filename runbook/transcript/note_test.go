package transcript

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"
)

// A signed note holds to its run, its time and its text: redated, moved to another run or edited,
// it no longer verifies and is never shown as written.
func TestSignedNotesHoldToRunTimeAndText(t *testing.T) {
	_, op := newKey(t)
	_, bob := newKey(t)
	journal := writeJournal(t, t.TempDir(), op)
	run := ""
	if evs, err := ReadEvents(journal); err == nil {
		run = evs[0].Run
	}
	path, ended, err := WriteNote(journal, "  NTP fixed on app-01 at 03:10  ", bob)
	if err != nil || !ended {
		t.Fatalf("%v, ended %v", err, ended)
	}
	notes, bad := ReadNotes(journal, run)
	if len(notes) != 1 || len(bad) != 0 || notes[0].Text != "NTP fixed on app-01 at 03:10" || notes[0].Fingerprint != bob.Fingerprint() {
		t.Fatalf("notes %+v bad %v", notes, bad)
	}
	orig, _ := os.ReadFile(path)
	for name, edit := range map[string]func(n map[string]any){
		"redated":     func(n map[string]any) { n["at"] = time.Now().Add(-time.Hour).UTC().Format(time.RFC3339Nano) },
		"another run": func(n map[string]any) { n["run"] = "20261128T220000Z-t-ffff" },
		"edited text": func(n map[string]any) { n["text"] = "NTP fixed on app-02 at 03:10" },
		"another sig": func(n map[string]any) { n["sig"] = strings.Replace(n["sig"].(string), "A", "B", 1) },
		"not json":    nil,
	} {
		var n map[string]any
		json.Unmarshal(orig, &n)
		b := []byte("{not json")
		if edit != nil {
			edit(n)
			b, _ = json.Marshal(n)
		}
		os.WriteFile(path, b, 0o644)
		if notes, bad := ReadNotes(journal, run); len(notes) != 0 || len(bad) != 1 {
			t.Errorf("%s: notes %+v, bad %v", name, notes, bad)
		}
	}
	os.WriteFile(path, orig, 0o644)
	if _, _, err := WriteNote(journal, "", bob); err == nil {
		t.Error("an empty note was written")
	}
	if _, _, err := WriteNote(journal, strings.Repeat("x", maxNote+1), bob); err == nil {
		t.Error("an oversized note was written")
	}
	if entries, _ := os.ReadDir(NoteDir(journal)); len(entries) != 1 || bytes.HasSuffix([]byte(entries[0].Name()), []byte(".tmp")) {
		t.Errorf("note dir %v", entries)
	}
}
