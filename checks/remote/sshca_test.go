package remote

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/sshtest"
)

// OpenSSH is the oracle for trust: for each case the real ssh client, given the same ssh_config,
// known_hosts, keys and agent, connects to the same real sshd; cutover must connect exactly when
// ssh does, and refuse exactly when ssh refuses.

// bothConnect tries alias with ssh and with cutover; each error is nil on a login.
func bothConnect(t *testing.T, cfg, home, agentSock, alias string) (cutover, openssh error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ssh", "-F", cfg, alias, "true")
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "SSH_AUTH_SOCK=") && !strings.HasPrefix(e, "HOME=") {
			cmd.Env = append(cmd.Env, e)
		}
	}
	cmd.Env = append(cmd.Env, "HOME="+home)
	if agentSock != "" {
		cmd.Env = append(cmd.Env, "SSH_AUTH_SOCK="+agentSock)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		openssh = fmt.Errorf("%v: %s", err, strings.TrimSpace(string(out)))
	}
	pool, err := NewSSH(SSHOptions{Config: cfg, Home: home, User: "root", AgentSock: agentSock, DialTimeout: 10 * time.Second})
	if err != nil {
		return err, openssh
	}
	defer pool.Close()
	return pool.Connect(ctx, Target{Address: alias}), openssh
}

func agree(t *testing.T, name string, want bool, cutover, openssh error) {
	t.Helper()
	if (openssh == nil) != want {
		t.Errorf("%s: the case is wrong: OpenSSH login ok=%v, expected %v (%v)", name, openssh == nil, want, openssh)
	}
	if (cutover == nil) != (openssh == nil) {
		t.Errorf("%s: cutover login ok=%v (%v) but OpenSSH ok=%v (%v)", name, cutover == nil, cutover, openssh == nil, openssh)
	}
}

func pubOf(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b))
	return f[0] + " " + f[1]
}

func TestHostCertificatesAsOpenSSHTrustsThem(t *testing.T) {
	sshtest.Require(t)
	dir := t.TempDir()
	hostCA, _ := sshtest.Keygen(t, dir, "host_ca")
	otherCA, _ := sshtest.Keygen(t, dir, "other_ca")
	key, pub := sshtest.Keygen(t, dir, "id_ed25519")
	caPub, otherPub := pubOf(t, hostCA+".pub"), pubOf(t, otherCA+".pub")
	cases := []struct {
		name                 string
		principals, validity string
		alias                string // HostKeyAlias
		knownHosts           func(port int, hostPub string) string
		hashed               bool
		want                 bool
	}{
		{name: "CA for every host", want: true,
			knownHosts: func(int, string) string { return "@cert-authority * " + caPub }},
		{name: "CA for this host and port", want: true,
			knownHosts: func(p int, _ string) string { return fmt.Sprintf("@cert-authority [127.0.0.1]:%d %s", p, caPub) }},
		{name: "CA for other hosts only",
			knownHosts: func(int, string) string { return "@cert-authority *.example " + caPub }},
		{name: "another CA",
			knownHosts: func(int, string) string { return "@cert-authority * " + otherPub }},
		{name: "CA revoked",
			knownHosts: func(int, string) string { return "@cert-authority * " + caPub + "\n@revoked * " + caPub }},
		{name: "host key revoked",
			knownHosts: func(_ int, h string) string { return "@cert-authority * " + caPub + "\n@revoked * " + h }},
		{name: "certificate expired", validity: "-2h:-1h",
			knownHosts: func(int, string) string { return "@cert-authority * " + caPub }},
		{name: "certificate not yet valid", validity: "+1h:+2h",
			knownHosts: func(int, string) string { return "@cert-authority * " + caPub }},
		{name: "certificate for another name", principals: "other.example",
			knownHosts: func(int, string) string { return "@cert-authority * " + caPub }},
		{name: "certificate for the HostKeyAlias", principals: "app.example", alias: "app.example", want: true,
			knownHosts: func(int, string) string { return "@cert-authority app.example " + caPub }},
		{name: "plain key known, CA not", want: true,
			knownHosts: func(p int, h string) string { return fmt.Sprintf("[127.0.0.1]:%d %s", p, h) }},
		{name: "hashed plain entry", want: true, hashed: true,
			knownHosts: func(p int, h string) string { return fmt.Sprintf("[127.0.0.1]:%d %s", p, h) }},
		{name: "plain key revoked though known",
			knownHosts: func(p int, h string) string { return fmt.Sprintf("[127.0.0.1]:%d %s\n@revoked * %s", p, h, h) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := sshtest.Start(t, sshtest.Options{AuthorizedKeys: pub + "\n", HostCA: hostCA, HostCertPrincipals: c.principals, HostCertValidity: c.validity})
			home := t.TempDir()
			kh := filepath.Join(home, "known_hosts")
			write(t, kh, c.knownHosts(srv.Port, srv.HostKey)+"\n")
			if c.hashed {
				if out, err := exec.Command("ssh-keygen", "-H", "-f", kh).CombinedOutput(); err != nil {
					t.Fatalf("ssh-keygen -H: %v %s", err, out)
				}
				if b, _ := os.ReadFile(kh); !strings.HasPrefix(string(b), "|1|") {
					t.Fatalf("not hashed: %s", b)
				}
			}
			alias := ""
			if c.alias != "" {
				alias = "  HostKeyAlias " + c.alias + "\n"
			}
			cfg := filepath.Join(home, "config")
			write(t, cfg, fmt.Sprintf("Host app\n  HostName 127.0.0.1\n  Port %d\n  User root\n  IdentityFile %s\n  UserKnownHostsFile %s\n  GlobalKnownHostsFile /dev/null\n  StrictHostKeyChecking yes\n  BatchMode yes\n%s",
				srv.Port, key, kh, alias))
			got, want := bothConnect(t, cfg, home, "", "app")
			agree(t, c.name, c.want, got, want)
		})
	}
}

