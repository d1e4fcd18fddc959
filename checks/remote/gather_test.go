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

	"github.com/cutover/cutover/internal/sshtest"
	"github.com/cutover/cutover/internal/testenv"
)

// gatherCases are commands whose results a batch must give exactly as a session of their own
// does: both streams apart, exit statuses, argv words kept words, env, lines that look like the
// batch's own frames, bytes that are not UTF-8, CRLF, a line longer than a piece.
var gatherCases = []Command{
	{Script: `echo "out $LC_ALL"; echo err >&2; exit 3`, Env: []string{"LC_ALL=C"}},
	{Argv: []string{"printf", "%s|", "a b", "$(id)", "it's", "\n;touch /tmp/x"}},
	{Script: `printf '\036cutover-batch 0123456789abcdef01234567 0 0\nAAAA\n\n'; printf '\036cutover-pid 1\n' >&2`},
	{Script: `printf 'caf\351\r\nline two\r\n'; printf 'no newline at the end' >&2`},
	{Script: `printf '  lead and trail  \n\\back\\slash\n\n\n'; exit 300`},
	{Script: `head -c 70000 /dev/zero | tr '\0' x; echo; echo after`},
	{Script: `true`},
	{Argv: []string{"sh", "-c", "exit 7"}},
}

type outcome struct {
	code  int
	lines []string
	err   string
}

func (o outcome) String() string {
	return fmt.Sprintf("exit %d err %q lines %q", o.code, o.err, o.lines)
}

// runAll starts every command at once on the runner and returns what each gave.
func runAll(r Runner, cmds []Command) []outcome {
	out := make([]outcome, len(cmds))
	var wg sync.WaitGroup
	for i, c := range cmds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lines []string
			res, err := r.Run(context.Background(), c, wholeLines(&lines))
			out[i] = outcome{code: res.ExitCode, lines: byStream(lines)}
			if err != nil {
				out[i].err = err.Error()
			}
		}()
	}
	wg.Wait()
	return out
}

// wholeLines appends each line to lines as "stream:text", a line cut into pieces joined whole
// (where a line is cut depends on what came before it in the stream).
func wholeLines(lines *[]string) func(Line) {
	piece := map[Stream]string{}
	return func(l Line) {
		if l.Cut {
			piece[l.Stream] += l.Text
			return
		}
		*lines = append(*lines, string(l.Stream)+":"+piece[l.Stream]+l.Text)
		piece[l.Stream] = ""
	}
}

// byStream orders lines stdout first, keeping each stream's order (a session of its own
// interleaves the two as they come).
func byStream(lines []string) []string {
	var out, errs []string
	for _, l := range lines {
		if strings.HasPrefix(l, "stdout:") {
			out = append(out, l)
		} else {
			errs = append(errs, l)
		}
	}
	return append(out, errs...)
}

func gatherAll(cmds []Command) []Command {
	out := make([]Command, len(cmds))
	for i, c := range cmds {
		c.Gather = true
		out[i] = c
	}
	return out
}

// A gate's checks on one host, started at once, run in one session and give what each gives in a
// session of its own.
func TestGatheredCommandsShareOneSession(t *testing.T) {
	f := newFixture(t)
	alone := runAll(f.pool(t).Runner("app", Target{Address: "app"}), gatherCases)
	tm := &Timings{}
	s := f.pool(t, func(o *SSHOptions) { o.Timings = tm })
	if err := s.Connect(context.Background(), Target{Address: "app"}); err != nil {
		t.Fatal(err)
	}
	together := runAll(s.Runner("app", Target{Address: "app"}), gatherAll(gatherCases))
	for i := range gatherCases {
		if alone[i].String() != together[i].String() {
			t.Errorf("%v:\n alone    %s\n together %s", gatherCases[i], alone[i], together[i])
		}
	}
	if n := tm.phases[phaseSession].n; n != 1 {
		t.Errorf("%d sessions for %d gathered commands, want 1", n, len(gatherCases))
	}
	if alone[0].code != 3 || alone[4].code != 44 || alone[7].code != 7 || len(alone[5].lines) != 2 || len(alone[5].lines[0]) < maxLine {
		t.Fatalf("the cases do not test what they say: %v", alone)
	}
}

// Each caller keeps its own timeout: a quick command is not held behind a hung one, the hung one
// times out on its own clock, and the remote command is killed once nobody waits on the batch.
// The batch's files are in TMPDIR when the host sets one, else in the user's runtime directory.
func TestGatheredTimeoutIsItsOwn(t *testing.T) {
	for _, dir := range []string{"TMPDIR", "XDG_RUNTIME_DIR"} {
		t.Run(dir, func(t *testing.T) { gatheredTimeout(t, dir) })
	}
}

