package runbook

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/cutover/cutover/checks"
)

// ipamKind is the ipam check: NetBox agrees with where the VM's address lives.
type ipamKind struct {
	VM        Tmpl `yaml:"vm" desc:"VM whose guest IP (from vCenter) is checked, and to which the address must be assigned"`
	Address   Tmpl `yaml:"address" desc:"the address to check instead of the guest IP"`
	VLAN      Tmpl `yaml:"vlan" desc:"VID the address's prefix must be on (e.g. 200, the stretched VLAN)"`
	SiteGroup Tmpl `yaml:"site_group" desc:"site group the prefix must be scoped to"`
	Interface Tmpl `yaml:"interface" desc:"the VM interface the address must be assigned to"`
}

func (k *ipamKind) validate(v *validator, c *CheckSpec, path string) {
	for _, f := range []struct {
		t    Tmpl
		name string
	}{{k.VM, "vm"}, {k.Address, "address"}, {k.VLAN, "vlan"}, {k.SiteGroup, "site_group"}, {k.Interface, "interface"}} {
		v.tmpl(f.t, path+"."+f.name)
	}
	if c.Host != "" {
		v.add(c.Pos.Field("host"), path+".host", "an ipam check asks NetBox; host does not apply")
	}
	if k.VM.Text == "" && k.Address.Text == "" {
		v.add(c.Pos, path+".vm", "an ipam check needs vm (to read its guest IP) or address")
	}
	if k.Interface.Text != "" && k.VM.Text == "" {
		v.add(k.Interface.Pos, path+".interface", "interface needs vm: it names the VM's interface")
	}
	if k.Address.Text != "" && len(k.Address.Refs) == 0 && net.ParseIP(k.Address.Text) == nil {
		v.add(k.Address.Pos, path+".address", "want an IP address without mask, got %q", k.Address.Text)
	}
	if k.VLAN.Text != "" && len(k.VLAN.Refs) == 0 {
		if _, err := parseVID(k.VLAN.Text); err != nil {
			v.add(k.VLAN.Pos, path+".vlan", "%v", err)
		}
	}
}

func parseVID(s string) (int, error) {
	vid, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || vid < 1 || vid > 4094 {
		return 0, fmt.Errorf("want a VLAN ID from 1 to 4094, got %q", s)
	}
	return vid, nil
}

func (k *ipamKind) build(_ *CheckSpec, vals Values) (checks.Check, error) {
	c := checks.IPAMAddressCheck{
		VM: k.VM.Render(vals, nil), Address: k.Address.Render(vals, nil),
		SiteGroup: k.SiteGroup.Render(vals, nil), Interface: k.Interface.Render(vals, nil),
	}
	if s := k.VLAN.Render(vals, nil); s != "" {
		vid, err := parseVID(s)
		if err != nil {
			return nil, fmt.Errorf("vlan: %w", err)
		}
		c.VID = vid
	}
	return c, nil
}

func (k *ipamKind) subject(vals Values) string {
	if a := k.Address.Render(vals, nil); a != "" {
		return a
	}
	return k.VM.Render(vals, nil)
}

// needsVCenter: without an address the check reads the guest IP from vCenter.
func (k *ipamKind) needsVCenter() bool { return k.Address.Text == "" }

// netboxVMKind is the netbox_vm check: NetBox's record of the VM says where vCenter runs it.
type netboxVMKind struct {
	VM     Tmpl `yaml:"vm" required:"true" desc:"VM name, the same in vCenter and NetBox"`
	Site   Tmpl `yaml:"site" desc:"the site NetBox must record (default: only the cluster is compared)"`
	Update bool `yaml:"update" desc:"write a stale record (site, cluster) to NetBox; the journal keeps it before and after"`
}

func (k *netboxVMKind) validate(v *validator, c *CheckSpec, path string) {
	v.tmpl(k.VM, path+".vm")
	v.tmpl(k.Site, path+".site")
	if c.Host != "" {
		v.add(c.Pos.Field("host"), path+".host", "a netbox_vm check asks NetBox and vCenter; host does not apply")
	}
}

func (k *netboxVMKind) build(_ *CheckSpec, vals Values) (checks.Check, error) {
	return checks.IPAMVMRecord{VM: k.VM.Render(vals, nil), Site: k.Site.Render(vals, nil), Update: k.Update}, nil
}

func (k *netboxVMKind) subject(vals Values) string { return k.VM.Render(vals, nil) }
