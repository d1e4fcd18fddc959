package remote

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// sshRunner runs commands on one target over the pool.
type sshRunner struct {
	s      *SSH
	name   string
	target Target
}

// pidMark starts the line on which a remote command reports its process id (see commandLine).
const pidMark = "\x1ecutover-pid "

// commandLine is what the remote login shell receives. It first reports its PID on stderr (so a
// timeout can kill the command's process group: sshd makes each session's shell a session
// leader, and not every sshd honours signal requests), sets the env, then execs the command:
// argv words quoted, or a script handed to sh -c so it runs under a POSIX shell. The sbin
// directories go on the end of PATH: a non-root login on Debian has none of them, and nft,
// getenforce, and on RHEL ss and ip, live there — without them a tool that is installed reads as
// "not installed".
func (c Command) commandLine() string {
	return `printf '\036cutover-pid %s\n' "$$" >&2; ` +
		`PATH="${PATH:-/usr/bin:/bin}:/usr/local/sbin:/usr/sbin:/sbin"; export PATH; ` + c.execLine()
}

// execLine is what a shell runs to become the command: the env exported, then exec of the argv
// words quoted or of sh -c with the script (or cutover's own program, run by that shell itself).
func (c Command) execLine() string {
	var b strings.Builder
	for _, e := range c.Env {
		k, v, _ := strings.Cut(e, "=")
		b.WriteString("export " + k + "=" + Quote(v) + "; ")
	}
	switch {
	case c.shell != "": // cutover's own program (a batch), run by the login shell itself
		b.WriteString(c.shell)
	case c.Argv != nil:
		b.WriteString("exec " + Join(c.Argv))
	default:
		b.WriteString("exec sh -c " + Quote(c.Script))
	}
	return b.String()
}

// Run runs cmd on the target, streaming its output; a gathered command may run in a batch with
// others starting on the target at the same time (gather.go).
func (r *sshRunner) Run(ctx context.Context, cmd Command, onLine func(Line)) (Result, error) {
	if len(cmd.Argv) == 0 && cmd.Script == "" && cmd.shell == "" {
		return Result{}, errors.New("run: empty command")
	}
	if cmd.Gather && !r.s.opts.NoGather {
		return r.runGathered(ctx, cmd, onLine)
	}
	arrived(ctx)
	return r.runOne(ctx, cmd, onLine)
}

// runOne runs cmd in a session of its own, streaming its output.
func (r *sshRunner) runOne(ctx context.Context, cmd Command, onLine func(Line)) (Result, error) {
	if cmd.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, cmd.Timeout, ErrTimeout)
		defer cancel()
	}
	opened := time.Now()
	conn, cl, sess, err := r.session(ctx)
	if err != nil {
		if errors.Is(context.Cause(ctx), ErrTimeout) {
			return Result{ExitCode: -1, Duration: time.Since(opened)}, fmt.Errorf("ssh %s: %w%s (the server did not open a session)", r.name, ErrTimeout, after(cmd.Timeout))
		}
		return Result{}, fmt.Errorf("ssh %s: %w", r.name, err)
	}
	defer func() { <-conn.sem }()
	defer sess.Close()

	stdout, err := sess.StdoutPipe()
	if err != nil {
		return Result{}, fmt.Errorf("ssh %s: %w", r.name, err)
	}
	stderr, err := sess.StderrPipe()
	if err != nil {
		return Result{}, fmt.Errorf("ssh %s: %w", r.name, err)
	}
	r.s.opts.Timings.add(phaseSession, opened)
	start := time.Now()
	started := false
	if err := r.s.await(ctx, conn, cl, killGrace, func() error {
		err := sess.Start(cmd.commandLine())
		started = err == nil // await returns only once this has run
		return err
	}); err != nil {
		if ctx.Err() == nil { // the exec request failed: the connection is broken
			r.s.drop(conn, cl)
			return Result{}, fmt.Errorf("ssh %s: start: %w", r.name, err)
		}
		if started {
			// Started late: the command's first words are its PID mark; end its process group.
			r.killStarted(conn, cl, stderr)
		}
		if cause := context.Cause(ctx); errors.Is(cause, ErrTimeout) {
			return Result{ExitCode: -1, Duration: time.Since(start)}, fmt.Errorf("ssh %s: %w%s (the server did not start the command in time)", r.name, ErrTimeout, after(cmd.Timeout))
		}
		return Result{ExitCode: -1}, fmt.Errorf("ssh %s: %w", r.name, context.Cause(ctx))
	}
	var mu sync.Mutex
	pid := make(chan string, 1)
	emit := func(l Line) {
		if l.Stream == Stderr && strings.HasPrefix(l.Text, pidMark) {
			select {
			case pid <- strings.TrimPrefix(l.Text, pidMark):
				return
			default: // a second mark comes from the command itself: pass it on
			}
		}
		if onLine != nil {
			mu.Lock()
			onLine(l)
			mu.Unlock()
		}
	}
	done := make(chan error, 1)
	go func() {
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); readLines(stdout, Stdout, emit) }()
		go func() { defer wg.Done(); readLines(stderr, Stderr, emit) }()
		wg.Wait()
		done <- sess.Wait()
	}()
	var waitErr error
	select {
	case waitErr = <-done:
	case <-ctx.Done():
		// Killed through a second session by its PID mark, never by an SSH signal request: sshd
		// logs those at err level ("session_signal_req: …"), in the journal the checks read.
		finished := false
		select {
		case p := <-pid:
			r.kill(conn, cl, p)
		case <-done:
			finished = true
		case <-time.After(killGrace): // no mark: the shell never ran; closing the session ends it
		}
		sess.Close()
		if !finished {
			select {
			case <-done:
			case <-time.After(killGrace):
				// The server does not even close the channel: it is stuck, and so is every
				// session on this connection. Drop it; the next command redials.
				r.s.drop(conn, cl)
			}
		}
		res := Result{ExitCode: -1, Duration: time.Since(start)}
		if cause := context.Cause(ctx); errors.Is(cause, ErrTimeout) {
			return res, fmt.Errorf("ssh %s: %w%s", r.name, ErrTimeout, after(cmd.Timeout))
		}
		return res, fmt.Errorf("ssh %s: %w", r.name, context.Cause(ctx))
	}
	res := Result{Duration: time.Since(start)}
	r.s.opts.Timings.add(phaseExec, start)
	var exitErr *ssh.ExitError
	switch {
	case waitErr == nil:
	case errors.As(waitErr, &exitErr):
		res.ExitCode = exitErr.ExitStatus()
		if sig := exitErr.Signal(); sig != "" {
			res.ExitCode, res.Signal = -1, "SIG"+sig
		}
	default:
		// No exit status: the connection or the server went away mid-command.
		r.s.drop(conn, cl)
		return Result{ExitCode: -1, Duration: res.Duration}, fmt.Errorf("ssh %s: %w while running the command: %v", r.name, ErrConnLost, waitErr)
	}
	return res, nil
}

