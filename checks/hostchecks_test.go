package checks

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/cutover/cutover/checks/remote"
	"github.com/cutover/cutover/internal/testenv"
)

// out is what a scripted host prints for one command.
type out struct {
	stdout, stderr string
	exit           int
}

// scripted answers commands with captured output, keyed by the command as journaled.
type scripted struct {
	t     *testing.T
	mu    sync.Mutex
	calls []string
	by    map[string]out
}

func (s *scripted) Run(_ context.Context, cmd remote.Command, onLine func(remote.Line)) (remote.Result, error) {
	s.mu.Lock()
	s.calls = append(s.calls, cmd.String())
	o, ok := s.by[cmd.String()]
	s.mu.Unlock()
	if !ok {
		s.t.Errorf("unexpected command %q", cmd.String())
		return remote.Result{ExitCode: 127}, nil
	}
	for _, l := range splitNonEmpty(o.stdout) {
		onLine(remote.Line{Stream: remote.Stdout, Text: l})
	}
	for _, l := range splitNonEmpty(o.stderr) {
		onLine(remote.Line{Stream: remote.Stderr, Text: l})
	}
	return remote.Result{ExitCode: o.exit}, nil
}

func splitNonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimPrefix(s, "\n"), "\n")
}

func env(t *testing.T, by map[string]out) (Env, *scripted) {
	s := &scripted{t: t, by: by}
	return Env{Host: "app", Runner: s, Baselines: baselines{}}, s
}

const noSystemd = "System has not been booted with systemd as init system (PID 1). Can't operate.\nFailed to connect to bus: Host is down"

// showOf builds systemctl show's answer in systemd 252's order, as captured from a real host.
func showOf(mainPID, result, status, id, load, active, sub, file, since, loadErr string) string {
	return "MainPID=" + mainPID + "\nResult=" + result + "\nExecMainStatus=" + status + "\nId=" + id + "\nLoadState=" + load +
		"\nActiveState=" + active + "\nSubState=" + sub + "\nUnitFileState=" + file + "\nStateChangeTimestamp=" + since + "\nLoadError=" + loadErr
}

func TestUnitActive(t *testing.T) {
	show := func(unit string) string {
		return "LC_ALL=C systemctl show -p " + unitProps + " -- " + unit
	}
	status := func(unit string) string { return "LC_ALL=C systemctl status --no-pager --lines=5 -- " + unit }
	tests := []struct {
		name    string
		unit    string
		by      map[string]out
		want    Outcome
		summary string
	}{
		{"active", "nginx", map[string]out{
			show("nginx"):   {stdout: showOf("1203", "success", "0", "nginx.service", "loaded", "active", "running", "enabled", "Sat 2026-11-28 21:41:07 UTC", "")},
			status("nginx"): {stdout: statusDebian252},
		}, Pass, "nginx.service active (running) since Sat 2026-11-28 21:41:07 UTC"},
		{"oneshot that stays active", "once", map[string]out{
			show("once"):   {stdout: showOf("0", "success", "0", "once.service", "loaded", "active", "exited", "static", "Tue 2026-12-01 16:30:21 UTC", "")},
			status("once"): {stdout: "● once.service\n     Loaded: loaded (/etc/systemd/system/once.service; static)\n     Active: active (exited) since Tue 2026-12-01 16:30:21 UTC; 5s ago"},
		}, Pass, "once.service active (exited)"},
		{"failed", "httpd", map[string]out{
			show("httpd"):   {stdout: showOf("0", "exit-code", "1", "httpd.service", "loaded", "failed", "failed", "enabled", "Sat 2026-11-28 22:03:11 UTC", "")},
			status("httpd"): {stdout: statusRHEL9Failed, exit: 3},
		}, Fail, "httpd.service failed (failed) since Sat 2026-11-28 22:03:11 UTC; last result exit-code (exit status 1)"},
		{"restarting", "flap", map[string]out{
			show("flap"):   {stdout: showOf("0", "exit-code", "1", "flap.service", "loaded", "activating", "auto-restart", "static", "Tue 2026-12-01 16:30:21 UTC", "")},
			status("flap"): {stdout: "● flap.service\n     Active: activating (auto-restart) (Result: exit-code) since Tue 2026-12-01 16:30:21 UTC; 4s ago", exit: 3},
		}, Fail, "flap.service activating (auto-restart) since Tue 2026-12-01 16:30:21 UTC; last result exit-code"},
		{"masked", "cron", map[string]out{
			show("cron"):   {stdout: showOf("0", "success", "0", "cron.service", "masked", "inactive", "dead", "masked", "", `org.freedesktop.systemd1.UnitMasked "Unit cron.service is masked."`)},
			status("cron"): {stdout: "○ cron.service\n     Loaded: masked (Reason: Unit cron.service is masked.)\n     Active: inactive (dead)", exit: 3},
		}, Fail, "cron.service is masked"},
		{"unknown unit", "nope", map[string]out{
			show("nope"):   {stdout: showOf("0", "success", "0", "nope.service", "not-found", "inactive", "dead", "", "", `org.freedesktop.systemd1.NoSuchUnit "Unit nope.service not found."`)},
			status("nope"): {stderr: "Unit nope.service could not be found.", exit: 4},
		}, Fail, "nope.service not found"},
		{"no systemd", "nginx", map[string]out{show("nginx"): {stderr: noSystemd, exit: 1}}, Inconclusive, "systemd is not running on this host: System has not been booted with systemd"},
		{"no systemctl", "nginx", map[string]out{show("nginx"): {stderr: "sh: 1: systemctl: not found", exit: 127}}, Inconclusive, "systemctl is not installed"},
		{"denied", "nginx", map[string]out{show("nginx"): {stderr: "Failed to get properties: Access denied", exit: 1}}, Inconclusive, "permission denied: Failed to get properties: Access denied"},
		{"no state in the answer", "nginx", map[string]out{show("nginx"): {stdout: "Id=nginx.service"}}, Inconclusive, "systemctl show nginx exited 0 without the unit's state"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, _ := env(t, tt.by)
			r := UnitActive{Unit: tt.unit}.Run(context.Background(), e)
			if r.Outcome != tt.want || !strings.HasPrefix(r.Summary, tt.summary) {
				t.Errorf("got %s %q evidence %q", r.Outcome, r.Summary, r.Evidence)
			}
		})
	}
}

