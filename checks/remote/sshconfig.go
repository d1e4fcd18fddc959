package remote

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Target is a host as a runbook names it: an address that may be an ssh_config alias, and optional
// overrides of the user and port the config gives.
type Target struct {
	Address string
	User    string
	Port    int
}

// hostSpec is a target resolved through ssh_config: where to connect, as whom, with which keys,
// through which jump hosts or proxy command, checked against which known_hosts files.
type hostSpec struct {
	alias          string // %n: as the runbook names it
	hostName       string
	port           int
	user           string
	identity       []string // expanded paths, in the order ssh tries them
	identityGiven  bool     // IdentityFile was configured (else identity holds ssh's defaults)
	identitiesOnly bool
	certificates   []string
	agent          string // IdentityAgent expanded: "" the environment's SSH_AUTH_SOCK, "none" no agent
	proxyJump      []string
	proxyCommand   string // unexpanded, as configured; "" none
	hostKeyAlias   string
	userKnown      []string // UserKnownHostsFile, expanded
	globalKnown    []string // GlobalKnownHostsFile
	conf           *sshOpts // as configured, unexpanded: for saying what ssh -G would say
}

// addr is host:port for dialing.
func (h hostSpec) addr() string { return net.JoinHostPort(h.hostName, strconv.Itoa(h.port)) }

func (h hostSpec) String() string { return h.user + "@" + h.addr() }

// sshConfig answers ssh_config questions as OpenSSH 9.2 does: the user's file then the system's
// (or only the file named, as ssh -F), first value obtained wins, Host and Match blocks, Include,
// a final pass when a Match final asks for one, and %-tokens and ${ENV} where ssh expands them.
type sshConfig struct {
	files     []*cfgFile
	home      string
	localUser string // %u
	uid       string // %i
	thisHost  string // %l; %L is its first label
	lookupEnv func(string) (string, bool)
}

