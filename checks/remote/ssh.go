package remote

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"
)

// ErrAuth is returned when the server refused every key offered.
var ErrAuth = errors.New("login refused")

// ErrConnLost is returned when the connection dropped while a command ran. The next command on
// that host dials again.
var ErrConnLost = errors.New("connection lost")

// SSHOptions configure the SSH transport. Zero values mean what ssh(1) would use.
type SSHOptions struct {
	Config      string        // ssh_config file; default ~/.ssh/config
	KnownHosts  []string      // default ~/.ssh/known_hosts
	AgentSock   string        // usually $SSH_AUTH_SOCK; empty: no agent
	User        string        // login user when neither target nor config names one
	Home        string        // for ~ and default key paths; default $HOME
	DialTimeout time.Duration // TCP connect plus handshake; default 10s
	MaxSessions int           // sessions at once per connection; default 8 (sshd allows 10)
	Keepalive   time.Duration // probe idle connections this often; default 15s
	Timings     *Timings      // if set, adds up where the time goes
}

// SSH is a pool of SSH connections, one per host, shared by every command of a run.
type SSH struct {
	opts  SSHOptions
	cfg   *sshConfig
	keys  *hostKeys
	agent agent.ExtendedAgent

	mu    sync.Mutex
	conns map[string]*sshConn
}

// NewSSH prepares the transport; nothing is dialled until a command runs or Connect is called.
func NewSSH(o SSHOptions) (*SSH, error) {
	if o.Home == "" {
		o.Home, _ = os.UserHomeDir()
	}
	if o.Config == "" {
		o.Config = filepath.Join(o.Home, ".ssh", "config")
	}
	if len(o.KnownHosts) == 0 {
		o.KnownHosts = []string{filepath.Join(o.Home, ".ssh", "known_hosts")}
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = 10 * time.Second
	}
	if o.MaxSessions <= 0 {
		o.MaxSessions = 8
	}
	if o.Keepalive <= 0 {
		o.Keepalive = 15 * time.Second
	}
	cfg, err := loadSSHConfig(o.Config, o.Home)
	if err != nil {
		return nil, err
	}
	var known []string
	for _, f := range o.KnownHosts {
		if _, err := os.Stat(f); err == nil {
			known = append(known, f)
		}
	}
	keys, err := newHostKeys(known)
	if err != nil {
		return nil, err
	}
	s := &SSH{opts: o, cfg: cfg, keys: keys, conns: map[string]*sshConn{}}
	if o.AgentSock != "" {
		if c, err := net.Dial("unix", o.AgentSock); err == nil {
			s.agent = agent.NewClient(c)
		}
	}
	return s, nil
}

// Close closes every connection.
func (s *SSH) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, c := range s.conns {
		c.close()
		delete(s.conns, k)
	}
}

// Runner returns the runner for one target. Runners of the same target share its connection.
func (s *SSH) Runner(name string, t Target) Runner { return &sshRunner{s: s, name: name, target: t} }

// Connect dials t now, so that host key and login problems show before the first step.
func (s *SSH) Connect(ctx context.Context, t Target) error {
	_, err := s.conn(ctx, t)
	return err
}

// sshConn is one host's connection, with the jump hosts it goes through.
type sshConn struct {
	key    string
	mu     sync.Mutex // held while dialling, so concurrent commands share one dial
	client *ssh.Client
	jumps  []*ssh.Client
	sem    chan struct{}
	dead   chan struct{}
}

func (c *sshConn) close() {
	if c.client != nil {
		c.client.Close()
	}
	for i := len(c.jumps) - 1; i >= 0; i-- {
		c.jumps[i].Close()
	}
}

