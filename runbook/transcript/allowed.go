package transcript

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// AllowedSigner is one line of an OpenSSH allowed_signers file (ssh-keygen(1), ALLOWED SIGNERS).
type AllowedSigner struct {
	Principals    []string // patterns
	Namespaces    []string // patterns; empty means any
	CertAuthority bool     // Key is a CA: it vouches for user certificates naming a principal
	ValidAfter    time.Time
	ValidBefore   time.Time
	Key           ssh.PublicKey
	Line          int
}

// Trust is what the operator named to trust signatures with: nothing found beside a journal ever
// counts, since whoever rewrites a journal can rewrite that too.
type Trust struct {
	Signers []AllowedSigner
	Revoked []ssh.PublicKey // keys (or CAs) ssh-keygen -Y verify -r would refuse
	Source  string          // the allowed_signers file, for messages
	// Time is when validity (valid-after, valid-before, certificates) is judged; zero means now,
	// as ssh-keygen -Y verify does.
	Time time.Time
}

func (t *Trust) now() time.Time {
	if t.Time.IsZero() {
		return time.Now()
	}
	return t.Time
}

// LoadTrust reads an allowed_signers file and, when revoked is not empty, a revoked keys file.
func LoadTrust(allowed, revoked string) (*Trust, error) {
	f, err := os.Open(allowed)
	if err != nil {
		return nil, fmt.Errorf("allowed signers: %w", err)
	}
	defer f.Close()
	t := &Trust{Source: allowed}
	if t.Signers, err = ParseAllowedSigners(f); err != nil {
		return nil, fmt.Errorf("%s: %w", allowed, err)
	}
	if revoked != "" {
		b, err := os.ReadFile(revoked)
		if err != nil {
			return nil, fmt.Errorf("revoked keys: %w", err)
		}
		if t.Revoked, err = parseRevoked(b); err != nil {
			return nil, fmt.Errorf("%s: %w", revoked, err)
		}
	}
	return t, nil
}

// parseRevoked reads a list of public keys, one a line, as ssh-keygen -r takes besides a KRL.
func parseRevoked(b []byte) ([]ssh.PublicKey, error) {
	if bytes.HasPrefix(b, []byte("SSHKRL\n\x00")) {
		return nil, errors.New("a binary KRL is not supported: list the revoked public keys, one a line")
	}
	var out []ssh.PublicKey
	for n, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n+1, err)
		}
		out = append(out, k)
	}
	return out, nil
}

// ParseAllowedSigners reads an allowed_signers file: principals, options (cert-authority,
// namespaces, valid-after, valid-before), key. An option it does not know is an error, as it is
// for ssh-keygen.
func ParseAllowedSigners(r io.Reader) ([]AllowedSigner, error) {
	var out []AllowedSigner
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		principals, rest := splitField(line)
		principals = strings.Trim(principals, `"`)
		var opts string
		if !looksLikeKeyType(rest) {
			opts, rest = splitField(rest)
		}
		key, _, _, _, err := ssh.ParseAuthorizedKey([]byte(rest))
		if err != nil {
			return nil, fmt.Errorf("allowed signers line %d: %w", n, err)
		}
		as := AllowedSigner{Principals: strings.Split(principals, ","), Key: key, Line: n}
		for _, o := range splitComma(opts) {
			name, val, hasVal := strings.Cut(o, "=")
			val = strings.Trim(val, `"`)
			switch strings.ToLower(name) {
			case "cert-authority":
				as.CertAuthority = true
			case "namespaces":
				as.Namespaces = strings.Split(val, ",")
			case "valid-after", "valid-before":
				t, err := parseSSHTime(val)
				if err != nil || !hasVal {
					return nil, fmt.Errorf("allowed signers line %d: %s %q: %v", n, name, val, err)
				}
				if strings.ToLower(name) == "valid-after" {
					as.ValidAfter = t
				} else {
					as.ValidBefore = t
				}
			default:
				return nil, fmt.Errorf("allowed signers line %d: unknown option %q", n, name)
			}
		}
		out = append(out, as)
	}
	return out, sc.Err()
}

// parseSSHTime reads ssh-keygen's YYYYMMDD[HHMM[SS]][Z] (local time unless Z).
func parseSSHTime(s string) (time.Time, error) {
	loc := time.Local
	if rest, ok := strings.CutSuffix(s, "Z"); ok {
		s, loc = rest, time.UTC
	} else if rest, ok := strings.CutSuffix(s, "z"); ok {
		s, loc = rest, time.UTC
	}
	layout := map[int]string{8: "20060102", 12: "200601021504", 14: "20060102150405"}[len(s)]
	if layout == "" {
		return time.Time{}, errors.New("want YYYYMMDD[HHMM[SS]][Z]")
	}
	return time.ParseInLocation(layout, s, loc)
}

