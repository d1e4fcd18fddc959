package main

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/testenv"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// What is not a journal, a runbook or a lab host is bad input (exit 2), named as given.
func TestBadInputIsNamed(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"empty.jsonl":    "",
		"foreign.jsonl":  "hello\nworld\n",
		"looks.jsonl":    `{"seq":1,"time":"2026-12-01T00:00:00Z","run":"r","type":"run.start","step":"","data":{}}` + "\n",
		"no-start.jsonl": chainOf(`{"seq":1,"time":"2026-12-01T00:00:00.000000000Z","run":"r","type":"note","step":"","data":{"source":"x","text":"y"}`),
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

// YAML's "\e" puts an escape character in a runbook's text: what cutover prints of it, as a
// result or in an error, is terminal-safe.
func TestRunbookTextIsShownSafely(t *testing.T) {
	book := filepath.Join(t.TempDir(), "runbooks.yaml")
	os.WriteFile(book, []byte("version: 1\nrunbooks:\n  - name: \"x\\e]52;c;QUFB\\a\"\n    steps:\n      - name: \"s\\e[2J\"\n        command: {run: \"true\", host: \"h\\e[1A\"}\n"), 0o600)
	code, out, errs := cli(t, "", "validate", book)
	if code != exitBadInput || strings.ContainsAny(out+errs, "\x1b\x07") || !strings.Contains(errs, `\x1b[1A`) {
		t.Errorf("exit %d\n%q\n%q", code, out, errs)
	}
}

// chainOf completes a journal line's body with its prev and hash, as a writer would: a valid chain
// of one line.
func chainOf(body string) string {
	body += `,"prev":"` + strings.Repeat("0", 64) + `"`
	sum := sha256.Sum256([]byte(body))
	return body + `,"hash":"` + hex.EncodeToString(sum[:]) + "\"}\n"
}

// A report of a journal that is not there says so, as the report's own error (it said "verify:").
func TestReportOfAMissingJournal(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.jsonl")
	code, _, errs := cli(t, "", "report", missing)
	if code != exitBadInput || strings.TrimSpace(errs) != "cutover: report: "+missing+": no such journal" {
		t.Errorf("exit %d: %q", code, errs)
	}
}

// cutover version and --version name the build: module version, the revision it was built from
// (git's HEAD here) and the Go version.
func TestVersionSaysTheRevision(t *testing.T) {
	head, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		testenv.Unavailable(t, "no git checkout to take the revision from: %v", err) // a source tarball has none
	}
	for _, args := range [][]string{{"version"}, {"--version"}} {
		out, err := exec.Command(cutoverBin(t), args...).Output()
		if err != nil || !strings.HasPrefix(string(out), "cutover ") || !strings.Contains(string(out), "revision "+strings.TrimSpace(string(head))) || !strings.Contains(string(out), runtime.Version()) {
			t.Errorf("%v: %q %v", args, out, err)
		}
	}
}

// README's command table says what the commands are: every command has its row, every flag a row
// names exists on that command, and every flag a command has is named in README.
func TestREADMECommandTable(t *testing.T) {
	readme := string(mustRead(t, "../../README.md"))
	_, table, ok := strings.Cut(readme, "| command | does |\n|---|---|\n")
	if !ok {
		t.Fatal("README has no command table")
	}
	rows := map[string]string{}
	for _, l := range strings.Split(table, "\n") {
		if !strings.HasPrefix(l, "| `cutover ") {
			break
		}
		cell, _, _ := strings.Cut(strings.TrimPrefix(l, "| `cutover "), "`")
		name := strings.Fields(cell)[0]
		if name == "netbox" {
			name = "netbox " + strings.Fields(cell)[1]
		}
		rows[name] += l
	}
	flagRef := regexp.MustCompile("`(--[a-z][a-z-]*)")
	root := rootCommand(streams{in: strings.NewReader(""), out: io.Discard, err: io.Discard})
	var walk func(c *cobra.Command, prefix string)
	walk = func(c *cobra.Command, prefix string) {
		for _, sub := range c.Commands() {
			if sub.Hidden || sub.Name() == "help" || sub.Name() == "completion" {
				continue
			}
			name := strings.TrimSpace(prefix + " " + sub.Name())
			if sub.HasSubCommands() {
				walk(sub, name)
				continue
			}
			row, ok := rows[name]
			if !ok {
				if name != "version" {
					t.Errorf("README's command table has no row for cutover %s", name)
				}
				continue
			}
			for _, m := range flagRef.FindAllStringSubmatch(row, -1) {
				if sub.Flags().Lookup(m[1][2:]) == nil && sub.InheritedFlags().Lookup(m[1][2:]) == nil {
					t.Errorf("README's row for cutover %s names %s, which it does not have", name, m[1])
				}
			}
			sub.Flags().VisitAll(func(f *pflag.Flag) {
				if f.Name != "help" && !strings.Contains(readme, "--"+f.Name) {
					t.Errorf("cutover %s --%s is not in README", name, f.Name)
				}
			})
		}
	}
	walk(root, "")
}
