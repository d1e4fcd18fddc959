package lab

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cutover/cutover/checks"
	"github.com/cutover/cutover/checks/ping"
	"github.com/cutover/cutover/checks/remote"
	"github.com/cutover/cutover/internal/realhost"
)

// The lab's tools imitate systemctl, journalctl, ss, chronyc and getent. What they imitate was
// captured from a real systemd 252 host (internal/realhost) running the very commands the checks
// run; TestLabAnswersLikeTheRealHost holds the lab's answers to those captures, field by field, so
// the lab cannot drift from what real tools print, and TestCapturesFromARealHost holds the captures
// to a freshly booted real host. go test ./lab -run Captures -args -capture (as root) retakes them.

var recapture = flag.Bool("capture", false, "capture the real host's answers into testdata/realhost.json")

const capturesFile = "testdata/realhost.json"

// capture is one command a check ran and what it printed.
type capture struct {
	Check   string   `json:"check"`
	Command string   `json:"command"`
	Stdout  []string `json:"stdout"`
	Stderr  []string `json:"stderr"`
}

// comparedCheck runs the same kind of check on both sides; units and names differ where the hosts
// do (the lab models a RHEL-like VM, the real host is Debian), so commands pair by check and order.
type comparedCheck struct {
	name      string
	real, lab checks.Check
}

var comparedChecks = []comparedCheck{
	{"active unit", checks.UnitActive{Unit: "sshd"}, checks.UnitActive{Unit: "sshd"}},
	{"failed unit", checks.UnitActive{Unit: "boom"}, checks.UnitActive{Unit: "nginx"}},
	{"missing unit", checks.UnitActive{Unit: "nosuch"}, checks.UnitActive{Unit: "nosuch"}},
	{"failed units", checks.NoFailedUnits{}, checks.NoFailedUnits{}},
	{"listeners", checks.Listeners{}, checks.Listeners{}},
	{"journal errors", checks.JournalErrors{}, checks.JournalErrors{}},
	{"unit journal", checks.JournalUnit{Unit: "boom"}, checks.JournalUnit{Unit: "nginx"}},
	{"clock", checks.Clock{}, checks.Clock{}},
	{"dns", checks.DNS{Name: "localhost"}, checks.DNS{Name: "app-01.site-a.example"}},
	{"gateway ping", pingFor{"127.0.0.1"}, pingFor{gateway}},
}

// pingFor runs the remote gateway watch's ping for a moment, as a check would, so its lines are
// recorded like a check's.
type pingFor struct{ target string }

func (p pingFor) Run(ctx context.Context, env checks.Env) checks.Result {
	const every = 100 * time.Millisecond
	env.OnCommand(env.Host, ping.RemoteCommand(p.target, every))
	ctx, cancel := context.WithTimeout(ctx, 550*time.Millisecond)
	defer cancel()
	ping.WatchRemote(ctx, env.Runner, p.target, every, func(ping.Sample) {}, func(l remote.Line) { env.OnLine(env.Host, l) })
	return checks.Result{}
}

