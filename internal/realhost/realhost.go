// Package realhost boots a real systemd host on this machine for tests: Debian's own systemd as
// PID 1 of fresh PID, mount, UTS, IPC and cgroup namespaces, on an overlay of / whose writes land in
// a tmpfs, with journald, dbus, logind and OpenSSH's sshd. What host checks are judged against is
// then systemd, journald and sshd themselves, not a model of them.
//
// The host has a network namespace of its own holding only its loopback: its listeners, firewall
// rules and pings are its own, never this machine's. Its sshd (127.0.0.1:22 in there) is reached
// at this machine's 127.0.0.1:Port through a forwarder. CAP_SYS_TIME, CAP_SYS_MODULE and
// CAP_SYS_BOOT are dropped from its bounding set so nothing in it can touch this machine's clock,
// kernel or power. Its mounts live only in its mount namespace; stopping powers it off, kills what
// is left in its cgroup and removes its state.
package realhost

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	_ "embed"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/cutover/cutover/internal/testenv"
)

//go:embed boot.sh
var bootScript []byte

// Systemd is the init the host boots (Debian's systemd package).
const Systemd = "/lib/systemd/systemd"

// Host is one booted systemd host.
type Host struct {
	Name       string // its hostname
	Port       int    // its sshd, reached at this machine's 127.0.0.1:Port
	Key        string // private key file (ed25519, no passphrase) that logs in as every user
	KnownHosts string // known_hosts file naming [127.0.0.1]:Port with the host's key
	HostKey    ssh.PublicKey

	dir    string
	cgroup string
	pid1   int
	cmd    *exec.Cmd
	exited chan struct{}
	netns  *os.File   // the host's network namespace
	fwd    *forwarder // this machine's 127.0.0.1:Port → the host's 127.0.0.1:22
}

// units masked in the overlay: heavy here, or reaching outside the namespaces. postgresql and
// redis-server come with ../shared/realnetbox's packages: enabled on the machine, they would start in
// every host and add their listeners to what the checks count.
var masked = []string{
	"postgresql.service", "redis-server.service", "apt-daily.timer", "apt-daily-upgrade.timer", "dpkg-db-backup.timer", "man-db.timer",
	"e2scrub_all.timer", "e2scrub_reap.service", "fstrim.timer", "systemd-pstore.service", "ssh.socket",
	"systemd-networkd.service", "systemd-resolved.service", "networking.service", "getty@tty1.service",
	"systemd-journald-audit.socket", "remote-fs.target", "nftables.service",
}

// Start boots a host and stops it when the test ends. Where this machine cannot boot one (not
// root, no systemd, no cgroup2, no overlayfs) the test skips saying why, and fails under CI.
func Start(t testing.TB) *Host {
	t.Helper()
	testenv.Root(t, "a systemd host of our own (namespaces, mounts, a cgroup)")
	if _, err := os.Stat(Systemd); err != nil {
		testenv.Unavailable(t, "%s missing (apt-get install systemd dbus)", Systemd)
	}
	for _, tool := range []struct{ name, pkg string }{{"unshare", "util-linux"}, {"setpriv", "util-linux"}, {"pivot_root", "util-linux"}, {"nsenter", "util-linux"}, {"/usr/sbin/sshd", "openssh-server"}, {"dbus-daemon", "dbus"}} {
		testenv.Tool(t, tool.name, tool.pkg)
	}
	if fs, _ := os.ReadFile("/proc/filesystems"); !bytes.Contains(fs, []byte("\toverlay\n")) {
		testenv.Unavailable(t, "the kernel offers no overlayfs")
	}
	base, err := cgroup2()
	if err != nil {
		testenv.Unavailable(t, "%v", err)
	}
	h, err := start(t, base)
	if err != nil {
		t.Fatalf("realhost: %v", err)
	}
	return h
}

