package lab

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ToolNames are the commands lab hosts answer from their model; everything else runs for real
// under /bin/sh on this machine.
var toolNames = []string{"systemctl", "ss", "journalctl", "getenforce", "chronyc", "firewall-cmd", "getent", "curl", "ping", "ip"}

// out receives a tool's output lines.
type out struct {
	stdout, stderr func(string)
}

func (o out) printf(format string, args ...any) { o.stdout(fmt.Sprintf(format, args...)) }
func (o out) errorf(format string, args ...any) { o.stderr(fmt.Sprintf(format, args...)) }

// runTool answers one command on a lab host and returns its exit code.
func (l *Lab) runTool(ctx context.Context, h *Host, argv []string, o out) int {
	if len(argv) == 0 {
		return 127
	}
	args := argv[1:]
	switch argv[0] {
	case "systemctl":
		if d := h.slowness(); d > 0 {
			select { // a hung D-Bus: the check's timeout has to catch it
			case <-time.After(d):
			case <-ctx.Done():
				return 124
			}
		}
		return l.systemctl(h, args, o)
	case "ss":
		return ss(h, o)
	case "journalctl":
		return journalctl(h, args, o)
	case "getenforce":
		h.mu.Lock()
		defer h.mu.Unlock()
		o.printf("%s", h.selinux)
		return 0
	case "chronyc":
		return chronyc(h, args, o)
	case "firewall-cmd":
		return firewallCmd(h, args, o)
	case "getent":
		return l.getent(args, o)
	case "curl":
		return l.curl(ctx, h, args, o)
	case "ping":
		return l.ping(ctx, h, args, o)
	case "ip":
		if strings.Join(args, " ") == "route show default" {
			o.printf("default via %s dev ens192 proto static metric 100", gateway)
			return 0
		}
		o.errorf("lab: ip %s: only 'ip route show default' is modelled", strings.Join(args, " "))
		return 1
	}
	o.errorf("%s: command not found", argv[0])
	return 127
}

func (l *Lab) systemctl(h *Host, args []string, o out) int {
	var verb string
	var units, props []string
	failed, asJSON := false, false
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "--failed":
			failed = true
		case a == "--output=json":
			asJSON = true
		case a == "-p" && i+1 < len(args):
			i++
			props = append(props, strings.Split(args[i], ",")...)
		case strings.HasPrefix(a, "--property="):
			props = append(props, strings.Split(strings.TrimPrefix(a, "--property="), ",")...)
		case a == "--" || strings.HasPrefix(a, "-"):
		case verb == "":
			verb = a
		default:
			units = append(units, a)
		}
	}
	now := l.now()
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case failed:
		type row struct {
			Unit        string `json:"unit"`
			Load        string `json:"load"`
			Active      string `json:"active"`
			Sub         string `json:"sub"`
			Description string `json:"description"`
		}
		rows := []row{}
		for _, u := range h.sortedUnits() {
			if u.State == "failed" {
				rows = append(rows, row{u.Name, "loaded", "failed", "failed", u.Desc})
			}
		}
		if asJSON { // systemd 252: one line, no trailing newline of its own
			b, _ := json.Marshal(rows)
			o.printf("%s", b)
			return 0
		}
		for _, r := range rows {
			o.printf("%s %s %s %s %s", r.Unit, r.Load, r.Active, r.Sub, r.Description)
		}
		return 0
	case verb == "is-active":
		code := 0
		for _, n := range units {
			u := h.unit(n)
			switch {
			case u == nil:
				o.printf("inactive")
				code = 3
			default:
				o.printf("%s", u.State)
				if u.State != "active" {
					code = 3
				}
			}
		}
		return code
	case verb == "show":
		for i, n := range units {
			if i > 0 {
				o.printf("")
			}
			show(h, n, props, o)
		}
		return 0
	case verb == "status":
		if len(units) == 0 {
			o.printf("* %s", h.hostname)
			o.printf("    State: running")
			return 0
		}
		u := h.unit(units[0])
		if u == nil {
			o.errorf("Unit %s.service could not be found.", strings.TrimSuffix(units[0], ".service"))
			return 4
		}
		status(h, u, now, o)
		if u.State != "active" {
			return 3
		}
		return 0
	case verb == "restart" || verb == "start":
		for _, n := range units {
			u := h.unit(n)
			if u == nil {
				o.errorf("Failed to %s %s.service: Unit %s.service not found.", verb, strings.TrimSuffix(n, ".service"), strings.TrimSuffix(n, ".service"))
				return 5
			}
			u.State, u.Sub, u.Since = "active", "running", now
			u.PID += 17
			h.log(now, 6, u.Name, "systemd", 1, "Started "+u.Name+" - "+u.Desc+".")
		}
		return 0
	case verb == "is-system-running":
		o.printf("running")
		return 0
	}
	o.errorf("Unknown command verb %s.", verb)
	return 1
}