func (s *SSH) conn(ctx context.Context, t Target) (*sshConn, error) {
	spec, err := s.cfg.resolve(t, s.opts.User)
	if err != nil {
		return nil, err
	}
	key := spec.String() + " via " + strings.Join(spec.proxyJump, ",")
	s.mu.Lock()
	c, ok := s.conns[key]
	if !ok {
		c = &sshConn{key: key, sem: make(chan struct{}, s.opts.MaxSessions)}
		s.conns[key] = c
	}
	s.mu.Unlock()

	c.mu.Lock()
	defer c.mu.Unlock()
	if c.client != nil {
		return c, nil
	}
	if err := s.dial(ctx, c, spec); err != nil {
		return nil, fmt.Errorf("ssh %s: %w", spec, err)
	}
	return c, nil
}

// drop forgets a broken connection so the next command redials. cl is the client found broken:
// if another command has redialled meanwhile, the new connection stays.
func (s *SSH) drop(c *sshConn, cl *ssh.Client) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.client != cl {
		return
	}
	c.close()
	c.client, c.jumps = nil, nil
}

func (s *SSH) dial(ctx context.Context, c *sshConn, spec hostSpec) error {
	ctx, cancel := context.WithTimeout(ctx, s.opts.DialTimeout)
	defer cancel()
	var jumps []*ssh.Client
	var via *ssh.Client
	fail := func(err error) error {
		for i := len(jumps) - 1; i >= 0; i-- {
			jumps[i].Close()
		}
		return err
	}
	for _, hop := range spec.proxyJump {
		ht, err := parseHop(hop)
		if err != nil {
			return fail(err)
		}
		hs, err := s.cfg.resolve(ht, s.opts.User)
		if err != nil {
			return fail(err)
		}
		hs.proxyJump = nil // a hop's own ProxyJump would loop; OpenSSH ignores it here too
		cl, err := s.handshake(ctx, via, hs)
		if err != nil {
			return fail(fmt.Errorf("jump host %s: %w", hs, err))
		}
		jumps = append(jumps, cl)
		via = cl
	}
	cl, err := s.handshake(ctx, via, spec)
	if err != nil {
		return fail(err)
	}
	c.client, c.jumps, c.dead = cl, jumps, make(chan struct{})
	go s.keepalive(c, cl, c.dead)
	return nil
}

// handshake opens a TCP connection (directly, or through via) and runs the SSH handshake on it.
func (s *SSH) handshake(ctx context.Context, via *ssh.Client, spec hostSpec) (*ssh.Client, error) {
	var conn net.Conn
	var err error
	start := time.Now()
	if via == nil {
		conn, err = (&net.Dialer{}).DialContext(ctx, "tcp", spec.addr())
	} else {
		conn, err = via.DialContext(ctx, "tcp", spec.addr())
	}
	if err != nil {
		return nil, err
	}
	s.opts.Timings.add(phaseTCP, start)
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	signers, notes := s.signers(spec)
	kex, auth := time.Now(), time.Time{}
	checkKey := s.keys.callback()
	cfg := &ssh.ClientConfig{
		User: spec.user,
		Auth: []ssh.AuthMethod{ssh.PublicKeysCallback(func() ([]ssh.Signer, error) { return signers, nil })},
		HostKeyCallback: func(host string, remote net.Addr, key ssh.PublicKey) error {
			// Called once the key exchange is done: the rest of the handshake is authentication.
			s.opts.Timings.add(phaseKex, kex)
			auth = time.Now()
			return checkKey(host, remote, key)
		},
		HostKeyAlgorithms: s.keys.algorithms(spec.addr()),
		Timeout:           s.opts.DialTimeout,
	}
	cc, chans, reqs, err := ssh.NewClientConn(conn, spec.addr(), cfg)
	if err != nil {
		conn.Close()
		var he *HostKeyError
		if errors.As(err, &he) {
			return nil, he
		}
		if strings.Contains(err.Error(), "unable to authenticate") {
			return nil, fmt.Errorf("%w as %s: tried %d key(s)%s", ErrAuth, spec.user, len(signers), notes)
		}
		if len(cfg.HostKeyAlgorithms) > 0 && strings.Contains(err.Error(), "no common algorithm for host key") {
			return nil, s.otherKeyType(ctx, via, spec)
		}
		return nil, err
	}
	s.opts.Timings.add(phaseAuth, auth)
	cl := ssh.NewClient(cc, chans, reqs)
	// One round trip before the connection is used or closed: sshd sends its post-login debug
	// messages first, and a connection closed under them (an aborted start) makes it log
	// "fatal: ssh_packet_send_debug: Broken pipe" in the very journal the checks read.
	if _, _, err := cl.SendRequest("keepalive@openssh.com", true, nil); err != nil {
		cl.Close()
		return nil, fmt.Errorf("after login: %w", err)
	}
	conn.SetDeadline(time.Time{})
	return cl, nil
}

