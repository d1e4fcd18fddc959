package remote

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"golang.org/x/crypto/ssh"
)

// ErrHostKey marks a refused host key: unknown, changed or revoked. Nothing runs on such a host.
var ErrHostKey = errors.New("host key refused")

// HostKeyError says which host offered which key and why it was refused.
type HostKeyError struct {
	Host        string // as looked up in known_hosts, e.g. [127.0.0.1]:2222
	KeyType     string
	Fingerprint string
	Known       []string // for a mismatch: the keys known_hosts holds, with file:line
	Revoked     bool
	OtherType   bool   // the host offers no key of a type known_hosts holds for it
	Cert        string // a host certificate refused: why
}

func (e *HostKeyError) Error() string {
	switch {
	case e.Cert != "":
		return fmt.Sprintf("host %s presented a host certificate (%s key %s) that is refused: %s", e.Host, e.KeyType, e.Fingerprint, e.Cert)
	case e.Revoked:
		return fmt.Sprintf("host %s offered %s key %s, which known_hosts marks @revoked: refusing", e.Host, e.KeyType, e.Fingerprint)
	case e.OtherType:
		return fmt.Sprintf("host %s offers no key of a type known_hosts holds for it: it offered %s key %s, known_hosts has %s; refusing, as for an unknown host: check that fingerprint with the host's owner, then add the key to known_hosts",
			e.Host, e.KeyType, e.Fingerprint, strings.Join(e.Known, "; "))
	case len(e.Known) > 0:
		return fmt.Sprintf("HOST KEY MISMATCH for %s: it offered %s %s but known_hosts has %s; someone may be intercepting the connection, or the host was rebuilt: refusing until known_hosts is corrected",
			e.Host, e.KeyType, e.Fingerprint, strings.Join(e.Known, "; "))
	}
	return fmt.Sprintf("host %s is not in known_hosts: it offered %s key %s; check that fingerprint with the host's owner, then add the key to known_hosts",
		e.Host, e.KeyType, e.Fingerprint)
}

func (e *HostKeyError) Unwrap() error { return ErrHostKey }

// hostKeys checks host keys strictly against known_hosts files, matching names as OpenSSH does:
// the name looked up is "host" on port 22, "[host]:port" otherwise, or HostKeyAlias alone; a line's
// patterns (wildcards, negation, or one hashed name) are matched against that string, so "*"
// covers every port and "*.example" only port 22. @revoked keys are refused, @cert-authority lines
// vouch for host certificates whose principal is the host name (or HostKeyAlias).
type hostKeys struct {
	lines []knownLine
}

type knownLine struct {
	marker string // "", "@cert-authority" or "@revoked"
	hosts  []string
	key    ssh.PublicKey
	file   string
	line   int
}

func (l knownLine) String() string {
	m := ""
	if l.marker != "" {
		m = l.marker + " "
	}
	return fmt.Sprintf("%s%s %s (%s:%d)", m, l.key.Type(), ssh.FingerprintSHA256(l.key), l.file, l.line)
}

func newHostKeys(files []string) (*hostKeys, error) {
	h := &hostKeys{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("known_hosts: %w", err)
		}
		for i, line := range strings.Split(string(data), "\n") {
			if t := strings.TrimSpace(line); t == "" || t[0] == '#' {
				continue
			}
			marker, hosts, key, _, _, err := ssh.ParseKnownHosts([]byte(line))
			if err != nil {
				continue // ssh skips a line it cannot read, and so does x/crypto
			}
			if marker != "" {
				marker = "@" + marker // ParseKnownHosts drops the @
			}
			h.lines = append(h.lines, knownLine{marker: marker, hosts: hosts, key: key, file: f, line: i + 1})
		}
	}
	return h, nil
}

// lookupName is the string known_hosts lines are matched against for spec.
func lookupName(spec hostSpec) string {
	if spec.hostKeyAlias != "" {
		return spec.hostKeyAlias
	}
	if spec.port == 22 {
		return spec.hostName
	}
	return "[" + spec.hostName + "]:" + strconv.Itoa(spec.port)
}

