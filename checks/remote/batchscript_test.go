package remote

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/testenv"
)

// The batch program under a POSIX sh that is not bash (dash: cat copies the output, not mapfile)
// gives each command what it gives run alone on this machine.
func TestBatchScriptUnderPlainSh(t *testing.T) {
	testenv.Tool(t, "dash", "dash") // the login shells the other tests use are bash
	var cmds []Command
	for _, c := range gatherCases {
		if c.Argv == nil || c.Argv[0] != "printf" { // the others run alike under any sh
			cmds = append(cmds, c)
		}
	}
	calls, got := runScript(t, "dash", cmds, "TMPDIR="+t.TempDir())
	for i, c := range cmds {
		var alone []string
		res, err := Local{}.Run(context.Background(), c, wholeLines(&alone))
		if err != nil {
			t.Fatal(err)
		}
		if a, b := strings.Join(byStream(alone), "\n"), strings.Join(byStream(got[i]), "\n"); a != b || res.ExitCode != calls[i].res.ExitCode {
			t.Errorf("%v: alone exit %d %q, in the batch exit %d %q", c, res.ExitCode, a, calls[i].res.ExitCode, b)
		}
	}
}

// runScript runs the batch program of cmds under shell on this machine and reads its frames: each
// command's result and lines.
func runScript(t *testing.T, shell string, cmds []Command, env ...string) ([]*gathered, [][]string) {
	t.Helper()
	return runEditedScript(t, shell, cmds, func(s string) string { return s }, env...)
}

// runEditedScript is runScript with the program passed through edit first (a fault to inject).
func runEditedScript(t *testing.T, shell string, cmds []Command, edit func(string) string, env ...string) ([]*gathered, [][]string) {
	t.Helper()
	calls := make([]*gathered, len(cmds))
	got := make([][]string, len(cmds))
	for i := range cmds {
		calls[i] = &gathered{done: make(chan struct{}), left: make(chan struct{}), onLine: wholeLines(&got[i])}
	}
	var nb [12]byte
	rand.Read(nb[:])
	f := &frames{nonce: hex.EncodeToString(nb[:]), calls: calls, start: time.Now(), job: -1}
	cmd := exec.Command(shell, "-c", edit(batchScript(f.nonce, cmds)))
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v", shell, err)
	}
	readLines(strings.NewReader(string(out)), Stdout, f.line)
	if f.framed != len(cmds) {
		t.Fatalf("%s: %d of %d commands framed; the shell said %q", shell, f.framed, len(cmds), f.other)
	}
	return calls, got
}

// Each command of a batch runs exactly once, however its runners overtake each other: commands
// slower than the grace make a new runner start beside them, and one that ends goes on only to
// a command no other runner claimed.
func TestBatchRunsEachCommandOnce(t *testing.T) {
	testenv.Tool(t, "dash", "dash")
	for _, shell := range []string{"bash", "dash"} {
		for round := range 3 {
			dir := t.TempDir()
			var cmds []Command
			for i, d := range []string{"0.25", "0.05", "0.3", "0", "0.21", "0.19", "0.45", "0"} {
				cmds = append(cmds, Command{Script: fmt.Sprintf("echo ran >> %s/%d; sleep %s; exit %d", dir, i, d, i)})
			}
			calls, _ := runScript(t, shell, cmds, "TMPDIR="+dir)
			for i := range cmds {
				b, _ := os.ReadFile(filepath.Join(dir, strconv.Itoa(i)))
				if string(b) != "ran\n" || calls[i].res.ExitCode != i {
					t.Errorf("%s, round %d: command %d ran %d times, exit %d", shell, round, i, strings.Count(string(b), "ran"), calls[i].res.ExitCode)
				}
			}
			if left, _ := filepath.Glob(filepath.Join(dir, "cutover.*")); len(left) > 0 {
				t.Errorf("%s, round %d: files left: %v", shell, round, left)
			}
		}
	}
}

// bashEnded reads an end line whose bytes come apart (a loaded host) whole, and one that begins
// after the grace is left for the next call: read -t on the whole line gave up between the two
// pieces and left half a line behind (57 of 1,200 checks inconclusive in a 200-guest run).
func TestBashEndedReadsALineThatComesInPieces(t *testing.T) {
	testenv.Tool(t, "bash", "bash")
	script := fmt.Sprintf(bashEnded, "0.2") + `
exec 5< <(printf ':'; sleep 0.5; printf '3 0\n'; sleep 1; printf ':4 7\n')
ended && echo "first: $j $rc"
ended || echo "none within the grace"
until ended; do :; done; echo "then: $j $rc"`
	out, err := exec.Command("bash", "-c", script).CombinedOutput()
	if want := "first: 3 0\nnone within the grace\nthen: 4 7\n"; err != nil || string(out) != want {
		t.Errorf("bash said %q (%v), want %q", out, err, want)
	}
}