func looksLikeKeyType(s string) bool {
	for _, p := range []string{"ssh-", "ecdsa-", "sk-", "rsa-"} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// splitField takes the first space-separated field off s; quoted parts may hold spaces.
func splitField(s string) (field, rest string) {
	inQuote := false
	for i, c := range s {
		switch {
		case c == '"':
			inQuote = !inQuote
		case (c == ' ' || c == '\t') && !inQuote:
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

// Check decides whether key may sign in namespace, as ssh-keygen -Y find-principals and -Y verify
// do: a line whose key equals it (or, with cert-authority, whose CA signed it as a user
// certificate valid now and naming a principal the line allows), whose namespaces match and
// whose validity window holds, and no revocation of the key or its CA. It returns the principals
// the key may sign as, or why it may not.
func (t *Trust) Check(key ssh.PublicKey, namespace string) ([]string, error) {
	at := t.now()
	if t.revoked(key) {
		return nil, fmt.Errorf("%s is revoked", describeKey(key))
	}
	var principals []string
	why := fmt.Sprintf("%s is not in %s", describeKey(key), t.Source)
	for _, s := range t.Signers {
		var names []string
		if s.CertAuthority {
			cert, ok := key.(*ssh.Certificate)
			if !ok || !bytes.Equal(cert.SignatureKey.Marshal(), s.Key.Marshal()) {
				continue
			}
			if err := checkCert(cert, at); err != nil {
				why = fmt.Sprintf("certificate %s from CA %s (line %d): %v", describeKey(key), ssh.FingerprintSHA256(s.Key), s.Line, err)
				continue
			}
			for _, p := range cert.ValidPrincipals {
				if matchPatternList(s.Principals, p) {
					names = append(names, p)
				}
			}
			if len(names) == 0 {
				why = fmt.Sprintf("certificate %s names %v, which line %d of %s does not allow", describeKey(key), cert.ValidPrincipals, s.Line, t.Source)
				continue
			}
		} else {
			if _, isCert := key.(*ssh.Certificate); isCert || !bytes.Equal(s.Key.Marshal(), key.Marshal()) {
				continue
			}
			names = s.Principals
		}
		if len(s.Namespaces) > 0 && !matchPatternList(s.Namespaces, namespace) {
			why = fmt.Sprintf("%s may sign only for %s (line %d of %s), not %s", describeKey(key), strings.Join(s.Namespaces, ","), s.Line, t.Source, namespace)
			continue
		}
		if !s.ValidAfter.IsZero() && at.Before(s.ValidAfter) {
			why = fmt.Sprintf("%s is not valid before %s (line %d of %s)", describeKey(key), s.ValidAfter.UTC().Format(time.RFC3339), s.Line, t.Source)
			continue
		}
		if !s.ValidBefore.IsZero() && at.After(s.ValidBefore) {
			why = fmt.Sprintf("%s expired at %s (line %d of %s)", describeKey(key), s.ValidBefore.UTC().Format(time.RFC3339), s.Line, t.Source)
			continue
		}
		for _, p := range names {
			if !slices.Contains(principals, p) {
				principals = append(principals, p)
			}
		}
	}
	if len(principals) == 0 {
		return nil, errors.New(why)
	}
	return principals, nil
}

func (t *Trust) revoked(key ssh.PublicKey) bool {
	keys := []ssh.PublicKey{key}
	if cert, ok := key.(*ssh.Certificate); ok {
		keys = append(keys, cert.Key, cert.SignatureKey)
	}
	for _, r := range t.Revoked {
		for _, k := range keys {
			if bytes.Equal(r.Marshal(), k.Marshal()) {
				return true
			}
		}
	}
	return false
}

// checkCert checks what sshkey_cert_check_authority checks for a signature: a user certificate,
// signed by its CA, valid at, naming at least one principal.
func checkCert(cert *ssh.Certificate, at time.Time) error {
	if cert.CertType != ssh.UserCert {
		return errors.New("not a user certificate")
	}
	if len(cert.ValidPrincipals) == 0 {
		return errors.New("the certificate lacks a principal list")
	}
	unix := uint64(at.Unix())
	if unix < cert.ValidAfter {
		return errors.New("the certificate is not yet valid")
	}
	if cert.ValidBefore != ssh.CertTimeInfinity && unix >= cert.ValidBefore {
		return errors.New("the certificate has expired")
	}
	c := *cert
	c.Signature = nil
	signed := c.Marshal()
	signed = signed[:len(signed)-4] // Marshal appends an empty signature's length
	if err := cert.SignatureKey.Verify(signed, cert.Signature); err != nil {
		return fmt.Errorf("the CA's signature does not verify: %w", err)
	}
	return nil
}

func describeKey(k ssh.PublicKey) string {
	if c, ok := k.(*ssh.Certificate); ok {
		return fmt.Sprintf("%s %s (certificate %q)", c.Key.Type(), ssh.FingerprintSHA256(c.Key), c.KeyId)
	}
	return k.Type() + " " + ssh.FingerprintSHA256(k)
}

// matchPatternList is OpenSSH's match_pattern_list: comma-separated globs (* and ?), a leading !
// negates, and a negated match wins.
func matchPatternList(patterns []string, name string) bool {
	matched := false
	for _, p := range patterns {
		neg := strings.HasPrefix(p, "!")
		if matchGlob(strings.TrimPrefix(p, "!"), name) {
			if neg {
				return false
			}
			matched = true
		}
	}
	return matched
}

func matchGlob(pattern, s string) bool {
	for len(pattern) > 0 {
		switch pattern[0] {
		case '*':
			for i := len(s); i >= 0; i-- {
				if matchGlob(pattern[1:], s[i:]) {
					return true
				}
			}
			return false
		case '?':
			if len(s) == 0 {
				return false
			}
			pattern, s = pattern[1:], s[1:]
		default:
			if len(s) == 0 || pattern[0] != s[0] {
				return false
			}
			pattern, s = pattern[1:], s[1:]
		}
	}
	return len(s) == 0
}