func TestUserCertificatesAsOpenSSHPresentsThem(t *testing.T) {
	sshtest.Require(t)
	dir := t.TempDir()
	userCA, _ := sshtest.Keygen(t, dir, "user_ca")
	cases := []struct {
		name  string
		setup func(t *testing.T, home string) (config, agentSock string)
		want  bool
	}{
		{name: "CertificateFile beside IdentityFile", want: true, setup: func(t *testing.T, home string) (string, string) {
			key, _ := sshtest.Keygen(t, home, "id_ops")
			cert := sshtest.SignCert(t, userCA, key+".pub", "ops", false, "root", "+1h")
			moved := filepath.Join(home, "certs-elsewhere.pub")
			os.Rename(cert, moved)
			return "  IdentityFile " + key + "\n  CertificateFile " + moved + "\n", ""
		}},
		{name: "KEY-cert.pub next to the key", want: true, setup: func(t *testing.T, home string) (string, string) {
			key, _ := sshtest.Keygen(t, home, "id_ops")
			sshtest.SignCert(t, userCA, key+".pub", "ops", false, "root", "+1h")
			return "  IdentityFile " + key + "\n", ""
		}},
		{name: "certificate held by ssh-agent", want: true, setup: func(t *testing.T, home string) (string, string) {
			key, _ := sshtest.Keygen(t, home, "id_ops")
			sshtest.SignCert(t, userCA, key+".pub", "ops", false, "root", "+1h")
			sock := sshtest.OpenSSHAgent(t, key)
			os.Remove(key)
			os.Remove(key + ".pub")
			os.Remove(key + "-cert.pub")
			return "  IdentityFile " + filepath.Join(home, "nothing-here") + "\n", sock
		}},
		{name: "certificate for another user", setup: func(t *testing.T, home string) (string, string) {
			key, _ := sshtest.Keygen(t, home, "id_ops")
			sshtest.SignCert(t, userCA, key+".pub", "ops", false, "deploy", "+1h")
			return "  IdentityFile " + key + "\n", ""
		}},
		{name: "certificate expired", setup: func(t *testing.T, home string) (string, string) {
			key, _ := sshtest.Keygen(t, home, "id_ops")
			sshtest.SignCert(t, userCA, key+".pub", "ops", false, "root", "-2h:-1h")
			return "  IdentityFile " + key + "\n", ""
		}},
		{name: "certificate by another CA", setup: func(t *testing.T, home string) (string, string) {
			other, _ := sshtest.Keygen(t, home, "other_ca")
			key, _ := sshtest.Keygen(t, home, "id_ops")
			sshtest.SignCert(t, other, key+".pub", "ops", false, "root", "+1h")
			return "  IdentityFile " + key + "\n", ""
		}},
		{name: "key without certificate", setup: func(t *testing.T, home string) (string, string) {
			key, _ := sshtest.Keygen(t, home, "id_ops")
			return "  IdentityFile " + key + "\n", ""
		}},
	}
	srv := sshtest.Start(t, sshtest.Options{Extra: []string{"TrustedUserCAKeys " + userCA + ".pub"}})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			home := t.TempDir()
			kh := filepath.Join(home, "known_hosts")
			write(t, kh, srv.KnownHostsLine()+"\n")
			extra, sock := c.setup(t, home)
			cfg := filepath.Join(home, "config")
			write(t, cfg, fmt.Sprintf("Host app\n  HostName 127.0.0.1\n  Port %d\n  User root\n  UserKnownHostsFile %s\n  GlobalKnownHostsFile /dev/null\n  BatchMode yes\n%s", srv.Port, kh, extra))
			got, want := bothConnect(t, cfg, home, sock, "app")
			agree(t, c.name, c.want, got, want)
		})
	}
}

