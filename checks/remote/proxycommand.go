package remote

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// startProxyCommand runs spec's ProxyCommand as ssh does ("exec CMD" through the user's shell,
// %h %n %p %r expanded) and returns its stdin and stdout as the connection. The host and user
// that reach %h and %r passed validHostName and validUser: no shell syntax.
func startProxyCommand(spec hostSpec) (net.Conn, error) {
	cmdline, err := expandTokens(spec.proxyCommand, map[byte]string{'h': spec.hostName, 'n': spec.alias, 'p': strconv.Itoa(spec.port), 'r': spec.user})
	if err != nil {
		return nil, fmt.Errorf("ProxyCommand %q: %w", spec.proxyCommand, err)
	}
	sh := os.Getenv("SHELL")
	if sh == "" {
		sh = "/bin/sh"
	}
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, err
	}
	c := &cmdConn{in: inW, out: outR, name: cmdline}
	cmd := exec.Command(sh, "-c", "exec "+cmdline)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, &c.stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // Close ends the command and what it started
	if err := cmd.Start(); err != nil {
		inR.Close()
		inW.Close()
		outR.Close()
		outW.Close()
		return nil, fmt.Errorf("ProxyCommand %q: %w", cmdline, err)
	}
	inR.Close()
	outW.Close()
	c.cmd = cmd
	c.done = make(chan struct{})
	go func() { cmd.Wait(); close(c.done) }()
	// The command outlives ctx, which bounds only the dial: the handshake's deadline bounds a
	// command that never answers, and Close ends it.
	return c, nil
}

// cmdConn is a proxy command's stdin and stdout as a net.Conn. Pipes from os.Pipe take deadlines.
type cmdConn struct {
	in     *os.File
	out    *os.File
	name   string
	cmd    *exec.Cmd
	done   chan struct{}
	stderr tailBuffer

	mu     sync.Mutex
	closed bool
}

func (c *cmdConn) Read(p []byte) (int, error)  { return c.out.Read(p) }
func (c *cmdConn) Write(p []byte) (int, error) { return c.in.Write(p) }
func (c *cmdConn) LocalAddr() net.Addr         { return cmdAddr(c.name) }
func (c *cmdConn) RemoteAddr() net.Addr        { return cmdAddr(c.name) }
func (c *cmdConn) SetDeadline(t time.Time) error {
	c.in.SetDeadline(t)
	return c.out.SetDeadline(t)
}
func (c *cmdConn) SetReadDeadline(t time.Time) error  { return c.out.SetReadDeadline(t) }
func (c *cmdConn) SetWriteDeadline(t time.Time) error { return c.in.SetWriteDeadline(t) }

func (c *cmdConn) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.mu.Unlock()
	c.in.Close()
	c.out.Close()
	select {
	case <-c.done:
	case <-time.After(2 * time.Second):
		syscall.Kill(-c.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-c.done:
		case <-time.After(2 * time.Second):
			syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
			<-c.done
		}
	}
	return nil
}

type cmdAddr string

func (a cmdAddr) Network() string { return "proxycommand" }
func (a cmdAddr) String() string  { return string(a) }

// proxyError is what a failed proxy command said on stderr, for the error message.
func proxyError(conn net.Conn) string {
	c, ok := conn.(*cmdConn)
	if !ok {
		return ""
	}
	select {
	case <-c.done:
	case <-time.After(500 * time.Millisecond):
	}
	return strings.TrimSpace(c.stderr.String())
}

// tailBuffer keeps the last 2 KiB written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > 2048 {
		t.buf = t.buf[len(t.buf)-2048:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
