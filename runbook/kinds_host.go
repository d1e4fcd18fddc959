package runbook

import (
	"cmp"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/cutover/cutover/checks"
)

// The host check kinds: their fields as written, their load-time rules, and how each builds its
// check from rendered values.

type unitActiveKind struct {
	Unit Tmpl `yaml:"unit" required:"true" desc:"systemd unit, e.g. nginx or nginx.service"`
}

func (k *unitActiveKind) validate(v *validator, c *CheckSpec, path string) {
	v.tmpl(k.Unit, path+".unit")
}

func (k *unitActiveKind) build(c *CheckSpec, vals Values) (checks.Check, error) {
	return checks.UnitActive{Unit: k.Unit.Render(vals, nil)}, nil
}

type noFailedUnitsKind struct{}

func (*noFailedUnitsKind) validate(*validator, *CheckSpec, string) {}
func (*noFailedUnitsKind) build(*CheckSpec, Values) (checks.Check, error) {
	return checks.NoFailedUnits{}, nil
}

type listeningKind struct {
	Port    Tmpl   `yaml:"port" required:"true" desc:"port number"`
	Proto   string `yaml:"proto" desc:"tcp or udp (default: either)"`
	Address Tmpl   `yaml:"address" desc:"address it must be bound to; a wildcard bind counts"`
	Process Tmpl   `yaml:"process" desc:"process name, as ss shows it"`
}

func (k *listeningKind) validate(v *validator, c *CheckSpec, path string) {
	v.tmpl(k.Port, path+".port")
	v.tmpl(k.Address, path+".address")
	v.tmpl(k.Process, path+".process")
	if len(k.Port.Refs) == 0 {
		if _, err := parsePort(k.Port.Text); err != nil {
			v.add(k.Port.Pos, path+".port", "%v", err)
		}
	}
	if k.Proto != "" && k.Proto != "tcp" && k.Proto != "udp" {
		v.add(c.Pos.Field("proto"), path+".proto", "want tcp or udp, got %q", k.Proto)
	}
}

func parsePort(s string) (int, error) {
	p, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || p < 1 || p > 65535 {
		return 0, fmt.Errorf("want a port from 1 to 65535, got %q", s)
	}
	return p, nil
}

func (k *listeningKind) build(c *CheckSpec, vals Values) (checks.Check, error) {
	port, err := parsePort(k.Port.Render(vals, nil))
	if err != nil {
		return nil, fmt.Errorf("port: %w", err)
	}
	return checks.Listening{Want: checks.ListenSpec{Proto: k.Proto, Port: port, Addr: k.Address.Render(vals, nil), Process: k.Process.Render(vals, nil)}}, nil
}

type listenersKind struct{}

func (*listenersKind) validate(*validator, *CheckSpec, string) {}
func (*listenersKind) build(c *CheckSpec, _ Values) (checks.Check, error) {
	return checks.Listeners{Baseline: c.Baseline}, nil
}

type journalUnitKind struct {
	Unit   Tmpl   `yaml:"unit" required:"true" desc:"systemd unit whose journal to read"`
	Lines  int    `yaml:"lines" desc:"how many recent lines to read (default 200)"`
	FailOn []Tmpl `yaml:"fail_on" desc:"regexps that fail the check (default: error, failed, fatal, panic, denied, refused...)"`
}

func (k *journalUnitKind) validate(v *validator, c *CheckSpec, path string) {
	v.tmpl(k.Unit, path+".unit")
	if k.Lines < 0 || k.Lines > 100_000 {
		v.add(c.Pos.Field("lines"), path+".lines", "want 1 to 100000 lines, got %d", k.Lines)
	}
	for i, p := range k.FailOn {
		v.pattern(p, fmt.Sprintf("%s.fail_on[%d]", path, i))
	}
}

func (k *journalUnitKind) build(c *CheckSpec, vals Values) (checks.Check, error) {
	j := checks.JournalUnit{Unit: k.Unit.Render(vals, nil), Lines: k.Lines}
	for _, p := range k.FailOn {
		re, err := compilePattern(p, vals)
		if err != nil {
			return nil, fmt.Errorf("fail_on: %w", err)
		}
		j.FailOn = append(j.FailOn, re)
	}
	return j, nil
}

