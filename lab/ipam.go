package lab

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/cutover/cutover/checks/netbox"
	"github.com/cutover/cutover/lab/netboxapi"
)

// The lab's IPAM: NetBox's view of the stretched VLAN. The VM's /24 is Active on VLAN 200 and
// scoped to the site group both sites belong to; the next /24 of the VLAN is Reserved, which is
// where the ipam-moved fault puts the VM.
const (
	labSiteGroup = "stretched-dc"
	labVLAN      = 200
	labVLANName  = "stretched"
)

// vmPrefixes are the VM's subnet (a /24, or a /64 for IPv6), the Reserved one right after it, and
// the container around both.
func vmPrefixes(ip netip.Addr) (subnet, reserved, wide netip.Prefix) {
	bits, wideBits := 24, 16
	if ip.Is6() {
		bits, wideBits = 64, 48
	}
	subnet = netip.PrefixFrom(ip, bits).Masked()
	b, off := subnet.Addr().As16(), 0
	if ip.Is4() {
		off = 12 // As16 maps IPv4 into the last four bytes
	}
	for i := off + bits/8 - 1; i >= off; i-- { // add one at the subnet's last bit
		if b[i]++; b[i] != 0 {
			break
		}
	}
	next := netip.AddrFrom16(b)
	if ip.Is4() {
		next = next.Unmap()
	}
	return subnet, netip.PrefixFrom(next, bits), netip.PrefixFrom(ip, wideBits).Masked()
}

// vmIP is a VM's address on the stretched VLAN: VMIP for the first, the next ones after it for a
// wave's.
func (l *Lab) vmIP(vm string) string { return vmAddress(l.opts, vm) }

func vmAddress(o Options, vm string) string {
	i := slices.Index(o.VMs(), vm)
	ip, err := netip.ParseAddr(o.VMIP)
	if i <= 0 || err != nil {
		return o.VMIP
	}
	for range i {
		ip = ip.Next()
	}
	return ip.String()
}

// guestIP is the address VMware Tools report for a VM: the ipam-moved fault re-addresses the lab's
// first VM into the reserved prefix (same host part), and nobody updated DNS or NetBox.
func (l *Lab) guestIP(vm string) string {
	ip, err := netip.ParseAddr(l.vmIP(vm))
	if !l.faults.IPAMMoved || err != nil || vm != l.opts.VM {
		return l.vmIP(vm)
	}
	subnet, reserved, _ := vmPrefixes(ip)
	a, r, s := ip.As16(), reserved.Addr().As16(), subnet.Addr().As16()
	for i := range a {
		a[i] = r[i] | (a[i] &^ s[i])
	}
	moved := netip.AddrFrom16(a)
	if ip.Is4() {
		moved = moved.Unmap()
	}
	return moved.String()
}

