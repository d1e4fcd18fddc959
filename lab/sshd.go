package lab

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"syscall"

	"github.com/gliderlabs/ssh"
	gossh "golang.org/x/crypto/ssh"
)

// sshHost is one lab host's SSH server on 127.0.0.1.
type sshHost struct {
	srv  *ssh.Server
	port int
}

// serveSSH starts an SSH server for h that accepts only the lab's user key and runs each command
// under /bin/sh with the lab's commands first on PATH.
func (l *Lab) serveSSH(h *Host, hostKey gossh.Signer, user gossh.PublicKey) (*sshHost, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("lab host %s: %w", h.Name, err)
	}
	srv := &ssh.Server{
		Handler: l.session(h),
		PublicKeyHandler: func(_ ssh.Context, key ssh.PublicKey) bool {
			return ssh.KeysEqual(key, user)
		},
	}
	srv.AddHostKey(hostKey)
	go srv.Serve(ln)
	return &sshHost{srv: srv, port: ln.Addr().(*net.TCPAddr).Port}, nil
}

func (l *Lab) session(h *Host) ssh.Handler {
	return func(s ssh.Session) {
		cmdline := s.RawCommand()
		if cmdline == "" {
			io.WriteString(s.Stderr(), "lab hosts run commands, not shells\n")
			s.Exit(1)
			return
		}
		c := exec.Command("/bin/sh", "-c", cmdline)
		c.Env = append(l.env(h), "SSH_CONNECTION="+s.RemoteAddr().String())
		c.Dir = l.dir
		c.Stdout, c.Stderr = s, s.Stderr()
		// Like sshd: the shell leads its own session, so the client can kill the whole command.
		c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		if err := c.Start(); err != nil {
			fmt.Fprintf(s.Stderr(), "lab: %v\n", err)
			s.Exit(127)
			return
		}
		done := make(chan error, 1)
		go func() { done <- c.Wait() }()
		var err error
		select {
		case err = <-done:
		case <-s.Context().Done(): // the client went away: end what it started
			syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
			<-done
			return
		}
		var ee *exec.ExitError
		switch {
		case err == nil:
			s.Exit(0)
		case errors.As(err, &ee):
			s.Exit(ee.ExitCode() & 0xff)
		default:
			s.Exit(255)
		}
	}
}
