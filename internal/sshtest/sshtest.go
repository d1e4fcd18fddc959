// Package sshtest starts real OpenSSH sshd servers on 127.0.0.1 for integration tests, with
// throwaway host and user keys in the test's temp dir. Each server is stopped when its test ends.
package sshtest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/testenv"
)

// SSHD is the OpenSSH server binary (Debian's openssh-server).
const SSHD = "/usr/sbin/sshd"

// Server is one running sshd.
type Server struct {
	Port    int
	HostKey string // host public key, authorized_keys form
	Dir     string
	cmd     *exec.Cmd
	stderr  *bytes.Buffer
}

// Options tune a server.
type Options struct {
	AuthorizedKeys string   // authorized_keys file content
	Extra          []string // more sshd_config lines
	Env            []string // NAME=value set for every session (sshd's SetEnv, whose first line wins)
	// HostCA, a CA private key, signs the host key with ssh-keygen -s -h into a host certificate
	// that sshd presents beside the plain key: for principals HostCertPrincipals (default
	// 127.0.0.1), valid for HostCertValidity (ssh-keygen -V; default +1h).
	HostCA, HostCertPrincipals, HostCertValidity string
}

// Require skips the test when sshd is missing on a developer machine; in CI (CI set) a missing
// sshd is a failure, since .ci/run installs it.
func Require(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(SSHD); err != nil {
		testenv.Unavailable(t, "%s not installed (apt-get install openssh-server)", SSHD)
	}
	testenv.Root(t, "an sshd of our own (it writes /run/sshd)")
}

// Keygen makes an ed25519 key pair and returns the private key path and public key.
func Keygen(t testing.TB, dir, name string) (string, string) {
	t.Helper()
	path := filepath.Join(dir, name)
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", path).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	pub, err := os.ReadFile(path + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	return path, strings.TrimSpace(string(pub))
}

// SignCert signs a public key file with ca (ssh-keygen -s): a host certificate if host, else a user
// certificate; principals comma-separated; validity as ssh-keygen -V. It returns the -cert.pub path.
func SignCert(t testing.TB, ca, pub, id string, host bool, principals, validity string) string {
	t.Helper()
	args := []string{"-q", "-s", ca, "-I", id, "-n", principals, "-V", validity}
	if host {
		args = append(args, "-h")
	}
	if out, err := exec.Command("ssh-keygen", append(args, pub)...).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen -s: %v: %s", err, out)
	}
	return strings.TrimSuffix(pub, ".pub") + "-cert.pub"
}

func def(v, d string) string {
	if v == "" {
		return d
	}
	return v
}

// Start runs sshd on a free 127.0.0.1 port and waits until it accepts connections.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	Require(t)
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		t.Fatalf("privilege separation dir: %v", err)
	}
	dir := t.TempDir()
	hostKey, hostPub := Keygen(t, dir, "host_ed25519")
	var certLines []string
	if o.HostCA != "" {
		cert := SignCert(t, o.HostCA, hostKey+".pub", "host", true, def(o.HostCertPrincipals, "127.0.0.1"), def(o.HostCertValidity, "+1h"))
		certLines = append(certLines, "HostCertificate "+cert)
	}
	ak := filepath.Join(dir, "authorized_keys")
	if err := os.WriteFile(ak, []byte(o.AuthorizedKeys), 0o600); err != nil {
		t.Fatal(err)
	}
	for try := 0; ; try++ {
		port := freePort(t)
		conf := filepath.Join(dir, "sshd_config")
		lines := []string{
			fmt.Sprintf("ListenAddress 127.0.0.1:%d", port),
			"HostKey " + hostKey,
			"AuthorizedKeysFile " + ak,
			"PidFile " + filepath.Join(dir, "sshd.pid"),
			"UsePAM no",
			"StrictModes no",
			"PermitRootLogin prohibit-password",
			"PasswordAuthentication no",
			"KbdInteractiveAuthentication no",
			"UseDNS no",
			"PrintMotd no",
			"LogLevel ERROR",
			strings.TrimSpace("SetEnv SHLVL=1 " + strings.Join(o.Env, " ")), // SHLVL: skip root's heavy ~/.bashrc for every command
			"MaxStartups 200:30:400", // stock 10:30:100 drops connections in fan-out tests
			"MaxSessions 20",
		}
		lines = append(lines, certLines...)
		lines = append(lines, o.Extra...)
		if err := os.WriteFile(conf, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		s := &Server{Port: port, HostKey: hostPub, Dir: dir, stderr: &bytes.Buffer{}}
		s.cmd = exec.Command(SSHD, "-D", "-e", "-f", conf)
		s.cmd.Stderr = s.stderr
		if err := s.cmd.Start(); err != nil {
			t.Fatalf("start sshd: %v", err)
		}
		exited := make(chan error, 1)
		go func() { exited <- s.cmd.Wait() }()
		if s.waitReady(exited) {
			// The whole tree: a test may have stopped the connection processes (StopConnections).
			t.Cleanup(func() { signalTree(s.PID(), syscall.SIGKILL); <-exited })
			return s
		}
		if try == 3 {
			t.Fatalf("sshd did not start: %s", s.stderr)
		}
	}
}

// waitReady polls the port until sshd answers or exits (a port taken meanwhile).
func (s *Server) waitReady(exited chan error) bool {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return false
		default:
		}
		c, err := net.DialTimeout("tcp", s.Addr(), 200*time.Millisecond)
		if err == nil {
			c.Close()
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.cmd.Process.Kill()
	<-exited
	return false
}

// Addr is 127.0.0.1:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)) }

// KnownHostsLine is this server's known_hosts entry.
func (s *Server) KnownHostsLine() string {
	return fmt.Sprintf("[127.0.0.1]:%d %s", s.Port, s.HostKey)
}

// PID is the listening sshd's process id; its children serve the connections.
func (s *Server) PID() int { return s.cmd.Process.Pid }

// KillConnections kills the processes serving this server's connections, as a crash or a network
// cut would end them, while the server keeps listening.
func (s *Server) KillConnections(t testing.TB) {
	t.Helper()
	out, _ := exec.Command("pgrep", "-P", strconv.Itoa(s.PID())).Output()
	for _, f := range strings.Fields(string(out)) {
		pid, _ := strconv.Atoi(f)
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

// StopConnections freezes the processes serving this server's connections (SIGSTOP), as a
// wedged server would be: the sockets stay open and nothing answers. The test's end kills them.
func (s *Server) StopConnections() {
	out, _ := exec.Command("pgrep", "-P", strconv.Itoa(s.PID())).Output()
	for _, f := range strings.Fields(string(out)) {
		pid, _ := strconv.Atoi(f)
		signalTree(pid, syscall.SIGSTOP)
	}
}

// signalTree signals pid and every descendant, children first; a stopped process is resumed
// before SIGKILL so that it dies at once.
func signalTree(pid int, sig syscall.Signal) {
	out, _ := exec.Command("pgrep", "-P", strconv.Itoa(pid)).Output()
	for _, f := range strings.Fields(string(out)) {
		child, _ := strconv.Atoi(f)
		signalTree(child, sig)
	}
	if sig == syscall.SIGKILL {
		_ = syscall.Kill(pid, syscall.SIGCONT)
	}
	_ = syscall.Kill(pid, sig)
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
