package checks

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cutover/cutover/checks/remote"
	"github.com/cutover/cutover/internal/realhost"
)

// On a real systemd host (internal/realhost), as root and as an unprivileged user: what each host
// check says, judged by systemd, journald and sshd themselves.

// realEnv connects to h as user through cutover's own SSH transport.
func realEnv(t *testing.T, h *realhost.Host, user string) Env {
	t.Helper()
	dir := t.TempDir()
	config := filepath.Join(dir, "config")
	if err := os.WriteFile(config, []byte(h.SSHConfig("app", user)), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := remote.NewSSH(remote.SSHOptions{Config: config, KnownHosts: []string{h.KnownHosts}, Home: dir, User: user, DialTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return Env{Host: "app", Runner: s.Runner("app", remote.Target{Address: "app"}), Baselines: baselines{}}
}

func runCheck(t *testing.T, env Env, c Check) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return c.Run(ctx, env)
}

// A user outside adm/systemd-journal sees only their own journal entries, with exit 0 and no hint
// in -o json: a baseline and a comparison made from that are blind to every system error.
func TestRealHostJournalErrorsAreNeverBlind(t *testing.T) {
	h := realhost.Start(t)
	h.AddUser(t, "ops")
	h.AddUser(t, "reader", "systemd-journal")
	h.Exec(t, "logger", "-p", "err", "-t", "payments", "database connection lost 1")
	for _, tc := range []struct {
		user string
		see  bool
	}{{"root", true}, {"reader", true}, {"ops", false}} {
		t.Run(tc.user, func(t *testing.T) {
			env := realEnv(t, h, tc.user)
			base := runCheck(t, env, JournalErrors{})
			if !tc.see {
				if base.Outcome != Inconclusive || !strings.Contains(base.Summary, "usermod -aG systemd-journal ops") {
					t.Fatalf("baseline as %s: %v %q %q", tc.user, base.Outcome, base.Summary, base.Evidence)
				}
				return
			}
			if base.Outcome != Pass || !strings.Contains(strings.Join(base.Baseline, "\n"), "payments: database connection lost #") {
				t.Fatalf("baseline as %s: %v %q baseline %q", tc.user, base.Outcome, base.Summary, base.Baseline)
			}
			env.Baselines = baselines{"errs": base.Baseline}
			h.Exec(t, "logger", "-p", "err", "-t", "payments", "database connection lost 2") // the same error again: not new
			if r := runCheck(t, env, JournalErrors{Baseline: "errs"}); r.Outcome != Pass {
				t.Errorf("a known error again: %v %q %q", r.Outcome, r.Summary, r.Evidence)
			}
			h.Exec(t, "logger", "-p", "err", "-t", "nginx-"+tc.user, "upstream timed out, client: 10.20.0.77")
			r := runCheck(t, env, JournalErrors{Baseline: "errs"})
			if r.Outcome != Fail || !strings.Contains(r.Summary, "nginx-"+tc.user+": upstream timed out, client: #.#.#.#") {
				t.Errorf("a new error: %v %q %q", r.Outcome, r.Summary, r.Evidence)
			}
		})
	}
}