// On this machine systemd is not PID 1: the real systemctl and journalctl must be inconclusive.
func TestRealCommandsWithoutSystemdAreInconclusive(t *testing.T) {
	e := Env{Host: "local", Runner: remote.Local{}, Baselines: baselines{}}
	probe := runHere(context.Background(), e, c("systemctl", "--failed"))
	if why, bad := probe.unusable(); !bad || !strings.Contains(why, "systemd") {
		// The real systemd host's tests (internal/realhost) cover the other side.
		testenv.Unavailable(t, "systemd runs here (%q): this test needs a host without it", why)
	}
	for name, ch := range map[string]Check{
		"unit_active":     UnitActive{Unit: "ssh"},
		"no_failed_units": NoFailedUnits{},
		"journal_unit":    JournalUnit{Unit: "ssh"},
		"journal":         JournalErrors{},
		"clock":           Clock{},
	} {
		r := ch.Run(context.Background(), e)
		if r.Outcome != Inconclusive || r.Summary == "" {
			t.Errorf("%s: %s %q", name, r.Outcome, r.Summary)
		} else {
			t.Logf("%s: %s", name, r.Summary)
		}
	}
	// No getenforce and no selinuxfs: the kernel's answer is "disabled", an honest verdict.
	if _, err := os.Stat("/sys/fs/selinux"); os.IsNotExist(err) {
		if r := (SELinux{}).Run(context.Background(), e); r.Outcome != Fail || r.Summary != "SELinux is Disabled, want Enforcing" || !strings.Contains(strings.Join(r.Evidence, " "), "no /sys/fs/selinux") {
			t.Errorf("selinux: %+v", r)
		}
	}
}

func TestNoFailedUnits(t *testing.T) {
	e, _ := env(t, map[string]out{failedCommand.String(): {stdout: "[]"}})
	if r := (NoFailedUnits{}).Run(context.Background(), e); r.Outcome != Pass {
		t.Errorf("empty: %+v", r)
	}
	e, _ = env(t, map[string]out{failedCommand.String(): {stdout: `[{"unit":"httpd.service","load":"loaded","active":"failed","sub":"failed","description":"The Apache HTTP Server"}]`}})
	if r := (NoFailedUnits{}).Run(context.Background(), e); r.Outcome != Fail || r.Summary != "1 failed unit(s): httpd.service" {
		t.Errorf("failed: %+v", r)
	}
}

