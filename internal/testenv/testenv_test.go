package testenv

import (
	"fmt"
	"testing"
)

// recorder catches what Unavailable asks of a test instead of ending this one.
type recorder struct {
	testing.TB
	fatal, skipped string
}

func (r *recorder) Helper()           {}
func (r *recorder) Fatal(args ...any) { r.fatal = fmt.Sprint(args...) }
func (r *recorder) Skip(args ...any)  { r.skipped = fmt.Sprint(args...) }

func TestUnavailableFailsUnderCIAndSkipsElsewhere(t *testing.T) {
	t.Setenv("CI", "true")
	r := &recorder{TB: t}
	Unavailable(r, "%s not installed", "tmux")
	if r.fatal == "" || r.skipped != "" {
		t.Errorf("under CI: fatal %q, skipped %q", r.fatal, r.skipped)
	}
	t.Setenv("CI", "")
	r = &recorder{TB: t}
	Tool(r, "no-such-tool-cutover", "none")
	if r.skipped != "no-such-tool-cutover not installed (apt-get install none)" || r.fatal != "" {
		t.Errorf("elsewhere: fatal %q, skipped %q", r.fatal, r.skipped)
	}
}

func TestSkipsSummaryNamesWhatWasNotTested(t *testing.T) {
	s := &skips{counts: map[string]int{}}
	if got := s.summary("checks/remote"); got != "" {
		t.Errorf("nothing skipped: %q", got)
	}
	s.add("/usr/sbin/sshd not installed")
	s.add("needs root")
	s.add("/usr/sbin/sshd not installed")
	want := "NOT TESTED in checks/remote: 3 test(s) skipped here: /usr/sbin/sshd not installed (×2); needs root (×1)\n"
	if got := s.summary("checks/remote"); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	if got := packageDir(); got != "internal/testenv" {
		t.Errorf("package dir %q", got)
	}
}
