package remote

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// ErrAuth is returned when the server refused every key offered.
var ErrAuth = errors.New("login refused")

// ErrConnLost is returned when the connection dropped while a command ran. The next command on
// that host dials again.
var ErrConnLost = errors.New("connection lost")

// SSHOptions configure the SSH transport. Zero values mean what ssh(1) would use.
type SSHOptions struct {
	Config       string        // the one ssh_config file to read, as ssh -F; default ~/.ssh/config, then SystemConfig
	SystemConfig string        // read after ~/.ssh/config when Config is empty; default /etc/ssh/ssh_config
	KnownHosts   []string      // known_hosts files for every host; default: as ssh_config says per host (UserKnownHostsFile, GlobalKnownHostsFile)
	AgentSock    string        // usually $SSH_AUTH_SOCK; empty: no agent unless IdentityAgent names one
	User         string        // login user when neither target nor config names one
	Home         string        // for ~ and default key paths; default $HOME
	DialTimeout  time.Duration // TCP connect plus handshake; default 10s
	MaxSessions  int           // sessions at once per connection; default 8 (sshd allows 10)
	Keepalive    time.Duration // probe idle connections this often; default 15s
	Timings      *Timings      // if set, adds up where the time goes
	NoGather     bool          // run every command in a session of its own, even gathered ones
}

// SSH is a pool of SSH connections, one per host, shared by every command of a run.
type SSH struct {
	opts SSHOptions
	cfg  *sshConfig

	mu     sync.Mutex
	conns  map[string]*sshConn
	specs  map[Target]hostSpec         // resolved once per target: a Match exec runs once, not per command
	known  map[string]*hostKeys        // by the list of files, read once
	agents map[string]*agentConn       // by socket path
	idents map[string]loadedIdentities // identity files read once per run, by their paths
	gather map[Target]*gatherer        // gathered commands waiting to start, by target
	held   time.Duration               // how long a batch waits for a gathering at most (gatherHeld)

	batching int           // batches running, some perhaps with no caller left waiting on them
	idle     chan struct{} // closed when batching falls to 0, for Close to wait on
}

// NewSSH prepares the transport; nothing is dialled until a command runs or Connect is called.
func NewSSH(o SSHOptions) (*SSH, error) {
	if o.Home == "" {
		o.Home, _ = os.UserHomeDir()
	}
	if o.SystemConfig == "" {
		o.SystemConfig = "/etc/ssh/ssh_config"
	}
	if strings.EqualFold(o.SystemConfig, "none") {
		o.SystemConfig = ""
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
	cfg, err := loadSSHConfig(o.Config, o.SystemConfig, o.Home)
	if err != nil {
		return nil, err
	}
	return &SSH{opts: o, cfg: cfg, conns: map[string]*sshConn{}, known: map[string]*hostKeys{}, specs: map[Target]hostSpec{}, agents: map[string]*agentConn{}, idents: map[string]loadedIdentities{}, held: gatherHeld}, nil
}

// Close closes every connection, once the batches still running have ended (a batch whose
// callers gave up ends its commands as a timed-out command's session does: closed under a
// running command, sshd's PAM session release fails at err level in the host's journal).
func (s *SSH) Close() {
	s.mu.Lock()
	if s.batching > 0 {
		if s.idle == nil {
			s.idle = make(chan struct{})
		}
		idle := s.idle
		s.mu.Unlock()
		select {
		case <-idle:
		case <-time.After(3 * killGrace):
		}
		s.mu.Lock()
	}
	defer s.mu.Unlock()
	for k, c := range s.conns {
		c.close()
		delete(s.conns, k)
	}
	for k, a := range s.agents {
		a.conn.Close()
		delete(s.agents, k)
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
	spec, err := s.resolve(ctx, t)
	if err != nil {
		return nil, err
	}
	key := spec.String() + " via " + strings.Join(spec.proxyJump, ",") + " " + spec.proxyCommand
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

// resolve applies ssh_config to t once per run.
func (s *SSH) resolve(ctx context.Context, t Target) (hostSpec, error) {
	s.mu.Lock()
	spec, ok := s.specs[t]
	s.mu.Unlock()
	if ok {
		return spec, nil
	}
	spec, err := s.cfg.resolveCtx(ctx, t, s.opts.User)
	if err != nil {
		return spec, err
	}
	s.mu.Lock()
	s.specs[t] = spec
	s.mu.Unlock()
	return spec, nil
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
