package remote

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// maxHops bounds ProxyJump chains that lead to each other, which ssh would follow forever.
const maxHops = 8

func (s *SSH) dial(ctx context.Context, c *sshConn, spec hostSpec) error {
	ctx, cancel := context.WithTimeout(ctx, s.opts.DialTimeout)
	defer cancel()
	cl, jumps, err := s.client(ctx, spec, 0)
	if err != nil {
		return err
	}
	c.client, c.jumps, c.dead = cl, jumps, make(chan struct{})
	go s.keepalive(c, cl, c.dead)
	return nil
}

// client reaches spec (directly, through its jump hosts or its ProxyCommand) and logs in. jumps
// are the jump hosts' connections, first to last, closed with the client.
func (s *SSH) client(ctx context.Context, spec hostSpec, depth int) (*ssh.Client, []*ssh.Client, error) {
	if depth > maxHops {
		return nil, nil, fmt.Errorf("more than %d jump hosts: do the ProxyJump settings lead to each other?", maxHops)
	}
	var jumps []*ssh.Client
	fail := func(err error) (*ssh.Client, []*ssh.Client, error) {
		for i := len(jumps) - 1; i >= 0; i-- {
			jumps[i].Close()
		}
		return nil, nil, err
	}
	dial := func() (net.Conn, error) { return (&net.Dialer{}).DialContext(ctx, "tcp", spec.addr()) }
	switch {
	case len(spec.proxyJump) > 0:
		// As ssh -J a,b: a is reached as ssh would reach it on its own (its own ProxyJump or
		// ProxyCommand apply), each later hop through the one before.
		var via *ssh.Client
		for i, hop := range spec.proxyJump {
			ht, err := parseHop(hop)
			if err != nil {
				return fail(err)
			}
			hs, err := s.cfg.resolveCtx(ctx, ht, s.opts.User)
			if err != nil {
				return fail(err)
			}
			if i == 0 {
				cl, inner, err := s.client(ctx, hs, depth+1)
				if err != nil {
					return fail(fmt.Errorf("jump host %s: %w", hs, err))
				}
				jumps = append(jumps, inner...)
				jumps = append(jumps, cl)
				via = cl
				continue
			}
			through := via
			cl, err := s.handshake(ctx, func() (net.Conn, error) { return through.DialContext(ctx, "tcp", hs.addr()) }, hs)
			if err != nil {
				return fail(fmt.Errorf("jump host %s: %w", hs, err))
			}
			jumps = append(jumps, cl)
			via = cl
		}
		dial = func() (net.Conn, error) { return via.DialContext(ctx, "tcp", spec.addr()) }
	case spec.proxyCommand != "":
		dial = func() (net.Conn, error) { return startProxyCommand(spec) }
	}
	cl, err := s.handshake(ctx, dial, spec)
	if err != nil {
		return fail(err)
	}
	return cl, jumps, nil
}

// handshake opens a connection with dial and runs the SSH handshake on it.
func (s *SSH) handshake(ctx context.Context, dial func() (net.Conn, error), spec hostSpec) (*ssh.Client, error) {
	start := time.Now()
	conn, err := dial()
	if err != nil {
		return nil, err
	}
	s.opts.Timings.add(phaseTCP, start)
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	keys, err := s.hostKeysFor(spec)
	if err != nil {
		conn.Close()
		return nil, err
	}
	signers, notes := s.signers(spec)
	kex, auth := time.Now(), time.Time{}
	checkKey := keys.callback(spec)
	cfg := &ssh.ClientConfig{
		User: spec.user,
		Auth: []ssh.AuthMethod{ssh.PublicKeysCallback(func() ([]ssh.Signer, error) { return signers, nil })},
		HostKeyCallback: func(host string, remote net.Addr, key ssh.PublicKey) error {
			// Called once the key exchange is done: the rest of the handshake is authentication.
			s.opts.Timings.add(phaseKex, kex)
			auth = time.Now()
			return checkKey(host, remote, key)
		},
		HostKeyAlgorithms: keys.algorithms(spec),
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
			return nil, s.otherKeyType(dial, keys, spec)
		}
		if pe := proxyError(conn); pe != "" {
			return nil, fmt.Errorf("%w (ProxyCommand said: %s)", err, pe)
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

// hostKeysFor reads the known_hosts files that apply to spec: the ones named for the run, else
// ssh_config's UserKnownHostsFile and GlobalKnownHostsFile for this host. Missing files are
// skipped, as ssh skips them.
func (s *SSH) hostKeysFor(spec hostSpec) (*hostKeys, error) {
	files := s.opts.KnownHosts
	if len(files) == 0 {
		files = append(append([]string(nil), spec.userKnown...), spec.globalKnown...)
	}
	var present []string
	for _, f := range files {
		if fileExists(f) {
			present = append(present, f)
		}
	}
	key := strings.Join(present, "\x00")
	s.mu.Lock()
	defer s.mu.Unlock()
	if k, ok := s.known[key]; ok {
		return k, nil
	}
	k, err := newHostKeys(present)
	if err != nil {
		return nil, err
	}
	s.known[key] = k
	return k, nil
}

// otherKeyType handles a host that offers no key of a type known_hosts holds for it: a second
// handshake takes whatever key it offers, only to name it, and is cut before authentication. The
// host is refused as an unknown host is, with its fingerprint.
func (s *SSH) otherKeyType(dial func() (net.Conn, error), keys *hostKeys, spec hostSpec) error {
	he := &HostKeyError{Host: lookupName(spec), KeyType: "unknown", Fingerprint: "(not offered)", Known: keys.known(spec), OtherType: true}
	conn, err := dial()
	if err != nil {
		return he
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(s.opts.DialTimeout))
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

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}
