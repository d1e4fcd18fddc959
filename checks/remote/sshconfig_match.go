package remote

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"strings"
	"syscall"
)

// match evaluates a Match line as OpenSSH 9.2's match_cfg_line.
func (c *sshConfig) match(d directive, p *pass, defaultUser string) (bool, error) {
	o := p.o
	host := p.hostArg
	switch {
	case p.final:
		host = o.hostName
	case o.hostName != "":
		if h, err := expandTokens(o.hostName, map[byte]string{'h': p.hostArg}); err == nil {
			host = h
		}
	}
	ruser := o.user
	if ruser == "" {
		ruser = defaultUser
	}
	result, attrs := true, 0
	args := d.args
	for i := 0; i < len(args); i++ {
		attr := strings.ToLower(args[i])
		negate := strings.HasPrefix(attr, "!")
		attr = strings.TrimPrefix(attr, "!")
		if attr == "all" {
			if attrs > 1 || i+1 < len(args) { // "Match final all" is fine, "Match host x all" is not
				return false, fmt.Errorf("ssh config %s: Match all cannot be combined with other criteria", d.where())
			}
			return result && !negate, nil
		}
		attrs++
		if attr == "canonical" || attr == "final" {
			if attr == "final" {
				o.wantFinal = true
			}
			if p.final == negate {
				result = false
			}
			continue
		}
		if i+1 >= len(args) {
			return false, fmt.Errorf("ssh config %s: Match %s needs an argument", d.where(), attr)
		}
		i++
		arg := args[i]
		var r bool
		switch attr {
		case "host":
			r = matchPatternList(strings.ToLower(host), arg, true) == 1
		case "originalhost":
			r = matchPatternList(strings.ToLower(p.hostArg), arg, true) == 1
		case "user":
			r = matchPatternList(ruser, arg, false) == 1
		case "localuser":
			r = matchPatternList(c.localUser, arg, false) == 1
		case "exec":
			if !result {
				continue // ssh skips a command once an earlier criterion failed
			}
			port := o.port
			if port == "" {
				port = "22"
			}
			n, _ := strconv.Atoi(port)
			tok := c.tokens(hostSpec{alias: p.hostArg, hostName: host, user: ruser, port: n, hostKeyAlias: o.hostKeyAlias})
			cmd, err := expandTokens(arg, tok)
			if err != nil {
				return false, fmt.Errorf("ssh config %s: Match exec %q: %w", d.where(), arg, err)
			}
			r = runMatchExec(p.ctx, cmd)
		default:
			return false, fmt.Errorf("ssh config %s: unsupported Match criterion %q (cutover reads all, canonical, final, exec, host, originalhost, user, localuser)", d.where(), attr)
		}
		if r == negate {
			result = false
		}
	}
	if attrs == 0 {
		return false, fmt.Errorf("ssh config %s: Match needs a criterion", d.where())
	}
	return result, nil
}

// runMatchExec runs a Match exec command as ssh does: through the user's shell, true on exit 0.
func runMatchExec(ctx context.Context, cmd string) bool {
	sh := os.Getenv("SHELL")
	if sh == "" {
		sh = "/bin/sh"
	}
	return exec.CommandContext(ctx, sh, "-c", cmd).Run() == nil
}

// matchPattern is OpenSSH's match_pattern: * any run, ? one character, nothing else special;
// case-sensitive; the whole string.
func matchPattern(s, pat string) bool {
	for len(pat) > 0 {
		switch pat[0] {
		case '*':
			for len(pat) > 0 && pat[0] == '*' {
				pat = pat[1:]
			}
			if pat == "" {
				return true
			}
			for i := 0; i <= len(s); i++ {
				if matchPattern(s[i:], pat) {
					return true
				}
			}
			return false
		case '?':
			if s == "" {
				return false
			}
		default:
			if s == "" || s[0] != pat[0] {
				return false
			}
		}
		s, pat = s[1:], pat[1:]
	}
	return s == ""
}

// matchPatternList is OpenSSH's match_pattern_list: comma-separated patterns, a negated one that
// matches wins (-1), else 1 if any pattern matches, else 0.
func matchPatternList(s, list string, lower bool) int {
	got := 0
	for _, pat := range strings.Split(list, ",") {
		neg := strings.HasPrefix(pat, "!")
		pat = strings.TrimPrefix(pat, "!")
		if lower {
			pat = strings.ToLower(pat)
		}
		if matchPattern(s, pat) {
			if neg {
				return -1
			}
			got = 1
		}
	}
	return got
}

// matchHostLine is a Host line: any pattern matches and no negated one does.
func matchHostLine(host string, pats []string) bool {
	ok := false
	for _, p := range pats {
		neg := strings.HasPrefix(p, "!")
		if matchPattern(host, strings.TrimPrefix(p, "!")) {
			if neg {
				return false
			}
			ok = true
		}
	}
	return ok
}

