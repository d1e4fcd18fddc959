package remote

import (
	"context"
	"crypto/rand"
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
// commands marked Gather that start on one target together (a gate's Gathering, else within
// gatherQuiet) run as one batch: one session whose login shell runs each command with its own
// stdin (/dev/null), stdout and stderr (private files, removed after; under bash one after
// another unless one is slow, under another sh all at once), and reports each as it ends: its
// exit status and both streams, each output line behind a |, between marker lines that carry a
// random nonce. Each caller keeps its own timeout and context: one that gives up returns at
// once, and the batch's shell (and every command in it) is killed once no caller waits on it; a
// batch whose every command reported ends by itself. What a batch changes: output arrives when a
// command ends, not line by line; a command killed by a signal reports the shell's 128+n exit
// status; NUL bytes in output may be dropped. A host where the batch cannot be set up (no
// writable directory for its files) runs the commands one by one, as without it.

// A batch starts once no command has joined it for gatherQuiet, and at the latest gatherMost after
// its first: a loaded machine starts a gate's goroutines a few milliseconds apart. A batch that
// holds the first command of a gathering's member (a gate's check) waits for the gathering
// instead, at most gatherHeld.
const (
	gatherQuiet = 5 * time.Millisecond
	gatherMost  = 50 * time.Millisecond
	gatherHeld  = time.Second
)

// errNoBatch means the host could not set a batch up: run its commands one by one.
var errNoBatch = errors.New("the host cannot run a batch")

// gatherer collects the gathered commands starting on one target.
type gatherer struct {
	r *sshRunner // runs the target's batches

	mu      sync.Mutex
	batch   uint64 // the pending batch's number: a timer or a gathering starts that one or none
	pending []*gathered
	first   time.Time           // when the pending batch's first command came
	timer   *time.Timer         // starts the pending batch
	holders map[*Gathering]bool // gatherings the pending batch waits for
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

	mu        sync.Mutex // held while answering: a caller that gave up gets no more lines
	answered  bool
	gone      bool
	alone     bool // running in a session of its own: its own end says why it ended
	abandoned bool // its caller gave up before it was answered
}

func (r *sshRunner) gatherer() *gatherer {
	s := r.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gather == nil {
		s.gather = map[Target]*gatherer{}
	}
	g, ok := s.gather[r.target]
	if !ok {
		g = &gatherer{r: r}
		s.gather[r.target] = g
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
	g := r.gatherer()
	g.join(c)
	arrived(ctx) // after joining: the gathering's last member may start the batch
	start := time.Now()
	select {
	case <-c.done:
		return c.res, c.err
	case <-ctx.Done():
		c.mu.Lock()
		alone := c.alone
		c.gone, c.abandoned = true, !c.answered
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

// join adds c to the pending batch and sets when that batch starts.
func (g *gatherer) join(c *gathered) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.pending = append(g.pending, c)
	if len(g.pending) == 1 {
		g.first = time.Now()
	}
	if m, ok := c.ctx.Value(memberKey{}).(*member); ok && !g.holders[m.g] && m.g.hold(g, g.batch) {
		if g.holders == nil {
			g.holders = map[*Gathering]bool{}
		}
		g.holders[m.g] = true
	}
	wait := gatherQuiet
	switch {
	case len(g.holders) > 0:
		wait = max(0, g.r.s.held-time.Since(g.first))
	case len(g.pending) > 1 && time.Since(g.first) >= gatherMost:
		return // the timer set gatherQuiet ago or less stands
	}
	if g.timer != nil {
		g.timer.Stop()
	}
	batch := g.batch
	g.timer = time.AfterFunc(wait, func() { g.start(batch) })
}

// released says a gathering the batch numbered batch waited for has every member in: the batch
// starts if it waits for no other.
func (g *gatherer) released(gr *Gathering, batch uint64) {
	g.mu.Lock()
	if g.batch != batch || !g.holders[gr] {
		g.mu.Unlock()
		return
	}
	delete(g.holders, gr)
	ready := len(g.holders) == 0
	g.mu.Unlock()
	if ready {
		g.start(batch)
	}
}

// start takes the pending commands, if they are still batch number batch, and runs them.
func (g *gatherer) start(batch uint64) {
	g.mu.Lock()
	if g.batch != batch || len(g.pending) == 0 {
		g.mu.Unlock()
		return
	}
	calls := g.pending
	g.batch++
	g.pending, g.holders = nil, nil
	if g.timer != nil {
		g.timer.Stop()
		g.timer = nil
	}
	g.mu.Unlock()
	r := g.r
	r.s.batchStarted()
	go func() {
		defer r.s.batchEnded()
		r.runCalls(calls)
	}()
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
			res, err := r.runOne(c.ctx, c.cmd, c.onLine) // its lines already went to onLine
			c.answer([2][]Line{}, res, err)
		}()
	}
	wg.Wait()
}

// maxFramed bounds the output of one command in a batch, both streams: output past it is
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
	go func() { // once every caller has left, one that gave up waiting ends the batch
		abandoned := false
		for _, c := range calls {
			<-c.left
			c.mu.Lock()
			abandoned = abandoned || c.abandoned
			c.mu.Unlock()
		}
		if abandoned {
			cancel()
		}
	}()
	nonce := hex.EncodeToString(nb[:])
	f := &frames{nonce: nonce, calls: calls, start: time.Now(), job: -1}
	res, err := r.runOne(ctx, Command{shell: batchScript(nonce, cmds)}, f.line)
	if f.framed == 0 && err == nil && res.ExitCode == 125 {
		return errNoBatch
	}
	if err != nil { // killed before its trap could remove its files
		cctx, ccancel := context.WithTimeout(context.Background(), killGrace)
		r.runOne(cctx, Command{Script: batchCleanup(nonce)}, nil)
		ccancel()
	}
	for _, c := range calls {
		if err == nil {
			err = fmt.Errorf("ssh %s: the batch ended (exit %d) before this command reported%s", r.name, res.ExitCode, f.said())
		}
		c.answer([2][]Line{}, Result{ExitCode: -1, Duration: time.Since(f.start)}, err)
	}
	return nil
}

