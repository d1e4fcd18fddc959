// Package netbox reads IPAM data from NetBox 4.x (4.0 to 4.7): prefixes, IP addresses, their
// utilisation and VM records, and writes a VM record's site and cluster when a runbook asks. It
// speaks the REST API directly: seven endpoints, decoded once into what cutover uses. The token
// never leaves this package except as a secret to redact.
package netbox

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/cutover/cutover/checks"
)

// ErrNoNetBox says the environment names no NetBox.
var ErrNoNetBox = errors.New("NETBOX_URL is not set")

// pageSize is how many objects one request asks for; NetBox caps it at MAX_PAGE_SIZE (1000).
const pageSize = 500

// Config is how to reach NetBox.
type Config struct {
	URL     string        // NETBOX_URL: https://netbox.example.com
	Token   string        // NETBOX_TOKEN: an API token, read-only is enough
	CACerts string        // NETBOX_CA_CERTS: a PEM file to trust besides the system roots
	Timeout time.Duration // per request; default 15s
}

// ConfigFromEnv reads NETBOX_URL, NETBOX_TOKEN and NETBOX_CA_CERTS.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	c := Config{URL: getenv("NETBOX_URL"), Token: getenv("NETBOX_TOKEN"), CACerts: getenv("NETBOX_CA_CERTS")}
	if c.URL == "" {
		return c, ErrNoNetBox
	}
	if c.Token == "" {
		return c, errors.New("NETBOX_TOKEN is not set")
	}
	return c, nil
}

// Client is a NetBox API client that has checked the server speaks a version it knows.
type Client struct {
	http    *http.Client
	base    string // NetBox's root, without /api
	auth    string // the Authorization header
	Version string // the server's netbox-version
}

var _ checks.IPAM = (*Client)(nil)

