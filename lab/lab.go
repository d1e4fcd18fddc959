package lab

import (
	"cmp"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/cutover/cutover/checks/netbox"
	"github.com/cutover/cutover/checks/vsphere"
)

// HostSpec is a runbook host the lab brings up.
type HostSpec struct {
	Name, Address, Zone string
	// Guest is the VM whose guest the host is, when its address does not say (an IP address); by
	// default the address's first label (app-01.site-a.example: app-01).
	Guest string
}

// Options shape a lab.
type Options struct {
	Dir          string // where keys, configs and the tool socket live; default a new temp dir
	Hosts        []HostSpec
	VM           string        // the VM the runbook migrates (default app-01)
	VMIP         string        // its address on the stretched VLAN (default 10.20.0.15)
	RelocateTime time.Duration // how long a vMotion takes (default 3s)
	Operator     string        // principal of the lab's signing key in allowed_signers
	Executable   string        // the cutover binary the lab's commands link to (default this one)
	VMHost       string        // where the VM starts (default esx-a-01; a resumed run puts it where it was)
	// SiteLatency is the inter-site link's one-way delay: a VM on SITE-B reaches its gateway, on
	// SITE-A, across it and back (the trombone fault makes it worse).
	SiteLatency time.Duration
	Faults      Faults
	// Wave are more VMs beside VM, for a wave runbook (lab --vms): each on a SITE-A host, with a
	// guest of its own among Hosts (the host whose address's first label is its name).
	Wave []string
	// VMHosts are where a resumed wave's VMs start, by name (VMHost is VM's).
	VMHosts map[string]string
}

// named is o with the lab's first VM and its address where they are not set.
func (o Options) named() Options {
	if o.VM == "" {
		o.VM = "app-01"
	}
	if o.VMIP == "" {
		o.VMIP = "10.20.0.15"
	}
	return o
}

// VMAddress is the address the lab gives a VM it moves (in NetBox and as VMware Tools report it).
func (o Options) VMAddress(vm string) string { return vmAddress(o.named(), vm) }

