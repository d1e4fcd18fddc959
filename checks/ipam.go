package checks

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// IPAMPrefix is a prefix as the IPAM source of truth (NetBox) records it.
type IPAMPrefix struct {
	Prefix      string
	Status      string // active, reserved, deprecated, container
	VID         int    // 0: no VLAN
	VLAN        string // the VLAN's name
	ScopeType   string // dcim.sitegroup, dcim.site, dcim.region, dcim.location, or empty
	Scope       string // the scope object's name
	Tenant      string
	Description string
	IsPool      bool
}

// IPAMAddress is an IP address object of the IPAM.
type IPAMAddress struct {
	Address   string // with mask: 10.20.0.15/24
	Status    string
	VM        string // the VM of the interface it is assigned to, if any
	Interface string
	DNSName   string
}

// IPAMVM is NetBox's virtual machine record: where it thinks the VM runs.
type IPAMVM struct {
	ID                  int
	Name, Site, Cluster string
	SiteSlug, Role      string // the role's slug
	Status              string
	Tags                []string // slugs
	PrimaryIP           string   // without its mask; the IPv4 one if it has both
}

// IPAMVMQuery selects virtual machine records: every field given must hold (cluster by name,
// site, role and tag by slug). Status is active unless given.
type IPAMVMQuery struct {
	Cluster, Site, Role, Tag, Status string
}

func (q IPAMVMQuery) String() string {
	var parts []string
	for _, f := range []struct{ k, v string }{{"cluster", q.Cluster}, {"site", q.Site}, {"role", q.Role}, {"tag", q.Tag}, {"status", q.Status}} {
		if f.v != "" {
			parts = append(parts, f.k+" "+f.v)
		}
	}
	return "NetBox VMs of " + strings.Join(parts, ", ")
}

// Match tells whether a record is one the query selects: the client checks what the server
// answered, so a NetBox that ignores a filter cannot widen a wave.
func (q IPAMVMQuery) Match(vm IPAMVM) bool {
	return (q.Cluster == "" || vm.Cluster == q.Cluster) && (q.Site == "" || vm.SiteSlug == q.Site) &&
		(q.Role == "" || vm.Role == q.Role) && (q.Tag == "" || slices.Contains(vm.Tags, q.Tag)) && (q.Status == "" || vm.Status == q.Status)
}

// IPAMVMFinder lists the virtual machine records a query selects, sorted by name: a wave's items.
type IPAMVMFinder interface {
	FindVMs(ctx context.Context, q IPAMVMQuery) ([]IPAMVM, error)
}

// IPAMUpdater writes VM records; only a check that says update: true uses it.
type IPAMUpdater interface {
	// PlaceVM records the VM's site and cluster (an empty one stays) and returns the record after.
	PlaceVM(ctx context.Context, vm IPAMVM, site, cluster string) (IPAMVM, error)
}

// IPAM reads the IPAM source of truth.
type IPAM interface {
	// VirtualMachines lists the virtual machine records named name.
	VirtualMachines(ctx context.Context, name string) ([]IPAMVM, error)
	// PrefixesContaining lists the prefixes that contain ip, any status.
	PrefixesContaining(ctx context.Context, ip string) ([]IPAMPrefix, error)
	// Addresses lists the IP address objects for ip (there may be several, in different VRFs).
	Addresses(ctx context.Context, ip string) ([]IPAMAddress, error)
	// Utilisation is the share of the prefix in use, in percent, as NetBox computes it.
	Utilisation(ctx context.Context, p IPAMPrefix) (float64, error)
}

// MostSpecific picks the longest of the prefixes that contain an address: the one it belongs to.
func MostSpecific(ps []IPAMPrefix) (IPAMPrefix, bool) {
	best, bits := IPAMPrefix{}, -1
	for _, p := range ps {
		pf, err := netip.ParsePrefix(p.Prefix)
		if err == nil && pf.Bits() > bits {
			best, bits = p, pf.Bits()
		}
	}
	return best, bits >= 0
}

// IPAMAddressCheck passes when NetBox agrees with where the VM's address lives: the most specific
// prefix holding it is Active, on the expected VLAN and scoped to the expected site group, and the
// IP address object is Active and assigned to the VM. The address is Address, or the guest IP that
// vCenter reports for VM.
type IPAMAddressCheck struct {
	VM        string
	Address   string
	VID       int    // 0: any VLAN
	SiteGroup string // empty: any scope
	Interface string // empty: any interface of the VM
}