// Connect checks the URL, TLS, token and version with one GET /api/status/.
func Connect(ctx context.Context, cfg Config) (*Client, error) {
	u, err := url.Parse(strings.TrimSuffix(cfg.URL, "/"))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("NETBOX_URL %q: want https://host[:port][/path]", cfg.URL)
	}
	u.Path = strings.TrimSuffix(u.Path, "/api")
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if cfg.CACerts != "" {
		pem, err := os.ReadFile(cfg.CACerts)
		if err != nil {
			return nil, fmt.Errorf("NETBOX_CA_CERTS: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("NETBOX_CA_CERTS %s: no PEM certificate in it", cfg.CACerts)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = 15 * time.Second
	}
	c := &Client{http: &http.Client{Transport: tr, Timeout: timeout}, base: u.String(), auth: authorization(cfg.Token)}
	var st map[string]any
	if err := c.call(ctx, "status", http.MethodGet, "status/", nil, nil, &st); err != nil {
		return nil, err
	}
	v, _ := st["netbox-version"].(string)
	if !strings.HasPrefix(v, "4.") {
		return nil, fmt.Errorf("NetBox %s is version %q; cutover speaks the NetBox 4.x API (4.0 to 4.7)", c.base, v)
	}
	c.Version = v
	return c, nil
}

// Filter selects prefixes.
type Filter struct {
	Status   []string // active, reserved, deprecated, container
	VID      int      // 0: any
	Site     string   // site slug: prefixes scoped to it or to its group
	Contains string   // an address the prefix must contain
	Within   string   // a prefix the results must lie inside
}

type wirePrefix struct {
	Prefix      string  `json:"prefix"`
	Status      choice  `json:"status"`
	Description string  `json:"description"`
	IsPool      bool    `json:"is_pool"`
	VLAN        *ref    `json:"vlan"`
	Tenant      *ref    `json:"tenant"`
	ScopeType   *string `json:"scope_type"` // 4.2+
	Scope       *ref    `json:"scope"`
	Site        *ref    `json:"site"` // 4.0 and 4.1
}

// Prefixes lists every prefix matching f, following NetBox's pagination.
func (c *Client) Prefixes(ctx context.Context, f Filter) ([]checks.IPAMPrefix, error) {
	q := url.Values{"ordering": {"prefix"}}
	if len(f.Status) > 0 {
		q["status"] = f.Status
	}
	if f.VID != 0 {
		q.Set("vlan_vid", fmt.Sprint(f.VID))
	}
	if f.Site != "" {
		q.Set("site", f.Site)
	}
	if f.Contains != "" {
		q.Set("contains", f.Contains)
	}
	if f.Within != "" {
		q.Set("within", f.Within)
	}
	ps, err := list[wirePrefix](ctx, c, "list prefixes", "ipam/prefixes/", q)
	out := make([]checks.IPAMPrefix, len(ps))
	for i, p := range ps {
		out[i] = prefix(p)
	}
	return out, err
}

func prefix(p wirePrefix) checks.IPAMPrefix {
	out := checks.IPAMPrefix{Prefix: p.Prefix, Status: p.Status.Value, Description: p.Description, IsPool: p.IsPool}
	if p.VLAN != nil {
		out.VID, out.VLAN = p.VLAN.VID, p.VLAN.Name
	}
	if p.Tenant != nil {
		out.Tenant = p.Tenant.Name
	}
	switch {
	case p.ScopeType != nil:
		out.ScopeType = *p.ScopeType
		if p.Scope != nil {
			out.Scope = p.Scope.Name
		}
	case p.Site != nil:
		out.ScopeType, out.Scope = "dcim.site", p.Site.Name
	}
	return out
}

// PrefixesContaining lists the prefixes holding ip.
func (c *Client) PrefixesContaining(ctx context.Context, ip string) ([]checks.IPAMPrefix, error) {
	return c.Prefixes(ctx, Filter{Contains: ip})
}

type wireAddress struct {
	Address            string  `json:"address"`
	Status             choice  `json:"status"`
	DNSName            string  `json:"dns_name"`
	AssignedObjectType *string `json:"assigned_object_type"`
	AssignedObject     *ref    `json:"assigned_object"`
}

// Addresses lists the IP address objects for ip.
func (c *Client) Addresses(ctx context.Context, ip string) ([]checks.IPAMAddress, error) {
	return c.addressesWhere(ctx, url.Values{"address": {ip}})
}

func (c *Client) addressesWhere(ctx context.Context, q url.Values) ([]checks.IPAMAddress, error) {
	as, err := list[wireAddress](ctx, c, "list IP addresses", "ipam/ip-addresses/", q)
	out := make([]checks.IPAMAddress, len(as))
	for i, a := range as {
		out[i] = checks.IPAMAddress{Address: a.Address, DNSName: a.DNSName, Status: a.Status.Value}
		if t := a.AssignedObjectType; t != nil && *t == "virtualization.vminterface" && a.AssignedObject != nil {
			out[i].Interface = a.AssignedObject.Name
			if vm := a.AssignedObject.VM; vm != nil {
				out[i].VM = vm.Name
			}
		}
	}
	return out, err
}

type wireVM struct {
	ID        int    `json:"id"`
	Name      string `json:"name"`
	Status    choice `json:"status"`
	Site      *ref   `json:"site"`
	Cluster   *ref   `json:"cluster"`
	Role      *ref   `json:"role"`
	Tags      []ref  `json:"tags"`
	PrimaryV4 *struct {
		Address string `json:"address"`
	} `json:"primary_ip4"`
	PrimaryV6 *struct {
		Address string `json:"address"`
	} `json:"primary_ip6"`
}

func (v wireVM) record() checks.IPAMVM {
	out := checks.IPAMVM{ID: v.ID, Name: v.Name, Status: v.Status.Value}
	if v.Site != nil {
		out.Site, out.SiteSlug = v.Site.Name, v.Site.Slug
	}
	if v.Cluster != nil {
		out.Cluster = v.Cluster.Name
	}
	if v.Role != nil {
		out.Role = v.Role.Slug
	}
	for _, t := range v.Tags {
		out.Tags = append(out.Tags, t.Slug)
	}
	for _, ip := range []*struct {
		Address string `json:"address"`
	}{v.PrimaryV6, v.PrimaryV4} {
		if ip != nil {
			if p, err := netip.ParsePrefix(ip.Address); err == nil {
				out.PrimaryIP = p.Addr().String()
			}
		}
	}
	return out
}

// VirtualMachines lists NetBox's virtual machine records named name.
func (c *Client) VirtualMachines(ctx context.Context, name string) ([]checks.IPAMVM, error) {
	vms, err := list[wireVM](ctx, c, "list virtual machines", "virtualization/virtual-machines/", url.Values{"name": {name}})
	out := make([]checks.IPAMVM, len(vms))
	for i, v := range vms {
		out[i] = v.record()
	}
	return out, err
}

var _ checks.IPAMVMFinder = (*Client)(nil)

// FindVMs lists the virtual machine records a query selects, sorted by name. NetBox filters them
// (cluster by name; site, role and tag by slug; status active unless asked) and cutover checks
// every record it answered against the query again: a NetBox that ignores a filter it does not
// know would otherwise widen a wave to every VM it has. A query with no filter is refused.
func (c *Client) FindVMs(ctx context.Context, q checks.IPAMVMQuery) ([]checks.IPAMVM, error) {
	if q.Status == "" {
		q.Status = "active"
	}
	if q.Cluster == "" && q.Site == "" && q.Role == "" && q.Tag == "" {
		return nil, errors.New("NetBox VMs: name a cluster, site, role or tag (cutover does not move every VM NetBox has)")
	}
	params := url.Values{"status": {q.Status}}
	for k, v := range map[string]string{"cluster": q.Cluster, "site": q.Site, "role": q.Role, "tag": q.Tag} {
		if v != "" {
			params.Set(k, v)
		}
	}
	vms, err := list[wireVM](ctx, c, "list "+q.String(), "virtualization/virtual-machines/", params)
	if err != nil {
		return nil, err
	}
	out := make([]checks.IPAMVM, 0, len(vms))
	for _, v := range vms {
		r := v.record()
		if !q.Match(r) {
			return nil, fmt.Errorf("NetBox %s answered VM %q (cluster %q, site %q, role %q, tags %v, status %q) to a query for %s: it did not apply the filter; refusing the list", c.base, r.Name, r.Cluster, r.SiteSlug, r.Role, r.Tags, r.Status, q)
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b checks.IPAMVM) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// one finds the single object of path named name, by id.
func (c *Client) one(ctx context.Context, kind, path, name string) (int, error) {
	var p page[ref]
	if err := c.call(ctx, "find "+kind+" "+name, http.MethodGet, path, url.Values{"name": {name}, "limit": {"2"}}, nil, &p); err != nil {
		return 0, err
	}
	if len(p.Results) != 1 {
		return 0, fmt.Errorf("NetBox %s: %d %ss named %q, want one", c.base, len(p.Results), kind, name)
	}
	return p.Results[0].ID, nil
}

// PlaceVM writes the VM record's site and cluster (an empty one stays) and returns the record
// NetBox answers with. The token needs change permission on virtual machines.
func (c *Client) PlaceVM(ctx context.Context, vm checks.IPAMVM, site, cluster string) (checks.IPAMVM, error) {
	patch := map[string]int{}
	if site != "" {
		id, err := c.one(ctx, "site", "dcim/sites/", site)
		if err != nil {
			return vm, err
		}
		patch["site"] = id
	}
	if cluster != "" {
		id, err := c.one(ctx, "cluster", "virtualization/clusters/", cluster)
		if err != nil {
			return vm, err
		}
		patch["cluster"] = id
	}
	var after wireVM
	if err := c.call(ctx, "update virtual machine "+vm.Name, http.MethodPatch, fmt.Sprintf("virtualization/virtual-machines/%d/", vm.ID), nil, patch, &after); err != nil {
		return vm, err
	}
	return after.record(), nil
}

// Utilisation computes what NetBox's prefix view shows: for a container, the share covered by
// child prefixes; otherwise the share of addresses in use, where an IPv4 prefix that is not a pool
// does not count its network and broadcast addresses.
func (c *Client) Utilisation(ctx context.Context, p checks.IPAMPrefix) (float64, error) {
	pf, err := netip.ParsePrefix(p.Prefix)
	if err != nil {
		return 0, fmt.Errorf("prefix %q: %w", p.Prefix, err)
	}
	size := func(q netip.Prefix) float64 {
		return float64(uint64(1) << min(q.Addr().BitLen()-q.Bits(), 63))
	}
	total := size(pf)
	if p.Status == "container" {
		children, err := c.Prefixes(ctx, Filter{Within: p.Prefix})
		if err != nil {
			return 0, err
		}
		var used float64
		for _, ch := range children {
			if q, err := netip.ParsePrefix(ch.Prefix); err == nil {
				used += size(q)
			}
		}
		return min(100*used/total, 100), nil
	}
	if pf.Addr().Is4() && !p.IsPool && pf.Bits() < 31 {
		total -= 2
	}
	// One object is enough: the page's count is the number of addresses in the prefix.
	var one page[struct{}]
	if err := c.call(ctx, "count IP addresses", http.MethodGet, "ipam/ip-addresses/", url.Values{"parent": {p.Prefix}, "limit": {"1"}}, nil, &one); err != nil {
		return 0, err
	}
	return min(100*float64(one.Count)/total, 100), nil
}