// showOrder is the order systemd 252 prints a service's properties in, whatever order -p names
// them (Service interface first, then Unit), as captured from a real host.
var showOrder = []string{"MainPID", "Result", "ExecMainCode", "ExecMainStatus", "Id", "LoadState", "ActiveState", "SubState", "UnitFileState", "StateChangeTimestamp", "LoadError"}

// show renders systemctl show -p for one unit as systemd 252 prints it.
func show(h *Host, name string, props []string, o out) {
	u := h.unit(name)
	id := name
	if !strings.Contains(id, ".") {
		id += ".service"
	}
	v := map[string]string{"MainPID": "0", "Result": "success", "ExecMainCode": "0", "ExecMainStatus": "0", "Id": id,
		"LoadState": "not-found", "ActiveState": "inactive", "SubState": "dead", "UnitFileState": "", "StateChangeTimestamp": "",
		"LoadError": fmt.Sprintf(`org.freedesktop.systemd1.NoSuchUnit "Unit %s not found."`, id)}
	if u != nil {
		v["Id"], v["LoadState"], v["ActiveState"], v["SubState"], v["UnitFileState"], v["LoadError"] = u.Name, "loaded", u.State, u.Sub, "enabled", ""
		v["StateChangeTimestamp"] = u.Since.UTC().Format("Mon 2006-01-02 15:04:05 MST")
		switch u.State {
		case "active":
			v["MainPID"] = strconv.Itoa(u.PID)
		case "failed":
			v["Result"], v["ExecMainCode"], v["ExecMainStatus"] = "exit-code", "1", "1"
		}
	}
	for _, k := range showOrder {
		if slices.Contains(props, k) {
			o.printf("%s=%s", k, v[k])
		}
	}
}

// status renders systemctl status as systemd 252 prints it under LC_ALL=C (the checks' locale):
// ASCII marks ("*" active, "x" failed) and tree ("` + "`" + `-"), as captured from a real host.
func status(h *Host, u *Unit, now time.Time, o out) {
	dot := "*"
	active := fmt.Sprintf("%s (%s)", u.State, u.Sub)
	pid := fmt.Sprintf("%d (%s)", u.PID, u.Process)
	if u.State == "failed" {
		dot, active, pid = "x", "failed (Result: exit-code)", fmt.Sprintf("%d (code=exited, status=1/FAILURE)", u.PID)
	}
	o.printf("%s %s - %s", dot, u.Name, u.Desc)
	o.printf("     Loaded: loaded (/usr/lib/systemd/system/%s; enabled; preset: disabled)", u.Name)
	o.printf("     Active: %s since %s; %s ago", active, u.Since.UTC().Format("Mon 2006-01-02 15:04:05 MST"), ago(now.Sub(u.Since)))
	o.printf("   Main PID: %s", pid)
	if u.State == "active" {
		o.printf("      Tasks: 3 (limit: 23156)")
		o.printf("     Memory: 4.2M")
		o.printf("     CGroup: /system.slice/%s", u.Name)
		o.printf("             `-%d %q", u.PID, u.Exec)
	}
	o.printf("")
	var mine []Entry
	for _, e := range h.journal {
		if e.Unit == u.Name {
			mine = append(mine, e)
		}
	}
	for _, e := range mine[max(0, len(mine)-5):] {
		o.printf("%s %s %s", e.Time.UTC().Format("Jan 02 15:04:05"), h.hostname, entryTail(e))
	}
}

func entryTail(e Entry) string {
	if e.PID > 0 {
		return fmt.Sprintf("%s[%d]: %s", e.Ident, e.PID, e.Message)
	}
	return fmt.Sprintf("%s: %s", e.Ident, e.Message)
}

func ago(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dmin", int(d.Minutes()))
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh %dmin", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%d days", int(d.Hours()/24))
}

// ss renders ss -tulpnH from the units' sockets.
func ss(h *Host, o out) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, u := range h.sortedUnits() {
		if u.State != "active" {
			continue
		}
		for _, p := range u.Ports {
			state, backlog := "LISTEN", 511
			if p.Proto == "udp" {
				state, backlog = "UNCONN", 0
			}
			peer := "0.0.0.0:*"
			if strings.HasPrefix(p.Addr, "[") {
				peer = "[::]:*"
			}
			o.printf("%-5s %-6s 0      %-6d %21s %20s    users:((\"%s\",pid=%d,fd=6))", p.Proto, state, backlog, fmt.Sprintf("%s:%d", p.Addr, p.Port), peer, u.Process, u.PID)
		}
	}
	return 0
}