type journalErrorsKind struct {
	Ignore []Tmpl `yaml:"ignore" desc:"journal_regressions: regexps of new errors not to count, matched against 'identifier: message' as logged (e.g. sshd's own words about a client); each ignored entry is still listed in the evidence"`
}

func (k *journalErrorsKind) validate(v *validator, c *CheckSpec, path string) {
	if len(k.Ignore) > 0 && c.Baseline == "" {
		v.add(c.Pos.Field("ignore"), path+".ignore", "a journal_baseline records every error; ignore belongs on the journal_regressions check that compares with it")
	}
	for i, p := range k.Ignore {
		v.pattern(p, fmt.Sprintf("%s.ignore[%d]", path, i))
	}
}

func (k *journalErrorsKind) build(c *CheckSpec, vals Values) (checks.Check, error) {
	j := checks.JournalErrors{Baseline: c.Baseline}
	for _, p := range k.Ignore {
		re, err := compilePattern(p, vals)
		if err != nil {
			return nil, fmt.Errorf("ignore: %w", err)
		}
		j.Ignore = append(j.Ignore, re)
	}
	return j, nil
}

type endpointKind struct {
	URL      Tmpl     `yaml:"url" desc:"http:// or https:// URL to GET"`
	TCP      Tmpl     `yaml:"tcp" desc:"host:port to connect to (instead of url)"`
	From     []string `yaml:"from" required:"true" desc:"hosts to probe from"`
	MinZones int      `yaml:"min_zones" desc:"distinct zones that must reach it (default 2)"`
	Status   []int    `yaml:"status" desc:"accepted HTTP status codes (default 200-399)"`
	Probe    Duration `yaml:"probe_timeout" desc:"per probe (default 5s)"`
}

var urlPattern = regexp.MustCompile(`^https?://`)

func (k *endpointKind) validate(v *validator, c *CheckSpec, path string) {
	switch {
	case (k.URL.Text == "") == (k.TCP.Text == ""):
		v.add(c.Pos, path, "give exactly one of url and tcp")
	case k.URL.Text != "":
		v.tmpl(k.URL, path+".url")
		if u, ok := v.static(k.URL); ok && !urlPattern.MatchString(u) {
			v.add(k.URL.Pos, path+".url", "want an http:// or https:// URL, got %q", u)
		}
	default:
		v.tmpl(k.TCP, path+".tcp")
		if len(k.TCP.Refs) == 0 {
			if _, p, err := net.SplitHostPort(k.TCP.Text); err != nil {
				v.add(k.TCP.Pos, path+".tcp", "want host:port, got %q", k.TCP.Text)
			} else if _, err := parsePort(p); err != nil {
				v.add(k.TCP.Pos, path+".tcp", "%v", err)
			}
		}
	}
	if c.Host != "" {
		v.add(c.Pos.Field("host"), path+".host", "an endpoint runs from its from: hosts; host does not apply")
	}
	zones := map[string]bool{}
	for i, h := range k.From {
		v.host(h, c.Pos.Field("from"), fmt.Sprintf("%s.from[%d]", path, i))
		zone := h
		if hh, ok := v.rb.Hosts[h]; ok && hh.Zone != "" {
			zone = hh.Zone
		}
		zones[zone] = true
	}
	need := k.MinZones
	if need == 0 {
		need = 2
	}
	switch {
	case k.MinZones < 0:
		v.add(c.Pos.Field("min_zones"), path+".min_zones", "want 1 or more, got %d", k.MinZones)
	case len(k.From) > 0 && len(zones) < need:
		v.add(c.Pos.Field("from"), path+".from", "these hosts span %d zone(s) but min_zones is %d: probe from more zones", len(zones), need)
	}
	for i, s := range k.Status {
		if s < 100 || s > 599 {
			v.add(c.Pos.Field("status"), fmt.Sprintf("%s.status[%d]", path, i), "want an HTTP status from 100 to 599, got %d", s)
		}
	}
}