// VMs are every VM the lab moves: VM, then the wave's.
func (o Options) VMs() []string {
	out := []string{o.VM}
	for _, v := range o.Wave {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// interSite is the inter-site link's one-way delay now.
func (l *Lab) interSite() time.Duration {
	if l.faults.Trombone > 0 {
		return l.faults.Trombone
	}
	return l.opts.SiteLatency
}

// Lab is a running lab.
type Lab struct {
	opts   Options
	faults Faults
	dir    string
	bin    string
	tmp    bool

	mu     sync.Mutex
	toDrop map[string]int // per VM, its gateway pings still to lose (set at switch-over)
	hosts  map[string]*Host
	ssh    map[string]*sshHost
	tools  *toolServer
	vc     *vcenter
	ipam   *IPAM
	now    func() time.Time

	closing   chan struct{} // closed when the lab closes: a running vMotion stops where it is
	closeOnce sync.Once

	// Files a run uses: the normal SSH, known_hosts, vCenter and signing paths, pointed at the lab.
	SSHConfig, KnownHosts, Identity, SignKey, AllowedSigners string
}

// Start brings the lab up: vCenter simulator, one SSH host per runbook host, the tool server,
// keys and configs. Close tears it down.
func Start(ctx context.Context, o Options) (_ *Lab, err error) {
	o = o.named()
	if o.RelocateTime <= 0 {
		o.RelocateTime = 3 * time.Second
	}
	if o.Operator == "" {
		o.Operator = "trainee@lab"
	}
	if o.Executable == "" {
		if o.Executable, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("lab: %w", err)
		}
	}
	l := &Lab{opts: o, faults: o.Faults, dir: o.Dir, hosts: map[string]*Host{}, ssh: map[string]*sshHost{}, now: time.Now, closing: make(chan struct{}), toDrop: map[string]int{}}
	if l.dir == "" {
		if l.dir, err = os.MkdirTemp("", "cutover-lab-"); err != nil {
			return nil, fmt.Errorf("lab: %w", err)
		}
		l.tmp = true
	}
	defer func() {
		if err != nil {
			l.Close()
		}
	}()
	l.bin = filepath.Join(l.dir, "bin")
	if err := os.MkdirAll(l.bin, 0o755); err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	for _, t := range toolNames {
		link := filepath.Join(l.bin, t)
		os.Remove(link)
		if err := os.Symlink(o.Executable, link); err != nil {
			return nil, fmt.Errorf("lab: %w", err)
		}
	}
	if l.tools, err = l.serveTools(filepath.Join(l.dir, "tools.sock")); err != nil {
		return nil, err
	}
	if err := l.startHosts(); err != nil {
		return nil, err
	}
	if l.vc, err = l.startVCenter(ctx); err != nil {
		return nil, err
	}
	if l.ipam, err = StartIPAM(l.dir, o); err != nil {
		return nil, err
	}
	return l, nil
}

// Dir is the lab's directory.
func (l *Lab) Dir() string { return l.dir }

// VCenter is the vSphere configuration of the lab's vCenter (password included: keep it secret).
func (l *Lab) VCenter() vsphere.Config { return l.vc.cfg }

// NetBox is the configuration of the lab's NetBox (token included: keep it secret).
func (l *Lab) NetBox() netbox.Config { return l.ipam.Config() }

// Close stops everything the lab started and removes a temp dir it made.
func (l *Lab) Close() {
	l.closeOnce.Do(func() { close(l.closing) })
	// The servers are closed without l.mu: a vMotion still running in the simulator takes it to
	// land the VM, and closing the simulator waits for that task.
	l.mu.Lock()
	ssh := make([]*sshHost, 0, len(l.ssh))
	for _, s := range l.ssh {
		ssh = append(ssh, s)
	}
	tools, vc, ipam := l.tools, l.vc, l.ipam
	l.mu.Unlock()
	for _, s := range ssh {
		s.srv.Close()
	}
	if tools != nil {
		tools.close()
	}
	if vc != nil {
		vc.close()
	}
	if ipam != nil {
		ipam.Close()
	}
	if l.tmp {
		os.RemoveAll(l.dir)
	}
}

// startHosts creates the host models, their SSH servers, and the user key, known_hosts,
// ssh_config, signing key and allowed_signers a run uses.
func (l *Lab) startHosts() error {
	user, userKey, err := newKey(filepath.Join(l.dir, "id_ed25519"))
	if err != nil {
		return err
	}
	l.Identity = filepath.Join(l.dir, "id_ed25519")
	signer, _, err := newKey(filepath.Join(l.dir, "signing_key"))
	if err != nil {
		return err
	}
	l.SignKey = filepath.Join(l.dir, "signing_key")
	l.AllowedSigners = filepath.Join(l.dir, "allowed_signers")
	allowed := fmt.Sprintf("%s namespaces=\"cutover-transcript\" %s", l.opts.Operator, gossh.MarshalAuthorizedKey(signer.PublicKey()))
	if err := os.WriteFile(l.AllowedSigners, []byte(allowed), 0o644); err != nil {
		return err
	}
	var known, config strings.Builder
	now := l.now()
	for i, hs := range l.opts.Hosts {
		guestOf := cmp.Or(hs.Guest, strings.SplitN(hs.Address, ".", 2)[0])
		vm := slices.Contains(l.opts.VMs(), guestOf)
		ip := fmt.Sprintf("10.%d.0.%d", 30+i, 10+i)
		if vm {
			ip = l.vmIP(guestOf)
		}
		h := newHost(hs.Name, hs.Address, hs.Zone, ip, vm, now)
		if vm {
			h.vmName, h.hostname = guestOf, guestOf
			h.offset = l.faults.ClockSkew
			if l.faults.SlowCheck {
				h.slow = 30 * time.Second
			}
		}
		hostKey, _, err := newKey("")
		if err != nil {
			return err
		}
		served := hostKey
		if l.faults.HostKeyChanged == hs.Name {
			// The host answers with another key than the one known_hosts holds, as after a
			// rebuild or an interception.
			if served, _, err = newKey(""); err != nil {
				return err
			}
		}
		s, err := l.serveSSH(h, served, user.PublicKey())
		if err != nil {
			return err
		}
		l.hosts[hs.Name], l.ssh[hs.Name] = h, s
		fmt.Fprintf(&known, "[127.0.0.1]:%d %s", s.port, gossh.MarshalAuthorizedKey(hostKey.PublicKey()))
		fmt.Fprintf(&config, "Host %s\n  HostName 127.0.0.1\n  Port %d\n  User %s\n  IdentityFile %s\n  IdentitiesOnly yes\n\n", hs.Address, s.port, currentUser(), l.Identity)
	}
	_ = userKey
	l.KnownHosts = filepath.Join(l.dir, "known_hosts")
	l.SSHConfig = filepath.Join(l.dir, "ssh_config")
	if err := os.WriteFile(l.KnownHosts, []byte(known.String()), 0o644); err != nil {
		return err
	}
	return os.WriteFile(l.SSHConfig, []byte(config.String()), 0o644)
}

// newKey makes an ed25519 key, written in OpenSSH form to path when path is not empty.
func newKey(path string) (gossh.Signer, ed25519.PrivateKey, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	s, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		return nil, nil, err
	}
	if path != "" {
		block, err := gossh.MarshalPrivateKey(priv, "cutover lab")
		if err != nil {
			return nil, nil, err
		}
		if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
			return nil, nil, err
		}
		if err := os.WriteFile(path+".pub", gossh.MarshalAuthorizedKey(s.PublicKey()), 0o644); err != nil {
			return nil, nil, err
		}
	}
	return s, priv, nil
}

