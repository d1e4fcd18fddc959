package realhost

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The host has a network namespace of its own (its sockets, firewall and pings are its own, and a
// test's listeners never mix with this machine's). sshd listens on 127.0.0.1:22 in it; a forwarder
// on this machine's 127.0.0.1:Port carries each connection in, through a socket opened inside the
// host's namespace.

// forwarder accepts on this machine's loopback and connects each client to addr inside netns.
type forwarder struct {
	ln    net.Listener
	netns *os.File
	addr  string

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

func newForwarder(netns *os.File, addr string) (*forwarder, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f := &forwarder{ln: ln, netns: netns, addr: addr, conns: map[net.Conn]struct{}{}}
	f.wg.Add(1)
	go f.serve()
	return f, nil
}

func (f *forwarder) port() int { return f.ln.Addr().(*net.TCPAddr).Port }

func (f *forwarder) serve() {
	defer f.wg.Done()
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			f.pipe(c)
		}()
	}
}

func (f *forwarder) track(c net.Conn, on bool) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.conns == nil { // closed
		return false
	}
	if on {
		f.conns[c] = struct{}{}
	} else {
		delete(f.conns, c)
	}
	return true
}

func (f *forwarder) pipe(c net.Conn) {
	defer c.Close()
	in, err := dialInside(f.netns, f.addr)
	if err != nil {
		return // the client sees the connection close, as with a refused port
	}
	defer in.Close()
	if !f.track(c, true) || !f.track(in, true) {
		return
	}
	defer f.track(c, false)
	defer f.track(in, false)
	done := make(chan struct{}, 2)
	go func() { io.Copy(in, c); in.(*net.TCPConn).CloseWrite(); done <- struct{}{} }()
	go func() { io.Copy(c, in); c.(*net.TCPConn).CloseWrite(); done <- struct{}{} }()
	<-done
	<-done
}

// close stops accepting, cuts every carried connection and waits for the pipes to end.
func (f *forwarder) close() {
	f.ln.Close()
	f.mu.Lock()
	for c := range f.conns {
		c.Close()
	}
	f.conns = nil
	f.mu.Unlock()
	f.wg.Wait()
}

// dialInside connects to addr from inside the network namespace netns. The socket is made on an
// OS thread switched into netns for that call only; a thread that cannot be switched back is never
// reused (its goroutine exits still locked to it, and the runtime ends the thread).
func dialInside(netns *os.File, addr string) (net.Conn, error) {
	type result struct {
		c   net.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		self, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", syscall.Gettid()))
		if err != nil {
			runtime.UnlockOSThread()
			ch <- result{err: err}
			return
		}
		defer self.Close()
		if err := setns(netns); err != nil {
			runtime.UnlockOSThread()
			ch <- result{err: fmt.Errorf("enter the host's network namespace: %w", err)}
			return
		}
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if setns(self) == nil {
			runtime.UnlockOSThread()
		}
		ch <- result{c, err}
	}()
	r := <-ch
	return r.c, r.err
}

func setns(ns *os.File) error { return unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET) }

// awaitNetns waits until process pid has left this machine's network namespace (unshare made its
// own) and opens that namespace.
func awaitNetns(pid int, exited <-chan struct{}) (*os.File, error) {
	var own syscall.Stat_t
	if err := syscall.Stat("/proc/self/ns/net", &own); err != nil {
		return nil, err
	}
	path := fmt.Sprintf("/proc/%d/ns/net", pid)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		var st syscall.Stat_t
		if err := syscall.Stat(path, &st); err == nil && st.Ino != own.Ino {
			return os.Open(path)
		}
		select {
		case <-exited:
			return nil, errors.New("the host's namespaces exited before its network namespace was made")
		case <-time.After(5 * time.Millisecond): // poll: unshare(2) gives no signal we can wait on
		}
	}
	return nil, errors.New("no network namespace of its own after 10 s")
}
