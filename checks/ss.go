package checks

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Listener is one listening socket from ss -tulpnH.
type Listener struct {
	Proto     string   // tcp, udp (tcp6/udp6 are folded in: the address says the family)
	Addr      string   // local address without the port: 0.0.0.0, [::], 127.0.0.53%lo
	Port      int      // local port
	Processes []string // process names, sorted, without PIDs or fds
}

// Key is the listener without what changes across restarts (PIDs, fds): what baselines compare.
func (l Listener) Key() string {
	k := fmt.Sprintf("%s %s:%d", l.Proto, l.Addr, l.Port)
	if len(l.Processes) > 0 {
		k += " " + strings.Join(l.Processes, ",")
	}
	return k
}

var ssProcess = regexp.MustCompile(`\("([^"]*)",`)

// ParseSS reads `ss -tulpnH` (iproute2 5.x and 6.x): listening TCP and bound UDP sockets.
func ParseSS(lines []string) ([]Listener, error) {
	var out []Listener
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		if f[0] == "Netid" {
			continue // a header, when -H was not honoured
		}
		if len(f) < 5 {
			return nil, fmt.Errorf("ss line %q: want at least 5 columns", l)
		}
		proto := strings.TrimSuffix(strings.ToLower(f[0]), "6")
		if proto != "tcp" && proto != "udp" {
			continue
		}
		if f[1] != "LISTEN" && f[1] != "UNCONN" {
			continue
		}
		host, port, err := splitLocal(f[4])
		if err != nil {
			return nil, fmt.Errorf("ss line %q: %w", l, err)
		}
		li := Listener{Proto: proto, Addr: host, Port: port}
		if len(f) > 6 {
			procs := map[string]bool{}
			for _, m := range ssProcess.FindAllStringSubmatch(strings.Join(f[6:], " "), -1) {
				procs[m[1]] = true
			}
			for p := range procs {
				li.Processes = append(li.Processes, p)
			}
			slices.Sort(li.Processes)
		}
		out = append(out, li)
	}
	return out, nil
}

// splitLocal splits ss's local address column: 0.0.0.0:80, [::]:22, *:53, 127.0.0.53%lo:53,
// [fe80::1]%eth0:546.
func splitLocal(s string) (string, int, error) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return "", 0, fmt.Errorf("no port in %q", s)
	}
	port, err := strconv.Atoi(s[i+1:])
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("bad port in %q", s)
	}
	return s[:i], port, nil
}

// ListenSpec is what a listening check expects.
type ListenSpec struct {
	Proto   string // tcp or udp; empty: either
	Port    int
	Addr    string // optional: the address it must be bound to (an IP, or * / 0.0.0.0 / [::] for any)
	Process string // optional: the process name
}

func (s ListenSpec) String() string {
	out := fmt.Sprintf("%s/%d", cmpOr(s.Proto, "tcp|udp"), s.Port)
	if s.Addr != "" {
		out += " on " + s.Addr
	}
	if s.Process != "" {
		out += " by " + s.Process
	}
	return out
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// matches tells whether l is what s expects.
func (s ListenSpec) matches(l Listener) bool {
	if l.Port != s.Port || (s.Proto != "" && l.Proto != s.Proto) {
		return false
	}
	if s.Process != "" && !slices.Contains(l.Processes, s.Process) {
		return false
	}
	if s.Addr == "" {
		return true
	}
	a := strings.Trim(strings.Split(l.Addr, "%")[0], "[]")
	want := strings.Trim(s.Addr, "[]")
	if a == want {
		return true
	}
	// A wildcard bind serves any address the check names.
	return a == "*" || a == "0.0.0.0" || a == "::"
}

var ssCommand = c("ss", "-tulpnH")

func listeners(ctx context.Context, env Env) ([]Listener, output, string) {
	o := runHere(ctx, env, ssCommand)
	if why, bad := o.unusable(); bad {
		return nil, o, why
	}
	if o.exit != 0 {
		return nil, o, fmt.Sprintf("ss exited %d", o.exit)
	}
	ls, err := ParseSS(o.stdout)
	if err != nil {
		return nil, o, err.Error()
	}
	return ls, o, ""
}

// Listening passes when the expected socket is listening.
type Listening struct {
	Want ListenSpec
}

// Run lists listeners and looks for the expected one.
func (c Listening) Run(ctx context.Context, env Env) Result {
	ls, o, why := listeners(ctx, env)
	if why != "" {
		return inconclusive(why, tail(o.stderr, 5)...)
	}
	var seen []string
	hidden := ""
	for _, l := range ls {
		if c.Want.matches(l) {
			return pass(fmt.Sprintf("listening on %s", l.Key()))
		}
		if l.Port == c.Want.Port {
			seen = append(seen, "same port: "+l.Key())
			anyProcess := c.Want
			anyProcess.Process = ""
			if len(l.Processes) == 0 && anyProcess.matches(l) {
				hidden = l.Key()
			}
		}
	}
	if hidden != "" {
		// ss names a socket's process only to root and the process's owner: no name is not
		// knowing, not another process.
		return inconclusive(fmt.Sprintf("%s listens, but ss does not show its process to this user: cannot tell whether it is %s (log in as root)", hidden, c.Want.Process), seen...)
	}
	return fail(fmt.Sprintf("nothing listens on %s", c.Want), append(seen, fmt.Sprintf("%d listeners in all", len(ls)))...)
}

// Listeners records the listening sockets as a baseline, or compares them with one.
type Listeners struct {
	Baseline string // id to compare against; empty: record
}

// Run lists listeners; with a baseline, reports what was added and removed.
func (c Listeners) Run(ctx context.Context, env Env) Result {
	ls, o, why := listeners(ctx, env)
	if why != "" {
		return inconclusive(why, tail(o.stderr, 5)...)
	}
	keys := make([]string, 0, len(ls))
	for _, l := range ls {
		keys = append(keys, l.Key())
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	if c.Baseline == "" {
		r := pass(fmt.Sprintf("%d listeners recorded", len(keys)), keys...)
		r.Baseline = keys
		return r
	}
	before, ok := env.Baselines.Baseline(c.Baseline)
	if !ok {
		return inconclusive(fmt.Sprintf("baseline %q was not recorded", c.Baseline))
	}
	added, removed := diffLines(before, keys)
	var note []string
	if n := processless(ls); n > 0 {
		note = []string{fmt.Sprintf("ss shows no process for %d socket(s) to this user: another process taking over the same port would not show (log in as root)", n)}
	}
	if len(added)+len(removed) == 0 {
		return pass(fmt.Sprintf("listeners unchanged (%d)", len(keys)), note...)
	}
	var what []string
	for _, a := range added {
		what = append(what, "new "+a)
	}
	for _, r := range removed {
		what = append(what, "gone "+r)
	}
	return fail(fmt.Sprintf("listeners changed: %s", strings.Join(what, "; ")),
		append(append(prefixed("+ ", added), prefixed("- ", removed)...), note...)...)
}

// processless counts listeners that ss showed without a process.
func processless(ls []Listener) int {
	n := 0
	for _, l := range ls {
		if len(l.Processes) == 0 {
			n++
		}
	}
	return n
}