func start(t testing.TB, base string) (*Host, error) {
	dir, err := os.MkdirTemp("", "cutover-realhost-")
	if err != nil {
		return nil, err
	}
	h := &Host{Name: "realhost", dir: dir, exited: make(chan struct{})}
	t.Cleanup(func() {
		if err := h.stop(); err != nil {
			t.Errorf("realhost: %v", err)
		}
	})
	if err := h.seed(); err != nil {
		return nil, err
	}
	h.cgroup = filepath.Join(base, filepath.Base(dir))
	if err := os.Mkdir(h.cgroup, 0o755); err != nil {
		return nil, fmt.Errorf("cgroup: %w", err)
	}
	cg, err := os.Open(h.cgroup)
	if err != nil {
		return nil, err
	}
	defer cg.Close()
	console, err := os.Create(filepath.Join(dir, "console.log"))
	if err != nil {
		return nil, err
	}
	defer console.Close()
	h.cmd = exec.Command("unshare", "--fork", "--pid", "--mount", "--uts", "--ipc", "--net", "--cgroup", "--propagation", "private",
		"/bin/sh", filepath.Join(dir, "boot.sh"), dir, h.Name)
	h.cmd.Stdout, h.cmd.Stderr = console, console
	h.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, UseCgroupFD: true, CgroupFD: int(cg.Fd())}
	if err := h.cmd.Start(); err != nil {
		return nil, fmt.Errorf("unshare: %w", err)
	}
	go func() { h.cmd.Wait(); close(h.exited) }()
	if h.netns, err = awaitNetns(h.cmd.Process.Pid, h.exited); err != nil {
		return nil, err
	}
	if h.fwd, err = newForwarder(h.netns, "127.0.0.1:22"); err != nil {
		return nil, err
	}
	h.Port = h.fwd.port()
	if err := h.writeKnownHosts(); err != nil {
		return nil, err
	}
	if err := h.awaitSSH(60 * time.Second); err != nil {
		return nil, err
	}
	if err := h.awaitPID1(); err != nil {
		return nil, err
	}
	// Boot finished (every unit of multi-user.target settled): what tests measure starts from here.
	out, err := h.exec("systemctl", "is-system-running", "--wait")
	if state := strings.TrimSpace(out); state != "running" {
		failed, _ := h.exec("systemctl", "--failed", "--no-pager")
		return nil, fmt.Errorf("booted %s (%v), not running:\n%s", state, err, failed)
	}
	return h, nil
}

// seed writes what the overlay adds to /: sshd's config and keys, the hostname, a machine id,
// masks, and the boot script.
func (h *Host) seed() error {
	s := filepath.Join(h.dir, "seed")
	for _, d := range []string{"ns", "seed/etc/ssh", "seed/etc/systemd/system"} {
		if err := os.MkdirAll(filepath.Join(h.dir, d), 0o755); err != nil {
			return err
		}
	}
	hostPub, hostPEM, err := keypair("root@" + h.Name)
	if err != nil {
		return err
	}
	userPub, userPEM, err := keypair("cutover-test")
	if err != nil {
		return err
	}
	if h.HostKey, _, _, _, err = ssh.ParseAuthorizedKey(hostPub); err != nil {
		return err
	}
	h.Key = filepath.Join(h.dir, "id_ed25519")
	h.KnownHosts = filepath.Join(h.dir, "known_hosts")
	id := make([]byte, 16)
	rand.Read(id)
	// Its own name resolves, as on any installed host (sudo looks it up, and would otherwise say
	// "unable to resolve host" on every command).
	hosts := fmt.Sprintf("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t%s\n", h.Name)
	files := []struct {
		path string
		data []byte
		mode os.FileMode
	}{
		{h.Key, userPEM, 0o600},
		{filepath.Join(h.dir, "boot.sh"), bootScript, 0o755},
		{filepath.Join(s, "etc/ssh/realhost_host_ed25519_key"), hostPEM, 0o600},
		{filepath.Join(s, "etc/ssh/realhost_host_ed25519_key.pub"), hostPub, 0o644},
		// Read by sshd as the user logging in: the one key logs in as every user.
		{filepath.Join(s, "etc/ssh/realhost_authorized_keys"), userPub, 0o644},
		{filepath.Join(s, "etc/ssh/sshd_config"), []byte(`Port 22
ListenAddress 127.0.0.1
HostKey /etc/ssh/realhost_host_ed25519_key
AuthorizedKeysFile /etc/ssh/realhost_authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM yes
PrintMotd no
AcceptEnv LANG LC_*
MaxStartups 100:30:200
Subsystem sftp /usr/lib/openssh/sftp-server
`), 0o644},
		{filepath.Join(s, "etc/hostname"), []byte(h.Name + "\n"), 0o644},
		{filepath.Join(s, "etc/hosts"), []byte(hosts), 0o644},
		{filepath.Join(s, "etc/machine-id"), []byte(fmt.Sprintf("%x\n", id)), 0o444},
	}
	for _, f := range files {
		if err := os.WriteFile(f.path, f.data, f.mode); err != nil {
			return err
		}
	}
	for _, u := range masked {
		if err := os.Symlink("/dev/null", filepath.Join(s, "etc/systemd/system", u)); err != nil {
			return err
		}
	}
	return nil
}

// keypair makes an ed25519 key: the public key in authorized_keys form and the private key in
// OpenSSH's PEM form.
func keypair(comment string) ([]byte, []byte, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		return nil, nil, err
	}
	block, err := ssh.MarshalPrivateKey(priv, comment)
	if err != nil {
		return nil, nil, err
	}
	line := bytes.TrimSpace(ssh.MarshalAuthorizedKey(sp))
	return append(line, []byte(" "+comment+"\n")...), pem.EncodeToMemory(block), nil
}

func (h *Host) writeKnownHosts() error {
	return os.WriteFile(h.KnownHosts, []byte(h.KnownHostsLine()+"\n"), 0o644)
}