// Run asks vCenter (when the address comes from the guest) and NetBox.
func (c IPAMAddressCheck) Run(ctx context.Context, env Env) Result {
	if env.IPAM == nil {
		return inconclusive("no NetBox connection: set NETBOX_URL and NETBOX_TOKEN (or run the lab)")
	}
	ip, from := c.Address, ""
	if ip == "" {
		if env.Inventory == nil {
			return inconclusive("no vCenter connection to read the guest IP of " + c.VM + ": set GOVC_URL or give address")
		}
		st, err := env.Inventory.VMState(ctx, c.VM)
		if err != nil {
			return inconclusive(err.Error())
		}
		if st.IP == "" {
			return inconclusive(c.VM + " reports no guest IP (are VMware Tools running?)")
		}
		ip, from = st.IP, fmt.Sprintf("vCenter: %s reports guest IP %s", c.VM, st.IP)
	}
	if _, err := netip.ParseAddr(ip); err != nil {
		return inconclusive(fmt.Sprintf("address %q: %v", ip, err))
	}
	r := c.judge(ctx, env.IPAM, ip)
	if from != "" {
		r.Evidence = append([]string{from}, r.Evidence...)
	}
	return r
}

func (c IPAMAddressCheck) judge(ctx context.Context, ipam IPAM, ip string) Result {
	ps, err := ipam.PrefixesContaining(ctx, ip)
	if err != nil {
		return inconclusive(err.Error())
	}
	p, ok := MostSpecific(ps)
	if !ok {
		return fail(fmt.Sprintf("%s lies in no prefix NetBox knows", ip))
	}
	var problems, evidence []string
	evidence = append(evidence, "NetBox prefix: "+DescribePrefix(p))
	if u, err := ipam.Utilisation(ctx, p); err == nil {
		evidence = append(evidence, fmt.Sprintf("NetBox: %s is %.0f%% utilised", p.Prefix, u))
	} else {
		evidence = append(evidence, fmt.Sprintf("NetBox: utilisation of %s unknown: %v", p.Prefix, err))
	}
	if p.Status != "active" {
		problems = append(problems, fmt.Sprintf("%s is in prefix %s, which is %s, not Active", ip, p.Prefix, titleCase(p.Status)))
	}
	if c.VID != 0 && p.VID != c.VID {
		problems = append(problems, fmt.Sprintf("prefix %s is on %s, not VLAN %d", p.Prefix, VLANName(p), c.VID))
	}
	if c.SiteGroup != "" && !(p.ScopeType == "dcim.sitegroup" && strings.EqualFold(p.Scope, c.SiteGroup)) {
		problems = append(problems, fmt.Sprintf("prefix %s is scoped to %s, not site group %s", p.Prefix, scopeName(p), c.SiteGroup))
	}
	addrs, err := ipam.Addresses(ctx, ip)
	if err != nil && len(problems) > 0 {
		return Result{Outcome: Fail, Summary: problems[0], Evidence: append(append(problems[1:], evidence...), err.Error())}
	} else if err != nil {
		return Result{Outcome: Inconclusive, Summary: err.Error(), Evidence: evidence}
	}
	if len(addrs) == 0 {
		problems = append(problems, fmt.Sprintf("NetBox has no IP address object for %s", ip))
	}
	for _, a := range addrs {
		evidence = append(evidence, "NetBox address: "+DescribeAddress(a))
	}
	if len(addrs) > 0 && !c.assigned(addrs) {
		want := c.VM
		if c.Interface != "" {
			want += " " + c.Interface
		}
		problems = append(problems, fmt.Sprintf("no Active IP address %s assigned to %s in NetBox", ip, orNone(want)))
	}
	if len(problems) > 0 {
		return Result{Outcome: Fail, Summary: problems[0], Evidence: append(problems[1:], evidence...)}
	}
	return Result{Outcome: Pass, Summary: fmt.Sprintf("%s is Active in %s on %s", ip, p.Prefix, VLANName(p)), Evidence: evidence}
}

// assigned: an Active address object on the VM's interface (or any VM's, when no VM is named).
func (c IPAMAddressCheck) assigned(addrs []IPAMAddress) bool {
	for _, a := range addrs {
		if a.Status != "active" {
			continue
		}
		if (c.VM == "" && a.VM != "") || (c.VM != "" && a.VM == c.VM && (c.Interface == "" || a.Interface == c.Interface)) {
			return true
		}
	}
	return false
}

// DescribePrefix is a prefix in one line: status, VLAN, scope, tenant, description.
func DescribePrefix(p IPAMPrefix) string {
	s := fmt.Sprintf("%s %s, %s, %s", p.Prefix, titleCase(p.Status), VLANName(p), scopeName(p))
	if p.Tenant != "" {
		s += ", tenant " + p.Tenant
	}
	if p.Description != "" {
		s += ", " + p.Description
	}
	return s
}