// A runner started beside a slow command that the machine schedules late (here: half a second)
// runs nothing twice: before, it claimed its first command itself, found it free once the batch
// had ended and removed its files, and ran it again (files left in /dev/shm after a bench).
func TestBatchLateRunnerRunsNothingTwice(t *testing.T) {
	dir := t.TempDir()
	cmds := []Command{
		{Script: fmt.Sprintf("echo ran >> %s/0", dir)},
		{Script: fmt.Sprintf("echo ran >> %s/1; sleep 0.3", dir)}, // the grace passes: a runner starts for command 2
		{Script: fmt.Sprintf("echo ran >> %s/2", dir)},
	}
	late := func(s string) string {
		const at = "run() {\n  i=$1\n"
		if !strings.Contains(s, at) {
			t.Fatalf("the program has no %q to make later runners late at", at)
		}
		return strings.Replace(s, at, "run() {\n  [ \"$1\" = 0 ] || sleep 0.5\n  i=$1\n", 1)
	}
	// in the user's runtime directory the files lie bare (no directory of the batch's own whose
	// removal would stop a late claim)
	runEditedScript(t, "bash", cmds, late, "TMPDIR=", "XDG_RUNTIME_DIR="+dir)
	for i := range cmds {
		if got, _ := os.ReadFile(filepath.Join(dir, strconv.Itoa(i))); string(got) != "ran\n" {
			t.Errorf("command %d ran %d times", i, strings.Count(string(got), "ran"))
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "cutover.*")); len(left) > 0 {
		t.Errorf("files left: %v", left)
	}
}

// Under load each command of a batch still runs once and every file goes: 60 batches at once on
// this machine, each with commands about as slow as the grace, so that runners start beside slow
// commands as the first runner reaches the same command.
func TestBatchRunsEachCommandOnceUnderLoad(t *testing.T) {
	dir := t.TempDir()
	// the grace passes as the next to last command ends: a runner starts for the last one just
	// as the first runner reaches it
	sleeps := []string{"0", "0.19", "0.2", "0.2", "0"}
	const batches = 60
	var wg sync.WaitGroup
	for b := range batches {
		var cmds []Command
		for i, d := range sleeps {
			cmds = append(cmds, Command{Script: fmt.Sprintf("echo ran >> %s/%d.%d; sleep %s", dir, b, i, d)})
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			runScript(t, "bash", cmds, "TMPDIR="+dir)
		}()
	}
	wg.Wait()
	// a runner still alive would write its file after this: look once every batch has ended
	for b := range batches {
		for i := range sleeps {
			if got, _ := os.ReadFile(filepath.Join(dir, fmt.Sprintf("%d.%d", b, i))); string(got) != "ran\n" {
				t.Errorf("batch %d, command %d ran %d times", b, i, strings.Count(string(got), "ran"))
			}
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "cutover.*")); len(left) > 0 {
		t.Errorf("files left: %v", left)
	}
}

// In a directory others may write to, a batch whose name is taken (a file, a directory, a link
// planted by a user who saw the name) refuses it: exit 125, the host runs the commands one by
// one, and nothing of the planter's is written to or removed.
func TestBatchRefusesATakenName(t *testing.T) {
	const nonce = "0123456789abcdef01234567"
	script := batchScript(nonce, []Command{{Argv: []string{"echo", "a"}}, {Argv: []string{"echo", "b"}}})
	for _, plant := range []string{"file", "dir", "link"} {
		t.Run(plant, func(t *testing.T) {
			tmp, elsewhere := t.TempDir(), t.TempDir()
			name := filepath.Join(tmp, "cutover."+nonce)
			switch plant {
			case "file":
				os.WriteFile(name, []byte("planted"), 0o644)
			case "dir":
				os.Mkdir(name, 0o777)
			case "link":
				os.Symlink(elsewhere, name)
			}
			cmd := exec.Command("bash", "-c", script)
			cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 125 {
				t.Fatalf("exit %v, want 125; said %q", err, out)
			}
			if _, err := os.Lstat(name); err != nil {
				t.Errorf("the planted %s is gone: %v", plant, err)
			}
			for _, d := range []string{name, elsewhere} {
				if fi, err := os.Stat(d); err == nil && fi.IsDir() {
					if ents, _ := os.ReadDir(d); len(ents) > 0 {
						t.Errorf("the batch wrote into the planted %s: %v", plant, ents)
					}
				}
			}
		})
	}
}
