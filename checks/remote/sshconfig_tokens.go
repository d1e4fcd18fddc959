package remote

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// tokens are the %-tokens ssh expands in IdentityFile, CertificateFile, IdentityAgent,
// UserKnownHostsFile and Match exec.
func (c *sshConfig) tokens(h hostSpec) map[byte]string {
	port := strconv.Itoa(h.port)
	sum := sha1.Sum([]byte(c.thisHost + h.hostName + port + h.user))
	short, _, _ := strings.Cut(c.thisHost, ".")
	keyAlias := h.hostKeyAlias
	if keyAlias == "" {
		keyAlias = h.alias
	}
	return map[byte]string{'C': hex.EncodeToString(sum[:]), 'L': short, 'd': c.home, 'h': h.hostName, 'k': keyAlias,
		'l': c.thisHost, 'n': h.alias, 'p': port, 'r': h.user, 'u': c.localUser, 'i': c.uid}
}

// expandPath expands ~, then %-tokens and ${ENV} in one pass (a value is never expanded twice).
func (c *sshConfig) expandPath(p string, tok map[byte]string) (string, error) {
	p = expandTilde(p, c.home)
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		switch {
		case p[i] == '$' && i+1 < len(p) && p[i+1] == '{':
			end := strings.IndexByte(p[i:], '}')
			if end < 0 {
				return "", fmt.Errorf("unterminated ${")
			}
			name := p[i+2 : i+end]
			v, ok := c.lookupEnv(name)
			if !ok {
				return "", fmt.Errorf("environment variable ${%s} has no value", name)
			}
			b.WriteString(v)
			i += end
		case p[i] == '%':
			v, n, err := token(p[i:], tok)
			if err != nil {
				return "", err
			}
			b.WriteString(v)
			i += n - 1
		default:
			b.WriteByte(p[i])
		}
	}
	return b.String(), nil
}

// expandTokens expands %-tokens only.
func expandTokens(s string, tok map[byte]string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		v, n, err := token(s[i:], tok)
		if err != nil {
			return "", err
		}
		b.WriteString(v)
		i += n - 1
	}
	return b.String(), nil
}

// token expands the %x at the start of s; an unknown token is an error, as in ssh.
func token(s string, tok map[byte]string) (string, int, error) {
	if len(s) < 2 {
		return "", 0, fmt.Errorf("lone %% at the end")
	}
	if s[1] == '%' {
		return "%", 2, nil
	}
	v, ok := tok[s[1]]
	if !ok {
		return "", 0, fmt.Errorf("unknown token %%%c", s[1])
	}
	return v, 2, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
