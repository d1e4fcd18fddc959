// Package lab is cutover's embedded training lab: govmomi's vCenter simulator with two sites, SSH
// hosts on 127.0.0.1 that answer systemctl, ss, journalctl and friends from a small host model,
// and faults a trainee can switch on to practise a rollback. It is a product feature, not a test
// double: runbooks run against it through the same SSH, known_hosts and vSphere paths as against
// real sites.
package lab

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
)

// Port is a socket a unit listens on.
type Port struct {
	Proto string // tcp, udp
	Addr  string // 0.0.0.0, [::], 127.0.0.1
	Port  int
}

// Unit is a systemd unit of a lab host.
type Unit struct {
	Name    string // nginx.service
	Desc    string
	State   string // active, inactive, failed
	Sub     string // running, dead, failed
	Since   time.Time
	PID     int
	Process string // as ss shows it
	Ports   []Port
	Exec    string // the main command line
}

// Entry is one journal entry.
type Entry struct {
	Cursor   string
	Time     time.Time
	Priority int // 0 emerg ... 3 err ... 6 info
	Unit     string
	Ident    string
	PID      int
	Message  string
}

// Host is one lab machine: its units, journal, clock and security posture. The lab mutates it as
// the VM moves and faults fire; the tools render it in the real commands' formats.
type Host struct {
	mu       sync.Mutex
	Name     string // the runbook's name for it
	Address  string // its ssh_config alias
	Zone     string
	IP       string
	VM       bool   // the guest of a VM the lab moves: its zone follows the VM
	vmName   string // which VM
	units    map[string]*Unit
	journal  []Entry
	seq      int
	boot     string
	offset   time.Duration // clock offset, positive = fast
	selinux  string
	services []string // firewalld services
	ports    []string // firewalld ports
	slow     time.Duration
	hostname string
}

func newHost(name, address, zone, ip string, vm bool, now time.Time) *Host {
	h := &Host{Name: name, Address: address, Zone: zone, IP: ip, VM: vm, units: map[string]*Unit{},
		boot: fmt.Sprintf("%032x", len(name)*7919+len(address)), selinux: "Enforcing",
		services: []string{"ssh", "dhcpv6-client"}, hostname: strings.Split(address, ".")[0]}
	// The boot time, and so every journal cursor, is the same for every lab started the same day:
	// a resumed run (a new lab) still finds the baseline it took.
	booted := now.UTC().Truncate(24 * time.Hour).Add(-12 * time.Hour)
	h.addUnit(&Unit{Name: "sshd.service", Desc: "OpenSSH server daemon", State: "active", Sub: "running", Since: booted, PID: 812, Process: "sshd",
		Ports: []Port{{"tcp", "0.0.0.0", 22}, {"tcp", "[::]", 22}}, Exec: "sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups"})
	h.addUnit(&Unit{Name: "chronyd.service", Desc: "NTP client/server", State: "active", Sub: "running", Since: booted, PID: 655, Process: "chronyd",
		Ports: []Port{{"udp", "127.0.0.1", 323}, {"udp", "[::1]", 323}}, Exec: "/usr/sbin/chronyd -F 2"})
	h.addUnit(&Unit{Name: "systemd-journald.service", Desc: "Journal Service", State: "active", Sub: "running", Since: booted, PID: 402, Process: "systemd-journal", Exec: "/usr/lib/systemd/systemd-journald"})
	h.log(booted, 6, "systemd-journald.service", "systemd-journald", 402, "Journal started")
	h.log(booted.Add(2*time.Second), 3, "", "kernel", 0, "ACPI Error: No handler for Region [SYSI] (00000000d1bf9c4a) [IPMI] (20230628/evregion-130)")
	h.log(booted.Add(9*time.Second), 6, "sshd.service", "sshd", 812, "Server listening on 0.0.0.0 port 22.")
	if vm {
		h.services = append(h.services, "https")
		h.addUnit(&Unit{Name: "nginx.service", Desc: "The nginx HTTP and reverse proxy server", State: "active", Sub: "running", Since: booted.Add(20 * time.Second), PID: 1203, Process: "nginx",
			Ports: []Port{{"tcp", "0.0.0.0", 443}, {"tcp", "0.0.0.0", 80}}, Exec: "nginx: master process /usr/sbin/nginx"})
		h.log(booted.Add(20*time.Second), 6, "nginx.service", "systemd", 1, "Started nginx.service - The nginx HTTP and reverse proxy server.")
		at := booted.Add(3 * time.Hour)
		h.log(at, 3, "nginx.service", "nginx", 1204, at.UTC().Format("2006/01/02 15:04:05")+" [error] 1204#1204: *4471 upstream timed out (110: Connection timed out) while reading response header from upstream, client: 10.20.0.77")
	}
	return h
}

func (h *Host) addUnit(u *Unit) { h.units[u.Name] = u }

// log appends a journal entry; the caller holds mu or owns h.
func (h *Host) log(t time.Time, prio int, unit, ident string, pid int, msg string) {
	h.seq++
	h.journal = append(h.journal, Entry{
		Cursor: fmt.Sprintf("s=%s;i=%x;b=%s;m=%x;t=%x;x=%x", h.boot[:16], h.seq, h.boot, h.seq*1000, t.UnixMicro(), h.seq*2654435761),
		Time:   t, Priority: prio, Unit: unit, Ident: ident, PID: pid, Message: msg,
	})
}

// unit finds a unit by name with or without its .service suffix.
func (h *Host) unit(name string) *Unit {
	if u, ok := h.units[name]; ok {
		return u
	}
	return h.units[name+".service"]
}

// Fail stops a unit the way a crash does: failed state, journal lines, sockets gone.
func (h *Host) Fail(name, why string, now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	u := h.unit(name)
	if u == nil {
		return
	}
	u.State, u.Sub, u.Since = "failed", "failed", now
	h.log(now, 3, u.Name, strings.TrimSuffix(u.Name, ".service"), u.PID, why)
	h.log(now, 4, u.Name, "systemd", 1, u.Name+": Main process exited, code=exited, status=1/FAILURE")
	h.log(now, 3, u.Name, "systemd", 1, "Failed to start "+u.Name+" - "+u.Desc+".")
}

// Start brings a unit up with a new PID, as systemctl restart does.
func (h *Host) Start(name string, now time.Time) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	u := h.unit(name)
	if u == nil {
		return false
	}
	u.State, u.Sub, u.Since = "active", "running", now
	u.PID += 17
	h.log(now, 6, u.Name, "systemd", 1, "Started "+u.Name+" - "+u.Desc+".")
	return true
}

// LogError appends an error-priority entry, as a new problem after a change would.
func (h *Host) LogError(unit, ident, msg string, now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.log(now, 3, unit, ident, 0, msg)
}

func (h *Host) zone() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.Zone
}

// SetZone moves the host (the VM) to another site.
func (h *Host) SetZone(zone string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.Zone = zone
}

// Serving tells whether the host answers on a TCP port.
func (h *Host) Serving(port int) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, u := range h.units {
		if u.State != "active" {
			continue
		}
		for _, p := range u.Ports {
			if p.Proto == "tcp" && p.Port == port {
				return true
			}
		}
	}
	return false
}

func (h *Host) sortedUnits() []*Unit {
	var out []*Unit
	for _, k := range slices.Sorted(maps.Keys(h.units)) {
		out = append(out, h.units[k])
	}
	return out
}
