package checks

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cutover/cutover/checks/remote"
)

// Endpoint passes when a URL answers (or a TCP port accepts) from hosts in at least MinZones
// distinct network zones: a service reachable only from its own site is not reachable.
type Endpoint struct {
	URL      string // http:// or https://; else TCP is set
	TCP      string // host:port
	From     []string
	MinZones int           // default 2
	Timeout  time.Duration // per probe; default 5s
	Status   []int         // accepted HTTP status codes; default 200-399
}

// probe is one source's view of the endpoint.
type probe struct {
	host, zone string
	outcome    Outcome
	detail     string
}

// Run probes from every source host at once.
func (e Endpoint) Run(ctx context.Context, env Env) Result {
	if env.Hosts == nil {
		return inconclusive("no hosts to probe from")
	}
	probes := make([]probe, len(e.From))
	var wg sync.WaitGroup
	for i, h := range e.From {
		wg.Add(1)
		go func() {
			defer wg.Done()
			probes[i] = e.probe(ctx, env, h)
		}()
	}
	wg.Wait()
	return e.judge(probes)
}

func (e Endpoint) target() string {
	if e.URL != "" {
		return e.URL
	}
	return "tcp://" + e.TCP
}

func (e Endpoint) command() remote.Command {
	secs := strconv.FormatFloat(e.timeout().Seconds(), 'f', -1, 64)
	if e.URL != "" {
		return c("curl", "-sS", "-o", "/dev/null", "-w", `%{http_code} %{time_total}\n`, "--max-time", secs, "--", e.URL)
	}
	host, port, _ := net.SplitHostPort(e.TCP)
	// host and port reach bash as $0 and $1, never as script text.
	return c("timeout", secs, "bash", "-c", `exec 3<>"/dev/tcp/$0/$1"`, host, port)
}

func (e Endpoint) timeout() time.Duration {
	if e.Timeout > 0 {
		return e.Timeout
	}
	return 5 * time.Second
}

func (e Endpoint) probe(ctx context.Context, env Env, host string) probe {
	p := probe{host: host, zone: env.Hosts.Zone(host)}
	if p.zone == "" {
		p.zone = host
	}
	runner, err := env.Hosts.Runner(host)
	if err != nil {
		p.outcome, p.detail = Inconclusive, err.Error()
		return p
	}
	o := run(ctx, env, host, runner, e.command())
	p.outcome, p.detail = e.readProbe(o)
	return p
}

// readProbe judges one probe's output.
func (e Endpoint) readProbe(o output) (Outcome, string) {
	if why, bad := o.unusable(); bad {
		return Inconclusive, why
	}
	if e.URL == "" {
		switch o.exit {
		case 0:
			return Pass, "connected"
		case 124:
			return Fail, fmt.Sprintf("no answer within %s", e.timeout())
		}
		return Fail, "refused or unreachable: " + strings.Join(tail(o.stderr, 1), "")
	}
	if o.exit != 0 {
		msg := strings.Join(tail(o.stderr, 1), "")
		if msg == "" {
			msg = fmt.Sprintf("curl exited %d", o.exit)
		}
		return Fail, msg
	}
	code, took, ok := ParseCurlWrite(o.stdout)
	if !ok {
		return Inconclusive, "cannot read curl's answer: " + strings.Join(o.stdout, " ")
	}
	accepted := slices.Contains(e.Status, code) || (len(e.Status) == 0 && code >= 200 && code < 400)
	if !accepted {
		return Fail, fmt.Sprintf("HTTP %d in %s", code, took)
	}
	return Pass, fmt.Sprintf("HTTP %d in %s", code, took)
}

// ParseCurlWrite reads the "%{http_code} %{time_total}" line curl writes.
func ParseCurlWrite(lines []string) (int, time.Duration, bool) {
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) != 2 {
			continue
		}
		code, err1 := strconv.Atoi(f[0])
		secs, err2 := strconv.ParseFloat(f[1], 64)
		if err1 == nil && err2 == nil && code >= 100 && code < 600 {
			return code, time.Duration(secs * float64(time.Second)).Round(time.Millisecond), true
		}
	}
	return 0, 0, false
}

// judge counts zones: a zone is reachable when any of its sources got through.
func (e Endpoint) judge(probes []probe) Result {
	need := e.MinZones
	if need <= 0 {
		need = 2
	}
	zonesOK, zonesMaybe := map[string]bool{}, map[string]bool{}
	var evidence []string
	for _, p := range probes {
		evidence = append(evidence, fmt.Sprintf("%s %s (%s): %s", glyph(p.outcome), p.host, p.zone, p.detail))
		switch p.outcome {
		case Pass:
			zonesOK[p.zone] = true
		case Inconclusive:
			zonesMaybe[p.zone] = true
		}
	}
	for z := range zonesOK {
		delete(zonesMaybe, z)
	}
	summary := fmt.Sprintf("reachable from %d zone(s), %d needed", len(zonesOK), need)
	switch {
	case len(zonesOK) >= need:
		return pass(summary, evidence...)
	case len(zonesOK)+len(zonesMaybe) >= need:
		return inconclusive(summary+"; some probes could not run", evidence...)
	}
	return fail(summary, evidence...)
}

func glyph(o Outcome) string {
	switch o {
	case Pass:
		return "✓"
	case Fail:
		return "✗"
	}
	return "?"
}