// otherKeyType handles a host that offers no key of a type known_hosts holds for it: a second
// handshake takes whatever key it offers, only to name it, and is cut before authentication. The
// host is refused as an unknown host is, with its fingerprint.
func (s *SSH) otherKeyType(ctx context.Context, via *ssh.Client, spec hostSpec) error {
	he := &HostKeyError{Host: knownhosts.Normalize(spec.addr()), KeyType: "unknown", Fingerprint: "(not offered)", Known: s.keys.known(spec.addr()), OtherType: true}
	var conn net.Conn
	var err error
	if via == nil {
		conn, err = (&net.Dialer{}).DialContext(ctx, "tcp", spec.addr())
	} else {
		conn, err = via.DialContext(ctx, "tcp", spec.addr())
	}
	if err != nil {
		return he
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	errNamed := errors.New("host key named")
	_, _, _, _ = ssh.NewClientConn(conn, spec.addr(), &ssh.ClientConfig{
		User: spec.user,
		HostKeyCallback: func(_ string, _ net.Addr, key ssh.PublicKey) error {
			he.KeyType, he.Fingerprint = key.Type(), ssh.FingerprintSHA256(key)
			return errNamed // never trusted: the connection ends here
		},
		Timeout: s.opts.DialTimeout,
	})
	return he
}

// signers gathers the keys to offer: the agent's, then the identity files (or ssh's default ones).
// notes explains keys that could not be used, such as passphrase-protected files.
func (s *SSH) signers(spec hostSpec) ([]ssh.Signer, string) {
	var out []ssh.Signer
	var notes []string
	if s.agent != nil {
		if ks, err := s.agent.Signers(); err == nil {
			out = append(out, ks...)
		} else {
			notes = append(notes, "ssh-agent: "+err.Error())
		}
	}
	files := spec.identity
	if len(files) == 0 {
		for _, n := range []string{"id_ed25519", "id_ecdsa", "id_rsa"} {
			files = append(files, filepath.Join(s.opts.Home, ".ssh", n))
		}
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		k, err := ssh.ParsePrivateKey(data)
		var pm *ssh.PassphraseMissingError
		switch {
		case errors.As(err, &pm):
			notes = append(notes, fmt.Sprintf("%s is passphrase-protected: load it into ssh-agent (ssh-add %s)", f, f))
		case err != nil:
			notes = append(notes, fmt.Sprintf("%s: %v", f, err))
		default:
			out = append(out, k)
		}
	}
	if s.agent == nil {
		notes = append(notes, "no ssh-agent (SSH_AUTH_SOCK unset)")
	}
	if len(notes) == 0 {
		return out, ""
	}
	return out, "; " + strings.Join(notes, "; ")
}

// keepalive probes the connection; a dead peer closes it, which fails running commands promptly.
func (s *SSH) keepalive(c *sshConn, cl *ssh.Client, dead chan struct{}) {
	t := time.NewTicker(s.opts.Keepalive)
	defer t.Stop()
	done := make(chan struct{})
	go func() { cl.Wait(); close(done) }()
	for {
		select {
		case <-done:
			close(dead)
			return
		case <-t.C:
			reply := make(chan error, 1)
			go func() { _, _, err := cl.SendRequest("keepalive@openssh.com", true, nil); reply <- err }()
			select {
			case err := <-reply:
				if err == nil {
					continue
				}
			case <-time.After(s.opts.Keepalive):
			case <-done:
				continue
			}
			cl.Close()
		}
	}
}