// journalctl answers -u, -p, -b, -n, -o json|short-iso|cat and --after-cursor.
func journalctl(h *Host, args []string, o out) int {
	var unit, format, after string
	n, maxPrio := -1, 7
	for i := 0; i < len(args); i++ {
		next := func() string {
			if i+1 < len(args) {
				i++
				return args[i]
			}
			return ""
		}
		switch a := args[i]; {
		case a == "-u":
			unit = next()
		case a == "-n":
			n, _ = strconv.Atoi(next())
		case a == "-p":
			maxPrio = priority(next())
		case a == "-o":
			format = next()
		case a == "--after-cursor":
			after = next()
		case strings.HasPrefix(a, "--after-cursor="):
			after = strings.TrimPrefix(a, "--after-cursor=")
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	var sel []Entry
	seen := after == ""
	for _, e := range h.journal {
		if !seen {
			seen = e.Cursor == after
			continue
		}
		if e.Priority > maxPrio {
			continue
		}
		if unit != "" && e.Unit != unit && e.Unit != unit+".service" {
			continue
		}
		sel = append(sel, e)
	}
	if !seen {
		o.errorf("Failed to seek to cursor: Invalid argument")
		return 1
	}
	if n >= 0 && len(sel) > n {
		sel = sel[len(sel)-n:]
	}
	if len(sel) == 0 && format != "json" && format != "cat" {
		o.printf("-- No entries --")
		return 0
	}
	for _, e := range sel {
		switch format {
		case "json":
			b, _ := json.Marshal(map[string]string{
				"__CURSOR": e.Cursor, "__REALTIME_TIMESTAMP": strconv.FormatInt(e.Time.UnixMicro(), 10), "_BOOT_ID": h.boot,
				"PRIORITY": strconv.Itoa(e.Priority), "_SYSTEMD_UNIT": e.Unit, "SYSLOG_IDENTIFIER": e.Ident,
				"_PID": strconv.Itoa(e.PID), "_HOSTNAME": h.hostname, "MESSAGE": e.Message,
			})
			o.printf("%s", b)
		case "cat":
			o.printf("%s", e.Message)
		default:
			o.printf("%s %s %s", e.Time.UTC().Format("2006-01-02T15:04:05-0700"), h.hostname, entryTail(e))
		}
	}
	return 0
}

func priority(s string) int {
	for i, p := range []string{"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"} {
		if s == p || s == strconv.Itoa(i) {
			return i
		}
	}
	return 7
}

// chronyc answers tracking, as a report or (-c) as chrony's CSV.
func chronyc(h *Host, args []string, o out) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	ref := time.Now().UTC().Add(-40 * time.Second)
	if slices.Contains(args, "-c") {
		// The correction is signed the other way round: positive means the clock is slow.
		o.printf("0A140001,10.20.0.1,3,%d.%09d,%.9f,0.000004321,0.000010000,-1.234,-0.000,0.012,0.000412345,0.000234567,64.2,Normal",
			ref.Unix(), ref.Nanosecond(), -h.offset.Seconds())
		return 0
	}
	dir := "fast"
	off := h.offset.Seconds()
	if off < 0 {
		dir, off = "slow", -off
	}
	o.printf("Reference ID    : 0A140001 (10.20.0.1)")
	o.printf("Stratum         : 3")
	o.printf("Ref time (UTC)  : %s", ref.Format("Mon Jan 02 15:04:05 2006"))
	o.printf("System time     : %.9f seconds %s of NTP time", off, dir)
	o.printf("Last offset     : +0.000004321 seconds")
	o.printf("RMS offset      : 0.000010000 seconds")
	o.printf("Frequency       : 1.234 ppm slow")
	o.printf("Residual freq   : -0.000 ppm")
	o.printf("Skew            : 0.012 ppm")
	o.printf("Root delay      : 0.000412345 seconds")
	o.printf("Root dispersion : 0.000234567 seconds")
	o.printf("Update interval : 64.2 seconds")
	o.printf("Leap status     : Normal")
	return 0
}

func firewallCmd(h *Host, args []string, o out) int {
	if len(args) == 0 || args[0] != "--list-all" {
		o.errorf("usage: see firewall-cmd man page")
		return 2
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	o.printf("public (active)")
	o.printf("  target: default")
	o.printf("  interfaces: ens192")
	o.printf("  services: %s", strings.Join(h.services, " "))
	o.printf("  ports: %s", strings.Join(h.ports, " "))
	o.printf("  rich rules: ")
	return 0
}

// slowness is how long systemctl hangs on this host (the slow-check fault).
func (h *Host) slowness() time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.slow
}
