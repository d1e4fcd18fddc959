package realhost

// Using a booted host: reaching it over SSH as cutover does, and setting it up from outside
// (nsenter), so that a test's own setup leaves nothing in sshd's log.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cutover/cutover/checks/remote"
	"golang.org/x/crypto/ssh"
)

// KnownHostsLine is the host's known_hosts entry.
func (h *Host) KnownHostsLine() string {
	return fmt.Sprintf("[127.0.0.1]:%d %s", h.Port, strings.TrimSpace(string(ssh.MarshalAuthorizedKey(h.HostKey))))
}

// SSHConfig is an ssh_config block naming the host alias for user.
func (h *Host) SSHConfig(alias, user string) string {
	return fmt.Sprintf("Host %s\n  HostName 127.0.0.1\n  Port %d\n  User %s\n  IdentityFile %s\n  IdentitiesOnly yes\n", alias, h.Port, user, h.Key)
}

// SSH is cutover's own SSH transport to the host as user, under the name alias, with strict
// host key checking against KnownHosts; it is closed when the test ends.
func (h *Host) SSH(t testing.TB, alias, user string) *remote.SSH {
	t.Helper()
	dir := t.TempDir()
	config := filepath.Join(dir, "ssh_config")
	if err := os.WriteFile(config, []byte(h.SSHConfig(alias, user)), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := remote.NewSSH(remote.SSHOptions{Config: config, KnownHosts: []string{h.KnownHosts}, Home: dir, User: user, DialTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// Runner runs commands on the host as user, over SSH.
func (h *Host) Runner(t testing.TB, user string) remote.Runner {
	t.Helper()
	return h.SSH(t, "app", user).Runner("app", remote.Target{Address: "app"})
}

// Console is what the boot printed (systemd logs to the journal; this holds the boot script's
// errors).
func (h *Host) Console() string {
	b, _ := os.ReadFile(filepath.Join(h.dir, "console.log"))
	return string(b)
}

// exec runs argv inside the host as its root, through nsenter rather than SSH so a test's own
// setup leaves nothing in sshd's log.
func (h *Host) exec(argv ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args := append([]string{"-t", strconv.Itoa(h.pid1), "-a", "--"}, argv...)
	cmd := exec.CommandContext(ctx, "nsenter", args...)
	cmd.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", "HOME=/root"}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s: %w", strings.Join(argv, " "), err)
	}
	return string(out), nil
}

// Exec runs argv inside the host as root and fails the test if it fails.
func (h *Host) Exec(t testing.TB, argv ...string) string {
	t.Helper()
	out, err := h.exec(argv...)
	if err != nil {
		t.Fatalf("realhost: %v\n%s", err, out)
	}
	return out
}

// Try runs argv inside the host as root and returns its output and error.
func (h *Host) Try(argv ...string) (string, error) { return h.exec(argv...) }

// Script runs a shell script inside the host as root and fails the test if it fails.
func (h *Host) Script(t testing.TB, script string) string {
	t.Helper()
	return h.Exec(t, "/bin/sh", "-c", script)
}

// WriteFile writes a file inside the host (in its overlay).
func (h *Host) WriteFile(t testing.TB, path, data string, mode os.FileMode) {
	t.Helper()
	cmd := exec.Command("nsenter", "-t", strconv.Itoa(h.pid1), "-a", "--", "/bin/sh", "-c", `cat > "$1" && chmod "$2" "$1"`, "sh", path, strconv.FormatUint(uint64(mode), 8))
	cmd.Stdin = strings.NewReader(data)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("realhost: write %s: %v\n%s", path, err, out)
	}
}

// AddUser creates an unprivileged user (in the given groups) who logs in with Key.
func (h *Host) AddUser(t testing.TB, name string, groups ...string) {
	t.Helper()
	args := []string{"useradd", "-m", "-s", "/bin/bash"}
	if len(groups) > 0 {
		args = append(args, "-G", strings.Join(groups, ","))
	}
	h.Exec(t, append(args, "--", name)...)
}

// ErrorLines is the host's err-level journal of this boot, one line per entry: what a test holds
// unchanged to prove cutover left no trace.
func (h *Host) ErrorLines(t testing.TB) []string {
	t.Helper()
	out := h.Exec(t, "journalctl", "-p", "err", "-b", "-o", "short-iso", "--no-pager", "-q")
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}
