package transcript

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cutover/cutover/internal/testenv"
)

// keygen runs ssh-keygen in dir.
func keygen(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("ssh-keygen", args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen %v: %v\n%s", args, err, out)
	}
}

// Cutover's trust verdict equals ssh-keygen -Y verify's for the same journal, allowed signers and
// revocations: plain keys, principals, namespaces, valid-after and valid-before, certificates from
// a trusted CA (valid, expired, not yet valid, naming another principal), revoked keys and CAs.
func TestTrustAgreesWithSSHKeygen(t *testing.T) {
	testenv.Tool(t, "ssh-keygen", "openssh-client")
	dir := t.TempDir()
	pub := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name+".pub"))
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	for _, k := range []string{"alice", "ca", "bob", "old", "early", "other"} {
		keygen(t, dir, "-q", "-t", "ed25519", "-N", "", "-C", k, "-f", k)
	}
	keygen(t, dir, "-q", "-s", "ca", "-I", "bob-cert", "-n", "bob", "-V", "-1d:+1d", "bob.pub")
	keygen(t, dir, "-q", "-s", "ca", "-I", "old-cert", "-n", "bob", "-V", "20200101:20200201", "old.pub")
	keygen(t, dir, "-q", "-s", "ca", "-I", "early-cert", "-n", "bob", "-V", "+1d:+2d", "early.pub")
	keygen(t, dir, "-q", "-s", "other", "-I", "forged-cert", "-n", "bob", "-V", "-1d:+1d", "alice.pub") // alice's key, another CA

	journal := func(key string) string {
		s, err := LoadSigner(filepath.Join(dir, key), "")
		if err != nil {
			t.Fatal(err)
		}
		return writeJournal(t, t.TempDir(), s)
	}
	// alice's journal is signed with her plain key: move her certificate aside for that.
	os.Rename(filepath.Join(dir, "alice-cert.pub"), filepath.Join(dir, "alice-forged-cert.pub"))
	signed := map[string]string{"alice": journal("alice"), "bob": journal("bob"), "old": journal("old"), "early": journal("early")}
	os.Rename(filepath.Join(dir, "alice-forged-cert.pub"), filepath.Join(dir, "alice-cert.pub"))
	signed["alice-forged"] = journal("alice")

	tests := []struct {
		name, signer, identity, allowed, revoked string
	}{
		{"listed", "alice", "alice", "alice " + pub("alice"), ""},
		{"principal list", "alice", "alice", "ops,alice " + pub("alice"), ""},
		{"principal pattern", "alice", "alice", "ali* " + pub("alice"), ""},
		{"not listed", "alice", "alice", "alice " + pub("other"), ""},
		{"expired", "alice", "alice", `alice valid-before="20200101" ` + pub("alice"), ""},
		{"not yet valid", "alice", "alice", `alice valid-after="29990101" ` + pub("alice"), ""},
		{"valid window", "alice", "alice", `alice valid-after="20200101",valid-before="29990101Z" ` + pub("alice"), ""},
		{"other namespace", "alice", "alice", `alice namespaces="git" ` + pub("alice"), ""},
		{"namespace pattern", "alice", "alice", `alice namespaces="git,cutover-*" ` + pub("alice"), ""},
		{"revoked key", "alice", "alice", "alice " + pub("alice"), pub("alice")},
		{"other key revoked", "alice", "alice", "alice " + pub("alice"), pub("other")},
		{"CA-signed", "bob", "bob", "bob cert-authority " + pub("ca"), ""},
		{"CA-signed, pattern", "bob", "bob", "b* cert-authority " + pub("ca"), ""},
		{"CA-signed, other principal", "bob", "carol", "carol cert-authority " + pub("ca"), ""},
		{"CA-signed, CA not marked", "bob", "bob", "bob " + pub("ca"), ""},
		{"CA-signed, other CA", "bob", "bob", "bob cert-authority " + pub("other"), ""},
		{"CA-signed, expired certificate", "old", "bob", "bob cert-authority " + pub("ca"), ""},
		{"CA-signed, certificate not yet valid", "early", "bob", "bob cert-authority " + pub("ca"), ""},
		{"CA-signed, CA expired", "bob", "bob", `bob cert-authority,valid-before="20200101" ` + pub("ca"), ""},
		{"CA-signed, CA revoked", "bob", "bob", "bob cert-authority " + pub("ca"), pub("ca")},
		{"CA-signed, key revoked", "bob", "bob", "bob cert-authority " + pub("ca"), pub("bob")},
		{"certificate's key listed plain", "bob", "bob", "bob " + pub("bob"), ""},
		{"certificate from an untrusted CA", "alice-forged", "bob", "bob cert-authority " + pub("ca"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			allowed := filepath.Join(t.TempDir(), "allowed_signers")
			os.WriteFile(allowed, []byte(tt.allowed+"\n"), 0o600)
			revoked := ""
			args := []string{"-Y", "verify", "-f", allowed, "-I", tt.identity, "-n", Namespace, "-s", signed[tt.signer] + ".sig"}
			if tt.revoked != "" {
				revoked = filepath.Join(t.TempDir(), "revoked")
				os.WriteFile(revoked, []byte(tt.revoked+"\n"), 0o600)
				args = append(args, "-r", revoked)
			}
			cmd := exec.Command("ssh-keygen", args...)
			in, _ := os.Open(signed[tt.signer])
			defer in.Close()
			cmd.Stdin = in
			out, err := cmd.CombinedOutput()
			oracle := err == nil

			trust, terr := LoadTrust(allowed, revoked)
			if terr != nil {
				t.Fatal(terr)
			}
			rep, verr := Verify(signed[tt.signer], VerifyOptions{Trust: trust})
			if verr != nil {
				t.Fatal(verr)
			}
			if rep.OK() != oracle {
				t.Errorf("cutover says %v (%v), ssh-keygen -Y verify says %v: %s", rep.Verdict(), rep.Untrusted, oracle, out)
			}
		})
	}
}
