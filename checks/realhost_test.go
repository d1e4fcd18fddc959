package checks

import (
	"context"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/realhost"
)

// On a real systemd host (internal/realhost), as root and as an unprivileged user: what each host
// check says, judged by systemd, journald and sshd themselves.

// realEnv runs checks on h as user through cutover's own SSH transport.
func realEnv(t *testing.T, h *realhost.Host, user string) Env {
	t.Helper()
	return Env{Host: "app", Runner: h.Runner(t, user), Baselines: baselines{}}
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
			// The real line, as logged (PID, address), and grouped under its normalised key.
			if r.Outcome != Fail || !regexp.MustCompile(`^1 new error\(s\) since the baseline: nginx-`+tc.user+`\[\d+\]: upstream timed out, client: 10\.20\.0\.77$`).MatchString(r.Summary) ||
				len(r.Evidence) != 2 || r.Evidence[0] != "new ×1: nginx-"+tc.user+": upstream timed out, client: #.#.#.#" ||
				!regexp.MustCompile(`^  \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z nginx-`+tc.user+`\[\d+\]: upstream timed out, client: 10\.20\.0\.77$`).MatchString(r.Evidence[1]) {
				t.Errorf("a new error: %v %q %q", r.Outcome, r.Summary, r.Evidence)
			}
			// What a host logs is data: words the checks use for their own errors, logged by
			// anyone, are a new error like any other, never "could not tell".
			for _, said := range []string{"cutover: no journal entries for the current boot", "cutover: the system journal is hidden from root",
				"Permission denied", "System has not been booted with systemd as init system (PID 1). Can't operate.", "Failed to seek to cursor"} {
				h.Exec(t, "logger", "-p", "err", "-t", "hostile-"+tc.user, said)
				if r := runCheck(t, env, JournalErrors{Baseline: "errs"}); r.Outcome != Fail || !strings.Contains(r.Summary, said) && !strings.Contains(strings.Join(r.Evidence, "\n"), said) {
					t.Errorf("a host logged %q: %v %q %q", said, r.Outcome, r.Summary, r.Evidence)
				}
				if r := runCheck(t, env, JournalUnit{Unit: "ssh"}); r.Outcome == Inconclusive {
					t.Errorf("journal_unit after a host logged %q: %v %q", said, r.Outcome, r.Summary)
				}
			}
		})
	}
}

// realHostUnits are the units the suite puts on the host: each in a state unit_active must judge.
const (
	boomUnit = "[Service]\nExecStart=/bin/false\n"
	onceUnit = "[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/true\n"
	flapUnit = "[Service]\nExecStart=/bin/false\nRestart=always\nRestartSec=1h\n"
)