func TestListeningAndListenerBaselines(t *testing.T) {
	e, _ := env(t, map[string]out{"LC_ALL=C ss -tulpnH": {stdout: ssOutput}})
	if r := (Listening{Want: ListenSpec{Proto: "tcp", Port: 443, Process: "nginx"}}).Run(context.Background(), e); r.Outcome != Pass || r.Summary != "listening on tcp [::]:443 nginx" {
		t.Errorf("443: %+v", r)
	}
	if r := (Listening{Want: ListenSpec{Proto: "tcp", Port: 443, Process: "httpd"}}).Run(context.Background(), e); r.Outcome != Fail || r.Evidence[0] != "same port: tcp [::]:443 nginx" {
		t.Errorf("443 by httpd: %+v", r)
	}
	before := (Listeners{}).Run(context.Background(), e)
	if before.Outcome != Pass || len(before.Baseline) != 9 {
		t.Fatalf("baseline: %+v", before)
	}
	// After a restart PIDs differ and postgres is gone: only the latter is a change.
	after := strings.ReplaceAll(ssOutput, "pid=1204", "pid=2204")
	after = strings.Replace(after, "tcp   LISTEN 0      4096          127.0.0.1:5432      0.0.0.0:*    users:((\"postgres\",pid=880,fd=5))\n", "", 1)
	e2, _ := env(t, map[string]out{"LC_ALL=C ss -tulpnH": {stdout: after}})
	e2.Baselines = baselines{"ports": before.Baseline}
	r := (Listeners{Baseline: "ports"}).Run(context.Background(), e2)
	if r.Outcome != Fail || r.Summary != "listeners changed: gone tcp 127.0.0.1:5432 postgres" || strings.Join(r.Evidence, "|") != "- tcp 127.0.0.1:5432 postgres|ss shows no process for 2 socket(s) to this user: another process taking over the same port would not show (log in as root)" {
		t.Errorf("after: %+v", r)
	}
	e3, _ := env(t, map[string]out{"LC_ALL=C ss -tulpnH": {stdout: strings.ReplaceAll(ssOutput, "fd=6", "fd=9")}})
	e3.Baselines = baselines{"ports": before.Baseline}
	if r := (Listeners{Baseline: "ports"}).Run(context.Background(), e3); r.Outcome != Pass {
		t.Errorf("same listeners, other fds: %+v", r)
	}
}

func journalScript(extra ...string) string {
	args := append([]string{"journalctl", "-p", "err", "-b", "-o", "json", "--no-pager"}, extra...)
	return journalVisible + "journalctl -b -n 1 -o cat --no-pager | grep -q . || { echo '" + noBootEntries + "' >&2; exit 3; }; exec " + remote.Join(args)
}

func TestJournalRegressions(t *testing.T) {
	base := `{"__CURSOR":"c1","SYSLOG_IDENTIFIER":"nginx","MESSAGE":"upstream timed out (110) while reading, client: 10.0.0.1"}
{"__CURSOR":"c2","SYSLOG_IDENTIFIER":"kernel","MESSAGE":"EXT4-fs error (device sda1): bad block 1234"}`
	e, _ := env(t, map[string]out{"LC_ALL=C " + journalScript(): {stdout: base}})
	rec := (JournalErrors{}).Run(context.Background(), e)
	if rec.Outcome != Pass || rec.Baseline[0] != "#cursor c2" || len(rec.Baseline) != 3 {
		t.Fatalf("baseline: %+v", rec)
	}
	post := `{"__CURSOR":"c3","SYSLOG_IDENTIFIER":"nginx","MESSAGE":"upstream timed out (110) while reading, client: 10.0.0.9"}
{"__CURSOR":"c4","SYSLOG_IDENTIFIER":"app","MESSAGE":"TLS handshake failed: certificate has expired"}
{"__CURSOR":"c5","SYSLOG_IDENTIFIER":"app","MESSAGE":"TLS handshake failed: certificate has expired"}`
	e2, s := env(t, map[string]out{"LC_ALL=C " + journalScript("--after-cursor", "c2"): {stdout: post}})
	e2.Baselines = baselines{"errs": rec.Baseline}
	r := (JournalErrors{Baseline: "errs"}).Run(context.Background(), e2)
	if r.Outcome != Fail || r.Summary != "1 new error(s) since the baseline: app: TLS handshake failed: certificate has expired (×2)" {
		t.Errorf("regressions: %+v (calls %v)", r, s.calls)
	}
	e3, _ := env(t, map[string]out{"LC_ALL=C " + journalScript("--after-cursor", "c2"): {stdout: strings.Split(post, "\n")[0]}})
	e3.Baselines = baselines{"errs": rec.Baseline}
	if r := (JournalErrors{Baseline: "errs"}).Run(context.Background(), e3); r.Outcome != Pass {
		t.Errorf("a known error again is not new: %+v", r)
	}
	// A baseline with no errors has no cursor: every error of the boot is new.
	e4, _ := env(t, map[string]out{"LC_ALL=C " + journalScript(): {stdout: post}})
	e4.Baselines = baselines{"errs": {"#cursor "}}
	if r := (JournalErrors{Baseline: "errs"}).Run(context.Background(), e4); r.Outcome != Fail {
		t.Errorf("empty baseline: %+v", r)
	}
	e5, _ := env(t, map[string]out{"LC_ALL=C " + journalScript(): {stderr: noBootEntries, exit: 3}})
	if r := (JournalErrors{}).Run(context.Background(), e5); r.Outcome != Inconclusive {
		t.Errorf("no journal: %+v", r)
	}
}

