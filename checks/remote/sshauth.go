package remote

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// agentConn is one ssh-agent connection, shared by every host that uses that socket.
type agentConn struct {
	agent agent.ExtendedAgent
	conn  net.Conn
}

// agentFor is the agent spec uses: IdentityAgent's socket, none, or the environment's.
func (s *SSH) agentFor(spec hostSpec) (agent.ExtendedAgent, string) {
	sock := s.opts.AgentSock
	switch spec.agent {
	case "none":
		return nil, ""
	case "":
		if sock == "" {
			return nil, "no ssh-agent (SSH_AUTH_SOCK unset)"
		}
	default:
		sock = spec.agent
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.agents[sock]; ok {
		return a.agent, ""
	}
	c, err := net.Dial("unix", sock)
	if err != nil {
		return nil, fmt.Sprintf("ssh-agent at %s: %v", sock, err)
	}
	a := &agentConn{agent: agent.NewClient(c), conn: c}
	s.agents[sock] = a
	return a.agent, ""
}

// identity is one IdentityFile: its public key (from the private key, else from FILE.pub) and,
// when the file is readable without a passphrase, a signer.
type identity struct {
	path   string
	pub    ssh.PublicKey
	signer ssh.Signer
	locked bool // passphrase-protected
}

// signers gathers the keys to offer. Certificates come first (from CertificateFile and each
// identity's FILE-cert.pub, signed with the matching key from a file or the agent): a login by CA
// needs nothing in authorized_keys. Then the agent's keys — with IdentitiesOnly, only those of a
// configured identity, as ssh does, so that many agent keys do not use up the server's
// MaxAuthTries — then the identity files the agent does not hold. notes explains keys that could
// not be used, such as passphrase-protected files.
func (s *SSH) signers(spec hostSpec) ([]ssh.Signer, string) {
	var notes []string
	ag, note := s.agentFor(spec)
	if note != "" {
		notes = append(notes, note)
	}
	var agentKeys []ssh.Signer
	if ag != nil {
		ks, err := ag.Signers()
		if err != nil {
			notes = append(notes, "ssh-agent: "+err.Error())
		}
		agentKeys = ks
	}
	ids := s.identities(spec, &notes)
	inAgent := func(pub ssh.PublicKey) ssh.Signer {
		if pub == nil { // an old PEM-encrypted key names no public key
			return nil
		}
		for _, k := range agentKeys {
			if bytes.Equal(k.PublicKey().Marshal(), pub.Marshal()) {
				return k
			}
		}
		return nil
	}
	var out []ssh.Signer
	seen := map[string]bool{}
	offer := func(k ssh.Signer) {
		if b := string(k.PublicKey().Marshal()); !seen[b] {
			seen[b] = true
			out = append(out, k)
		}
	}
	// Certificates, paired with their private key.
	certFiles := append([]string(nil), spec.certificates...)
	for _, id := range ids {
		certFiles = append(certFiles, id.path+"-cert.pub")
	}
	for i, f := range certFiles {
		data, err := os.ReadFile(f)
		if err != nil {
			if i < len(spec.certificates) {
				notes = append(notes, fmt.Sprintf("CertificateFile %s: %v", f, err))
			}
			continue
		}
		pub, _, _, _, err := ssh.ParseAuthorizedKey(data)
		cert, ok := pub.(*ssh.Certificate)
		if err != nil || !ok {
			notes = append(notes, fmt.Sprintf("%s: not an SSH certificate", f))
			continue
		}
		key := inAgent(cert.Key)
		for _, id := range ids {
			if key == nil && id.signer != nil && bytes.Equal(id.pub.Marshal(), cert.Key.Marshal()) {
				key = id.signer
			}
		}
		if key == nil {
			notes = append(notes, fmt.Sprintf("certificate %s: no identity file or agent key holds its private key", f))
			continue
		}
		cs, err := ssh.NewCertSigner(cert, key)
		if err != nil {
			notes = append(notes, fmt.Sprintf("certificate %s: %v", f, err))
			continue
		}
		offer(cs)
	}
	// The agent's keys; with IdentitiesOnly only those of configured identities (the agent's own
	// certificates for such a key too).
	for _, k := range agentKeys {
		pub := k.PublicKey()
		if c, ok := pub.(*ssh.Certificate); ok {
			pub = c.Key
		}
		if spec.identitiesOnly && !holds(ids, pub) {
			continue
		}
		offer(k)
	}
	for _, id := range ids {
		switch {
		case id.signer != nil:
			offer(id.signer)
		case id.locked && inAgent(id.pub) == nil:
			notes = append(notes, fmt.Sprintf("%s is passphrase-protected: load it into ssh-agent (ssh-add %s)", id.path, id.path))
		}
	}
	if len(notes) == 0 {
		return out, ""
	}
	return out, "; " + strings.Join(notes, "; ")
}

func holds(ids []identity, pub ssh.PublicKey) bool {
	for _, id := range ids {
		if id.pub != nil && bytes.Equal(id.pub.Marshal(), pub.Marshal()) {
			return true
		}
	}
	return false
}

// loadedIdentities are identity files as read, with what could not be used of them.
type loadedIdentities struct {
	ids   []identity
	notes []string
}

// identities reads spec's identity files once per run: a wave's hundreds of guests share them.
func (s *SSH) identities(spec hostSpec, notes *[]string) []identity {
	key := fmt.Sprint(spec.identityGiven, spec.identity)
	s.mu.Lock()
	l, ok := s.idents[key]
	s.mu.Unlock()
	if !ok {
		l.ids = loadIdentities(spec.identity, &l.notes, spec.identityGiven)
		s.mu.Lock()
		s.idents[key] = l
		s.mu.Unlock()
	}
	*notes = append(*notes, l.notes...)
	return l.ids
}

// loadIdentities reads identity files; a missing default file is no news, a missing configured
// one is noted.
func loadIdentities(paths []string, notes *[]string, given bool) []identity {
	var out []identity
	for _, f := range paths {
		id := identity{path: f}
		data, err := os.ReadFile(f)
		if err == nil {
			k, perr := ssh.ParsePrivateKey(data)
			var pm *ssh.PassphraseMissingError
			switch {
			case errors.As(perr, &pm):
				id.locked, id.pub = true, pm.PublicKey
			case perr != nil:
				if given { // ssh's defaults include key types Go cannot use (id_*_sk): no news
					*notes = append(*notes, fmt.Sprintf("%s: %v", f, perr))
				}
			default:
				id.signer, id.pub = k, k.PublicKey()
			}
		}
		if id.pub == nil {
			// The agent may hold the private key of a FILE.pub (ssh reads it the same way).
			if pd, perr := os.ReadFile(f + ".pub"); perr == nil {
				id.pub, _, _, _, _ = ssh.ParseAuthorizedKey(pd)
			}
		}
		if id.pub == nil && !id.locked {
			if err != nil && given && !errors.Is(err, os.ErrNotExist) {
				*notes = append(*notes, fmt.Sprintf("%s: %v", f, err))
			}
			continue
		}
		out = append(out, id)
	}
	return out
}