// DescribeAddress is an address object in one line.
func DescribeAddress(a IPAMAddress) string {
	s := a.Address + " " + titleCase(a.Status)
	switch {
	case a.VM != "":
		s += fmt.Sprintf(", assigned to %s %s", a.VM, a.Interface)
	default:
		s += ", unassigned"
	}
	if a.DNSName != "" {
		s += ", DNS " + a.DNSName
	}
	return s
}

// VLANName is a prefix's VLAN as people say it: VLAN 200 (stretched).
func VLANName(p IPAMPrefix) string {
	if p.VID == 0 {
		return "no VLAN"
	}
	return fmt.Sprintf("VLAN %d (%s)", p.VID, p.VLAN)
}

func scopeName(p IPAMPrefix) string {
	kind := map[string]string{"dcim.sitegroup": "site group", "dcim.site": "site", "dcim.region": "region", "dcim.location": "location"}[p.ScopeType]
	switch {
	case p.ScopeType == "":
		return "no scope"
	case kind == "":
		return p.ScopeType + " " + p.Scope
	}
	return kind + " " + p.Scope
}

func titleCase(s string) string {
	if s == "" {
		return "(no status)"
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// IPAMVMRecord passes when NetBox's record of the VM names the cluster vCenter runs it in (and the
// expected site, if given): after a move, NetBox follows or the failure lists what to update. With
// Update, cutover makes the update itself and the evidence holds the record before and after.
type IPAMVMRecord struct {
	VM, Site string
	Update   bool
}

// Run asks vCenter and NetBox.
func (c IPAMVMRecord) Run(ctx context.Context, env Env) Result {
	if env.IPAM == nil {
		return inconclusive("no NetBox connection: set NETBOX_URL and NETBOX_TOKEN (or run the lab)")
	}
	return vmCheck(ctx, env, c.VM, func(st VMState) Result {
		recs, err := env.IPAM.VirtualMachines(ctx, c.VM)
		if err != nil {
			return inconclusive(err.Error())
		}
		if len(recs) == 0 {
			return fail(fmt.Sprintf("NetBox has no virtual machine %s: create it in cluster %s", c.VM, st.Cluster))
		}
		var stale IPAMVM
		var best []string
		for _, r := range recs {
			update := c.updates(r, st.Cluster)
			if len(update) == 0 {
				return pass(fmt.Sprintf("NetBox has %s in cluster %s, site %s, as vCenter does", c.VM, r.Cluster, orNone(r.Site)))
			}
			if best == nil || len(update) < len(best) {
				best, stale = update, r
			}
		}
		var evidence []string
		for _, rec := range recs {
			evidence = append(evidence, "NetBox: "+describeVM(rec))
		}
		u, ok := env.IPAM.(IPAMUpdater)
		if !c.Update || !ok || len(recs) != 1 {
			r := fail(fmt.Sprintf("NetBox record of %s is stale: update %s", c.VM, strings.Join(best, ", ")))
			if c.Update {
				r.Evidence = append(r.Evidence, fmt.Sprintf("not updated: %d records named %s", len(recs), c.VM))
			}
			r.Evidence = append(r.Evidence, evidence...)
			return r
		}
		after, err := u.PlaceVM(ctx, stale, c.Site, st.Cluster)
		if err != nil {
			return Result{Outcome: Fail, Summary: fmt.Sprintf("NetBox record of %s is stale and the update failed: %v", c.VM, err), Evidence: evidence}
		}
		evidence = []string{"NetBox before: " + describeVM(stale), "NetBox after:  " + describeVM(after)}
		if rest := c.updates(after, st.Cluster); len(rest) > 0 {
			return Result{Outcome: Fail, Summary: fmt.Sprintf("NetBox record of %s still stale after the update: %s", c.VM, strings.Join(rest, ", ")), Evidence: evidence}
		}
		return Result{Outcome: Pass, Summary: fmt.Sprintf("NetBox record of %s updated: %s", c.VM, strings.Join(best, ", ")), Evidence: evidence}
	})
}

// updates lists what the record needs to match vCenter's cluster and the expected site.
func (c IPAMVMRecord) updates(r IPAMVM, cluster string) []string {
	var update []string
	if !strings.EqualFold(r.Cluster, cluster) {
		update = append(update, fmt.Sprintf("cluster %s → %s", orNone(r.Cluster), cluster))
	}
	if c.Site != "" && !strings.EqualFold(r.Site, c.Site) {
		update = append(update, fmt.Sprintf("site %s → %s", orNone(r.Site), c.Site))
	}
	return update
}

func describeVM(v IPAMVM) string {
	return fmt.Sprintf("virtual machine %s, cluster %s, site %s", v.Name, orNone(v.Cluster), orNone(v.Site))
}