// frames reads a batch's output: per command, on stdout, a start line (its index and exit
// status), its stdout's lines, a line before its stderr's, its stderr's lines and an end line,
// each marker line carrying the nonce.
type frames struct {
	nonce  string
	calls  []*gathered
	start  time.Time
	framed int

	job, rc int
	stream  Stream
	cut     bool      // the last line read was cut: the next is its next piece
	out     [2][]Line // the command's stdout and stderr lines
	size    int       // their bytes, bounded by maxFramed
	other   []string  // what else the shell said (login noise, a setup error), for messages
}

// The batch's marker lines: a command's start, its stderr, its end.
const (
	markStart  = "\x1ecutover-batch "
	markStderr = "\x1ecutover-stderr "
	markEnd    = "\x1ecutover-end "
)

func (f *frames) line(l Line) {
	if l.Stream == Stderr {
		f.note(l.Text)
		return
	}
	if f.job < 0 {
		rest, ok := strings.CutPrefix(l.Text, markStart+f.nonce+" ")
		fields := strings.Fields(rest)
		if !ok || len(fields) != 2 || l.Cut {
			f.note(l.Text)
			return
		}
		j, err1 := strconv.Atoi(fields[0])
		rc, err2 := strconv.Atoi(fields[1])
		if err1 != nil || err2 != nil || j < 0 || j >= len(f.calls) {
			f.note(l.Text)
			return
		}
		f.job, f.rc, f.stream, f.out, f.size, f.cut = j, rc, Stdout, [2][]Line{}, 0, false
		return
	}
	// Every line of a command's output comes with a | before it, so that no output, whatever it
	// holds, reads as a marker; the pieces after the first of a line cut into pieces come bare.
	cont := f.cut
	f.cut = l.Cut
	switch {
	case cont:
	case strings.HasPrefix(l.Text, "|"):
		l.Text = l.Text[1:]
	case l.Text == "" && !l.Cut: // the batch's own newline after a stream
		return
	case l.Text == markStderr+f.nonce && !l.Cut:
		f.stream = Stderr
		return
	case l.Text == markEnd+f.nonce && !l.Cut:
		f.calls[f.job].answer(f.out, Result{ExitCode: f.rc, Duration: time.Since(f.start)}, nil)
		f.framed++
		f.job = -1
		return
	default:
		f.note(l.Text)
		return
	}
	k := f.index()
	if f.size += len(l.Text); f.size > maxFramed {
		if f.size-len(l.Text) <= maxFramed {
			f.out[k] = append(f.out[k], Line{Stream: f.stream, Text: fmt.Sprintf("[cutover: output cut at %d MiB in a batch]", maxFramed>>20)})
		}
		return
	}
	l.Stream = f.stream
	f.out[k] = append(f.out[k], l)
}

// index is the current stream's place in out: stdout 0, stderr 1.
func (f *frames) index() int {
	if f.stream == Stderr {
		return 1
	}
	return 0
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

// answer hands a call its result once: its output (stdout, then stderr) to its onLine, unless
// its caller has gone.
func (c *gathered) answer(out [2][]Line, res Result, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.answered {
		return
	}
	c.answered = true
	if !c.gone && c.onLine != nil {
		for _, lines := range out {
			for _, l := range lines {
				c.onLine(l)
			}
		}
	}
	c.res, c.err = res, err
	close(c.done)
}
