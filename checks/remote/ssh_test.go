package remote

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/cutover/cutover/internal/sshtest"
)

// fixture is an sshd with a user key, a known_hosts file that trusts it, and an ssh_config.
type fixture struct {
	srv        *sshtest.Server
	dir, key   string
	knownHosts string
	config     string
}

func newFixture(t *testing.T, extra ...string) *fixture {
	t.Helper()
	return fixtureWith(t, sshtest.Options{Extra: extra})
}

// fixtureWith is newFixture with more of sshd's options (its authorized key is the fixture's).
func fixtureWith(t *testing.T, o sshtest.Options) *fixture {
	t.Helper()
	sshtest.Require(t)
	dir := t.TempDir()
	key, pub := sshtest.Keygen(t, dir, "id_ed25519")
	o.AuthorizedKeys = pub + "\n"
	srv := sshtest.Start(t, o)
	f := &fixture{srv: srv, dir: dir, key: key, knownHosts: filepath.Join(dir, "known_hosts"), config: filepath.Join(dir, "config")}
	write(t, f.knownHosts, srv.KnownHostsLine()+"\n")
	write(t, f.config, fmt.Sprintf("Host app\n  HostName 127.0.0.1\n  Port %d\n  User root\n  IdentityFile %s\n", srv.Port, key))
	return f
}

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) pool(t *testing.T, mod ...func(*SSHOptions)) *SSH {
	t.Helper()
	o := SSHOptions{Config: f.config, KnownHosts: []string{f.knownHosts}, Home: f.dir, User: "root", DialTimeout: 5 * time.Second}
	for _, m := range mod {
		m(&o)
	}
	s, err := NewSSH(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func collect(t *testing.T, r Runner, cmd Command) (Result, []Line, error) {
	t.Helper()
	var lines []Line
	res, err := r.Run(context.Background(), cmd, func(l Line) { lines = append(lines, l) })
	return res, lines, err
}

func TestSSHRunsAndStreamsWithKeyFile(t *testing.T) {
	f := newFixture(t)
	s := f.pool(t)
	r := s.Runner("app", Target{Address: "app"})
	res, lines, err := collect(t, r, Command{Script: `echo "out $LC_ALL"; echo err >&2; exit 3`, Env: []string{"LC_ALL=C"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 3 {
		t.Errorf("exit = %d", res.ExitCode)
	}
	var got []string
	for _, l := range lines {
		got = append(got, string(l.Stream)+":"+l.Text)
	}
	if strings.Join(got, ",") != "stdout:out C,stderr:err" && strings.Join(got, ",") != "stderr:err,stdout:out C" {
		t.Errorf("lines = %v", got)
	}
	// argv words stay words: nothing is interpreted by the remote shell.
	_, lines, err = collect(t, r, Command{Argv: []string{"printf", "%s|", "a b", "$(id)", "it's"}})
	if err != nil || len(lines) != 1 || lines[0].Text != "a b|$(id)|it's|" {
		t.Errorf("argv: %v %v", lines, err)
	}
	// A signal is reported as such.
	res, _, err = collect(t, r, Command{Script: "kill -TERM $$"})
	if err != nil || res.Signal != "SIGTERM" {
		t.Errorf("signal: %+v %v", res, err)
	}
	if len(s.conns) != 1 {
		t.Errorf("%d connections for one host, want 1 reused", len(s.conns))
	}
}

func TestSSHAuthByAgent(t *testing.T) {
	f := newFixture(t)
	// Replace the key file by an agent that holds the authorised key.
	data, _ := os.ReadFile(f.key)
	priv, err := ssh.ParseRawPrivateKey(data)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(f.key)
	sock := sshtest.Agent(t, priv)
	s := f.pool(t, func(o *SSHOptions) { o.AgentSock = sock })
	if _, lines, err := collect(t, s.Runner("app", Target{Address: "app"}), Command{Argv: []string{"echo", "via-agent"}}); err != nil || len(lines) != 1 {
		t.Fatalf("agent auth: %v %v", lines, err)
	}
}

func TestSSHPassphraseKeyPointsAtTheAgent(t *testing.T) {
	f := newFixture(t)
	locked := filepath.Join(f.dir, "locked")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "secret-pass", "-f", locked).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	write(t, f.config, fmt.Sprintf("Host app\n  HostName 127.0.0.1\n  Port %d\n  IdentityFile %s\n", f.srv.Port, locked))
	err := f.pool(t).Connect(context.Background(), Target{Address: "app"})
	if err == nil || !strings.Contains(err.Error(), "passphrase-protected: load it into ssh-agent (ssh-add "+locked+")") {
		t.Errorf("err = %v", err)
	}
}

func TestSSHHostKeys(t *testing.T) {
	f := newFixture(t)
	fp := func(authorized string) string {
		k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(authorized))
		if err != nil {
			t.Fatal(err)
		}
		return ssh.FingerprintSHA256(k)
	}
	t.Run("unknown", func(t *testing.T) {
		write(t, f.knownHosts, "")
		err := f.pool(t).Connect(context.Background(), Target{Address: "app"})
		var he *HostKeyError
		if !errors.As(err, &he) || !errors.Is(err, ErrHostKey) || len(he.Known) != 0 {
			t.Fatalf("err = %v", err)
		}
		want := fmt.Sprintf("host [127.0.0.1]:%d is not in known_hosts: it offered ssh-ed25519 key %s", f.srv.Port, fp(f.srv.HostKey))
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v\nwant it to contain %s", err, want)
		}
	})
	t.Run("mismatch", func(t *testing.T) {
		_, other := sshtest.Keygen(t, t.TempDir(), "impostor")
		write(t, f.knownHosts, fmt.Sprintf("[127.0.0.1]:%d %s\n", f.srv.Port, other))
		err := f.pool(t).Connect(context.Background(), Target{Address: "app"})
		want := fmt.Sprintf("HOST KEY MISMATCH for [127.0.0.1]:%d: it offered ssh-ed25519 %s but known_hosts has ssh-ed25519 %s (%s:1)", f.srv.Port, fp(f.srv.HostKey), fp(other), f.knownHosts)
		if !errors.Is(err, ErrHostKey) || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v\nwant it to contain %s", err, want)
		}
	})
	t.Run("hashed entry", func(t *testing.T) {
		write(t, f.knownHosts, f.srv.KnownHostsLine()+"\n")
		if out, err := exec.Command("ssh-keygen", "-H", "-f", f.knownHosts).CombinedOutput(); err != nil {
			t.Fatalf("%v %s", err, out)
		}
		data, _ := os.ReadFile(f.knownHosts)
		if !strings.HasPrefix(string(data), "|1|") {
			t.Fatalf("not hashed: %s", data)
		}
		if err := f.pool(t).Connect(context.Background(), Target{Address: "app"}); err != nil {
			t.Errorf("hashed known_hosts: %v", err)
		}
	})
	t.Run("no known_hosts file", func(t *testing.T) {
		s := f.pool(t, func(o *SSHOptions) { o.KnownHosts = []string{filepath.Join(f.dir, "absent")} })
		if err := s.Connect(context.Background(), Target{Address: "app"}); !errors.Is(err, ErrHostKey) {
			t.Errorf("err = %v", err)
		}
	})
}

func TestSSHProxyJump(t *testing.T) {
	target := newFixture(t)
	pub, _ := os.ReadFile(target.key + ".pub")
	jump := sshtest.Start(t, sshtest.Options{AuthorizedKeys: string(pub)})
	closed := sshtest.Start(t, sshtest.Options{AuthorizedKeys: string(pub), Extra: []string{"AllowTcpForwarding no"}})
	write(t, target.knownHosts, strings.Join([]string{target.srv.KnownHostsLine(), jump.KnownHostsLine(), closed.KnownHostsLine()}, "\n")+"\n")
	write(t, target.config, fmt.Sprintf(`Host app
  HostName 127.0.0.1
  Port %d
  User root
  IdentityFile %s
  ProxyJump root@127.0.0.1:%d
Host blocked
  HostName 127.0.0.1
  Port %d
  IdentityFile %s
  ProxyJump hop
Host hop
  HostName 127.0.0.1
  Port %d
  User root
  IdentityFile %s
Host 127.0.0.1
  IdentityFile %s
`, target.srv.Port, target.key, jump.Port, target.srv.Port, target.key, closed.Port, target.key, target.key))
	s := target.pool(t)
	if _, lines, err := collect(t, s.Runner("app", Target{Address: "app"}), Command{Argv: []string{"echo", "jumped"}}); err != nil || len(lines) != 1 {
		t.Fatalf("through the jump host: %v %v", lines, err)
	}
	// The jump host refuses forwarding: if cutover really goes through it, the connection fails there.
	err := s.Connect(context.Background(), Target{Address: "blocked"})
	if err == nil || !strings.Contains(err.Error(), "administratively prohibited") {
		t.Errorf("a jump host without forwarding must stop the connection: %v", err)
	}
}

func TestSSHTimeoutKillsTheRemoteCommand(t *testing.T) {
	f := newFixture(t)
	r := f.pool(t).Runner("app", Target{Address: "app"})
	marker := fmt.Sprintf("sleep %d.25", 40+os.Getpid()%50)
	start := time.Now()
	_, _, err := collect(t, r, Command{Script: marker, Timeout: 300 * time.Millisecond})
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("timeout took %s", time.Since(start))
	}
	deadline := time.Now().Add(5 * time.Second)
	for exec.Command("pgrep", "-f", marker).Run() == nil {
		if time.Now().After(deadline) {
			t.Fatalf("%q still runs on the host after its timeout", marker)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The connection survives a timed-out command.
	if _, _, err := collect(t, r, Command{Argv: []string{"true"}}); err != nil {
		t.Errorf("after timeout: %v", err)
	}
}

func TestSSHConnectionKilledMidCommand(t *testing.T) {
	f := newFixture(t)
	r := f.pool(t).Runner("app", Target{Address: "app"})
	started := make(chan struct{})
	var once sync.Once
	done := make(chan error, 1)
	go func() {
		_, err := r.Run(context.Background(), Command{Script: "echo started; sleep 30"}, func(Line) { once.Do(func() { close(started) }) })
		done <- err
	}()
	<-started
	f.srv.KillConnections(t)
	select {
	case err := <-done:
		if !errors.Is(err, ErrConnLost) || !strings.Contains(err.Error(), "ssh app: connection lost") {
			t.Errorf("err = %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the command did not fail after its connection was killed")
	}
	if _, lines, err := collect(t, r, Command{Argv: []string{"echo", "redialled"}}); err != nil || len(lines) != 1 {
		t.Errorf("next command must redial: %v %v", lines, err)
	}
}

func TestSSHFanOutToFiftyAliases(t *testing.T) {
	f := newFixture(t)
	var cfg strings.Builder
	for i := 1; i <= 50; i++ {
		fmt.Fprintf(&cfg, "Host h%02d\n  HostName 127.0.0.1\n  Port %d\n  User root\n  IdentityFile %s\n", i, f.srv.Port, f.key)
	}
	write(t, f.config, cfg.String())
	s := f.pool(t)
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for i := 1; i <= 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			alias := fmt.Sprintf("h%02d", i)
			_, lines, err := collect(t, s.Runner(alias, Target{Address: alias}), Command{Argv: []string{"echo", alias}})
			if err == nil && (len(lines) != 1 || lines[0].Text != alias) {
				err = fmt.Errorf("%s: lines %v", alias, lines)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

func TestSSHUnreachable(t *testing.T) {
	f := newFixture(t)
	write(t, f.config, "Host gone\n  HostName 127.0.0.1\n  Port 1\n")
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	_ = priv
	err := f.pool(t).Connect(context.Background(), Target{Address: "gone"})
	if err == nil || !strings.Contains(err.Error(), "connection refused") || errors.Is(err, ErrHostKey) {
		t.Errorf("err = %v", err)
	}
}