// record runs each check and keeps every command it ran with its output.
func record(t *testing.T, env checks.Env, pick func(comparedCheck) checks.Check) []capture {
	t.Helper()
	var (
		mu  sync.Mutex
		out []capture
	)
	for _, cc := range comparedChecks {
		env.OnCommand = func(_ string, cmd remote.Command) {
			mu.Lock()
			out = append(out, capture{Check: cc.name, Command: cmd.String()})
			mu.Unlock()
		}
		env.OnLine = func(_ string, l remote.Line) {
			mu.Lock()
			defer mu.Unlock()
			c := &out[len(out)-1]
			if l.Stream == remote.Stderr {
				c.Stderr = append(c.Stderr, l.Text)
			} else {
				c.Stdout = append(c.Stdout, l.Text)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		pick(cc).Run(ctx, env)
		cancel()
	}
	return out
}

// The committed captures are what a real host says today: the checks run on a freshly booted one
// and each command's answer must have the committed one's shape. -capture writes them anew.
func TestCapturesFromARealHost(t *testing.T) {
	h := realhost.Start(t)
	// boom fails, saying why on stderr at err level: the journal then holds an error with a unit.
	h.WriteFile(t, "/etc/systemd/system/boom.service", "[Unit]\nDescription=A unit that fails\n[Service]\nSyslogLevel=err\nExecStart=/bin/sh -c 'echo bind to 0.0.0.0:443 failed: address in use >&2; exit 1'\n", 0o644)
	h.WriteFile(t, "/etc/chrony/cutover-test.conf", "local stratum 8\nbindcmdaddress 127.0.0.1\nport 0\n", 0o644)
	h.WriteFile(t, "/etc/systemd/system/chrony-test.service", "[Service]\nExecStart=/usr/sbin/chronyd -x -d -f /etc/chrony/cutover-test.conf\n", 0o644)
	h.Script(t, `systemctl daemon-reload && (systemctl start boom || true) && systemctl start chrony-test &&
		logger -p err -t payments "database connection lost" &&
		for i in $(seq 200); do chronyc -c -n tracking 2>/dev/null | grep -q ',Normal$' && [ "$(systemctl is-active boom)" = failed ] && exit 0; sleep 0.05; done; exit 1`)
	env := checks.Env{Host: "app", Runner: h.Runner(t, "root"), Baselines: baselines{}}
	caps := record(t, env, func(c comparedCheck) checks.Check { return c.real })
	if *recapture {
		b, _ := json.MarshalIndent(caps, "", "  ")
		if err := os.WriteFile(capturesFile, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("%d commands captured into %s", len(caps), capturesFile)
		return
	}
	committed := readCaptures(t)
	if len(committed) != len(caps) {
		t.Fatalf("the real host ran %d commands, the captures hold %d: retake them with -capture", len(caps), len(committed))
	}
	for i := range caps {
		for _, err := range sameShape(committed[i], caps[i]) {
			t.Errorf("%s: the real host no longer answers as captured: %s", caps[i].Check, err)
		}
	}
}

func readCaptures(t *testing.T) []capture {
	t.Helper()
	b, err := os.ReadFile(capturesFile)
	if err != nil {
		t.Fatal(err)
	}
	var caps []capture
	if err := json.Unmarshal(b, &caps); err != nil {
		t.Fatal(err)
	}
	return caps
}

func TestLabAnswersLikeTheRealHost(t *testing.T) {
	real := readCaptures(t)
	l := startLab(t, Faults{})
	l.host("app").Fail("nginx.service", "nginx: [emerg] bind() to 0.0.0.0:443 failed (98: Address already in use)", time.Now())
	s := sshTo(t, l)
	env := checks.Env{Host: "app", Runner: s.Runner("app", remote.Target{Address: "app-01.site-a.example"}), Baselines: baselines{}}
	lab := record(t, env, func(c comparedCheck) checks.Check { return c.lab })

	byCheck := func(cs []capture) map[string][]capture {
		m := map[string][]capture{}
		for _, c := range cs {
			m[c.Check] = append(m[c.Check], c)
		}
		return m
	}
	r, w := byCheck(real), byCheck(lab)
	for _, cc := range comparedChecks {
		if len(r[cc.name]) != len(w[cc.name]) {
			t.Errorf("%s: the real host ran %d commands, the lab %d", cc.name, len(r[cc.name]), len(w[cc.name]))
			continue
		}
		for i := range r[cc.name] {
			rc, lc := r[cc.name][i], w[cc.name][i]
			for _, err := range sameShape(rc, lc) {
				t.Errorf("%s: %s\n  real: %q\n  lab:  %q", cc.name, err, rc.Stdout, lc.Stdout)
			}
		}
	}
}

// sameShape compares what the lab printed with what the real tool printed for the same command,
// field by field where the tool has fields, line shape by line shape where it prints lines.
func sameShape(real, lab capture) []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	cmd := real.Command
	if program(cmd) != program(lab.Command) {
		return []error{fmt.Errorf("commands differ: real %q, lab %q", cmd, lab.Command)}
	}
	switch {
	case strings.Contains(cmd, "systemctl show"):
		if rk, lk := showKeys(real.Stdout), showKeys(lab.Stdout); !slices.Equal(rk, lk) {
			bad("systemctl show: keys %v, lab %v", rk, lk)
		}
	case strings.Contains(cmd, "systemctl status"):
		if len(real.Stdout) == 0 { // not found: systemctl says so on stderr
			if !slices.Equal(shapes(real.Stderr, unitRe), shapes(lab.Stderr, unitRe)) || len(lab.Stdout) != 0 {
				bad("systemctl status of a missing unit: real stderr %q, lab stdout %q stderr %q", real.Stderr, lab.Stdout, lab.Stderr)
			}
			break
		}
		rl, ll := statusLabels(real.Stdout), statusLabels(lab.Stdout)
		for _, must := range []string{"Loaded", "Active", "Main PID"} {
			if !slices.Contains(rl, must) || !slices.Contains(ll, must) {
				bad("systemctl status: %q missing (real %v, lab %v)", must, rl, ll)
			}
		}
		if !subsequence(ll, rl) {
			bad("systemctl status: the lab's fields %v are not in the real order %v", ll, rl)
		}
		if !statusHead.MatchString(real.Stdout[0]) || !statusHead.MatchString(lab.Stdout[0]) {
			bad("systemctl status: first lines %q / %q", real.Stdout[0], lab.Stdout[0])
		}
		for _, l := range logLines(lab.Stdout) {
			if !statusLog.MatchString(l) {
				bad("systemctl status log line %q does not look like %s", l, statusLog)
			}
		}
	case strings.Contains(cmd, "list-units --failed"):
		rk, err1 := jsonKeys(real.Stdout)
		lk, err2 := jsonKeys(lab.Stdout)
		if err1 != nil || err2 != nil || !slices.Equal(rk, lk) {
			bad("list-units --failed --output=json: keys %v (%v), lab %v (%v)", rk, err1, lk, err2)
		}
	case strings.HasPrefix(cmd, "LC_ALL=C ss "):
		for _, l := range append(append([]string{}, real.Stdout...), lab.Stdout...) {
			if !ssLine.MatchString(l) {
				bad("ss line %q does not look like %s", l, ssLine)
			}
		}
	case strings.Contains(cmd, "-o json"):
		rk, lk := journalKeys(real.Stdout), journalKeys(lab.Stdout)
		if len(lk) == 0 || len(rk) == 0 {
			bad("journalctl -o json: no entries (real %d keys, lab %d)", len(rk), len(lk))
		}
		for _, k := range lk {
			if !slices.Contains(rk, k) {
				bad("journalctl -o json: the lab writes %s, which real journal entries do not have", k)
			}
		}
		for _, c := range append(cursors(real.Stdout), cursors(lab.Stdout)...) {
			if !cursorRe.MatchString(c) {
				bad("journalctl -o json: cursor %q does not look like %s", c, cursorRe)
			}
		}
		for _, k := range []string{"__CURSOR", "__REALTIME_TIMESTAMP", "MESSAGE", "PRIORITY", "SYSLOG_IDENTIFIER", "_PID", "_BOOT_ID", "_SYSTEMD_UNIT"} {
			if slices.Contains(rk, k) && !slices.Contains(lk, k) {
				bad("journalctl -o json: real entries have %s, the lab's do not", k)
			}
		}
	case strings.Contains(cmd, "-o short-iso"):
		for _, l := range append(append([]string{}, real.Stdout...), lab.Stdout...) {
			if !shortISO.MatchString(l) && l != "-- No entries --" {
				bad("journalctl -o short-iso line %q does not look like %s", l, shortISO)
			}
		}
	case strings.Contains(cmd, "chronyc"):
		rl, ll := chronyLabels(real.Stdout), chronyLabels(lab.Stdout)
		if !slices.Equal(rl, ll) {
			bad("chronyc tracking: labels %v, lab %v", rl, ll)
		}
		rc, lc := chronyCSV(real.Stdout), chronyCSV(lab.Stdout)
		if len(rc) != 14 || len(lc) != 14 {
			bad("chronyc -c tracking: %d fields, lab %d", len(rc), len(lc))
		}
	case strings.Contains(cmd, "getent ahosts"):
		for _, l := range append(append([]string{}, real.Stdout...), lab.Stdout...) {
			if !ahostsLine.MatchString(l) {
				bad("getent ahosts line %q does not look like %s", l, ahostsLine)
			}
		}
	case strings.HasPrefix(cmd, "LC_ALL=C ping "):
		rs, ls := numberless(real.Stdout), numberless(lab.Stdout)
		if len(rs) < 3 || len(ls) < 3 || rs[0] != ls[0] || rs[1] != ls[1] {
			bad("ping: real %q, lab %q", rs, ls)
		}
		for _, l := range ls[1:] {
			if !slices.Contains(rs, l) && l != pingNoAnswer {
				bad("ping: the lab's line %q is not one the real ping printed", l)
			}
		}
	default:
		bad("no comparison for %q: add one", cmd)
	}
	return errs
}

var (
	unitRe     = regexp.MustCompile(`\S+\.service`)
	statusHead = regexp.MustCompile(`^(●|○|×|\*|o|x) \S+\.service( - .+)?$`)
	statusLog  = regexp.MustCompile(`^[A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d \S+ [^\s\[]+(\[\d+\])?: `)
	statusKey  = regexp.MustCompile(`^\s+([A-Z][A-Za-z ]*[a-zA-Z]): `)
	ssLine     = regexp.MustCompile(`^(tcp|udp)\s+(LISTEN|UNCONN)\s+\d+\s+\d+\s+\S+:(\d+|\*)\s+\S+:(\d+|\*)(\s+users:\(\("[^"]+",pid=\d+,fd=\d+\)(,\("[^"]+",pid=\d+,fd=\d+\))*\))?\s*$`)
	shortISO   = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} \S+ [^\s\[]+(\[\d+\])?: `)
	cursorRe   = regexp.MustCompile(`^s=[0-9a-f]+;i=[0-9a-f]+;b=[0-9a-f]{32};m=[0-9a-f]+;t=[0-9a-f]+;x=[0-9a-f]+$`)
	ahostsLine = regexp.MustCompile(`^[0-9a-fA-F.:]+\s+(STREAM|DGRAM|RAW)( \S+)?\s*$`)
)

func program(cmd string) string {
	f := strings.Fields(strings.TrimPrefix(cmd, "LC_ALL=C "))
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

func shapes(lines []string, re *regexp.Regexp) []string {
	var out []string
	for _, l := range lines {
		out = append(out, re.ReplaceAllString(l, "UNIT"))
	}
	return out
}

func showKeys(lines []string) []string {
	var keys []string
	for _, l := range lines {
		k, _, _ := strings.Cut(l, "=")
		keys = append(keys, k)
	}
	return keys
}

// statusLabels are a status's field names. Tasks and Memory need cgroup controllers, which the
// real host's cgroup (this machine's hybrid cgroup2 has none) cannot give it; a RHEL 9 host shows
// them, so the lab may, and they are left out of the comparison.
func statusLabels(lines []string) []string {
	var labels []string
	for _, l := range lines {
		if l == "" {
			break
		}
		if m := statusKey.FindStringSubmatch(l); m != nil && m[1] != "Tasks" && m[1] != "Memory" {
			labels = append(labels, m[1])
		}
	}
	return labels
}

func logLines(lines []string) []string {
	if i := slices.Index(lines, ""); i >= 0 {
		return lines[i+1:]
	}
	return nil
}

// subsequence tells whether every element of a appears in b, in a's order.
func subsequence(a, b []string) bool {
	j := 0
	for _, x := range a {
		for j < len(b) && b[j] != x {
			j++
		}
		if j == len(b) {
			return false
		}
		j++
	}
	return true
}

func jsonKeys(lines []string) ([]string, error) {
	var rows []map[string]any
	if err := json.Unmarshal([]byte(strings.Join(lines, "\n")), &rows); err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("no rows")
	}
	var keys []string
	for k := range rows[0] {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys, nil
}

func journalKeys(lines []string) []string {
	seen := map[string]bool{}
	for _, l := range lines {
		var e map[string]any
		if json.Unmarshal([]byte(l), &e) != nil {
			continue
		}
		for k, v := range e {
			if _, ok := v.(string); ok || v == nil {
				seen[k] = true
			} else if _, isArray := v.([]any); !isArray {
				seen[k+" (not a string)"] = true
			} else {
				seen[k] = true // bytes of a binary field: the parser reads those too
			}
		}
	}
	var keys []string
	for k := range seen {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// numberless folds numbers (addresses, times, sequence numbers) so lines compare by shape.
func numberless(lines []string) []string {
	var out []string
	for _, l := range lines {
		out = append(out, digits.ReplaceAllString(l, "#"))
	}
	return out
}

var digits = regexp.MustCompile(`[0-9]+`)

// pingNoAnswer is what ping -O prints for an unanswered request; the real host answered every one.
const pingNoAnswer = "[#.#] no answer yet for icmp_seq=#"

func cursors(lines []string) []string {
	var out []string
	for _, l := range lines {
		var e struct {
			Cursor string `json:"__CURSOR"`
		}
		if json.Unmarshal([]byte(l), &e) == nil {
			out = append(out, e.Cursor)
		}
	}
	return out
}

func chronyLabels(lines []string) []string {
	var labels []string
	for _, l := range lines {
		if k, _, ok := strings.Cut(l, " : "); ok {
			labels = append(labels, strings.TrimSpace(k))
		}
	}
	return labels
}

func chronyCSV(lines []string) []string {
	for _, l := range lines {
		if strings.Count(l, ",") >= 10 {
			return strings.Split(l, ",")
		}
	}
	return nil
}
