package lab

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The network tools of lab hosts: name lookups, HTTP probes and the gateway ping.

func (l *Lab) getent(args []string, o out) int {
	var db, name string
	for _, a := range args {
		switch {
		case a == "--":
		case db == "":
			db = a
		default:
			name = a
		}
	}
	ip, ok := l.resolve(name)
	if !ok || (db != "ahosts" && db != "hosts") {
		return 2
	}
	if db == "hosts" {
		o.printf("%-15s %s", ip, name)
		return 0
	}
	for _, kind := range []string{"STREAM " + name, "DGRAM  ", "RAW    "} {
		o.printf("%-15s %s", ip, kind)
	}
	return 0
}

// curl answers the probe cutover's endpoint check sends: reachable when the name resolves and
// the host serves the port; zones are one stretched network, as the lab's premise is.
func (l *Lab) curl(ctx context.Context, from *Host, args []string, o out) int {
	var target, write string
	for i := 0; i < len(args); i++ {
		switch args[i] {
		case "-w":
			if i+1 < len(args) {
				i++
				write = args[i]
			}
		case "-o", "--max-time", "-m":
			i++
		case "--":
		default:
			if !strings.HasPrefix(args[i], "-") {
				target = args[i]
			}
		}
	}
	u, err := url.Parse(target)
	if err != nil || u.Host == "" {
		o.errorf("curl: (3) URL rejected: Malformed input to a URL function")
		return 3
	}
	port := 80
	if u.Scheme == "https" {
		port = 443
	}
	if p := u.Port(); p != "" {
		port, _ = strconv.Atoi(p)
	}
	to := l.hostByAddress(u.Hostname())
	if to == nil {
		o.errorf("curl: (6) Could not resolve host: %s", u.Hostname())
		return 6
	}
	if !to.Serving(port) {
		o.errorf("curl: (7) Failed to connect to %s port %d after 2 ms: Couldn't connect to server", u.Hostname(), port)
		return 7
	}
	if write != "" {
		code := "200"
		o.printf("%s", strings.TrimSuffix(strings.NewReplacer("%{http_code}", code, "%{time_total}", "0.004213").Replace(write), `\n`))
	}
	return 0
}

// gateway is the stretched VLAN's default gateway in the lab.
const gateway = "10.20.0.1"

// ping answers iputils ping (-D -O -n -i INTERVAL TARGET) line by line until killed, losing the
// packets the lab drops at switch-over.
func (l *Lab) ping(ctx context.Context, h *Host, args []string, o out) int {
	interval, target, stamps, report := time.Second, "", false, false
	for i := 0; i < len(args); i++ {
		switch a := args[i]; a {
		case "-D":
			stamps = true
		case "-O":
			report = true
		case "-n", "-q":
		case "-i":
			if i+1 < len(args) {
				i++
				if f, err := strconv.ParseFloat(args[i], 64); err == nil && f > 0 {
					interval = time.Duration(f * float64(time.Second))
				}
			}
		case "--": // the end of the options, as iputils takes it
			if i+1 < len(args) {
				target = args[i+1]
			}
			i = len(args)
		default:
			if !strings.HasPrefix(a, "-") {
				target = a
			}
		}
	}
	if _, ok := l.resolve(target); !ok && target != gateway {
		o.errorf("ping: %s: Name or service not known", target)
		return 2
	}
	o.printf("PING %s (%s) 56(84) bytes of data.", target, target)
	// iputils 20221126 (Debian 12, as captured): a user may ping every 2 ms at the fastest, and it
	// says so after its first line.
	if interval < 2*time.Millisecond && currentUser() != "root" {
		o.errorf("ping: cannot flood; minimal interval allowed for user is 2ms")
		return 2
	}
	stamp := func(t time.Time) string {
		if !stamps {
			return ""
		}
		return fmt.Sprintf("[%d.%06d] ", t.Unix(), t.Nanosecond()/1000)
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	lastLost := 0
	net := newLabNet(l, h)
	for seq := 1; ; seq++ {
		now := time.Now()
		if lastLost > 0 && report {
			o.printf("%sno answer yet for icmp_seq=%d", stamp(now), lastLost)
		}
		lastLost = 0
		if l.dropPing(h) {
			lastLost = seq
			net.stunned = true
		} else {
			rtt := net.rtt()
			o.printf("%s64 bytes from %s: icmp_seq=%d ttl=64 time=%.3f ms", stamp(now.Add(time.Duration(rtt*float64(time.Millisecond)))), target, seq, rtt)
		}
		select {
		case <-ctx.Done():
			return 0
		case <-tick.C:
		}
	}
}

// labNet is the round trip from a lab host to the gateway, shaped like a network's: a base with
// jitter, an outlier now and then, a spike right after the switch-over's stun, and, with the VM on
// SITE-B, the inter-site link twice (the gateway answers from SITE-A: traffic trombones).
type labNet struct {
	lab     *Lab
	host    *Host
	rnd     *rand.Rand
	stunned bool // a request was just lost: the next answer comes late
}

func newLabNet(l *Lab, h *Host) *labNet {
	return &labNet{lab: l, host: h, rnd: rand.New(rand.NewPCG(0x5eed, uint64(len(h.Name))))}
}

// rtt is the next answer's round trip, in milliseconds.
func (n *labNet) rtt() float64 {
	ms := 0.28 + math.Abs(n.rnd.NormFloat64())*0.05 // a leaf-spine fabric: a few hundred µs, a little jitter
	if n.rnd.IntN(100) == 0 {
		ms *= 2 + 4*n.rnd.Float64() // a busy control plane now and then
	}
	if n.stunned {
		ms += 1.5 + n.rnd.Float64() // the first answer after the stun: ARP and MAC tables still settling
		n.stunned = false
	}
	if n.host.zone() == "site-b" {
		ms += 2 * n.lab.interSite().Seconds() * 1000
	}
	return ms
}
