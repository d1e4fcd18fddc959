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
			res, err := r.Run(context.Background(), c, func(l Line) {
				cut := ""
				if l.Cut {
					cut = "+"
				}
				lines = append(lines, string(l.Stream)+":"+l.Text+cut)
			})
			out[i] = outcome{code: res.ExitCode, lines: byStream(lines)}
			if err != nil {
				out[i].err = err.Error()
			}
		}()
	}
	wg.Wait()
	return out
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
	if alone[0].code != 3 || alone[4].code != 44 || alone[7].code != 7 || len(alone[5].lines) < 3 {
		t.Fatalf("the cases do not test what they say: %v", alone)
	}
}

// Each caller keeps its own timeout: a quick command is not held behind a hung one, the hung one
// times out on its own clock, and the remote command is killed once nobody waits on the batch.
func TestGatheredTimeoutIsItsOwn(t *testing.T) {
	tmp := t.TempDir()
	f := fixtureWith(t, sshtest.Options{Env: []string{"TMPDIR=" + tmp}})
	r := f.pool(t).Runner("app", Target{Address: "app"})
	marker := fmt.Sprintf("sleep %d.75", 40+os.Getpid()%50)
	type got struct {
		res  Result
		err  error
		took time.Duration
		out  string
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
	}()
	wg.Wait()
	if quick.err != nil || quick.out != "quick" || quick.took > 600*time.Millisecond {
		t.Errorf("the quick command: %+v", quick)
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
	calls := make([]*gathered, len(cmds))
	got := make([][]string, len(cmds))
	for i := range cmds {
		calls[i] = &gathered{done: make(chan struct{}), left: make(chan struct{}), onLine: func(l Line) {
			got[i] = append(got[i], string(l.Stream)+":"+l.Text)
		}}
	}
	f := &frames{nonce: "0123456789abcdef01234567", calls: calls, start: time.Now(), job: -1}
	script := batchScript(f.nonce, cmds)
	cmd := exec.Command("dash", "-c", script)
	cmd.Env = append(os.Environ(), "TMPDIR="+t.TempDir())
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("dash: %v", err)
	}
	readLines(strings.NewReader(string(out)), Stdout, f.line)
	if f.framed != len(cmds) {
		t.Fatalf("%d of %d commands framed; the shell said %q", f.framed, len(cmds), f.other)
	}
	for i, c := range cmds {
		var alone []string
		res, err := Local{}.Run(context.Background(), c, func(l Line) { alone = append(alone, string(l.Stream)+":"+l.Text) })
		if err != nil {
			t.Fatal(err)
		}
		if a, b := strings.Join(byStream(alone), "\n"), strings.Join(byStream(got[i]), "\n"); a != b || res.ExitCode != calls[i].res.ExitCode {
			t.Errorf("%v: alone exit %d %q, in the batch exit %d %q", c, res.ExitCode, a, calls[i].res.ExitCode, b)
		}
	}
}