// Many agent keys use up the server's MaxAuthTries before the right key file is offered;
// IdentitiesOnly offers only the configured identity, as ssh does. IdentityAgent names the agent.
func TestIdentitiesOnlyAndIdentityAgentAsOpenSSH(t *testing.T) {
	sshtest.Require(t)
	dir := t.TempDir()
	key, pub := sshtest.Keygen(t, dir, "id_right")
	var wrong []string
	for i := 0; i < 5; i++ {
		k, _ := sshtest.Keygen(t, dir, fmt.Sprintf("id_wrong%d", i))
		wrong = append(wrong, k)
	}
	agentSock := sshtest.OpenSSHAgent(t, wrong...)
	rightAgent := sshtest.OpenSSHAgent(t, key)
	srv := sshtest.Start(t, sshtest.Options{AuthorizedKeys: pub + "\n", Extra: []string{"MaxAuthTries 3"}})
	kh := filepath.Join(dir, "known_hosts")
	write(t, kh, srv.KnownHostsLine()+"\n")
	base := fmt.Sprintf("  HostName 127.0.0.1\n  Port %d\n  User root\n  UserKnownHostsFile %s\n  GlobalKnownHostsFile /dev/null\n  BatchMode yes\n", srv.Port, kh)
	cases := []struct {
		name, hostLines, agent string
		want                   bool
	}{
		{"agent keys first use up MaxAuthTries", "  IdentityFile " + key + "\n", agentSock, false},
		{"IdentitiesOnly offers the file only", "  IdentityFile " + key + "\n  IdentitiesOnly yes\n", agentSock, true},
		{"IdentityAgent names the agent that holds the key", "  IdentityFile /nonexistent\n  IdentityAgent " + rightAgent + "\n", "", true},
		{"IdentityAgent none ignores SSH_AUTH_SOCK", "  IdentityFile /nonexistent\n  IdentityAgent none\n", rightAgent, false},
		{"IdentitiesOnly with the key in the agent and only .pub on disk", "  IdentityFile " + filepath.Join(dir, "pubonly") + "\n  IdentitiesOnly yes\n", rightAgent, true},
	}
	write(t, filepath.Join(dir, "pubonly.pub"), pub+"\n")
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := filepath.Join(t.TempDir(), "config")
			write(t, cfg, "Host app\n"+base+c.hostLines)
			got, want := bothConnect(t, cfg, dir, c.agent, "app")
			agree(t, c.name, c.want, got, want)
		})
	}
}

