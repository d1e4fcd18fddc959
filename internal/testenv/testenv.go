// Package testenv decides what a test does where it cannot run. Under CI (CI set) .ci/run has
// installed every tool and runs as root, so a missing part is a failure: a green run must mean the
// test ran. On a developer's machine the test skips, saying what is missing.
package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// Unavailable fails the test under CI and skips it elsewhere, with the reason.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") != "" {
		t.Fatal(msg + " (CI must provide it: see .ci/run)")
		return
	}
	t.Skip(msg)
}

// Tool requires a program on PATH; pkg is the Debian package that has it.
func Tool(t testing.TB, name, pkg string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		Unavailable(t, "%s not installed (apt-get install %s)", name, pkg)
	}
}

// Root requires root, for what: raw ICMP, mounts, an sshd of our own.
func Root(t testing.TB, what string) {
	t.Helper()
	if os.Geteuid() != 0 {
		Unavailable(t, "%s needs root", what)
	}
}