func currentUser() string {
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "root"
}

// env is the environment of a command on lab host h.
func (l *Lab) env(h *Host) []string {
	return []string{
		"PATH=" + l.bin + ":/usr/local/bin:/usr/bin:/bin",
		"HOME=" + l.dir, "SHLVL=1", "LANG=C.UTF-8", "USER=" + currentUser(), "LOGNAME=" + currentUser(),
		envSock + "=" + filepath.Join(l.dir, "tools.sock"),
		envHost + "=" + h.Name,
	}
}

func (l *Lab) host(name string) *Host {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.hosts[name]
}

// Host returns a lab host's model by its runbook name.
func (l *Lab) Host(name string) *Host { return l.host(name) }

// hostByAddress finds a host by its address or the address's first label.
func (l *Lab) hostByAddress(name string) *Host {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, h := range l.hosts {
		if h.Address == name || strings.SplitN(h.Address, ".", 2)[0] == name || h.IP == name {
			return h
		}
	}
	return nil
}

func (l *Lab) resolve(name string) (string, bool) {
	if h := l.hostByAddress(name); h != nil {
		return h.IP, true
	}
	if name == "localhost" {
		return "127.0.0.1", true
	}
	return "", false
}

// vmArrived updates the world after a vMotion: the VM's zone follows its host, and faults that
// strike after a move strike now (and heal when the VM is back home).
func (l *Lab) vmArrived(vm, esxHost string) {
	home := strings.HasPrefix(esxHost, "esx-a")
	zone := "site-b"
	if home {
		zone = "site-a"
	}
	now := l.now()
	f := l.faults.For(vm)
	if !f.NetBoxStale && l.ipam != nil {
		l.ipam.vmMoved(vm, strings.ToUpper(zone))
	}
	for _, h := range l.snapshotHosts() {
		if !h.VM || h.vmName != vm {
			continue
		}
		h.SetZone(zone)
		switch {
		case f.UnitDown != "" && !home:
			h.Fail(f.UnitDown, "bind() to 0.0.0.0:443 failed (99: Cannot assign requested address)", now)
		case f.UnitDown != "" && home:
			h.Start(f.UnitDown, now)
		}
		if f.NewJournalError && !home {
			h.LogError("nginx.service", "nginx", now.UTC().Format("2006/01/02 15:04:05")+" [crit] 1204#1204: *5120 SSL_do_handshake() failed (SSL: error:0A000126:SSL routines::unexpected eof while reading) while SSL handshaking, client: 10.30.0.11", now)
		}
	}
}

func (l *Lab) snapshotHosts() []*Host {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]*Host, 0, len(l.hosts))
	for _, h := range l.hosts {
		out = append(out, h)
	}
	return out
}

// dropPings makes the gateway lose a VM's next n pings (an early fault: a link flapping while
// memory is copied).
func (l *Lab) dropPings(vm string, n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.toDrop[vm] = n
}

// switchover is the moment of a vMotion when the VM stops on one host and resumes on the other:
// the gateway stops answering it for a packet (ARP is updated across the fabric), or for as many
// as the ping-loss fault says on the move to SITE-B.
func (l *Lab) switchover(vm string, toSiteB bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.toDrop[vm] = 1
	if f := l.faults.For(vm); f.PingLoss > 0 && toSiteB {
		l.toDrop[vm] = f.PingLoss
	}
}

// dropPing tells whether the gateway drops this ping from h: a VM's guest loses its VM's packets,
// any other host the lab's first VM's (as when one VM moved).
func (l *Lab) dropPing(h *Host) bool {
	vm := h.vmName
	if vm == "" {
		vm = l.opts.VM
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.toDrop[vm] > 0 {
		l.toDrop[vm]--
		return true
	}
	return false
}