// ProxyCommand runs as ssh runs it; here it is OpenSSH itself (ssh -W) through the same server.
func TestProxyCommandAsOpenSSH(t *testing.T) {
	sshtest.Require(t)
	dir := t.TempDir()
	key, pub := sshtest.Keygen(t, dir, "id_ed25519")
	srv := sshtest.Start(t, sshtest.Options{AuthorizedKeys: pub + "\n"})
	kh := filepath.Join(dir, "known_hosts")
	write(t, kh, srv.KnownHostsLine()+"\n")
	cfg := filepath.Join(dir, "config")
	common := fmt.Sprintf("  HostName 127.0.0.1\n  Port %d\n  User root\n  IdentityFile %s\n  UserKnownHostsFile %s\n  GlobalKnownHostsFile /dev/null\n  BatchMode yes\n", srv.Port, key, kh)
	write(t, cfg, "Host jump\n"+common+
		"Host app\n  ProxyCommand ssh -F "+cfg+" -W %h:%p jump\n"+common+
		"Host broken\n  ProxyCommand sh -c 'echo proxy refuses >&2; exit 1'\n"+common+
		// A jump host reached through its own jump host (ssh -J j2 runs "ssh j2", which reads j2's
		// ProxyJump), and one reached through a ProxyCommand.
		"Host j2\n  ProxyJump j1\n"+common+"Host j1\n  ProxyCommand sh -c 'touch "+filepath.Join(dir, "via-j1")+"; exec ssh -F "+cfg+" -W %h:%p jump'\n"+common+
		"Host chained\n  ProxyJump j2\n"+common+
		"Host viacmd\n  ProxyJump app\n"+common)
	got, want := bothConnect(t, cfg, dir, "", "app")
	agree(t, "ProxyCommand ssh -W", true, got, want)
	// Each client must pass through j1's ProxyCommand (it leaves a mark) to reach "chained".
	mark := filepath.Join(dir, "via-j1")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "ssh", "-F", cfg, "chained", "true").CombinedOutput(); err != nil {
		t.Fatalf("ssh chained: %v %s", err, out)
	}
	if _, err := os.Stat(mark); err != nil {
		t.Fatal("OpenSSH did not go through j1: the case is wrong")
	}
	os.Remove(mark)
	chained, err := NewSSH(SSHOptions{Config: cfg, Home: dir, User: "root", DialTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer chained.Close()
	if err := chained.Connect(ctx, Target{Address: "chained"}); err != nil {
		t.Fatalf("cutover chained: %v", err)
	}
	if _, err := os.Stat(mark); err != nil {
		t.Error("cutover reached the first jump host directly, not through its own ProxyJump and ProxyCommand")
	}
	got, want = bothConnect(t, cfg, dir, "", "viacmd")
	agree(t, "a jump host behind a ProxyCommand", true, got, want)
	got, want = bothConnect(t, cfg, dir, "", "broken")
	agree(t, "a failing ProxyCommand", false, got, want)
	if got == nil || !strings.Contains(got.Error(), "proxy refuses") {
		t.Errorf("the proxy's own words are lost: %v", got)
	}
	// A host name from a runbook never reaches the shell as code through %h.
	pool, err := NewSSH(SSHOptions{Config: cfg, Home: dir, User: "root", DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	marker := filepath.Join(dir, "pwned")
	for _, host := range []string{"x;touch " + marker, "$(touch " + marker + ")", "`touch " + marker + "`", "-oProxyCommand=touch " + marker, "a b", "x\ny"} {
		err := pool.Connect(context.Background(), Target{Address: host})
		if err == nil || !strings.Contains(err.Error(), "cannot have") {
			t.Errorf("host %q: %v", host, err)
		}
	}
	err = pool.Connect(context.Background(), Target{Address: "app", User: "root;touch " + marker})
	if err == nil || !strings.Contains(err.Error(), "cannot have") {
		t.Errorf("user with shell syntax: %v", err)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("a host name ran as code")
	}
}

// A Match exec runs when a host is first resolved, not once per command.
func TestMatchExecRunsOncePerHost(t *testing.T) {
	f := newFixture(t)
	counter := filepath.Join(f.dir, "counter")
	cfg, _ := os.ReadFile(f.config)
	write(t, f.config, "Match exec \"echo x >> "+counter+"\"\n  User root\n"+string(cfg))
	s := f.pool(t)
	r := s.Runner("app", Target{Address: "app"})
	for i := 0; i < 5; i++ {
		if _, _, err := collect(t, r, Command{Argv: []string{"true"}}); err != nil {
			t.Fatal(err)
		}
	}
	if b, _ := os.ReadFile(counter); strings.Count(string(b), "x") != 1 {
		t.Errorf("Match exec ran %d times for 5 commands on one host", strings.Count(string(b), "x"))
	}
}

// An old PEM-encrypted key names no public key: it is reported, with an agent beside it and
// IdentitiesOnly, not dereferenced.
func TestPEMEncryptedKeyBesideAnAgent(t *testing.T) {
	f := newFixture(t)
	locked := filepath.Join(f.dir, "pem_locked")
	if out, err := exec.Command("ssh-keygen", "-q", "-m", "PEM", "-t", "rsa", "-b", "2048", "-N", "secret-pass", "-f", locked).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	os.Remove(locked + ".pub")
	other, _ := sshtest.Keygen(t, f.dir, "id_other")
	sock := sshtest.OpenSSHAgent(t, other)
	write(t, f.config, fmt.Sprintf("Host app\n  HostName 127.0.0.1\n  Port %d\n  User root\n  IdentityFile %s\n  IdentitiesOnly yes\n", f.srv.Port, locked))
	err := f.pool(t, func(o *SSHOptions) { o.AgentSock = sock }).Connect(context.Background(), Target{Address: "app"})
	if err == nil || !strings.Contains(err.Error(), "passphrase-protected") {
		t.Errorf("err = %v", err)
	}
}
