package remote

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
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

// hostKeys checks host keys strictly against known_hosts files: there is no way to skip it.
// x/crypto's knownhosts does the checking (hashed names, @revoked, @cert-authority host
// certificates); caLines remembers which lines are @cert-authority, so that a host known only by
// its CA is asked for a certificate.
type hostKeys struct {
	check   ssh.HostKeyCallback
	caLines map[string]bool // "file:line"
}

func newHostKeys(files []string) (*hostKeys, error) {
	cb, err := knownhosts.New(files...)
	if err != nil {
		return nil, fmt.Errorf("known_hosts: %w", err)
	}
	h := &hostKeys{check: cb, caLines: map[string]bool{}}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("known_hosts: %w", err)
		}
		for i, line := range strings.Split(string(data), "\n") {
			if w := strings.Fields(line); len(w) > 0 && w[0] == "@cert-authority" {
				h.caLines[fmt.Sprintf("%s:%d", f, i+1)] = true
			}
		}
	}
	return h, nil
}

// callback wraps the known_hosts check with errors that name host, key type and fingerprint.
func (h *hostKeys) callback() ssh.HostKeyCallback {
	return func(hostname string, remote net.Addr, key ssh.PublicKey) error {
		err := h.check(hostname, remote, key)
		if err == nil {
			return nil
		}
		he := &HostKeyError{Host: knownhosts.Normalize(hostname), KeyType: key.Type(), Fingerprint: ssh.FingerprintSHA256(key)}
		var ke *knownhosts.KeyError
		var re *knownhosts.RevokedError
		_, isCert := key.(*ssh.Certificate)
		switch {
		case isCert:
			he.Cert = strings.TrimPrefix(err.Error(), "ssh: ")
			if strings.Contains(err.Error(), "no authorities") {
				he.Cert = "known_hosts has no @cert-authority line for this host with the CA that signed it (" + ssh.FingerprintSHA256(key.(*ssh.Certificate).SignatureKey) + ")"
			}
		case errors.As(err, &re):
			he.Revoked = true
		case errors.As(err, &ke):
			for _, w := range ke.Want {
				he.Known = append(he.Known, fmt.Sprintf("%s %s (%s:%d)", w.Key.Type(), ssh.FingerprintSHA256(w.Key), w.Filename, w.Line))
			}
		default:
			return fmt.Errorf("known_hosts: %w", err)
		}
		return he
	}
}

// algorithms lists the host key algorithms known_hosts has for addr, so that the server is asked
// for a key we can check rather than whichever it prefers. A host whose CA is known is asked for
// a certificate first, of any key type (the CA's own type says nothing of the host's), as ssh does.
func (h *hostKeys) algorithms(addr string) []string {
	var algos []string
	add := func(a ...string) {
		for _, x := range a {
			if !contains(algos, x) {
				algos = append(algos, x)
			}
		}
	}
	var plain []knownhosts.KnownKey
	for _, w := range h.wanted(addr) {
		if h.caLines[fmt.Sprintf("%s:%d", w.Filename, w.Line)] {
			add(ssh.CertAlgoED25519v01, ssh.CertAlgoECDSA256v01, ssh.CertAlgoECDSA384v01, ssh.CertAlgoECDSA521v01,
				ssh.CertAlgoRSASHA512v01, ssh.CertAlgoRSASHA256v01)
			continue
		}
		plain = append(plain, w)
	}
	for _, w := range plain {
		switch t := w.Key.Type(); t {
		case ssh.KeyAlgoRSA:
			add(ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA)
		default:
			add(t)
		}
	}
	return algos
}

// known lists the keys known_hosts holds for addr, with file:line.
func (h *hostKeys) known(addr string) []string {
	var out []string
	for _, w := range h.wanted(addr) {
		out = append(out, fmt.Sprintf("%s %s (%s:%d)", w.Key.Type(), ssh.FingerprintSHA256(w.Key), w.Filename, w.Line))
	}
	return out
}

// wanted is what known_hosts holds for addr: checking a key that matches none lists them.
func (h *hostKeys) wanted(addr string) []knownhosts.KnownKey {
	var ke *knownhosts.KeyError
	if err := h.check(addr, &net.TCPAddr{}, probeKey{}); !errors.As(err, &ke) {
		return nil
	}
	return ke.Want
}

// probeKey matches no known key, so checking it lists the keys known for a host.
type probeKey struct{}

func (probeKey) Type() string                        { return "cutover-probe" }
func (probeKey) Marshal() []byte                     { return []byte("cutover-probe") }
func (probeKey) Verify([]byte, *ssh.Signature) error { return errors.New("probe key") }