// Every host check on one real host, as root and as a user outside every privileged group.
func TestRealHostChecks(t *testing.T) {
	h := realhost.Start(t)
	h.AddUser(t, "ops")
	for name, unit := range map[string]string{"boom": boomUnit, "once": onceUnit, "flap": flapUnit} {
		h.WriteFile(t, "/etc/systemd/system/"+name+".service", unit, 0o644)
	}
	h.Script(t, "systemctl daemon-reload && systemctl mask --now cron.service && systemctl start once flap && (systemctl start boom || true)")
	// boom is failed, flap waits an hour to restart: wait for both states, not for a time.
	h.Script(t, `for i in $(seq 200); do [ "$(systemctl is-active boom flap | tr '\n' ' ')" = "failed activating " ] && exit 0; sleep 0.05; done; systemctl status boom flap; exit 1`)
	// A real chronyd that serves its own clock (local stratum 8) and may not steer the system's
	// (-x): chronyc answers as on a synchronised host.
	h.WriteFile(t, "/etc/chrony/cutover-test.conf", "local stratum 8\nbindcmdaddress 127.0.0.1\nport 0\n", 0o644)
	h.WriteFile(t, "/etc/systemd/system/chrony-test.service", "[Service]\nExecStart=/usr/sbin/chronyd -x -d -f /etc/chrony/cutover-test.conf\n", 0o644)
	h.Script(t, `systemctl daemon-reload && systemctl start chrony-test && for i in $(seq 200); do chronyc -c -n tracking 2>/dev/null | grep -q ',Normal$' && exit 0; sleep 0.05; done; exit 1`)
	const listenPort = 8080 // in the host's own network namespace, where nothing else listens
	h.WriteFile(t, "/etc/systemd/system/listener.service", "[Service]\nExecStart=/usr/bin/python3 -m http.server --bind 127.0.0.1 "+itoa(listenPort)+"\n", 0o644)
	h.Exec(t, "systemctl", "daemon-reload")

	for _, user := range []string{"root", "ops"} {
		t.Run(user, func(t *testing.T) {
			env := realEnv(t, h, user)
			expect := func(c Check, want Outcome, summary string) Result {
				t.Helper()
				r := runCheck(t, env, c)
				t.Logf("%T %+v: %s %q %q", c, c, r.Outcome, r.Summary, r.Evidence)
				if r.Outcome != want || !strings.Contains(r.Summary, summary) {
					t.Errorf("%T %+v: got %s %q evidence %q; want %s %q", c, c, r.Outcome, r.Summary, r.Evidence, want, summary)
				}
				return r
			}
			expect(UnitActive{Unit: "ssh"}, Pass, "ssh.service active (running) since ")
			expect(UnitActive{Unit: "ssh.service"}, Pass, "ssh.service active (running)")
			expect(UnitActive{Unit: "once"}, Pass, "once.service active (exited)")
			expect(UnitActive{Unit: "boom"}, Fail, "boom.service failed (failed) since")
			expect(UnitActive{Unit: "flap"}, Fail, "flap.service activating (auto-restart)")
			expect(UnitActive{Unit: "cron"}, Fail, "cron.service is masked")
			expect(UnitActive{Unit: "nosuch"}, Fail, "nosuch.service not found")
			expect(NoFailedUnits{}, Fail, "1 failed unit(s): boom.service")

			expect(Listening{Want: ListenSpec{Proto: "tcp", Port: 22, Addr: "127.0.0.1"}}, Pass, "listening on tcp 127.0.0.1:22")
			expect(Listening{Want: ListenSpec{Proto: "tcp", Port: 80}}, Fail, "nothing listens on tcp/80")
			if user == "root" {
				expect(Listening{Want: ListenSpec{Proto: "tcp", Port: 22, Process: "sshd"}}, Pass, "listening on tcp 127.0.0.1:22 sshd")
				expect(Listening{Want: ListenSpec{Proto: "tcp", Port: 22, Process: "nginx"}}, Fail, "nothing listens on tcp/22 by nginx")
			} else { // ss shows no process of another user's socket: that is not knowing, not a mismatch
				expect(Listening{Want: ListenSpec{Proto: "tcp", Port: 22, Process: "sshd"}}, Inconclusive, "cannot tell whether it is sshd")
			}
			base := expect(Listeners{}, Pass, "3 listeners recorded") // sshd, chronyd on 127.0.0.1 and ::1
			env.Baselines = baselines{"ports": base.Baseline}
			h.Exec(t, "systemctl", "start", "listener")
			h.Script(t, `for i in $(seq 200); do ss -Htln "sport = :`+itoa(listenPort)+`" | grep -q . && exit 0; sleep 0.05; done; exit 1`)
			expect(Listeners{Baseline: "ports"}, Fail, "listeners changed: new tcp 127.0.0.1:"+itoa(listenPort))
			h.Exec(t, "systemctl", "stop", "listener")
			expect(Listeners{Baseline: "ports"}, Pass, "listeners unchanged (3)")

			if user == "root" {
				expect(JournalUnit{Unit: "boom"}, Fail, "boom")
			} else {
				expect(JournalUnit{Unit: "boom"}, Inconclusive, "usermod -aG systemd-journal ops")
			}
			clock := expect(Clock{}, Pass, "clock synchronised, offset 0s")
			if !strings.Contains(strings.Join(clock.Evidence, "\n"), "Leap status     : Normal") {
				t.Errorf("clock evidence: %q", clock.Evidence)
			}
			expect(SELinux{}, Fail, "SELinux")
			expect(SELinux{Want: "Disabled"}, Pass, "")
			expect(DNS{Name: "localhost", Expect: []string{"127.0.0.1"}}, Pass, "")
			// The firewall: nftables in the host's own network namespace. Only root may read it; a
			// user gets the reason, never a verdict.
			if user != "root" {
				expect(Firewall{}, Inconclusive, "permission denied: Operation not permitted")
				return
			}
			rules := expect(Firewall{Record: true}, Pass, "nftables firewall")
			env.Baselines = baselines{"fw": rules.Baseline}
			h.Script(t, "nft add table inet cutover_test && nft add chain inet cutover_test input '{ type filter hook input priority 0; policy accept; }' && nft add rule inet cutover_test input tcp dport 8443 accept")
			t.Cleanup(func() { h.Try("nft", "delete", "table", "inet", "cutover_test") })
			expect(Firewall{Allow: []string{"8443/tcp"}, Baseline: "fw"}, Fail, "firewall changed since fw")
			changed := expect(Firewall{Allow: []string{"8443/tcp"}, Record: true}, Pass, "nftables firewall allows 8443/tcp")
			env.Baselines = baselines{"fw": changed.Baseline}
			expect(Firewall{Allow: []string{"8443/tcp"}, Baseline: "fw"}, Pass, "nftables firewall unchanged since fw")
		})
	}
	// chronyd stopped: no verdict, the reason. No chrony at all: timedatectl, whose unsynchronised
	// clock (this host's kernel says STA_UNSYNC) fails with its properties as evidence.
	env := realEnv(t, h, "root")
	h.Exec(t, "systemctl", "stop", "chrony-test")
	if r := runCheck(t, env, Clock{}); r.Outcome != Inconclusive || !strings.Contains(r.Summary, "chronyd is not running") {
		t.Errorf("chronyd stopped: %s %q %q", r.Outcome, r.Summary, r.Evidence)
	}
	h.Script(t, "mv /usr/bin/chronyc /usr/bin/chronyc.hidden") // in the host's overlay only
	if r := runCheck(t, env, Clock{}); r.Outcome != Fail || r.Summary != "clock is not synchronised (timedatectl)" || !slices.Contains(r.Evidence, "NTPSynchronized=no") {
		t.Errorf("timedatectl: %s %q %q", r.Outcome, r.Summary, r.Evidence)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// sudo: true for a login that may not read what a check needs: without a sudoers rule the verdict
// is inconclusive with the reason (never a password prompt, never a hang); with one, the check
// sees what root sees.
func TestRealHostChecksThroughSudo(t *testing.T) {
	h := realhost.Start(t)
	h.AddUser(t, "ops")
	h.Exec(t, "logger", "-p", "err", "-t", "payments", "database connection lost")
	env := realEnv(t, h, "ops")
	env.AsRoot = true
	r := runCheck(t, env, JournalErrors{})
	if r.Outcome != Inconclusive || !strings.Contains(r.Summary, "sudo asks for a password on this host") {
		t.Fatalf("no sudoers rule: %s %q %q", r.Outcome, r.Summary, r.Evidence)
	}
	h.WriteFile(t, "/etc/sudoers.d/ops", "ops ALL=(root) NOPASSWD: ALL\n", 0o440)
	r = runCheck(t, env, JournalErrors{})
	if r.Outcome != Pass || !strings.Contains(strings.Join(r.Baseline, "\n"), "payments: database connection lost") {
		t.Fatalf("through sudo: %s %q baseline %q", r.Outcome, r.Summary, r.Baseline)
	}
	if r := runCheck(t, env, Listening{Want: ListenSpec{Proto: "tcp", Port: 22, Process: "sshd"}}); r.Outcome != Pass {
		t.Errorf("listening through sudo: %s %q", r.Outcome, r.Summary)
	}
	if r := runCheck(t, env, Firewall{}); r.Outcome != Pass {
		t.Errorf("firewall through sudo: %s %q %q", r.Outcome, r.Summary, r.Evidence)
	}
	if r := runCheck(t, env, UnitActive{Unit: "ssh"}); r.Outcome != Pass {
		t.Errorf("unit_active through sudo: %s %q %q", r.Outcome, r.Summary, r.Evidence)
	}
}