func (k *endpointKind) build(c *CheckSpec, vals Values) (checks.Check, error) {
	if u := k.URL.Render(vals, nil); u != "" && !urlPattern.MatchString(u) {
		return nil, fmt.Errorf("url: want an http:// or https:// URL, got %q", u)
	}
	return checks.Endpoint{URL: k.URL.Render(vals, nil), TCP: k.TCP.Render(vals, nil), From: k.From, MinZones: k.MinZones, Status: k.Status, Timeout: k.Probe.Std()}, nil
}

type selinuxKind struct {
	Mode string `yaml:"mode" desc:"enforcing (default), permissive or disabled"`
}

func (k *selinuxKind) validate(v *validator, c *CheckSpec, path string) {
	switch strings.ToLower(k.Mode) {
	case "", "enforcing", "permissive", "disabled":
	default:
		v.add(c.Pos.Field("mode"), path+".mode", "want enforcing, permissive or disabled, got %q", k.Mode)
	}
}

func (k *selinuxKind) build(*CheckSpec, Values) (checks.Check, error) {
	return checks.SELinux{Want: k.Mode}, nil
}

type firewallKind struct {
	Allow []Tmpl `yaml:"allow" desc:"services (https) or PORT/PROTO (8443/tcp) that must be allowed in"`
}

var allowPattern = regexp.MustCompile(`^([a-z][a-z0-9-]*|[0-9]{1,5}/(tcp|udp))$`)

func (k *firewallKind) validate(v *validator, c *CheckSpec, path string) {
	for i, a := range k.Allow {
		p := fmt.Sprintf("%s.allow[%d]", path, i)
		v.tmpl(a, p)
		if len(a.Refs) == 0 && !allowPattern.MatchString(a.Text) {
			v.add(a.Pos, p, "want a service name or PORT/PROTO such as 8443/tcp, got %q", a.Text)
		}
	}
}

func (k *firewallKind) build(c *CheckSpec, vals Values) (checks.Check, error) {
	f := checks.Firewall{Baseline: c.Baseline, Record: c.ID != ""}
	for _, a := range k.Allow {
		f.Allow = append(f.Allow, a.Render(vals, nil))
	}
	return f, nil
}

type clockKind struct {
	MaxOffset Duration `yaml:"max_offset" desc:"largest acceptable offset (default 100ms)"`
}

func (*clockKind) validate(*validator, *CheckSpec, string) {}
func (k *clockKind) build(*CheckSpec, Values) (checks.Check, error) {
	return checks.Clock{MaxOffset: time.Duration(k.MaxOffset)}, nil
}

type dnsKind struct {
	Name   Tmpl   `yaml:"name" required:"true" desc:"name to resolve"`
	Expect []Tmpl `yaml:"expect" desc:"addresses it must resolve to"`
}

func (k *dnsKind) validate(v *validator, c *CheckSpec, path string) {
	v.tmpl(k.Name, path+".name")
	for i, e := range k.Expect {
		p := fmt.Sprintf("%s.expect[%d]", path, i)
		v.tmpl(e, p)
		if len(e.Refs) == 0 && net.ParseIP(e.Text) == nil {
			v.add(e.Pos, p, "want an IP address, got %q", e.Text)
		}
	}
}

func (k *dnsKind) build(c *CheckSpec, vals Values) (checks.Check, error) {
	d := checks.DNS{Name: k.Name.Render(vals, nil)}
	for _, e := range k.Expect {
		d.Expect = append(d.Expect, e.Render(vals, nil))
	}
	return d, nil
}

func (k *unitActiveKind) subject(vals Values) string  { return k.Unit.Render(vals, nil) }
func (k *journalUnitKind) subject(vals Values) string { return k.Unit.Render(vals, nil) }
func (k *dnsKind) subject(vals Values) string         { return k.Name.Render(vals, nil) }
func (k *listeningKind) subject(vals Values) string {
	return cmp.Or(k.Proto, "tcp|udp") + "/" + k.Port.Render(vals, nil)
}
func (k *endpointKind) subject(vals Values) string {
	if k.URL.Text != "" {
		return k.URL.Render(vals, nil)
	}
	return "tcp://" + k.TCP.Render(vals, nil)
}