// validHostName refuses host names that no host has and a shell would read as code: ssh (9.6 on)
// refuses the same, since the name reaches ProxyCommand and Match exec through %h.
func validHostName(s string) error {
	if s == "" {
		return fmt.Errorf("ssh: empty host name")
	}
	bad := strings.HasPrefix(s, "-") || strings.ContainsAny(s, "'`\"$\\;&<>|(){},")
	for _, r := range s {
		if r <= ' ' || r == 0x7f {
			bad = true
		}
	}
	if bad {
		return fmt.Errorf("ssh: host name %q contains characters a host name cannot have", s)
	}
	return nil
}

// validUser is ssh's check of a user name given on the command line (here: by the runbook).
func validUser(s string) error {
	bad := strings.HasPrefix(s, "-") || strings.ContainsAny(s, "'`\";&<>|(){}") || strings.HasSuffix(s, "\\")
	for i, r := range s {
		if r < ' ' || r == 0x7f || ((r == ' ' || r == '\t') && i+1 < len(s) && s[i+1] == '-') {
			bad = true
		}
	}
	if bad {
		return fmt.Errorf("ssh: user name %q contains characters a user name cannot have", s)
	}
	return nil
}

// splitJumps splits a ProxyJump value into hops, first to last.
func splitJumps(v string) []string {
	var out []string
	for _, hop := range strings.Split(v, ",") {
		if hop = strings.TrimSpace(hop); hop != "" {
			out = append(out, hop)
		}
	}
	return out
}

// parseHop splits a ProxyJump hop, "[user@]host[:port]" or "ssh://[user@]host[:port]", into a Target.
func parseHop(hop string) (Target, error) {
	var t Target
	if strings.HasPrefix(hop, "ssh://") {
		u, err := url.Parse(hop)
		if err != nil || (u.Path != "" && u.Path != "/") || u.Hostname() == "" {
			return t, fmt.Errorf("ProxyJump %q: not an ssh:// address", hop)
		}
		t.Address, t.User = u.Hostname(), u.User.Username()
		if p := u.Port(); p != "" {
			t.Port, _ = strconv.Atoi(p)
		}
		return t, validHop(t, hop)
	}
	if i := strings.LastIndex(hop, "@"); i >= 0 {
		t.User, hop = hop[:i], hop[i+1:]
	}
	host, port, err := net.SplitHostPort(hop)
	if err != nil {
		t.Address = strings.Trim(hop, "[]")
		return t, validHop(t, hop)
	}
	p, err := strconv.Atoi(port)
	if err != nil || p <= 0 || p > 65535 {
		return t, fmt.Errorf("ProxyJump %q: bad port", hop)
	}
	t.Address, t.Port = host, p
	return t, validHop(t, hop)
}

func validHop(t Target, hop string) error {
	if err := validHostName(t.Address); err != nil {
		return fmt.Errorf("ProxyJump %q: %w", hop, err)
	}
	if t.User != "" {
		if err := validUser(t.User); err != nil {
			return fmt.Errorf("ProxyJump %q: %w", hop, err)
		}
	}
	return nil
}

// checkOwner refuses a config another user could have written, as ssh does for ~/.ssh/config and
// every included file: owned by root or us, not writable by others, and writable by its group only
// if that group is ours alone (Debian's and Ubuntu's ssh allow that user-private-group case).
func checkOwner(f *os.File, path string, uid int) error {
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("ssh config: %w", err)
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	mode := st.Mode().Perm()
	if (sys.Uid != 0 && int(sys.Uid) != uid) || mode&0o002 != 0 || (mode&0o020 != 0 && !privateGroup(sys.Gid, uid)) {
		return fmt.Errorf("ssh config %s: bad owner or permissions (owner uid %d, mode %04o): another user could write it; ssh refuses it too", path, sys.Uid, st.Mode().Perm())
	}
	return nil
}

func localUserName() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return os.Getenv("USER")
}

func userHome(name string) string {
	if u, err := user.Lookup(name); err == nil {
		return u.HomeDir
	}
	return ""
}

// privateGroup: gid's only member is uid, by primary group (/etc/passwd) or as its one listed
// member (/etc/group), as Debian's secure_permissions decides.
func privateGroup(gid uint32, uid int) bool {
	members, name := 0, ""
	passwd, _ := os.ReadFile("/etc/passwd")
	for _, l := range strings.Split(string(passwd), "\n") {
		f := strings.Split(l, ":")
		if len(f) < 4 {
			continue
		}
		if f[2] == strconv.Itoa(uid) {
			name = f[0]
		}
		if f[3] == strconv.FormatUint(uint64(gid), 10) {
			members++
			if f[2] != strconv.Itoa(uid) {
				return false
			}
		}
	}
	group, _ := os.ReadFile("/etc/group")
	for _, l := range strings.Split(string(group), "\n") {
		f := strings.Split(l, ":")
		if len(f) < 4 || f[2] != strconv.FormatUint(uint64(gid), 10) || f[3] == "" {
			continue
		}
		listed := strings.Split(f[3], ",")
		if len(listed) > 1 || listed[0] != name {
			return false
		}
		members++
	}
	return members > 0
}
