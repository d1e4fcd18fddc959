package remote

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/sshtest"
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