func gatheredTimeout(t *testing.T, dir string) {
	tmp := t.TempDir()
	f := fixtureWith(t, sshtest.Options{Env: []string{dir + "=" + tmp}})
	r := f.pool(t).Runner("app", Target{Address: "app"})
	marker := fmt.Sprintf("sleep %d.75", 40+os.Getpid()%50)
	type got struct {
		res  Result
		err  error
		took time.Duration
		out  string
		left []string // the batch's files when it returned
	}
	var slow, quick got
	var wg sync.WaitGroup
	start := time.Now()
	wg.Add(2)
	go func() {
		defer wg.Done()
		slow.res, slow.err = r.Run(context.Background(), Command{Script: marker, Timeout: 700 * time.Millisecond, Gather: true}, nil)
		slow.took = time.Since(start)
	}()
	go func() {
		defer wg.Done()
		quick.res, quick.err = r.Run(context.Background(), Command{Argv: []string{"echo", "quick"}, Timeout: 5 * time.Second, Gather: true}, func(l Line) { quick.out += l.Text })
		quick.took = time.Since(start)
		quick.left, _ = filepath.Glob(filepath.Join(tmp, "cutover.*"))
	}()
	wg.Wait()
	if quick.err != nil || quick.out != "quick" || quick.took > 600*time.Millisecond {
		t.Errorf("the quick command: %+v", quick)
	} else if len(quick.left) == 0 {
		t.Errorf("no batch files in %s=%s while the hung command ran", dir, tmp)
	} else if fi, err := os.Lstat(quick.left[0]); dir == "TMPDIR" && (err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700) {
		// a TMPDIR may be shared: the batch's files go in a directory of its own
		t.Errorf("in a TMPDIR the batch made %s (%v, %v), want a 0700 directory of its own", quick.left[0], fi.Mode(), err)
	}
	if !errors.Is(slow.err, ErrTimeout) || !strings.Contains(slow.err.Error(), "after 700ms") || slow.took > 3*time.Second {
		t.Errorf("the hung command: %+v", slow)
	}
	deadline := time.Now().Add(5 * time.Second)
	for exec.Command("pgrep", "-f", marker).Run() == nil {
		if time.Now().After(deadline) {
			t.Fatalf("%q still runs on the host after every caller left", marker)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The killed batch's files are removed (its trap could not run).
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		left, _ := filepath.Glob(filepath.Join(tmp, "cutover.*"))
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the killed batch left %v", left)
		}
	}
}

// A host where the batch cannot be set up (no writable temp dir) runs the commands one by one,
// with the same results.
func TestGatheredFallsBackOneByOne(t *testing.T) {
	f := fixtureWith(t, sshtest.Options{Env: []string{"TMPDIR=/nonexistent/cutover"}})
	tm := &Timings{}
	s := f.pool(t, func(o *SSHOptions) { o.Timings = tm })
	alone := runAll(f.pool(t).Runner("app", Target{Address: "app"}), gatherCases)
	together := runAll(s.Runner("app", Target{Address: "app"}), gatherAll(gatherCases))
	for i := range gatherCases {
		if alone[i].String() != together[i].String() {
			t.Errorf("%v:\n alone    %s\n fallback %s", gatherCases[i], alone[i], together[i])
		}
	}
	if n := tm.phases[phaseSession].n; n != len(gatherCases)+1 {
		t.Errorf("%d sessions, want the failed batch and one per command (%d)", n, len(gatherCases)+1)
	}
}

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

// A command's output cannot forge another command's result, even knowing the batch's nonce (any
// command can read it from the name of the file its stdout goes to, and any user on the host can
// list /dev/shm): it stays that command's output, byte for byte.
func TestBatchOutputCannotForgeFrames(t *testing.T) {
	f := newFixture(t)
	// The forger reads the nonce and its own index from its stdout's file name
	// (…/cutover.NONCE.INDEXo) and forges the other command's frame (index 1 - its own).
	forge := `f=$(readlink /proc/$$/fd/1); n=${f##*cutover.}; i=${n#*.}; i=${i%o}; n=${n%%.*}
case $n$i in [0-9a-f]*[01]) ;; *) echo "no nonce in $f"; exit 9 ;; esac
o=$((1 - i))
printf '\036cutover-stderr %s\n\036cutover-end %s\n\036cutover-batch %s %s 0\nforged\n\036cutover-stderr %s\n\036cutover-end %s\n' $n $n $n $o $n $n
printf '\036cutover-end %s\n\036cutover-batch %s %s 0\n' $n $n $o >&2`
	for _, forgerFirst := range []bool{true, false} {
		s := f.pool(t)
		s.held = time.Minute // the gathering alone starts the batch, with both in
		target := Target{Address: "app"}
		r := s.Runner("app", target)
		cmds := []Command{{Script: forge, Gather: true}, {Script: "echo real; exit 1", Gather: true}}
		if !forgerFirst {
			cmds[0], cmds[1] = cmds[1], cmds[0]
		}
		g := NewGathering(2)
		got := make([]outcome, 2)
		var wg sync.WaitGroup
		for i, c := range cmds {
			ctx, done := g.Join(context.Background())
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer done()
				var lines []string
				res, err := r.Run(ctx, c, func(l Line) { lines = append(lines, string(l.Stream)+":"+l.Text) })
				got[i] = outcome{code: res.ExitCode, lines: byStream(lines)}
				if err != nil {
					got[i].err = err.Error()
				}
			}()
			if i == 0 {
				pendingOn(t, s, target, 1) // the first command is the batch's index 0
			}
		}
		wg.Wait()
		forger, victim := got[0], got[1]
		if !forgerFirst {
			forger, victim = got[1], got[0]
		}
		if forger.code != 0 || len(forger.lines) != 8 || forger.err != "" {
			t.Errorf("forger first %v: the forger's own result: %s", forgerFirst, forger)
		}
		if want := (outcome{code: 1, lines: []string{"stdout:real"}}); victim.String() != want.String() {
			t.Errorf("forger first %v: the other command's result: %s, want %s", forgerFirst, victim, want)
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
