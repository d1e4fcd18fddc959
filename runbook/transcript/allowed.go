package transcript

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"path"
	"strings"

	"golang.org/x/crypto/ssh"
)

// AllowedSigner is one line of an OpenSSH allowed_signers file (ssh-keygen(1), ALLOWED SIGNERS).
type AllowedSigner struct {
	Principals []string // patterns
	Namespaces []string // patterns; empty means any
	Key        ssh.PublicKey
	Line       int
}

// ParseAllowedSigners reads an allowed_signers file. Certificate authorities are not supported and
// are reported as errors rather than silently trusted or ignored.
func ParseAllowedSigners(r io.Reader) ([]AllowedSigner, error) {
	var out []AllowedSigner
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		principals, rest, _ := strings.Cut(line, " ")
		rest = strings.TrimSpace(rest)
		var opts string
		if !looksLikeKeyType(rest) {
			opts, rest = splitOptions(rest)
		}
		key, _, _, _, err := ssh.ParseAuthorizedKey([]byte(rest))
		if err != nil {
			return nil, fmt.Errorf("allowed signers line %d: %w", n, err)
		}
		as := AllowedSigner{Principals: strings.Split(principals, ","), Key: key, Line: n}
		for _, o := range splitComma(opts) {
			name, val, _ := strings.Cut(o, "=")
			switch strings.ToLower(name) {
			case "namespaces":
				as.Namespaces = strings.Split(strings.Trim(val, `"`), ",")
			case "cert-authority":
				return nil, fmt.Errorf("allowed signers line %d: cert-authority is not supported", n)
			}
		}
		out = append(out, as)
	}
	return out, sc.Err()
}

func looksLikeKeyType(s string) bool {
	for _, p := range []string{"ssh-", "ecdsa-", "sk-", "rsa-"} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// splitOptions takes the options field off the front of s; quoted values may hold spaces.
func splitOptions(s string) (opts, rest string) {
	inQuote := false
	for i, c := range s {
		switch {
		case c == '"':
			inQuote = !inQuote
		case c == ' ' && !inQuote:
			return s[:i], strings.TrimSpace(s[i:])
		}
	}
	return s, ""
}

func splitComma(s string) []string {
	var out []string
	inQuote, start := false, 0
	for i, c := range s {
		switch {
		case c == '"':
			inQuote = !inQuote
		case c == ',' && !inQuote:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}

// Allowed returns the principals allowed to sign in our namespace with key, and whether any is.
func Allowed(signers []AllowedSigner, key ssh.PublicKey) ([]string, bool) {
	var principals []string
	for _, s := range signers {
		if !bytes.Equal(s.Key.Marshal(), key.Marshal()) || !matchAny(s.Namespaces, Namespace, true) {
			continue
		}
		principals = append(principals, s.Principals...)
	}
	return principals, len(principals) > 0
}

// matchAny reports whether name matches one of the glob patterns; none at all matches when empty
// is true.
func matchAny(patterns []string, name string, empty bool) bool {
	if len(patterns) == 0 {
		return empty
	}
	for _, p := range patterns {
		if ok, _ := path.Match(p, name); ok {
			return true
		}
	}
	return false
}
