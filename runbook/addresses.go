package runbook

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// AddressUse is an IP address a runbook relies on: what an IPAM audit holds against NetBox.
type AddressUse struct {
	Address string
	Gateway bool     // a ping watch's target: the gateway the VM must keep reaching
	Where   []string // the fields that name it: vars.vm_ip, steps[1].watch.ping.target, ...
}

// AddressUses lists the literal IP addresses of the runbook's vars, ping watch targets, ipam
// checks, vm_ip and dns expectations, with vals applied, each once; and the VLANs its ipam checks
// expect (the stretched ones).
func (rb *Runbook) AddressUses(vals Values) (uses []AddressUse, vlans []int) {
	add := func(s, where string, gw bool) {
		a, err := netip.ParseAddr(strings.TrimSpace(s))
		if err != nil {
			return
		}
		i := slices.IndexFunc(uses, func(u AddressUse) bool { return u.Address == a.String() })
		if i < 0 {
			uses = append(uses, AddressUse{Address: a.String()})
			i = len(uses) - 1
		}
		uses[i].Gateway = uses[i].Gateway || gw
		uses[i].Where = append(uses[i].Where, where)
	}
	names := make([]string, 0, len(rb.Vars))
	for n := range rb.Vars {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if v, ok := vals[n]; ok && !v.Secret {
			add(v.Text, "vars."+n, false)
		}
	}
	var walk func(steps []Step, path string)
	walk = func(steps []Step, path string) {
		for i, st := range steps {
			p := fmt.Sprintf("%s[%d]", path, i)
			if st.Watch != nil && st.Watch.Ping != nil {
				add(st.Watch.Ping.Target.Render(vals, nil), p+".watch.ping.target", true)
			}
			for j, c := range st.Checks {
				cp := fmt.Sprintf("%s.checks[%d]", p, j)
				switch k := c.Spec.(type) {
				case *ipamKind:
					add(k.Address.Render(vals, nil), cp+".address", false)
					if vid, err := strconv.Atoi(k.VLAN.Render(vals, nil)); err == nil && !slices.Contains(vlans, vid) {
						vlans = append(vlans, vid)
					}
				case *vmKind:
					add(k.Expect.Render(vals, nil), cp+".expect", false)
				case *dnsKind:
					for e, t := range k.Expect {
						add(t.Render(vals, nil), fmt.Sprintf("%s.expect[%d]", cp, e), false)
					}
				}
			}
			walk(st.Rollback, p+".rollback")
		}
	}
	walk(rb.Steps, "steps")
	slices.Sort(vlans)
	return uses, vlans
}
