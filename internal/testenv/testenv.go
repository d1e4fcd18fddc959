// Package testenv decides what a test does where it cannot run. Under CI (CI set) .ci/run has
// installed every tool and runs as root, so a missing part is a failure: a green run must mean the
// test ran. On a developer's machine the test skips, saying what is missing — and, since go test
// hides a passing package's output, Main says it once more where the developer looks: the terminal.
package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
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
	notTested.add(msg)
	t.Skip(msg)
}

// ByHand skips a test that is run by hand against something CI cannot have (a real NetBox needs
// packages from PyPI and git mirrors a fresh machine has not), in CI too, saying so: it is counted
// with what was not tested, and Main names it where the developer looks.
func ByHand(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := "NOT TESTED (run by hand): " + fmt.Sprintf(format, args...)
	notTested.add(msg)
	t.Skip(msg)
}

// skips collects what this test binary could not test. It is the package's one piece of shared
// state: tests of one binary skip from many goroutines, and Main reports them when all are done.
type skips struct {
	mu     sync.Mutex
	n      int
	why    []string
	counts map[string]int
}

var notTested = &skips{counts: map[string]int{}}

func (s *skips) add(why string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	if s.counts[why]++; s.counts[why] == 1 {
		s.why = append(s.why, why)
	}
}

// summary is one line naming what was not tested, or "" when everything ran.
func (s *skips) summary(pkg string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n == 0 {
		return ""
	}
	parts := make([]string, len(s.why))
	for i, w := range s.why {
		parts[i] = fmt.Sprintf("%s (×%d)", w, s.counts[w])
	}
	return fmt.Sprintf("NOT TESTED in %s: %d test(s) skipped here: %s\n", pkg, s.n, strings.Join(parts, "; "))
}

// Main runs the tests and, when some could not run here, writes one line saying which and why to
// the terminal (go test shows a passing package's output only with -v) or else to stderr.
func Main(m *testing.M) int {
	code := m.Run()
	pkg := packageDir()
	if line := notTested.summary(pkg); line != "" {
		if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
			tty.WriteString(line)
			tty.Close()
		} else {
			os.Stderr.WriteString(line)
		}
	}
	return code
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

// packageDir is the test's package directory relative to the module root (go test runs a test
// binary in its package's directory).
func packageDir() string {
	wd, err := os.Getwd()
	if err != nil {
		return "this package"
	}
	for dir := wd; dir != filepath.Dir(dir); dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			if rel, err := filepath.Rel(dir, wd); err == nil {
				return rel
			}
		}
	}
	return wd
}