// loadSSHConfig reads path as ssh -F reads it, or, with path empty, ~/.ssh/config and then
// system (normally /etc/ssh/ssh_config). A missing file is an empty config, like ssh.
func loadSSHConfig(path, system, home string) (*sshConfig, error) {
	c := &sshConfig{home: home, localUser: localUserName(), uid: strconv.Itoa(os.Getuid()), lookupEnv: os.LookupEnv}
	c.thisHost, _ = os.Hostname()
	sysDir := "/etc/ssh"
	if system != "" {
		sysDir = filepath.Dir(system)
	}
	r := cfgReader{home: home, sysDir: sysDir, uid: os.Getuid(), files: new(int)}
	add := func(p string, user, checkPerm bool) error {
		f, err := r.read(p, user, checkPerm, 0)
		if f != nil {
			c.files = append(c.files, f)
		}
		return err
	}
	if path != "" {
		if strings.EqualFold(path, "none") {
			return c, nil
		}
		return c, add(path, true, false)
	}
	if err := add(filepath.Join(home, ".ssh", "config"), true, true); err != nil {
		return nil, err
	}
	if system != "" {
		if err := add(system, false, false); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// sshOpts gathers the values that matter here; "" is unset, and the first value obtained wins.
type sshOpts struct {
	hostName, user, port, proxyCommand, proxyJump, agent, hostKeyAlias string
	identitiesOnly, ignoreUnknown, canonicalize                        string
	identity, certs, userKnown, globalKnown                            []string
	wantFinal                                                          bool
}

// pass is one reading of the config for one host.
type pass struct {
	ctx     context.Context
	hostArg string // as given (%n, Match originalhost)
	host    string // what Host lines match: the alias, or in the final pass the resolved name
	final   bool
	o       *sshOpts
}

// resolve applies ssh_config to a target; the target's user and port win over the config, like
// ssh's -l and -p.
func (c *sshConfig) resolve(t Target, defaultUser string) (hostSpec, error) {
	return c.resolveCtx(context.Background(), t, defaultUser)
}

func (c *sshConfig) resolveCtx(ctx context.Context, t Target, defaultUser string) (hostSpec, error) {
	alias := t.Address
	if err := validHostName(alias); err != nil {
		return hostSpec{}, err
	}
	o := &sshOpts{user: t.User}
	if t.User != "" {
		if err := validUser(t.User); err != nil {
			return hostSpec{}, err
		}
	}
	if t.Port != 0 {
		o.port = strconv.Itoa(t.Port)
	}
	p := &pass{ctx: ctx, hostArg: alias, host: alias, o: o}
	if err := c.read(p, defaultUser); err != nil {
		return hostSpec{}, err
	}
	host := alias
	if o.hostName != "" {
		h, err := expandTokens(o.hostName, map[byte]string{'h': alias})
		if err != nil {
			return hostSpec{}, fmt.Errorf("ssh config: HostName %q: %w", o.hostName, err)
		}
		host = h
	}
	if net.ParseIP(host) == nil {
		host = strings.ToLower(host)
	}
	if o.wantFinal || (o.canonicalize != "" && !strings.EqualFold(o.canonicalize, "no")) {
		o.hostName = host
		if err := c.read(&pass{ctx: ctx, hostArg: alias, host: host, final: true, o: o}, defaultUser); err != nil {
			return hostSpec{}, err
		}
	}
	h := hostSpec{alias: alias, hostName: host, port: 22, user: defaultUser, hostKeyAlias: strings.ToLower(o.hostKeyAlias), conf: o,
		identitiesOnly: strings.EqualFold(o.identitiesOnly, "yes") || strings.EqualFold(o.identitiesOnly, "true")}
	if o.port != "" {
		h.port, _ = strconv.Atoi(o.port) // checked where it was read
	}
	if o.user != "" {
		h.user = o.user
	}
	if o.proxyJump != "" && !strings.EqualFold(o.proxyJump, "none") {
		h.proxyJump = splitJumps(o.proxyJump)
	} else if o.proxyCommand != "" && !strings.EqualFold(o.proxyCommand, "none") {
		h.proxyCommand = o.proxyCommand
	}
	tok := c.tokens(h)
	ids := o.identity
	h.identityGiven = len(ids) > 0
	if !h.identityGiven {
		ids = defaultIdentities
	}
	var err error
	expand := func(what string, in []string) []string {
		var out []string
		for _, v := range in {
			x, e := c.expandPath(v, tok)
			if e != nil && err == nil {
				err = fmt.Errorf("ssh config: %s %q: %w", what, v, e)
			}
			out = append(out, x)
		}
		return out
	}
	h.identity = expand("IdentityFile", ids)
	h.certificates = expand("CertificateFile", o.certs)
	if len(o.userKnown) == 0 {
		o.userKnown = []string{"~/.ssh/known_hosts", "~/.ssh/known_hosts2"}
	}
	if !strings.EqualFold(o.userKnown[0], "none") {
		h.userKnown = expand("UserKnownHostsFile", o.userKnown)
	}
	if len(o.globalKnown) == 0 {
		o.globalKnown = []string{"/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2"}
	}
	if !strings.EqualFold(o.globalKnown[0], "none") {
		h.globalKnown = o.globalKnown // ssh expands no token here
	}
	if a := o.agent; a != "" && a != "SSH_AUTH_SOCK" && !strings.EqualFold(a, "none") {
		if env, ok := strings.CutPrefix(a, "$"); ok && !strings.HasPrefix(env, "{") {
			a = "${" + env + "}" // the legacy form $NAME
		}
		h.agent = expand("IdentityAgent", []string{a})[0]
	} else if strings.EqualFold(a, "none") {
		h.agent = "none"
	}
	return h, err
}

// defaultIdentities are the files ssh tries when no IdentityFile is configured, in its order.
var defaultIdentities = []string{"~/.ssh/id_rsa", "~/.ssh/id_ecdsa", "~/.ssh/id_ecdsa_sk", "~/.ssh/id_ed25519",
	"~/.ssh/id_ed25519_sk", "~/.ssh/id_xmss", "~/.ssh/id_dsa"}

// read runs one pass over every file.
func (c *sshConfig) read(p *pass, defaultUser string) error {
	for _, f := range c.files {
		active := true
		if err := c.apply(f, p, &active, false, defaultUser); err != nil {
			return err
		}
	}
	return nil
}

// apply reads one file's directives. never is set inside an Include read from an inactive block:
// its lines are checked but no block of it applies (OpenSSH's SSHCONF_NEVERMATCH).
func (c *sshConfig) apply(f *cfgFile, p *pass, active *bool, never bool, defaultUser string) error {
	for _, d := range f.dirs {
		if d.unknown {
			if p.o.ignoreUnknown == "" || matchPatternList(d.key, p.o.ignoreUnknown, true) != 1 {
				return fmt.Errorf("ssh config %s: bad configuration option %q (ssh refuses it too)", d.where(), d.key)
			}
			continue
		}
		switch d.key {
		case "host":
			*active = !never && matchHostLine(p.host, d.args)
		case "match":
			ok, err := c.match(d, p, defaultUser)
			if err != nil {
				return err
			}
			*active = !never && ok
		case "include":
			was := *active
			for _, inc := range d.incl {
				if err := c.apply(inc, p, active, never || !was, defaultUser); err != nil {
					return err
				}
				*active = was // a Match in an included file does not change the including file's state
			}
		default:
			if err := p.o.set(d, *active); err != nil {
				return err
			}
		}
	}
	return nil
}

// set records a directive's value if its block applies and the option has none yet; the syntax is
// checked either way, as ssh checks it.
func (o *sshOpts) set(d directive, active bool) error {
	first := func(dst *string, v string) {
		if active && *dst == "" {
			*dst = v
		}
	}
	arg := d.args[0]
	switch d.key {
	case "hostname":
		first(&o.hostName, arg)
	case "user":
		first(&o.user, arg)
	case "port":
		if n, err := strconv.Atoi(arg); err != nil || n <= 0 || n > 65535 {
			return fmt.Errorf("ssh config %s: bad port %q", d.where(), arg)
		}
		first(&o.port, arg)
	case "hostkeyalias":
		first(&o.hostKeyAlias, arg)
	case "identitiesonly":
		first(&o.identitiesOnly, strings.ToLower(arg))
	case "ignoreunknown":
		first(&o.ignoreUnknown, arg)
	case "canonicalizehostname":
		first(&o.canonicalize, arg)
	case "identityagent":
		first(&o.agent, arg)
	case "identityfile":
		if active && !contains(o.identity, arg) {
			o.identity = append(o.identity, arg)
		}
	case "certificatefile":
		if active && !contains(o.certs, arg) {
			o.certs = append(o.certs, arg)
		}
	case "userknownhostsfile", "globalknownhostsfile":
		dst := &o.userKnown
		if d.key == "globalknownhostsfile" {
			dst = &o.globalKnown
		}
		for _, a := range d.args {
			if strings.EqualFold(a, "none") && len(d.args) > 1 {
				return fmt.Errorf("ssh config %s: %s \"none\" must appear alone", d.where(), d.key)
			}
		}
		if active && len(*dst) == 0 {
			*dst = append([]string(nil), d.args...)
		}
	case "proxycommand":
		// ProxyJump, once set, wins over a later ProxyCommand (but "ProxyJump none" does not: OpenSSH
		// 9.2 says so); ssh takes the command's text whole.
		if o.proxyJump == "" || strings.EqualFold(o.proxyJump, "none") {
			first(&o.proxyCommand, d.raw)
		}
	case "proxyjump":
		v := strings.TrimSpace(strings.SplitN(d.raw, "#", 2)[0])
		for _, hop := range splitJumps(v) {
			if _, err := parseHop(hop); err != nil && !strings.EqualFold(v, "none") {
				return fmt.Errorf("ssh config %s: invalid ProxyJump %q: %w", d.where(), v, err)
			}
		}
		if active && o.proxyCommand == "" && o.proxyJump == "" {
			o.proxyJump = v
			if !strings.EqualFold(v, "none") {
				o.proxyCommand = "none"
			}
		}
	}
	return nil
}