// awaitSSH waits until sshd answers with the host's key and lets root in with the key.
func (h *Host) awaitSSH(limit time.Duration) error {
	pemBytes, err := os.ReadFile(h.Key)
	if err != nil {
		return err
	}
	signer, err := ssh.ParsePrivateKey(pemBytes)
	if err != nil {
		return err
	}
	cfg := &ssh.ClientConfig{User: "root", Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)}, HostKeyCallback: ssh.FixedHostKey(h.HostKey), Timeout: time.Second}
	deadline := time.Now().Add(limit)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-h.exited:
			return fmt.Errorf("the host's namespace exited during boot:\n%s", h.Console())
		default:
		}
		cl, err := ssh.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(h.Port)), cfg)
		if err == nil {
			// One round trip before closing: sshd sends its post-login debug messages first, and a
			// connection closed under them logs "fatal: ssh_packet_send_debug: Broken pipe".
			_, _, err = cl.SendRequest("keepalive@openssh.com", true, nil)
			return errors.Join(err, cl.Close())
		}
		last = err
		select { // poll: sshd's unit has no readiness we can see from here
		case <-h.exited:
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("sshd did not let root in on 127.0.0.1:%d within %s: %v\n%s", h.Port, limit, last, h.Console())
}

// awaitPID1 finds systemd's PID as this machine sees it: the first process of its init.scope.
func (h *Host) awaitPID1() error {
	b, err := os.ReadFile(filepath.Join(h.cgroup, "init.scope", "cgroup.procs"))
	if err != nil {
		return fmt.Errorf("find PID 1: %w", err)
	}
	first, _, _ := strings.Cut(string(b), "\n")
	h.pid1, err = strconv.Atoi(strings.TrimSpace(first))
	if err != nil {
		return fmt.Errorf("find PID 1 in init.scope: %q", b)
	}
	return nil
}

// stop powers the host off (SIGRTMIN+4 asks systemd in a container to), kills what is left after
// a grace period, and removes its cgroup and state.
func (h *Host) stop() error {
	var errs []error
	if h.fwd != nil {
		h.fwd.close()
		h.fwd = nil
	}
	if h.cmd != nil && h.cmd.Process != nil {
		if h.pid1 > 0 {
			syscall.Kill(h.pid1, sigRTMin+4)
		} else {
			h.kill()
		}
		select {
		case <-h.exited:
		case <-time.After(30 * time.Second):
			errs = append(errs, errors.New("did not power off within 30 s: killed"))
			h.kill()
			select {
			case <-h.exited:
			case <-time.After(10 * time.Second):
				errs = append(errs, fmt.Errorf("unshare (pid %d) still running after the kill", h.cmd.Process.Pid))
			}
		}
	}
	if h.cgroup != "" {
		if err := h.awaitEmptyCgroup(10 * time.Second); err != nil {
			errs = append(errs, err)
		}
		if err := removeCgroup(h.cgroup); err != nil {
			errs = append(errs, err)
		}
	}
	if err := os.RemoveAll(h.dir); err != nil {
		errs = append(errs, err)
	}
	if h.netns != nil {
		h.netns.Close()
		h.netns = nil
	}
	h.cmd, h.cgroup, h.pid1 = nil, "", 0
	return errors.Join(errs...)
}

// sigRTMin is glibc's SIGRTMIN, which systemd's SIGRTMIN+4 (power off) counts from.
const sigRTMin = syscall.Signal(34)

// kill ends every process in the host's cgroup at once.
func (h *Host) kill() {
	if h.cgroup != "" && os.WriteFile(filepath.Join(h.cgroup, "cgroup.kill"), []byte("1"), 0) == nil {
		return
	}
	if h.cmd != nil && h.cmd.Process != nil {
		syscall.Kill(-h.cmd.Process.Pid, syscall.SIGKILL)
	}
}

func (h *Host) awaitEmptyCgroup(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		procs := cgroupProcs(h.cgroup)
		if len(procs) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("processes left in %s: %v", h.cgroup, procs)
		}
		h.kill()
		time.Sleep(20 * time.Millisecond) // poll: a cgroup has no "empty" notification we can wait on here
	}
}

func cgroupProcs(dir string) []string {
	var procs []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Name() == "cgroup.procs" {
			b, _ := os.ReadFile(p)
			procs = append(procs, strings.Fields(string(b))...)
		}
		return nil
	})
	return procs
}

// removeCgroup removes a cgroup and the ones systemd made under it, deepest first.
func removeCgroup(dir string) error {
	var dirs []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	var errs []error
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := syscall.Rmdir(dirs[i]); err != nil && !errors.Is(err, syscall.ENOENT) {
			errs = append(errs, fmt.Errorf("remove cgroup %s: %w", dirs[i], err))
		}
	}
	return errors.Join(errs...)
}

// cgroup2 finds where this machine mounts cgroup2 (unified or hybrid layout).
func cgroup2() (string, error) {
	for _, p := range []string{"/sys/fs/cgroup", "/sys/fs/cgroup/unified"} {
		var st syscall.Statfs_t
		if syscall.Statfs(p, &st) == nil && st.Type == 0x63677270 { // CGROUP2_SUPER_MAGIC
			return p, nil
		}
	}
	return "", errors.New("no cgroup2 at /sys/fs/cgroup or /sys/fs/cgroup/unified")
}