// hostsFor serves several probe hosts from one runner per host, with zones.
type hostsFor struct {
	runners map[string]remote.Runner
	zones   map[string]string
}

func (h hostsFor) Runner(host string) (remote.Runner, error) {
	r, ok := h.runners[host]
	if !ok {
		return nil, fmt.Errorf("ssh %s: connection refused", host)
	}
	return r, nil
}
func (h hostsFor) Zone(host string) string { return h.zones[host] }

func TestEndpointFromTwoZonesOverRealHTTP(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" {
			fmt.Fprintln(w, "ok")
			return
		}
		http.Error(w, "nope", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	hosts := hostsFor{
		runners: map[string]remote.Runner{"probe-a": remote.Local{}, "probe-b": remote.Local{}, "probe-a2": remote.Local{}},
		zones:   map[string]string{"probe-a": "site-a", "probe-a2": "site-a", "probe-b": "site-b", "probe-c": "site-c"},
	}
	e := Env{Hosts: hosts}
	tests := []struct {
		name string
		ep   Endpoint
		want Outcome
	}{
		{"two zones", Endpoint{URL: srv.URL + "/health", From: []string{"probe-a", "probe-b"}}, Pass},
		{"one zone twice", Endpoint{URL: srv.URL + "/health", From: []string{"probe-a", "probe-a2"}}, Fail},
		{"bad status", Endpoint{URL: srv.URL + "/down", From: []string{"probe-a", "probe-b"}}, Fail},
		{"accepted status", Endpoint{URL: srv.URL + "/down", From: []string{"probe-a", "probe-b"}, Status: []int{503}}, Pass},
		{"a probe host down", Endpoint{URL: srv.URL + "/health", From: []string{"probe-a", "probe-c"}}, Inconclusive},
		{"tcp", Endpoint{TCP: srv.Listener.Addr().String(), From: []string{"probe-a", "probe-b"}}, Pass},
		{"tcp refused", Endpoint{TCP: closedPort(t), From: []string{"probe-a", "probe-b"}}, Fail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.ep.Run(context.Background(), e)
			if r.Outcome != tt.want {
				t.Errorf("got %s %q %q", r.Outcome, r.Summary, r.Evidence)
			}
		})
	}
}

