package remote

import (
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cutover/cutover/internal/testenv"
)

// OpenSSH is the oracle for ssh_config: for each config of the corpus and each alias, cutover
// resolves host name, user, port, identity files and jump hosts exactly as `ssh -G` prints them.
func TestSSHConfigAsOpenSSHResolvesIt(t *testing.T) {
	testenv.Tool(t, "ssh", "openssh-client")
	home := t.TempDir()
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	corpus := []struct {
		name, config string
		aliases      []string
	}{
		{"plain", `
Host web
  HostName web-01.example
  User deploy
  Port 2222
`, []string{"web", "other"}},
		{"first match wins", `
Host web
  User first
Host web *.example
  User second
  Port 2200
Host *
  Port 2201
`, []string{"web", "db.example", "x"}},
		{"patterns and negation", `
Host * !bastion
  ProxyJump bastion
Host bastion
  HostName 10.0.0.1
  User jump
Host app-? db-*
  User app
`, []string{"bastion", "app-1", "app-12", "db-main", "solo"}},
		{"identity files and tokens", `
Host web
  HostName web-01.example
  User deploy
  IdentityFile ~/.ssh/id_%h
  IdentityFile ~/.ssh/id_%r_as_%u
  IdentityFile %d/keys/%%literal
Host *
  IdentityFile ~/.ssh/common
`, []string{"web", "other"}},
		{"hostname token and jump chain", `
Host *.inner
  HostName %h.example.net
  ProxyJump j1,deploy@j2:2222
`, []string{"a.inner"}},
	}
	for _, c := range corpus {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(home, c.name+".config")
			os.WriteFile(path, []byte(c.config), 0o600)
			cfg, err := loadSSHConfig(path, home)
			if err != nil {
				t.Fatal(err)
			}
			for _, alias := range c.aliases {
				cmd := exec.Command("ssh", "-G", "-F", path, alias)
				cmd.Env = append(os.Environ(), "HOME="+home)
				out, err := cmd.Output()
				if err != nil {
					t.Fatalf("ssh -G %s: %v", alias, err)
				}
				want := map[string][]string{}
				for _, l := range strings.Split(string(out), "\n") {
					if k, v, ok := strings.Cut(l, " "); ok {
						want[k] = append(want[k], v)
					}
				}
				got, err := cfg.resolve(Target{Address: alias}, me.Username)
				if err != nil {
					t.Fatal(err)
				}
				expand := func(p string) string {
					if rest, ok := strings.CutPrefix(p, "~/"); ok {
						return filepath.Join(home, rest)
					}
					return p
				}
				// ssh -G prints identity files as written; OpenSSH expands their tokens when it reads
				// them, with the values -G prints: %h the host name, %r the remote user, %u the local
				// user, %d home.
				tokens := strings.NewReplacer("%d", home, "%u", me.Username, "%r", first(want["user"]), "%h", first(want["hostname"]), "%%", "%")
				var wantIDs []string
				for _, id := range want["identityfile"] {
					wantIDs = append(wantIDs, expand(tokens.Replace(id)))
				}
				if ids, _ := cfg.cfg.GetAll(alias, "IdentityFile"); len(ids) == 0 {
					wantIDs = nil // ssh -G lists its defaults; with none configured cutover tries the same defaults
				}
				jumps := strings.Join(got.proxyJump, ",")
				if w := first(want["proxyjump"]); w == "none" {
					want["proxyjump"] = nil
				}
				for _, chk := range []struct{ what, got, want string }{
					{"hostname", got.hostName, first(want["hostname"])},
					{"user", got.user, first(want["user"])},
					{"port", strconv.Itoa(got.port), first(want["port"])},
					{"proxyjump", jumps, first(want["proxyjump"])},
					{"identityfile", strings.Join(got.identity, " "), strings.Join(wantIDs, " ")},
				} {
					if chk.got != chk.want {
						t.Errorf("%s: %s is %q; ssh -G says %q", alias, chk.what, chk.got, chk.want)
					}
				}
			}
		})
	}
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}
