package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// What is not a journal, a runbook or a lab host is bad input (exit 2), named as given.
func TestBadInputIsNamed(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"empty.jsonl":   "",
		"foreign.jsonl": "hello\nworld\n",
		"looks.jsonl":   `{"seq":1,"time":"2026-12-01T00:00:00Z","run":"r","type":"run.start","step":"","data":{}}` + "\n",
	}
	for name, body := range files {
		path := filepath.Join(dir, name)
		os.WriteFile(path, []byte(body), 0o600)
		for _, cmd := range [][]string{{"report", path}, {"replay", path, "--plain"}} {
			code, _, errs := cli(t, "", cmd...)
			if code != exitBadInput || !strings.Contains(errs, path+": not a cutover journal") {
				t.Errorf("%s %s: exit %d %s", cmd[0], name, code, errs)
			}
		}
	}
	missing := filepath.Join(dir, "x.yaml")
	for _, args := range [][]string{{"validate", missing}, {"run", missing, "--plain"}, {"lab", "--file", missing, "--plain"}} {
		code, _, errs := cli(t, "", args...)
		if code != exitBadInput || !strings.Contains(errs, "runbook file "+missing+": no such file or directory") {
			t.Errorf("%v: exit %d %s", args, code, errs)
		}
	}
	code, _, errs := cli(t, "", "lab", "--file", "../../runbooks.yaml", "--fault", "host-key-changed=nosuchhost", "--plain", "--yes", "--transcript", dir)
	if code != exitBadInput || !strings.Contains(errs, "has no host nosuchhost (its hosts: app, probe-a, probe-b)") {
		t.Errorf("fault on a missing host: exit %d %s", code, errs)
	}
}

// shadow of a journal that does not exist yet says what it waits for.
func TestShadowSaysWhatItWaitsFor(t *testing.T) {
	journal := filepath.Join(t.TempDir(), "later.jsonl")
	done := make(chan string, 1)
	go func() {
		_, _, errs := cli(t, "", "shadow", journal, "--plain")
		done <- errs
	}()
	// The run starts the journal: shadow picks it up and ends with it.
	_, _, _, _, src := labRun(t, "../../runbooks.yaml", "", "--yes")
	data := mustRead(t, src)
	os.WriteFile(journal, data, 0o600)
	select {
	case errs := <-done:
		if !strings.Contains(errs, "waiting for "+journal+" to appear") {
			t.Errorf("stderr: %s", errs)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("shadow did not end with the run")
	}
}
