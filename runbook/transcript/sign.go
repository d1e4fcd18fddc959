package transcript

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/hiddeco/sshsig"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// Namespace is the SSHSIG namespace of every cutover signature; `ssh-keygen -Y verify -n` takes it.
const Namespace = "cutover-transcript"

// Signer signs journal checkpoints and the finished journal with an SSH key.
type Signer struct {
	key  ssh.Signer
	from string // where the key came from, for messages
}

// PublicKey is the signing key in authorized_keys form, without a comment.
func (s *Signer) PublicKey() string {
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(s.key.PublicKey())))
}

// Fingerprint is the key's SHA256 fingerprint, as ssh-keygen -l prints it.
func (s *Signer) Fingerprint() string { return ssh.FingerprintSHA256(s.key.PublicKey()) }

// String names the key for the operator.
func (s *Signer) String() string {
	return fmt.Sprintf("%s %s (%s)", s.key.PublicKey().Type(), s.Fingerprint(), s.from)
}

// Sign returns the armored SSHSIG signature of msg, the format ssh-keygen -Y sign writes.
func (s *Signer) Sign(msg []byte) (string, error) {
	sig, err := sshsig.Sign(bytes.NewReader(msg), s.key, sshsig.HashSHA512, Namespace)
	if err != nil {
		return "", fmt.Errorf("sign with %s: %w", s, err)
	}
	return string(sshsig.Armor(sig)), nil
}

// ErrNoKey means neither --sign-key nor ssh-agent offered a key.
var ErrNoKey = errors.New("no signing key: pass --sign-key or load a key into ssh-agent")

// LoadSigner finds the signing key: the private key file at path, or, when path is empty, the first
// key of the ssh-agent at agentSock. A passphrase-protected key file (or a .pub file) is looked up in
// the agent, since cutover never asks for passphrases.
func LoadSigner(path, agentSock string) (*Signer, error) {
	if path == "" {
		if agentSock == "" {
			return nil, ErrNoKey
		}
		keys, err := agentSigners(agentSock)
		if err != nil {
			return nil, err
		}
		for _, k := range keys {
			switch k.PublicKey().Type() {
			case ssh.KeyAlgoED25519, ssh.KeyAlgoRSA, ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521:
				return &Signer{key: k, from: "ssh-agent"}, nil
			}
		}
		return nil, fmt.Errorf("ssh-agent at %s: %w", agentSock, ErrNoKey)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read signing key: %w", err)
	}
	key, err := ssh.ParsePrivateKey(data)
	if err == nil {
		return withCertificate(&Signer{key: key, from: path}, path)
	}
	var pub ssh.PublicKey
	var missing *ssh.PassphraseMissingError
	switch {
	case errors.As(err, &missing) && missing.PublicKey != nil:
		pub = missing.PublicKey
	case errors.As(err, &missing):
		if b, rerr := os.ReadFile(path + ".pub"); rerr == nil {
			pub, _, _, _, _ = ssh.ParseAuthorizedKey(b)
		}
	default:
		if p, _, _, _, perr := ssh.ParseAuthorizedKey(data); perr == nil {
			pub = p
		} else {
			return nil, fmt.Errorf("signing key %s: %w", path, err)
		}
	}
	if pub != nil && agentSock != "" {
		keys, aerr := agentSigners(agentSock)
		if aerr == nil {
			for _, k := range keys {
				if bytes.Equal(k.PublicKey().Marshal(), pub.Marshal()) {
					return &Signer{key: k, from: path + " via ssh-agent"}, nil
				}
			}
		}
	}
	return nil, fmt.Errorf("signing key %s is passphrase-protected or public only, and ssh-agent does not hold it: run ssh-add %s", path, strings.TrimSuffix(path, ".pub"))
}

func agentSigners(sock string) ([]ssh.Signer, error) {
	conn, err := net.Dial("unix", sock)
	if err != nil {
		return nil, fmt.Errorf("ssh-agent at %s: %w", sock, err)
	}
	// The connection stays open: agent signers use it for every signature of the run.
	keys, err := agent.NewClient(conn).Signers()
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("ssh-agent at %s: %w", sock, err)
	}
	return keys, nil
}

// withCertificate signs with PATH-cert.pub when it exists and certifies the key, as ssh-keygen -Y
// sign does: the signature then carries the certificate, for allowed signers that trust its CA.
func withCertificate(s *Signer, path string) (*Signer, error) {
	b, err := os.ReadFile(strings.TrimSuffix(path, ".pub") + "-cert.pub")
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("signing certificate: %w", err)
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey(b)
	if err != nil {
		return nil, fmt.Errorf("signing certificate %s-cert.pub: %w", path, err)
	}
	cert, ok := pub.(*ssh.Certificate)
	if !ok {
		return nil, fmt.Errorf("%s-cert.pub is not a certificate", path)
	}
	cs, err := ssh.NewCertSigner(cert, s.key)
	if err != nil {
		return nil, fmt.Errorf("signing certificate %s-cert.pub: %w", path, err)
	}
	return &Signer{key: cs, from: path + " with its certificate"}, nil
}
