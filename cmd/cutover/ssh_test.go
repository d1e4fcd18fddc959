package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/cutover/cutover/internal/sshtest"
)

const sshRunbook = `version: 1
runbooks:
  - name: ssh-window
    vars: {sshport: "22"}
    hosts:
      app: {address: app, zone: site-a}
      probe-a: {address: probe-a, zone: site-a}
      probe-b: {address: probe-b, zone: site-b}
    steps:
      - name: pre-checks
        checks:
          - {kind: unit_active, host: app, unit: ssh}
          - {kind: listeners_baseline, host: app, id: ports}
          - {kind: journal_baseline, host: app, id: errs}
          - {kind: endpoint, tcp: "127.0.0.1:{{ .sshport }}", from: [probe-a, probe-b]}
          - {kind: dns, host: app, name: localhost}
        gate: {require: 3}
      - name: change
        confirm: Open the new listener?
        command: {host: app, run: "true"}
        rollback:
          - {name: undo-change, command: {host: app, run: "echo undone"}}
      - name: post-checks
        checks:
          - {kind: listeners_unchanged, host: app, baseline: ports}
        gate: {on_fail: rollback}
`

// sshEnv is a real sshd, an ssh_config with three aliases for it, and a known_hosts trusting it.
type sshEnv struct {
	srv                           *sshtest.Server
	dir, config, knownHosts, book string
}

func newSSHEnv(t *testing.T) *sshEnv {
	t.Helper()
	sshtest.Require(t)
	dir := t.TempDir()
	key, pub := sshtest.Keygen(t, dir, "id_ed25519")
	srv := sshtest.Start(t, sshtest.Options{AuthorizedKeys: pub + "\n"})
	e := &sshEnv{srv: srv, dir: dir, config: filepath.Join(dir, "ssh_config"), knownHosts: filepath.Join(dir, "known_hosts"), book: filepath.Join(dir, "runbooks.yaml")}
	var cfg strings.Builder
	for _, alias := range []string{"app", "probe-a", "probe-b"} {
		fmt.Fprintf(&cfg, "Host %s\n  HostName 127.0.0.1\n  Port %d\n  User root\n  IdentityFile %s\n", alias, srv.Port, key)
	}
	os.WriteFile(e.config, []byte(cfg.String()), 0o600)
	os.WriteFile(e.knownHosts, []byte(srv.KnownHostsLine()+"\n"), 0o600)
	os.WriteFile(e.book, []byte(sshRunbook), 0o600)
	return e
}

func (e *sshEnv) args(tr string, extra ...string) []string {
	return append([]string{"run", e.book, "--plain", "--transcript", tr, "--ssh-config", e.config, "--known-hosts", e.knownHosts,
		"--var", fmt.Sprintf("sshport=%d", e.srv.Port)}, extra...)
}

// operator answers the confirm question, but first opens a listener on the host, as an engineer
// would start a service during the change.
type operator struct {
	once     sync.Once
	listener net.Listener
	answer   *strings.Reader
}

func (o *operator) Read(p []byte) (int, error) {
	o.once.Do(func() { o.listener, _ = net.Listen("tcp", "127.0.0.1:0") })
	return o.answer.Read(p)
}

type journalLine struct {
	Type string
	Step string
	Data map[string]any
}

func readJournal(t *testing.T, path string) []journalLine {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []journalLine
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l journalLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatal(err)
		}
		out = append(out, l)
	}
	return out
}