func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestPosture(t *testing.T) {
	e, _ := env(t, map[string]out{"LC_ALL=C " + selinuxScript: {stdout: "Permissive"}})
	if r := (SELinux{}).Run(context.Background(), e); r.Outcome != Fail || r.Summary != "SELinux is Permissive, want Enforcing" {
		t.Errorf("selinux: %+v", r)
	}
	fwCmd := "LC_ALL=C " + firewallScript
	nftRuleset := nftCapture(t, "basic")
	e, _ = env(t, map[string]out{fwCmd: {stdout: nftRuleset}})
	rec := (Firewall{Allow: []string{"https", "ssh"}, Record: true}).Run(context.Background(), e)
	if rec.Outcome != Pass || len(rec.Baseline) == 0 {
		t.Fatalf("firewall: %+v", rec)
	}
	changed := strings.Replace(nftRuleset, "udp dport 161 accept", "udp dport 161 drop", 1)
	e, _ = env(t, map[string]out{fwCmd: {stdout: changed}})
	e.Baselines = baselines{"fw": rec.Baseline}
	if r := (Firewall{Baseline: "fw"}).Run(context.Background(), e); r.Outcome != Fail || !strings.Contains(strings.Join(r.Evidence, "|"), "+ udp dport 161 drop") {
		t.Errorf("firewall changed: %+v", r)
	}
	e, _ = env(t, map[string]out{fwCmd: {stderr: "FirewallD is not running", exit: 252}})
	if r := (Firewall{Allow: []string{"https"}}).Run(context.Background(), e); r.Outcome != Inconclusive {
		t.Errorf("firewalld down: %+v", r)
	}
	e, _ = env(t, map[string]out{"LC_ALL=C " + clockScript: {stdout: "System time     : 0.250000000 seconds fast of NTP time\nLeap status     : Normal"}})
	if r := (Clock{}).Run(context.Background(), e); r.Outcome != Fail || r.Summary != "clock is off by 250ms, more than 100ms" {
		t.Errorf("clock: %+v", r)
	}
	e, _ = env(t, map[string]out{"LC_ALL=C " + clockScript: {stderr: "506 Cannot talk to daemon", exit: 1}})
	if r := (Clock{}).Run(context.Background(), e); r.Outcome != Inconclusive {
		t.Errorf("chronyd down: %+v", r)
	}
	e, _ = env(t, map[string]out{"LC_ALL=C getent ahosts -- gone.example": {exit: 2}})
	if r := (DNS{Name: "gone.example"}).Run(context.Background(), e); r.Outcome != Fail {
		t.Errorf("dns: %+v", r)
	}
	// Real resolution of localhost goes through /etc/hosts, no network.
	local := Env{Host: "local", Runner: remote.Local{}}
	if r := (DNS{Name: "localhost", Expect: []string{"127.0.0.1"}}).Run(context.Background(), local); r.Outcome != Pass {
		t.Errorf("localhost: %+v", r)
	}
	if r := (DNS{Name: "localhost", Expect: []string{"10.9.9.9"}}).Run(context.Background(), local); r.Outcome != Fail {
		t.Errorf("localhost to 10.9.9.9: %+v", r)
	}
}

// The runbook's ignore rules let a new error pass only by name, and what they let pass still shows.
func TestJournalRegressionsIgnoreRules(t *testing.T) {
	entry := func(cursor, ident, msg string) string {
		return fmt.Sprintf(`{"__CURSOR":%q,"SYSLOG_IDENTIFIER":%q,"_PID":"77","MESSAGE":%q,"__REALTIME_TIMESTAMP":"1796143220268819"}`, cursor, ident, msg)
	}
	after := entry("c2", "sshd", "error: session_signal_req: session signalling requires privilege separation") + "\n" +
		entry("c3", "payments", "database connection lost")
	e, _ := env(t, map[string]out{"LC_ALL=C " + journalScript("--after-cursor", "c1"): {stdout: after}})
	e.Baselines = baselines{"errs": {cursorMark + "c1"}}
	sshd := regexp.MustCompile(`^sshd: error: session_signal_req`)
	r := JournalErrors{Baseline: "errs", Ignore: []*regexp.Regexp{sshd}}.Run(context.Background(), e)
	if r.Outcome != Fail || r.Summary != "1 new error(s) since the baseline: payments[77]: database connection lost" ||
		!strings.Contains(strings.Join(r.Evidence, "\n"), "ignored by rule /^sshd: error: session_signal_req/: 2026-12-01T16:40:20.268819Z sshd[77]: error: session_signal_req") {
		t.Errorf("payments is new, sshd ignored: %s %q %q", r.Outcome, r.Summary, r.Evidence)
	}
	e, _ = env(t, map[string]out{"LC_ALL=C " + journalScript("--after-cursor", "c1"): {stdout: entry("c2", "sshd", "error: session_signal_req: no pid for session 0")}})
	e.Baselines = baselines{"errs": {cursorMark + "c1"}}
	r = JournalErrors{Baseline: "errs", Ignore: []*regexp.Regexp{sshd}}.Run(context.Background(), e)
	if r.Outcome != Pass || !strings.Contains(r.Summary, "but 1 the runbook ignores") || len(r.Evidence) != 1 {
		t.Errorf("only an ignored error: %s %q %q", r.Outcome, r.Summary, r.Evidence)
	}
}