// ipamModel is the NetBox data of a lab: the stretched VLAN's prefixes, the gateway, the VM's
// address on its interface, and a management /24 per other host, scoped to that host's site.
func ipamModel(o Options, ip netip.Addr) netboxapi.Model {
	vm, reserved, wide := vmPrefixes(ip)
	gw := vm.Addr().Next()
	mask := fmt.Sprintf("/%d", vm.Bits())
	m := netboxapi.Model{
		Prefixes: []netboxapi.Prefix{
			{Prefix: wide.String(), Status: "container", ScopeGroup: labSiteGroup, Description: "stretched L2 range, both sites"},
			{Prefix: vm.String(), Status: "active", VID: labVLAN, VLANName: labVLANName, ScopeGroup: labSiteGroup, Tenant: "payments", Description: "app tier, stretched across SITE-A and SITE-B"},
			{Prefix: reserved.String(), Status: "reserved", VID: labVLAN, VLANName: labVLANName, ScopeGroup: labSiteGroup, Description: "reserved for the next migration wave"},
		},
		Addresses: []netboxapi.Address{
			{Address: gw.String() + mask, Status: "active", DNSName: "gw-vlan200.example"},
			{Address: ip.String() + mask, Status: "active", VM: o.VM, Interface: "eth0", DNSName: o.VM + ".site-a.example"},
		},
	}
	site := "SITE-A"
	if strings.HasPrefix(o.VMHost, "esx-b") {
		site = "SITE-B"
	}
	m.VMs = []netboxapi.VM{{Name: o.VM, Site: site, Cluster: site}}
	for _, vm := range o.VMs()[1:] { // a wave's VMs, on SITE-A unless a resume says otherwise
		s := "SITE-A"
		if strings.HasPrefix(o.VMHosts[vm], "esx-b") {
			s = "SITE-B"
		}
		m.VMs = append(m.VMs, netboxapi.VM{Name: vm, Site: s, Cluster: s, Role: LabTierRole, Tags: []string{LabTierNetBoxTag}})
		m.Addresses = append(m.Addresses, netboxapi.Address{Address: vmAddress(o, vm) + mask, Status: "active", VM: vm, Interface: "eth0", DNSName: vm + ".site-a.example"})
	}
	if len(o.Wave) > 0 { // the app tier as NetBox groups it, for waves that find their VMs there
		m.VMs[0].Role, m.VMs[0].Tags = LabTierRole, []string{LabTierNetBoxTag}
	}
	m.Clusters = []string{"SITE-A", "SITE-B"} // named as the lab vCenter's clusters
	sites := map[string]bool{}
	for _, z := range []string{"site-a", "site-b"} {
		m.Sites = append(m.Sites, netboxapi.Site{Name: strings.ToUpper(z), Slug: z, Group: labSiteGroup})
		sites[z] = true
	}
	for i, h := range o.Hosts {
		if slices.Contains(o.VMs(), strings.SplitN(h.Address, ".", 2)[0]) {
			continue
		}
		if h.Zone != "" && !sites[h.Zone] {
			m.Sites = append(m.Sites, netboxapi.Site{Name: strings.ToUpper(h.Zone), Slug: h.Zone})
			sites[h.Zone] = true
		}
		ip := fmt.Sprintf("10.%d.0.%d", 30+i, 10+i)
		m.Prefixes = append(m.Prefixes, netboxapi.Prefix{Prefix: fmt.Sprintf("10.%d.0.0/24", 30+i), Status: "active", VID: 130 + i,
			VLANName: "mgmt-" + h.Name, ScopeSite: strings.ToUpper(h.Zone), Description: "management, " + h.Name})
		m.Addresses = append(m.Addresses, netboxapi.Address{Address: ip + "/24", Status: "active", DNSName: h.Address})
	}
	return m
}

// IPAM is a running lab NetBox.
type IPAM struct {
	srv *netboxapi.Server
	cfg netbox.Config
}

// StartIPAM serves the lab's NetBox on 127.0.0.1 over TLS with a fresh token; its CA goes to dir.
// `cutover netbox --lab` uses it without the rest of the lab.
func StartIPAM(dir string, o Options) (*IPAM, error) {
	o = o.named()
	ip, err := netip.ParseAddr(o.VMIP)
	if err != nil {
		return nil, fmt.Errorf("lab NetBox: VM address: %w", err)
	}
	var tok [20]byte
	rand.Read(tok[:])
	token := hex.EncodeToString(tok[:])
	s := netboxapi.Start(ipamModel(o, ip), token)
	ca := filepath.Join(dir, "netbox-ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate()}), 0o644); err != nil {
		s.Close()
		return nil, fmt.Errorf("lab NetBox: %w", err)
	}
	return &IPAM{srv: s, cfg: netbox.Config{URL: s.URL(), Token: token, CACerts: ca}}, nil
}

// Config is how to reach the lab's NetBox (token included: keep it secret).
func (i *IPAM) Config() netbox.Config { return i.cfg }

// vmMoved records a move in NetBox, as a vCenter-to-NetBox sync would.
func (i *IPAM) vmMoved(vm, site string) {
	i.srv.Update(func(m *netboxapi.Model) {
		for j := range m.VMs {
			if m.VMs[j].Name == vm {
				m.VMs[j].Site, m.VMs[j].Cluster = site, site
			}
		}
	})
}

// Close stops it.
func (i *IPAM) Close() { i.srv.Close() }
