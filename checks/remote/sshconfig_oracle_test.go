package remote

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/cutover/cutover/internal/testenv"
)

// The ssh_config oracle: OpenSSH's own `ssh -G ALIAS` and cutover's resolution run side by side in
// a private mount namespace in which the user's home and /etc/ssh are the corpus case's files, so
// that both read the same ~/.ssh/config, /etc/ssh/ssh_config, Includes and known_hosts defaults as
// they would on an operator's machine. Every key cutover uses must agree; a config ssh refuses,
// cutover refuses.

type oracleCase struct {
	name     string
	files    map[string]string // "home/…" and "etc/…" (etc is /etc/ssh)
	modes    map[string]os.FileMode
	explicit string // a file given as -F (relative to the case's home)
	aliases  []string
}

// oracleKeys are the ssh -G keys cutover resolves.
var oracleKeys = []string{"user", "hostname", "port", "identityfile", "certificatefile", "identitiesonly", "identityagent",
	"proxycommand", "proxyjump", "userknownhostsfile", "globalknownhostsfile", "hostkeyalias"}

func TestSSHConfigAsOpenSSHResolvesIt(t *testing.T) {
	testenv.Tool(t, "ssh", "openssh-client")
	testenv.Tool(t, "unshare", "util-linux")
	for _, c := range oracleCorpus {
		t.Run(c.name, func(t *testing.T) {
			got, want := runOracle(t, c)
			for _, alias := range c.aliases {
				g, w := got[alias], want[alias]
				if strings.HasPrefix(w, "ERROR") || strings.HasPrefix(g, "ERROR") {
					if strings.HasPrefix(w, "ERROR") != strings.HasPrefix(g, "ERROR") {
						t.Errorf("%s: ssh -G says\n%s\ncutover says\n%s", alias, w, g)
					}
					continue
				}
				if g != w {
					t.Errorf("%s: cutover resolves\n%s\nssh -G says\n%s", alias, g, w)
				}
			}
		})
	}
}

// runOracle writes the case's files and runs ssh -G and this test binary's helper in one mount
// namespace; it returns each alias's resolution by cutover and by ssh, in ssh -G's words.
func runOracle(t *testing.T, c oracleCase) (got, want map[string]string) {
	dir := t.TempDir()
	for _, sub := range []string{"home/.ssh", "etc", "out"} {
		os.MkdirAll(filepath.Join(dir, sub), 0o755)
	}
	os.Chmod(filepath.Join(dir, "home"), 0o755)
	for name, body := range c.files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		mode := os.FileMode(0o644)
		if m, ok := c.modes[name]; ok {
			mode = m
		}
		if err := os.WriteFile(p, []byte(body), mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(p, mode)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	fflag := ""
	if c.explicit != "" {
		fflag = "-F \"$PWHOME\"/" + c.explicit
	}
	script := `set -e
PWHOME=$(getent passwd "$(id -u)" | cut -d: -f6)
mount --make-rprivate /
mount --bind "$D/home" "$PWHOME"
mount --bind "$D/etc" /etc/ssh
export HOME="$PWHOME"
for a in $ALIASES; do
  ssh -G ` + fflag + ` "$a" > "$D/out/ssh.$a" 2> "$D/out/ssh-err.$a" || echo "ERROR $(cat "$D/out/ssh-err.$a")" > "$D/out/ssh.$a"
done
CUTOVER_SSHG_HELPER=1 CUTOVER_SSHG_EXPLICIT="` + c.explicit + `" "$SELF" > "$D/out/helper.log" 2>&1 || { cat "$D/out/helper.log"; exit 1; }
`
	args := []string{"--mount", "sh", "-c", script}
	if os.Getuid() != 0 {
		args = append([]string{"--map-root-user"}, args...)
	}
	cmd := exec.Command("unshare", args...)
	cmd.Env = append(os.Environ(), "D="+dir, "SELF="+self, "ALIASES="+strings.Join(c.aliases, " "), "CUTOVER_T=from-env")
	if out, err := cmd.CombinedOutput(); err != nil {
		if strings.Contains(string(out), "Operation not permitted") || strings.Contains(string(out), "unshare failed") {
			testenv.Unavailable(t, "no private mount namespace here (unshare --mount: %s)", strings.TrimSpace(string(out)))
		}
		t.Fatalf("oracle run: %v\n%s", err, out)
	}
	got, want = map[string]string{}, map[string]string{}
	for _, a := range c.aliases {
		w, _ := os.ReadFile(filepath.Join(dir, "out", "ssh."+a))
		g, _ := os.ReadFile(filepath.Join(dir, "out", "cutover."+a))
		want[a] = pickKeys(string(w))
		got[a] = strings.TrimSpace(string(g))
	}
	return got, want
}

// pickKeys keeps the keys cutover resolves, in a stable order.
func pickKeys(out string) string {
	if strings.HasPrefix(out, "ERROR") {
		return strings.TrimSpace(out)
	}
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		k, _, _ := strings.Cut(l, " ")
		for _, want := range oracleKeys {
			if k == want {
				lines = append(lines, l)
			}
		}
	}
	sort.SliceStable(lines, func(i, j int) bool { return keyRank(lines[i]) < keyRank(lines[j]) })
	return strings.Join(lines, "\n")
}

