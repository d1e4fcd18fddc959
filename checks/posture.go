package checks

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// SELinux passes when getenforce reports the expected mode.
type SELinux struct {
	Want string // Enforcing (default), Permissive or Disabled
}

// selinuxScript asks getenforce; where it is not installed the kernel answers: selinuxfs's
// enforce flag, or no selinuxfs at all, which means SELinux is not enabled (Debian, Ubuntu).
const selinuxScript = `if command -v getenforce >/dev/null 2>&1; then exec getenforce; fi; ` +
	`if [ -r /sys/fs/selinux/enforce ]; then echo '` + selinuxNoTool + ` /sys/fs/selinux/enforce' >&2; ` +
	`case $(cat /sys/fs/selinux/enforce) in 1) echo Enforcing;; 0) echo Permissive;; *) exit 1;; esac; exit 0; fi; ` +
	`echo '` + selinuxNoTool + ` no /sys/fs/selinux: the kernel has SELinux disabled or not built in' >&2; echo Disabled`

const selinuxNoTool = "cutover: getenforce is not installed; read"

// Run asks getenforce (or the kernel).
func (s SELinux) Run(ctx context.Context, env Env) Result {
	want := s.Want
	if want == "" {
		want = "Enforcing"
	}
	o := runHere(ctx, env, sh(selinuxScript))
	if why, bad := o.unusable(); bad {
		return inconclusive(why, tail(o.stderr, 3)...)
	}
	if o.exit != 0 || len(o.stdout) == 0 {
		return inconclusive(fmt.Sprintf("getenforce exited %d", o.exit), tail(o.stderr, 3)...)
	}
	var evidence []string
	for _, l := range o.stderr {
		if how, ok := strings.CutPrefix(l, selinuxNoTool); ok {
			evidence = append(evidence, "getenforce is not installed; read"+how)
		}
	}
	got := strings.TrimSpace(o.stdout[0])
	if strings.EqualFold(got, want) {
		return pass("SELinux "+got, evidence...)
	}
	return fail(fmt.Sprintf("SELinux is %s, want %s", got, want), evidence...)
}

// firewallScript reads the active firewall: firewalld's zone if firewalld is installed, else the
// nftables ruleset.
// nftables is read twice: its ruleset as written (the evidence, and what baselines compare), then
// as JSON (-j), which decides what is allowed.
const firewallScript = `if command -v firewall-cmd >/dev/null 2>&1; then exec firewall-cmd --list-all; else nft list ruleset && exec nft -j list ruleset; fi`

// Firewall checks that services or ports are allowed in, and records or compares the ruleset.
type Firewall struct {
	Allow    []string // service names (https) or PORT/PROTO (8443/tcp)
	Baseline string   // compare the ruleset with this baseline
	Record   bool     // keep the ruleset as this check's baseline
}

// Run reads the firewall and judges it.
func (f Firewall) Run(ctx context.Context, env Env) Result {
	o := runHere(ctx, env, sh(firewallScript))
	if why, bad := o.unusable(); bad {
		return inconclusive(why, tail(o.stderr, 3)...)
	}
	for _, l := range o.stderr {
		if strings.Contains(l, "FirewallD is not running") {
			return inconclusive("firewalld is installed but not running", l)
		}
	}
	if o.exit != 0 {
		return inconclusive(fmt.Sprintf("reading the firewall exited %d", o.exit), tail(o.stderr, 3)...)
	}
	fw, err := ParseFirewall(o.stdout)
	if err != nil {
		return inconclusive(err.Error(), tail(o.stdout, 3)...)
	}
	var missing, evidence []string
	for _, a := range f.Allow {
		ok, how, err := fw.Allows(a)
		if err != nil {
			return inconclusive(err.Error())
		}
		if !ok {
			missing = append(missing, a)
		}
		evidence = append(evidence, fmt.Sprintf("%s: %s", a, how))
	}
	r := pass(fmt.Sprintf("%s firewall allows %s", fw.Backend, orAll(f.Allow)), evidence...)
	if len(missing) > 0 {
		r = fail(fmt.Sprintf("%s firewall does not allow %s", fw.Backend, strings.Join(missing, ", ")), evidence...)
	}
	if f.Record {
		r.Baseline = fw.Rules
	}
	if f.Baseline != "" {
		before, ok := env.Baselines.Baseline(f.Baseline)
		if !ok {
			return inconclusive(fmt.Sprintf("baseline %q was not recorded", f.Baseline))
		}
		added, removed := diffLines(before, fw.Rules)
		if len(added)+len(removed) > 0 {
			r.Outcome = Fail
			r.Summary = fmt.Sprintf("firewall changed since %s: %d rule lines added, %d removed", f.Baseline, len(added), len(removed))
			r.Evidence = append(append(r.Evidence, prefixed("+ ", added)...), prefixed("- ", removed)...)
		} else if len(missing) == 0 {
			r.Summary = fmt.Sprintf("%s firewall unchanged since %s", fw.Backend, f.Baseline)
		}
	}
	return r
}

func orAll(s []string) string {
	if len(s) == 0 {
		return "what it allowed (nothing asked)"
	}
	return strings.Join(s, ", ")
}

