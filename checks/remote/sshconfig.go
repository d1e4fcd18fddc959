package remote

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/kevinburke/ssh_config"
)

// Target is a host as a runbook names it: an address that may be an ssh_config alias, and optional
// overrides of the user and port the config gives.
type Target struct {
	Address string
	User    string
	Port    int
}

// hostSpec is a target resolved through ssh_config: where to connect, as whom, with which keys,
// through which jump hosts.
type hostSpec struct {
	alias     string
	hostName  string
	port      int
	user      string
	identity  []string
	proxyJump []string // hops, first to last, each "[user@]host[:port]" or an alias
}

// addr is host:port for dialing and for known_hosts lookups.
func (h hostSpec) addr() string { return net.JoinHostPort(h.hostName, strconv.Itoa(h.port)) }

func (h hostSpec) String() string { return h.user + "@" + h.addr() }

// sshConfig answers ssh_config questions; a missing file is an empty config, like ssh.
type sshConfig struct {
	cfg       *ssh_config.Config
	home      string
	localUser string // %u: who runs cutover (%r is the remote user)
}

func loadSSHConfig(path, home string) (*sshConfig, error) {
	c := &sshConfig{home: home}
	if u, err := user.Current(); err == nil {
		c.localUser = u.Username
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) || path == "" {
		data = nil
	} else if err != nil {
		return nil, fmt.Errorf("ssh config: %w", err)
	}
	if c.cfg, err = ssh_config.Decode(bytes.NewReader(data)); err != nil {
		return nil, fmt.Errorf("ssh config %s: %w", path, err)
	}
	return c, nil
}

func (c *sshConfig) get(alias, key string) string {
	v, _ := c.cfg.Get(alias, key)
	return strings.TrimSpace(v)
}

// resolve applies ssh_config to a target; explicit target fields win over the config.
func (c *sshConfig) resolve(t Target, defaultUser string) (hostSpec, error) {
	alias := t.Address
	h := hostSpec{alias: alias, hostName: alias, port: 22, user: defaultUser}
	if v := c.get(alias, "HostName"); v != "" {
		h.hostName = strings.ReplaceAll(v, "%h", alias)
	}
	if v := c.get(alias, "Port"); v != "" {
		p, err := strconv.Atoi(v)
		if err != nil {
			return h, fmt.Errorf("ssh config: host %s: bad Port %q", alias, v)
		}
		h.port = p
	}
	if v := c.get(alias, "User"); v != "" {
		h.user = v
	}
	if t.User != "" {
		h.user = t.User
	}
	if t.Port != 0 {
		h.port = t.Port
	}
	ids, _ := c.cfg.GetAll(alias, "IdentityFile")
	for _, id := range ids {
		h.identity = append(h.identity, c.expand(id, h))
	}
	if v := c.get(alias, "ProxyJump"); v != "" && !strings.EqualFold(v, "none") {
		for _, hop := range strings.Split(v, ",") {
			h.proxyJump = append(h.proxyJump, strings.TrimSpace(hop))
		}
	}
	return h, nil
}

// expand resolves ~ and the common % tokens of IdentityFile as OpenSSH does: %d home, %u the local
// user, %r the remote user, %h the host name, %% a percent sign.
func (c *sshConfig) expand(p string, h hostSpec) string {
	p = strings.NewReplacer("%d", c.home, "%u", c.localUser, "%r", h.user, "%h", h.hostName, "%%", "%").Replace(p)
	if rest, ok := strings.CutPrefix(p, "~/"); ok {
		return filepath.Join(c.home, rest)
	}
	return p
}

// parseHop splits a ProxyJump hop "[user@]host[:port]" into a Target.
func parseHop(hop string) (Target, error) {
	var t Target
	if u, rest, ok := strings.Cut(hop, "@"); ok {
		t.User, hop = u, rest
	}
	host, port, err := net.SplitHostPort(hop)
	if err != nil {
		t.Address = strings.Trim(hop, "[]")
		return t, nil
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return t, fmt.Errorf("ProxyJump %q: bad port", hop)
	}
	t.Address, t.Port = host, p
	return t, nil
}