// matches is OpenSSH's match for one line: a hashed name, or a pattern list with negation.
func (l knownLine) matches(name string) bool {
	if len(l.hosts) == 1 && strings.HasPrefix(l.hosts[0], "|1|") {
		parts := strings.Split(l.hosts[0], "|")
		if len(parts) != 4 {
			return false
		}
		salt, err1 := base64.StdEncoding.DecodeString(parts[2])
		want, err2 := base64.StdEncoding.DecodeString(parts[3])
		if err1 != nil || err2 != nil {
			return false
		}
		mac := hmac.New(sha1.New, salt)
		mac.Write([]byte(name))
		return hmac.Equal(mac.Sum(nil), want)
	}
	return matchPatternList(strings.ToLower(name), strings.Join(l.hosts, ","), true) == 1
}

func (h *hostKeys) find(name, marker string) []knownLine {
	var out []knownLine
	for _, l := range h.lines {
		if l.marker == marker && l.matches(name) {
			out = append(out, l)
		}
	}
	return out
}

func (h *hostKeys) revoked(name string, key ssh.PublicKey) bool {
	for _, l := range h.find(name, "@revoked") {
		if bytes.Equal(l.key.Marshal(), key.Marshal()) {
			return true
		}
	}
	return false
}

// callback checks the key spec's host offers.
func (h *hostKeys) callback(spec hostSpec) ssh.HostKeyCallback {
	name := lookupName(spec)
	principal := spec.hostName
	if spec.hostKeyAlias != "" {
		principal = spec.hostKeyAlias
	}
	return func(_ string, _ net.Addr, key ssh.PublicKey) error {
		he := &HostKeyError{Host: name, KeyType: key.Type(), Fingerprint: ssh.FingerprintSHA256(key)}
		if cert, ok := key.(*ssh.Certificate); ok {
			if reason := h.checkCert(name, principal, cert); reason != "" {
				he.Cert = reason
				return he
			}
			return nil
		}
		if h.revoked(name, key) {
			he.Revoked = true
			return he
		}
		for _, l := range h.find(name, "") {
			if bytes.Equal(l.key.Marshal(), key.Marshal()) {
				return nil
			}
			he.Known = append(he.Known, l.String())
		}
		return he
	}
}

// checkCert says why a host certificate is refused, or "".
func (h *hostKeys) checkCert(name, principal string, cert *ssh.Certificate) string {
	if cert.CertType != ssh.HostCert {
		return "it is a user certificate"
	}
	if h.revoked(name, cert.Key) || h.revoked(name, cert.SignatureKey) {
		return "known_hosts marks its key or its CA @revoked"
	}
	trusted := false
	for _, l := range h.find(name, "@cert-authority") {
		trusted = trusted || bytes.Equal(l.key.Marshal(), cert.SignatureKey.Marshal())
	}
	if !trusted {
		return "known_hosts has no @cert-authority line for " + name + " with the CA that signed it (" + ssh.FingerprintSHA256(cert.SignatureKey) + ")"
	}
	if err := (&ssh.CertChecker{}).CheckCert(principal, cert); err != nil {
		return strings.TrimPrefix(err.Error(), "ssh: ")
	}
	return ""
}

// algorithms lists the host key algorithms known_hosts has for spec, so that the server is asked
// for a key we can check rather than whichever it prefers. A host whose CA is known is asked for
// a certificate first, of any key type (the CA's own type says nothing of the host's), as ssh does.
func (h *hostKeys) algorithms(spec hostSpec) []string {
	name := lookupName(spec)
	var algos []string
	add := func(a ...string) {
		for _, x := range a {
			if !contains(algos, x) {
				algos = append(algos, x)
			}
		}
	}
	if len(h.find(name, "@cert-authority")) > 0 {
		add(ssh.CertAlgoED25519v01, ssh.CertAlgoECDSA256v01, ssh.CertAlgoECDSA384v01, ssh.CertAlgoECDSA521v01,
			ssh.CertAlgoRSASHA512v01, ssh.CertAlgoRSASHA256v01)
	}
	for _, l := range h.find(name, "") {
		switch t := l.key.Type(); t {
		case ssh.KeyAlgoRSA:
			add(ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA)
		default:
			add(t)
		}
	}
	return algos
}

// known lists what known_hosts holds for spec, with file:line.
func (h *hostKeys) known(spec hostSpec) []string {
	var out []string
	name := lookupName(spec)
	for _, l := range h.lines {
		if l.marker != "@revoked" && l.matches(name) {
			out = append(out, l.String())
		}
	}
	return out
}