// FirewallState is a parsed firewall: firewalld's zone or an nftables ruleset.
type FirewallState struct {
	Backend  string   // firewalld or nftables
	Services []string // firewalld
	Ports    []string // firewalld PORT/PROTO
	Rules    []string // normalised lines, what baselines compare
	NFT      NFT      // nftables: the input base chains, from nft -j
}

var (
	nftCounter = regexp.MustCompile(`\s*counter packets \d+ bytes \d+`)
	nftHandle  = regexp.MustCompile(`\s*# handle \d+`)
)

// ParseFirewall reads firewall-cmd --list-all, or nft list ruleset followed by nft -j list ruleset.
func ParseFirewall(lines []string) (FirewallState, error) {
	fw := FirewallState{Backend: "nftables"}
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "services:") || strings.HasPrefix(t, "target:") {
			fw.Backend = "firewalld"
		}
	}
	sawJSON := false
	for _, l := range lines {
		if fw.Backend == "nftables" && strings.HasPrefix(l, `{"nftables"`) {
			n, err := ParseNFTJSON(l)
			if err != nil {
				return fw, err
			}
			fw.NFT, sawJSON = n, true
			continue
		}
		t := strings.TrimSpace(nftHandle.ReplaceAllString(nftCounter.ReplaceAllString(l, ""), ""))
		if t == "" {
			continue
		}
		fw.Rules = append(fw.Rules, t)
		if fw.Backend == "firewalld" {
			if v, ok := strings.CutPrefix(t, "services:"); ok {
				fw.Services = strings.Fields(v)
			}
			if v, ok := strings.CutPrefix(t, "ports:"); ok {
				fw.Ports = strings.Fields(v)
			}
		}
	}
	if fw.Backend == "nftables" && !sawJSON {
		return fw, fmt.Errorf("nft gave no JSON ruleset (nft -j list ruleset, nftables 0.9 or later): cannot tell what it allows")
	}
	return fw, nil
}

// wellKnown maps the service names runbooks use most to their ports, for nftables.
var wellKnown = map[string][]string{
	"ssh": {"22/tcp"}, "http": {"80/tcp"}, "https": {"443/tcp"}, "dns": {"53/udp", "53/tcp"},
	"ntp": {"123/udp"}, "ldap": {"389/tcp"}, "ldaps": {"636/tcp"}, "postgresql": {"5432/tcp"},
	"mysql": {"3306/tcp"}, "smtp": {"25/tcp"}, "snmp": {"161/udp"},
}

// Allows tells whether a service or PORT/PROTO is allowed in, and how.
func (fw FirewallState) Allows(item string) (bool, string, error) {
	if fw.Backend == "firewalld" {
		if slices.Contains(fw.Services, item) {
			return true, "service allowed", nil
		}
		if slices.Contains(fw.Ports, item) {
			return true, "port allowed", nil
		}
		if ports, ok := wellKnown[item]; ok && slices.Contains(fw.Ports, ports[0]) {
			return true, "allowed as port " + ports[0], nil
		}
		return false, "neither a service nor a port of the active zone", nil
	}
	ports := []string{item}
	if !strings.Contains(item, "/") {
		p, ok := wellKnown[item]
		if !ok {
			return false, "", fmt.Errorf("firewall: cannot map service %q to a port for nftables; write it as PORT/PROTO", item)
		}
		ports = p
	}
	var hows []string
	for _, p := range ports {
		num, proto, _ := strings.Cut(p, "/")
		port, err := strconv.Atoi(num)
		if err != nil || port < 1 || port > 65535 || (proto != "tcp" && proto != "udp") {
			return false, "", fmt.Errorf("firewall: want PORT/PROTO such as 8443/tcp, got %q", p)
		}
		ok, how, err := fw.NFT.Decide(port, proto)
		if err != nil {
			return false, "", err
		}
		if ok {
			return true, how, nil
		}
		hows = append(hows, how)
	}
	return false, strings.Join(hows, "; "), nil
}

// clockScript asks chrony twice: its report for a person, then its CSV (-c), which the verdict reads
// (signed seconds, no words to parse). Without chrony, timedatectl's properties.
const clockScript = `if command -v chronyc >/dev/null 2>&1; then chronyc -n tracking && exec chronyc -c -n tracking; else exec timedatectl show; fi`

// Clock passes when the host's clock is synchronised and its offset is under MaxOffset.
type Clock struct {
	MaxOffset time.Duration // default 100ms
}

// Run reads chronyc tracking or timedatectl show.
func (ck Clock) Run(ctx context.Context, env Env) Result {
	max := ck.MaxOffset
	if max <= 0 {
		max = 100 * time.Millisecond
	}
	o := runHere(ctx, env, sh(clockScript))
	if why, bad := o.unusable(); bad {
		return inconclusive(why, tail(o.stderr, 3)...)
	}
	for _, l := range append(o.stdout, o.stderr...) {
		if strings.Contains(l, "Cannot talk to daemon") {
			return inconclusive("chronyd is not running: " + strings.TrimSpace(l))
		}
	}
	t, err := ParseClock(o.stdout)
	if err != nil {
		return inconclusive(err.Error(), tail(o.stdout, 5)...)
	}
	switch {
	case !t.Synced:
		return fail("clock is not synchronised ("+t.Source+")", t.Evidence...)
	case !t.HasOffset:
		return pass("clock synchronised ("+t.Source+" reports no offset)", t.Evidence...)
	case t.Offset.Abs() > max:
		return fail(fmt.Sprintf("clock is off by %s, more than %s", t.Offset, max), t.Evidence...)
	}
	return pass(fmt.Sprintf("clock synchronised, offset %s", t.Offset), t.Evidence...)
}

