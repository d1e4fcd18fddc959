package remote

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// ErrTimeout is returned when a command outlived its own Timeout.
var ErrTimeout = errors.New("command timed out")

// maxLine bounds one output line; longer lines are split so a binary blob cannot eat memory.
const maxLine = 64 << 10

// Local runs commands on this machine. Each command gets its own process group, so a timeout or a
// cancelled context kills the whole tree it started, not only the shell.
type Local struct {
	// Dir is the working directory; empty means the current one.
	Dir string
	// Env, when not nil, replaces the environment the command inherits.
	Env []string
}

var _ Runner = Local{}

// Run starts cmd, streams its output to onLine and waits for it to exit.
func (l Local) Run(ctx context.Context, cmd Command, onLine func(Line)) (Result, error) {
	arrived(ctx) // a gathering's member whose command runs here holds no batch
	var argv []string
	switch {
	case len(cmd.Argv) > 0:
		argv = cmd.Argv
	case cmd.Script != "":
		argv = []string{"/bin/sh", "-c", cmd.Script}
	default:
		return Result{}, errors.New("run: empty command")
	}
	if cmd.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, cmd.Timeout, ErrTimeout)
		defer cancel()
	}

	c := exec.CommandContext(ctx, argv[0], argv[1:]...)
	c.Dir, c.Env = l.Dir, l.Env
	if len(cmd.Env) > 0 {
		if c.Env == nil {
			c.Env = os.Environ()
		}
		c.Env = append(c.Env, cmd.Env...)
	}
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	c.Cancel = func() error { return syscall.Kill(-c.Process.Pid, syscall.SIGKILL) }
	// A grandchild that keeps our pipes open must not keep us waiting after the command exits.
	c.WaitDelay = 2 * time.Second
	stdout, err := c.StdoutPipe()
	if err != nil {
		return Result{}, fmt.Errorf("run %s: %w", argv[0], err)
	}
	stderr, err := c.StderrPipe()
	if err != nil {
		return Result{}, fmt.Errorf("run %s: %w", argv[0], err)
	}
	start := time.Now()
	if err := c.Start(); err != nil {
		return Result{}, fmt.Errorf("run %s: %w", argv[0], err)
	}

	var mu sync.Mutex
	emit := func(l Line) {
		if onLine == nil {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		onLine(l)
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); readLines(stdout, Stdout, emit) }()
	go func() { defer wg.Done(); readLines(stderr, Stderr, emit) }()
	wg.Wait()
	waitErr := c.Wait()

	res := Result{ExitCode: c.ProcessState.ExitCode(), Duration: time.Since(start)}
	if ws, ok := c.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		res.Signal = unix.SignalName(ws.Signal())
	}
	if cause := context.Cause(ctx); cause != nil {
		if errors.Is(cause, ErrTimeout) {
			return res, fmt.Errorf("run %s: %w%s", argv[0], ErrTimeout, after(cmd.Timeout))
		}
		return res, fmt.Errorf("run %s: %w", argv[0], cause)
	}
	var exitErr *exec.ExitError
	if waitErr != nil && !errors.As(waitErr, &exitErr) {
		return res, fmt.Errorf("run %s: %w", argv[0], waitErr)
	}
	return res, nil
}

// readLines splits r into lines and hands each to emit, keeping the last line even without a newline.
func readLines(r io.Reader, s Stream, emit func(Line)) {
	br := bufio.NewReaderSize(r, maxLine)
	for {
		chunk, err := br.ReadSlice('\n')
		if len(chunk) > 0 {
			text := chunk
			if text[len(text)-1] == '\n' {
				text = text[:len(text)-1]
			}
			if len(text) > 0 && text[len(text)-1] == '\r' && err != bufio.ErrBufferFull { // a CRLF line's end, not a piece's
				text = text[:len(text)-1]
			}
			emit(Line{Stream: s, Text: string(text), Cut: err == bufio.ErrBufferFull})
		}
		if err == bufio.ErrBufferFull {
			continue // an over-long line: emit it in maxLine pieces
		}
		if err != nil {
			return
		}
	}
}