// killGrace bounds each stage of ending a timed-out command (killing it, seeing its channel
// close), so a stuck server costs at most a few seconds past the command's timeout.
const killGrace = 2 * time.Second

// killStarted ends a command that started after its context ended, before anything read its
// output: its PID mark is the first line on stderr.
func (r *sshRunner) killStarted(conn *sshConn, cl *ssh.Client, stderr io.Reader) {
	mark := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stderr).ReadString('\n')
		mark <- strings.TrimSuffix(line, "\n")
	}()
	select {
	case l := <-mark:
		if p, ok := strings.CutPrefix(l, pidMark); ok {
			r.kill(conn, cl, p)
		}
	case <-time.After(killGrace):
	}
}

// kill ends a remote command's process group from a second session on the same connection.
func (r *sshRunner) kill(conn *sshConn, cl *ssh.Client, pid string) {
	for _, c := range pid {
		if c < '0' || c > '9' {
			return
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), killGrace)
	defer cancel()
	var sess *ssh.Session
	err := r.s.await(ctx, conn, cl, 0, func() (err error) { sess, err = cl.NewSession(); return err })
	if sess != nil {
		defer sess.Close()
	}
	if err != nil {
		return
	}
	r.s.await(ctx, conn, cl, 0, func() error { return sess.Run("kill -KILL -- -" + pid + " 2>/dev/null || kill -KILL " + pid) })
}

// await runs op, which waits for the server's answer (a channel open, an exec request). If ctx
// ends first, op gets grace to finish; then the connection is dropped, which ends op: a server
// that answers nothing for that long is stuck, and x/crypto/ssh's requests take no context.
// After ctx ended, await returns ctx's cause even if op succeeded late.
func (s *SSH) await(ctx context.Context, c *sshConn, cl *ssh.Client, grace time.Duration, op func() error) error {
	done := make(chan error, 1)
	go func() { done <- op() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	select {
	case <-done:
	case <-time.After(grace):
		s.drop(c, cl)
		<-done
	}
	return context.Cause(ctx)
}

// session gets a connection (dialling if needed) and opens a session on it, redialling once if
// the pooled connection turns out to be dead.
func (r *sshRunner) session(ctx context.Context) (*sshConn, *ssh.Client, *ssh.Session, error) {
	for attempt := 0; ; attempt++ {
		conn, err := r.s.conn(ctx, r.target)
		if err != nil {
			return nil, nil, nil, err
		}
		select {
		case conn.sem <- struct{}{}:
		case <-ctx.Done():
			return nil, nil, nil, context.Cause(ctx)
		}
		conn.mu.Lock()
		cl := conn.client
		conn.mu.Unlock()
		if cl != nil {
			var sess *ssh.Session
			err := r.s.await(ctx, conn, cl, killGrace, func() (err error) { sess, err = cl.NewSession(); return err })
			if err == nil {
				return conn, cl, sess, nil
			}
			if ctx.Err() != nil {
				if sess != nil { // opened, but too late
					sess.Close()
				}
				<-conn.sem
				return nil, nil, nil, err
			}
			r.s.drop(conn, cl)
			if attempt == 1 {
				<-conn.sem
				return nil, nil, nil, fmt.Errorf("open session: %w", err)
			}
		}
		<-conn.sem
	}
}
