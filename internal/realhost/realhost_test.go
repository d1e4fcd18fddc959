package realhost

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

func TestBootsRealSystemdAndLeavesNothing(t *testing.T) {
	h := Start(t)
	if got := strings.TrimSpace(h.Exec(t, "systemctl", "is-system-running")); got != "running" {
		t.Fatalf("is-system-running: %s", got)
	}
	if got, want := strings.TrimSpace(h.Exec(t, "readlink", "-f", "/proc/1/exe")), strings.TrimSpace(h.Exec(t, "readlink", "-f", Systemd)); got != want {
		t.Errorf("PID 1 is %s", got)
	}
	h.AddUser(t, "ops")
	for _, user := range []string{"root", "ops"} {
		ssh := exec.Command("ssh", "-F", "none", "-i", h.Key, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
			"-o", "UserKnownHostsFile="+h.KnownHosts, "-p", itoa(h.Port), user+"@127.0.0.1", "id -un; hostname")
		out, err := ssh.CombinedOutput()
		if err != nil || string(out) != user+"\n"+h.Name+"\n" {
			t.Errorf("ssh as %s: %v\n%s", user, err, out)
		}
	}
	if lines := h.ErrorLines(t); len(lines) != 0 {
		t.Errorf("err-level entries after boot: %q", lines)
	}
	cgroup, dir, pid := h.cgroup, h.dir, h.cmd.Process.Pid
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{cgroup, dir} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s left behind: %v", p, err)
		}
	}
	if err := exec.Command("kill", "-0", itoa(pid)).Run(); err == nil {
		t.Errorf("unshare %d still running", pid)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