func keyRank(line string) int {
	k, _, _ := strings.Cut(line, " ")
	for i, o := range oracleKeys {
		if o == k {
			return i
		}
	}
	return len(oracleKeys)
}

// sshGHelper is cutover's side of the oracle: TestMain runs it instead of the tests when
// runOracle starts the test binary inside the namespace (CUTOVER_SSHG_HELPER set), so that no test
// of the package is skipped outside it. It returns the process's exit code.
func sshGHelper() int {
	home := os.Getenv("HOME")
	me, err := user.Current()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	explicit := ""
	if e := os.Getenv("CUTOVER_SSHG_EXPLICIT"); e != "" {
		explicit = filepath.Join(home, e)
	}
	out := filepath.Join(os.Getenv("D"), "out")
	cfg, loadErr := loadSSHConfig(explicit, "/etc/ssh/ssh_config", home)
	for _, alias := range strings.Fields(os.Getenv("ALIASES")) {
		var text string
		if loadErr != nil {
			text = "ERROR " + loadErr.Error()
		} else if h, err := cfg.resolve(Target{Address: alias}, me.Username); err != nil {
			text = "ERROR " + err.Error()
		} else {
			text = sshG(h)
		}
		if err := os.WriteFile(filepath.Join(out, "cutover."+alias), []byte(text), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	return 0
}

// sshG says a resolution in ssh -G's words, for the keys cutover uses.
func sshG(h hostSpec) string {
	o := h.conf
	var b strings.Builder
	line := func(k, v string) { fmt.Fprintf(&b, "%s %s\n", k, v) }
	line("user", h.user)
	line("hostname", h.hostName)
	line("port", strconv.Itoa(h.port))
	ids := o.identity
	if len(ids) == 0 {
		ids = defaultIdentities
	}
	for _, id := range ids {
		line("identityfile", id)
	}
	for _, c := range o.certs {
		line("certificatefile", c)
	}
	if h.identitiesOnly {
		line("identitiesonly", "yes")
	} else {
		line("identitiesonly", "no")
	}
	switch {
	case o.agent == "":
	case o.agent == "SSH_AUTH_SOCK" || strings.EqualFold(o.agent, "none"):
		line("identityagent", o.agent)
	default:
		line("identityagent", h.agent)
	}
	switch {
	case strings.EqualFold(o.proxyJump, "none"):
		if o.proxyCommand != "" {
			line("proxycommand", o.proxyCommand)
		}
	case o.proxyJump != "":
		line("proxyjump", jumpAsSSHPrintsIt(o.proxyJump))
	case o.proxyCommand != "":
		line("proxycommand", o.proxyCommand)
	}
	if len(o.userKnown) > 0 && strings.EqualFold(o.userKnown[0], "none") {
		line("userknownhostsfile", "none")
	}
	if len(h.userKnown) > 0 {
		line("userknownhostsfile", strings.Join(h.userKnown, " "))
	}
	if len(h.globalKnown) > 0 {
		line("globalknownhostsfile", strings.Join(h.globalKnown, " "))
	}
	if h.hostKeyAlias != "" {
		line("hostkeyalias", h.hostKeyAlias)
	}
	return pickKeys(b.String())
}

// jumpAsSSHPrintsIt: ssh keeps the hops before the last as written and prints the last one parsed.
func jumpAsSSHPrintsIt(v string) string {
	if strings.EqualFold(v, "none") {
		return v
	}
	hops := splitJumps(v)
	last, _ := parseHop(hops[len(hops)-1])
	s := last.Address
	if strings.Contains(s, ":") || strings.Trim(s, "0123456789.") == "" {
		s = "[" + s + "]"
	}
	if last.User != "" {
		s = last.User + "@" + s
	}
	if last.Port > 0 {
		s += ":" + strconv.Itoa(last.Port)
	}
	if len(hops) > 1 {
		prefix := v[:strings.LastIndex(v, ",")]
		return prefix + "," + s
	}
	return s
}
