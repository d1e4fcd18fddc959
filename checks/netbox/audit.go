package netbox

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/cutover/cutover/checks"
)

// Use is an address a runbook relies on.
type Use struct {
	Address string
	Gateway bool
	Where   string // runbook and field, for the report
}

// Finding is one disagreement between NetBox and the runbooks.
type Finding struct {
	Kind    string // outside-active, reserved-used, vlan-mismatch
	Subject string // the address or prefix
	Detail  string
}

// The kinds of finding.
const (
	OutsideActive = "outside-active"
	ReservedUsed  = "reserved-used"
	VLANMismatch  = "vlan-mismatch"
)

// Audit holds the runbooks' addresses against NetBox: each must lie in an Active prefix, on one of
// the stretched VLANs when any are given; and no Reserved or Deprecated prefix of those VLANs may
// hold addresses in use. It returns the stretched VLANs' prefixes it looked at and what disagrees.
func (c *Client) Audit(ctx context.Context, uses []Use, vlans []int) ([]checks.IPAMPrefix, []Finding, error) {
	var prefixes []checks.IPAMPrefix
	for _, vid := range vlans {
		ps, err := c.Prefixes(ctx, Filter{VID: vid})
		if err != nil {
			return nil, nil, err
		}
		prefixes = append(prefixes, ps...)
	}
	var findings []Finding
	for _, u := range uses {
		role := "address"
		if u.Gateway {
			role = "gateway"
		}
		ps, err := c.PrefixesContaining(ctx, u.Address)
		if err != nil {
			return nil, nil, err
		}
		p, ok := checks.MostSpecific(ps)
		switch {
		case !ok:
			findings = append(findings, Finding{OutsideActive, u.Address, fmt.Sprintf("%s %s (%s) lies in no prefix NetBox knows", role, u.Address, u.Where)})
		case p.Status == "reserved" || p.Status == "deprecated":
			findings = append(findings, Finding{ReservedUsed, p.Prefix, fmt.Sprintf("%s is %s, but %s %s (%s) lies in it", p.Prefix, p.Status, role, u.Address, u.Where)})
		case p.Status != "active":
			findings = append(findings, Finding{OutsideActive, u.Address, fmt.Sprintf("%s %s (%s) lies in %s, a %s prefix, not an Active one", role, u.Address, u.Where, p.Prefix, p.Status)})
		case len(vlans) > 0 && !slices.Contains(vlans, p.VID):
			findings = append(findings, Finding{VLANMismatch, u.Address, fmt.Sprintf("%s %s (%s) lies in %s on %s; the runbooks expect VLAN %s", role, u.Address, u.Where, p.Prefix, checks.VLANName(p), joinInts(vlans))})
		}
	}
	for _, p := range prefixes {
		if p.Status != "reserved" && p.Status != "deprecated" {
			continue
		}
		inUse, err := c.addressesWhere(ctx, url.Values{"parent": {p.Prefix}, "status": {"active", "dhcp", "slaac"}})
		if err != nil {
			return nil, nil, err
		}
		var used []string
		for _, a := range inUse {
			used = append(used, a.Address)
		}
		if len(used) > 0 {
			findings = append(findings, Finding{ReservedUsed, p.Prefix, fmt.Sprintf("%s is %s, but NetBox has %d address(es) in use in it: %s", p.Prefix, p.Status, len(used), strings.Join(used, ", "))})
		}
	}
	return prefixes, findings, nil
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = fmt.Sprint(n)
	}
	return strings.Join(s, " or ")
}
