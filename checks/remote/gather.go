package remote

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// A gate's checks on one host start their commands at once. Each in a session of its own costs
// the host a session process and a login shell apiece: a wave's pre-checks, six on each of 200
// guests, would be 1,200 remote shells where ssh running the six in one session needs 200. So
// commands marked Gather that start on one target within gatherWindow of each other run as one
// batch: one session whose shell starts each command in the background with its own stdin
// (/dev/null), stdout and stderr (files in a private temp dir), and reports each as it ends —
// exit status and both streams, base64-framed after a random nonce, so that nothing a command
// prints can pass for another's result. Each caller keeps its own timeout and context: one that
// gives up returns at once, and the batch's shell (and every command in it) is killed once no
// caller waits on it. What a batch changes: output arrives when a command ends, not line by line,
// and a command killed by a signal reports the shell's 128+n exit status. A host whose shell
// cannot run the batch (no mktemp, mkfifo or base64) runs the commands one by one, as without it.

// gatherWindow is how long the first command waits for others to join it.
const gatherWindow = 2 * time.Millisecond

// errNoBatch means the host could not set a batch up: run its commands one by one.
var errNoBatch = errors.New("the host cannot run a batch")

// gatherer collects the gathered commands starting on one target.
type gatherer struct {
	mu      sync.Mutex
	pending []*gathered
}

// gathered is one caller's command waiting in, or running in, a batch.
type gathered struct {
	ctx    context.Context
	cmd    Command
	onLine func(Line)
	done   chan struct{} // closed when res and err are set
	res    Result
	err    error
	left   chan struct{} // closed when the caller stopped waiting (result or its context's end)

	mu       sync.Mutex // held while answering: a caller that gave up gets no more lines
	answered bool
	gone     bool
	alone    bool // running in a session of its own: its own end says why it ended
}

func (s *SSH) gathererFor(t Target) *gatherer {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gather == nil {
		s.gather = map[Target]*gatherer{}
	}
	g, ok := s.gather[t]
	if !ok {
		g = &gatherer{}
		s.gather[t] = g
	}
	return g
}

// runGathered runs cmd in a batch with the commands that start on the target with it.
func (r *sshRunner) runGathered(ctx context.Context, cmd Command, onLine func(Line)) (Result, error) {
	if cmd.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, cmd.Timeout, ErrTimeout)
		defer cancel()
	}
	c := &gathered{ctx: ctx, cmd: cmd, onLine: onLine, done: make(chan struct{}), left: make(chan struct{})}
	defer close(c.left)
	g := r.s.gathererFor(r.target)
	g.mu.Lock()
	g.pending = append(g.pending, c)
	first := len(g.pending) == 1
	g.mu.Unlock()
	if first {
		time.AfterFunc(gatherWindow, func() {
			g.mu.Lock()
			calls := g.pending
			g.pending = nil
			g.mu.Unlock()
			r.s.batchStarted()
			go func() {
				defer r.s.batchEnded()
				r.runCalls(calls)
			}()
		})
	}
	start := time.Now()
	select {
	case <-c.done:
		return c.res, c.err
	case <-ctx.Done():
		c.mu.Lock()
		alone := c.alone
		c.gone = true
		c.mu.Unlock()
		if alone { // runOne ends it at once and says how (a session never opened, a kill)
			<-c.done
			return c.res, c.err
		}
		res := Result{ExitCode: -1, Duration: time.Since(start)}
		if errors.Is(context.Cause(ctx), ErrTimeout) {
			return res, fmt.Errorf("ssh %s: %w%s", r.name, ErrTimeout, after(cmd.Timeout))
		}
		return res, fmt.Errorf("ssh %s: %w", r.name, context.Cause(ctx))
	}
}

func (s *SSH) batchStarted() {
	s.mu.Lock()
	s.batching++
	s.mu.Unlock()
}

func (s *SSH) batchEnded() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.batching--; s.batching == 0 && s.idle != nil {
		close(s.idle)
		s.idle = nil
	}
}

// runCalls runs what gathered: one command alone as always, more as a batch, and the batch's
// commands one by one if the host cannot run one.
func (r *sshRunner) runCalls(calls []*gathered) {
	if len(calls) > 1 {
		if err := r.runBatch(calls); !errors.Is(err, errNoBatch) {
			return
		}
	}
	var wg sync.WaitGroup
	for _, c := range calls {
		c.mu.Lock()
		answered := c.answered
		c.alone = !answered
		c.mu.Unlock()
		if answered {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := r.runOne(c.ctx, c.cmd, c.onLine)
			c.mu.Lock()
			c.answered, c.res, c.err = true, res, err
			close(c.done)
			c.mu.Unlock()
		}()
	}
	wg.Wait()
}