func TestRunOverRealSSH(t *testing.T) {
	e := newSSHEnv(t)
	tr := filepath.Join(e.dir, "tr")
	op := &operator{answer: strings.NewReader("p\n")}
	var out, errb strings.Builder
	code := run(e.args(tr, "--ssh-timings"), streams{in: op, out: &out, err: &errb})
	if op.listener != nil {
		defer op.listener.Close()
	}
	if code != exitFailed {
		t.Fatalf("exit %d, want 1 (rolled back)\n%s\n%s", code, out.String(), errb.String())
	}
	newPort := op.listener.Addr().(*net.TCPAddr).Port
	// The three aliases name one sshd as one user: one pooled connection, a session per command.
	for _, want := range []string{"tcp connect       1 ×", "key exchange      1 ×", "auth              1 ×", "session open", "command"} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("--ssh-timings lacks %q:\n%s", want, errb.String())
		}
	}
	lines := readJournal(t, journalOf(t, tr))
	checksBy := map[string]map[string]any{}
	var cmds []string
	for _, l := range lines {
		switch l.Type {
		case "check":
			checksBy[l.Data["kind"].(string)] = l.Data
		case "cmd":
			cmds = append(cmds, fmt.Sprintf("%s %s", l.Data["host"], l.Data["command"]))
		}
	}
	for _, want := range []string{"app LC_ALL=C ss -tulpnH", "probe-a LC_ALL=C timeout 5 bash -c", "probe-b LC_ALL=C timeout 5 bash -c", "app true"} {
		found := false
		for _, c := range cmds {
			found = found || strings.HasPrefix(c, want)
		}
		if !found {
			t.Errorf("no command %q journaled in %q", want, cmds)
		}
	}
	if ep := checksBy["endpoint"]; ep["outcome"] != "pass" {
		t.Errorf("endpoint from two zones over ssh: %v", ep)
	}
	if ua := checksBy["unit_active"]; ua["outcome"] == "pass" {
		t.Errorf("unit_active passed on a host without systemd: %v", ua)
	} else if ua["outcome"] == "inconclusive" && !strings.Contains(fmt.Sprint(ua["summary"]), "systemd is not running") {
		t.Errorf("unit_active: %v", ua)
	}
	post := checksBy["listeners_unchanged"]
	ev := fmt.Sprint(post["evidence"])
	if post["outcome"] != "fail" || !strings.Contains(ev, fmt.Sprintf("+ tcp 127.0.0.1:%d", newPort)) || strings.Contains(ev, "- ") {
		t.Errorf("post-check must report exactly the new listener :%d: %v", newPort, post)
	}
	if !strings.Contains(out.String(), "rollback [1/1] undo-change (undoes change)") || !strings.Contains(out.String(), "| undone") {
		t.Errorf("rollback not run:\n%s", out.String())
	}
}

func TestRunRefusesAnUnknownOrChangedHostKey(t *testing.T) {
	e := newSSHEnv(t)
	_, other := sshtest.Keygen(t, e.dir, "impostor")
	os.WriteFile(e.knownHosts, []byte(fmt.Sprintf("[127.0.0.1]:%d %s\n", e.srv.Port, other)), 0o600)
	tr := filepath.Join(e.dir, "tr")
	code, _, errs := cli(t, "", e.args(tr, "--yes")...)
	if code != exitBadInput || !strings.Contains(errs, "HOST KEY MISMATCH") || !strings.Contains(errs, "SHA256:") || !strings.Contains(errs, "host app:") {
		t.Errorf("mismatch: exit %d\n%s", code, errs)
	}
	if _, err := os.Stat(tr); !os.IsNotExist(err) {
		t.Error("a refused run must not start a journal")
	}
	os.WriteFile(e.knownHosts, nil, 0o600)
	code, _, errs = cli(t, "", e.args(tr, "--yes")...)
	if code != exitBadInput || !strings.Contains(errs, "is not in known_hosts: it offered ssh-ed25519 key SHA256:") {
		t.Errorf("unknown: exit %d\n%s", code, errs)
	}
}

// A host that offers only a key type known_hosts lacks for it is refused before step one, with
// its fingerprint, as an unknown host is: no journal, exit 2.
func TestRunRefusesAHostOfferingAnotherKeyType(t *testing.T) {
	e := newSSHEnv(t)
	ecdsa := filepath.Join(e.dir, "other_ecdsa")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ecdsa", "-N", "", "-f", ecdsa).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	os.WriteFile(e.knownHosts, []byte(fmt.Sprintf("[127.0.0.1]:%d %s\n", e.srv.Port, mustRead(t, ecdsa+".pub"))), 0o600)
	tr := filepath.Join(e.dir, "tr")
	code, out, errs := cli(t, "", e.args(tr, "--yes")...)
	fp := strings.Fields(string(mustReadCmd(t, "ssh-keygen", "-l", "-f", filepath.Join(e.srv.Dir, "host_ed25519.pub"))))[1]
	if code != exitBadInput || !strings.Contains(errs, "offers no key of a type known_hosts holds") || !strings.Contains(errs, "ssh-ed25519 key "+fp) || !strings.Contains(errs, "ecdsa-sha2-nistp256") {
		t.Errorf("exit %d\n%s\n%s", code, out, errs)
	}
	if _, err := os.Stat(tr); !os.IsNotExist(err) {
		t.Error("a refused run must not start a journal")
	}
}

func mustReadCmd(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return out
}