// ClockState is what chrony or timedatectl say about the clock.
type ClockState struct {
	Source    string // chrony or timedatectl
	Synced    bool
	HasOffset bool
	Offset    time.Duration // positive: fast
	Evidence  []string
}

// ParseClock reads chronyc -n tracking or timedatectl show.
func ParseClock(lines []string) (ClockState, error) {
	var st ClockState
	for _, l := range lines {
		if csv := strings.Split(l, ","); len(csv) == 14 && chronyRefID.MatchString(csv[0]) {
			if err := st.chronyCSV(csv); err != nil {
				return st, err
			}
			continue
		}
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			k, v, ok = strings.Cut(l, "=")
		}
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch k {
		case "System time":
			st.Source = "chrony"
			f := strings.Fields(v) // 0.000012345 seconds fast of NTP time
			if len(f) >= 3 {
				secs, err := strconv.ParseFloat(f[0], 64)
				if err != nil || math.IsNaN(secs) || math.IsInf(secs, 0) || math.Abs(secs) > 1e9 {
					return st, fmt.Errorf("chrony: bad System time %q", v)
				}
				if f[2] == "slow" {
					secs = -secs
				}
				st.Offset, st.HasOffset = time.Duration(secs*float64(time.Second)), true
			}
			st.Evidence = append(st.Evidence, l)
		case "Leap status":
			st.Source = "chrony"
			st.Synced = v == "Normal" || strings.HasPrefix(v, "Insert") || strings.HasPrefix(v, "Delete")
			st.Evidence = append(st.Evidence, l)
		case "Reference ID", "Stratum":
			st.Evidence = append(st.Evidence, l)
		case "NTPSynchronized":
			st.Source = "timedatectl"
			st.Synced = v == "yes"
			st.Evidence = append(st.Evidence, l)
		case "NTP", "TimeUSec":
			st.Evidence = append(st.Evidence, l)
		}
	}
	if st.Source == "" {
		return st, fmt.Errorf("neither chronyc tracking nor timedatectl show output")
	}
	return st, nil
}

var chronyRefID = regexp.MustCompile(`^[0-9A-Fa-f]{8}$`)

// chronyCSV reads chronyc -c tracking: reference id, name, stratum, ref time, system time
// correction (seconds; positive: the clock is slow), last offset, RMS offset, frequency, residual
// frequency, skew, root delay, root dispersion, update interval, leap status. It decides over what
// the human report said.
func (st *ClockState) chronyCSV(f []string) error {
	corr, err := strconv.ParseFloat(f[4], 64)
	if err != nil || math.IsNaN(corr) || math.IsInf(corr, 0) || math.Abs(corr) > 1e9 {
		return fmt.Errorf("chrony: bad system time correction %q", f[4])
	}
	st.Source = "chrony"
	st.Offset, st.HasOffset = time.Duration(-corr*float64(time.Second)), true
	leap := strings.TrimSpace(f[13])
	st.Synced = leap == "Normal" || strings.HasPrefix(leap, "Insert") || strings.HasPrefix(leap, "Delete")
	return nil
}

// DNS passes when a name resolves, and to every expected address if any are given.
type DNS struct {
	Name   string
	Expect []string
}

// Run asks getent ahosts, which follows nsswitch like the services on the host do.
func (d DNS) Run(ctx context.Context, env Env) Result {
	o := runHere(ctx, env, c("getent", "ahosts", "--", d.Name))
	if why, bad := o.unusable(); bad {
		return inconclusive(why, tail(o.stderr, 3)...)
	}
	switch o.exit {
	case 0:
	case 2:
		return fail(fmt.Sprintf("%s does not resolve", d.Name))
	default:
		return inconclusive(fmt.Sprintf("getent exited %d", o.exit), tail(o.stderr, 3)...)
	}
	addrs := ParseGetent(o.stdout)
	var missing []string
	for _, e := range d.Expect {
		if !slices.Contains(addrs, e) {
			missing = append(missing, e)
		}
	}
	ev := []string{"resolves to " + strings.Join(addrs, ", ")}
	if len(missing) > 0 {
		return fail(fmt.Sprintf("%s resolves, but not to %s", d.Name, strings.Join(missing, ", ")), ev...)
	}
	return pass("resolves to " + strings.Join(addrs, ", "))
}

// ParseGetent reads getent ahosts output into distinct addresses, in order.
func ParseGetent(lines []string) []string {
	var out []string
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) > 0 && !slices.Contains(out, f[0]) {
			out = append(out, f[0])
		}
	}
	return out
}