// batchScript is the shell program of a batch: the commands in the background, each one's end
// read from a FIFO in the order they end, and its frame written by this shell alone.
func batchScript(nonce string, cmds []Command) string {
	var b strings.Builder
	b.WriteString(`command -v mkfifo >/dev/null && command -v base64 >/dev/null || exit 125
d=$(mktemp -d "${TMPDIR:-/tmp}/cutover.XXXXXXXX") || exit 125
trap 'rm -rf "$d"' 0
mkfifo "$d/q" || exit 125
exec 3<>"$d/q"
`)
	for i, c := range cmds {
		var inner strings.Builder
		for _, e := range c.Env {
			k, v, _ := strings.Cut(e, "=")
			inner.WriteString("export " + k + "=" + Quote(v) + "; ")
		}
		inner.WriteString("exec ")
		if c.Argv != nil {
			inner.WriteString(Join(c.Argv))
		} else {
			inner.WriteString("sh -c " + Quote(c.Script))
		}
		fmt.Fprintf(&b, "( (%s) </dev/null >\"$d/%do\" 2>\"$d/%de\" 3>&-; echo \"%d $?\" >&3 ) &\n", inner.String(), i, i, i)
	}
	fmt.Fprintf(&b, `n=0
while [ "$n" -lt %d ]; do
  read -r j rc <&3 || exit 125
  printf '\036cutover-batch %s %%s %%s\n' "$j" "$rc"
  base64 -w0 "$d/${j}o"; echo
  base64 -w0 "$d/${j}e"; echo
  n=$((n+1))
done
`, len(cmds), nonce)
	return b.String()
}

// maxFramed bounds one stream of one command in a batch (base64, as it comes): output past it is
// cut, and a line on stderr says so.
const maxFramed = 32 << 20

// runBatch runs the calls as one batch and hands each its result as its command ends. It
// returns errNoBatch, with no call answered, when the host could not set the batch up.
func (r *sshRunner) runBatch(calls []*gathered) error {
	var nb [12]byte
	rand.Read(nb[:])
	cmds := make([]Command, len(calls))
	for i, c := range calls {
		cmds[i] = c.cmd
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { // the batch lives while a caller waits on it
		for _, c := range calls {
			<-c.left
		}
		cancel()
	}()
	f := &frames{mark: "\x1ecutover-batch " + hex.EncodeToString(nb[:]) + " ", calls: calls, start: time.Now(), job: -1}
	res, err := r.runOne(ctx, Command{Script: batchScript(hex.EncodeToString(nb[:]), cmds)}, f.line)
	if f.framed == 0 && err == nil && res.ExitCode == 125 {
		return errNoBatch
	}
	for _, c := range calls {
		if err == nil {
			err = fmt.Errorf("ssh %s: the batch ended (exit %d) before this command reported%s", r.name, res.ExitCode, f.said())
		}
		c.answer(nil, Result{ExitCode: -1, Duration: time.Since(f.start)}, err)
	}
	return nil
}

// frames reads a batch's output: on stdout, per command, a header line (the mark, its index and
// exit status), then its stdout and its stderr, each base64 on one line.
type frames struct {
	mark   string
	calls  []*gathered
	start  time.Time
	framed int

	job, rc int
	parts   [][]byte
	piece   []byte
	cut     bool     // the piece went past maxFramed
	other   []string // what else the shell said (login noise, a setup error), for messages
}

func (f *frames) line(l Line) {
	if l.Stream == Stderr {
		f.note(l.Text)
		return
	}
	if len(f.piece)+len(l.Text) <= maxFramed {
		f.piece = append(f.piece, l.Text...)
	} else {
		f.cut = true
	}
	if l.Cut {
		return // a long base64 line comes in pieces
	}
	text, cut := f.piece, f.cut
	f.piece, f.cut = nil, false
	if f.job < 0 {
		rest, ok := strings.CutPrefix(string(text), f.mark)
		fields := strings.Fields(rest)
		if !ok || len(fields) != 2 {
			f.note(string(text))
			return
		}
		j, err1 := strconv.Atoi(fields[0])
		rc, err2 := strconv.Atoi(fields[1])
		if err1 != nil || err2 != nil || j < 0 || j >= len(f.calls) {
			f.note(string(text))
			return
		}
		f.job, f.rc, f.parts = j, rc, nil
		return
	}
	b, err := base64.StdEncoding.DecodeString(string(text))
	if cut || err != nil {
		b = append(bytes.Clone(b), fmt.Sprintf("\n[cutover: output cut at %d MiB in a batch]\n", maxFramed>>20)...)
	}
	f.parts = append(f.parts, b)
	if len(f.parts) < 2 {
		return
	}
	f.calls[f.job].answer(f.parts, Result{ExitCode: f.rc, Duration: time.Since(f.start)}, nil)
	f.framed++
	f.job = -1
}

func (f *frames) note(s string) {
	if len(f.other) < 20 {
		f.other = append(f.other, s)
	}
}

func (f *frames) said() string {
	if len(f.other) == 0 {
		return ""
	}
	return ": " + strings.Join(f.other, "; ")
}

// answer hands a call its result once: its output (stdout, stderr) to its onLine, unless its
// caller has gone.
func (c *gathered) answer(out [][]byte, res Result, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.answered {
		return
	}
	c.answered = true
	if !c.gone && c.onLine != nil {
		for i, st := range []Stream{Stdout, Stderr} {
			if i < len(out) && len(out[i]) > 0 {
				readLines(bytes.NewReader(out[i]), st, c.onLine)
			}
		}
	}
	c.res, c.err = res, err
	close(c.done)
}
