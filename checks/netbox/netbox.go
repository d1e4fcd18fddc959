// Package netbox reads IPAM data from NetBox 4.x through go-netbox: prefixes, IP addresses and
// their utilisation. cutover only reads; the token never leaves this package except as a secret to
// redact.
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
	"strings"
	"time"

	nb "github.com/netbox-community/go-netbox/v4"

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
	api     *nb.APIClient
	base    string
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
	conf := nb.NewConfiguration()
	conf.Servers = nb.ServerConfigurations{{URL: u.String()}}
	conf.HTTPClient = &http.Client{Transport: tr, Timeout: timeout}
	conf.AddDefaultHeader("Authorization", "Token "+cfg.Token)
	conf.AddDefaultHeader("Accept-Language", "en-US")
	conf.UserAgent = "cutover"
	c := &Client{api: nb.NewAPIClient(conf), base: u.String()}
	st, resp, err := c.api.StatusAPI.StatusRetrieve(ctx).Execute()
	if err != nil {
		return nil, c.wrap("status", resp, err)
	}
	v, _ := st["netbox-version"].(string)
	if !strings.HasPrefix(v, "4.") {
		return nil, fmt.Errorf("NetBox %s is version %q; cutover speaks the NetBox 4.x API (checked against 4.3)", c.base, v)
	}
	c.Version = v
	return c, nil
}

// wrap turns a go-netbox error into one that says what to fix.
func (c *Client) wrap(what string, resp *http.Response, err error) error {
	var detail string
	var oe *nb.GenericOpenAPIError
	if errors.As(err, &oe) {
		detail = strings.TrimSpace(string(oe.Body()))
		if len(detail) > 200 {
			detail = detail[:200] + "…"
		}
	}
	if resp == nil {
		if strings.Contains(err.Error(), "certificate") {
			return fmt.Errorf("NetBox %s: %s: %w (set NETBOX_CA_CERTS to the CA that signed it)", c.base, what, err)
		}
		return fmt.Errorf("NetBox %s: %s: %w", c.base, what, err)
	}
	switch resp.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden:
		return fmt.Errorf("NetBox %s: %s: token rejected (%s %s); check NETBOX_TOKEN and its permissions", c.base, what, resp.Status, detail)
	case http.StatusNotFound:
		return fmt.Errorf("NetBox %s: %s: not found (%s); NETBOX_URL should be NetBox's root, as in https://netbox.example.com", c.base, what, resp.Request.URL.Path)
	}
	if detail != "" {
		return fmt.Errorf("NetBox %s: %s: %s: %s", c.base, what, resp.Status, detail)
	}
	return fmt.Errorf("NetBox %s: %s: %w", c.base, what, err)
}

// Filter selects prefixes.
type Filter struct {
	Status   []string // active, reserved, deprecated, container
	VID      int      // 0: any
	Site     string   // site slug: prefixes scoped to it or to its group
	Contains string   // an address the prefix must contain
	Within   string   // a prefix the results must lie inside
}

// pages calls fetch with a growing offset until NetBox has no next page, and joins the results.
func pages[T any](fetch func(offset int32) (results []T, count int32, next nb.NullableString, err error)) ([]T, error) {
	var out []T
	for {
		rs, count, next, err := fetch(int32(len(out)))
		if err != nil {
			return nil, err
		}
		out = append(out, rs...)
		if !next.IsSet() || next.Get() == nil || len(rs) == 0 || len(out) >= int(count) {
			return out, nil
		}
	}
}

// Prefixes lists every prefix matching f, following NetBox's pagination.
func (c *Client) Prefixes(ctx context.Context, f Filter) ([]checks.IPAMPrefix, error) {
	ps, err := pages(func(offset int32) ([]nb.Prefix, int32, nb.NullableString, error) {
		req := c.api.IpamAPI.IpamPrefixesList(ctx).Limit(pageSize).Offset(offset).Ordering("prefix")
		if len(f.Status) > 0 {
			req = req.Status(f.Status)
		}
		if f.VID != 0 {
			req = req.VlanVid(int32(f.VID))
		}
		if f.Site != "" {
			req = req.Site([]string{f.Site})
		}
		if f.Contains != "" {
			req = req.Contains(f.Contains)
		}
		if f.Within != "" {
			req = req.Within(f.Within)
		}
		page, resp, err := req.Execute()
		if err != nil {
			return nil, 0, nb.NullableString{}, c.wrap("list prefixes", resp, err)
		}
		return page.Results, page.Count, page.Next, nil
	})
	out := make([]checks.IPAMPrefix, len(ps))
	for i, p := range ps {
		out[i] = prefix(p)
	}
	return out, err
}

func prefix(p nb.Prefix) checks.IPAMPrefix {
	out := checks.IPAMPrefix{Prefix: p.Prefix, Description: p.GetDescription(), IsPool: p.GetIsPool()}
	if p.Status != nil && p.Status.Value != nil {
		out.Status = string(*p.Status.Value)
	}
	if v := p.Vlan.Get(); v != nil {
		out.VID, out.VLAN = int(v.Vid), v.Name
	}
	if t := p.Tenant.Get(); t != nil {
		out.Tenant = t.Name
	}
	if st := p.ScopeType.Get(); st != nil {
		out.ScopeType = *st
		if m, ok := p.Scope.(map[string]any); ok {
			out.Scope, _ = m["name"].(string)
		}
	}
	return out
}

// PrefixesContaining lists the prefixes holding ip.
func (c *Client) PrefixesContaining(ctx context.Context, ip string) ([]checks.IPAMPrefix, error) {
	return c.Prefixes(ctx, Filter{Contains: ip})
}

// Addresses lists the IP address objects for ip.
func (c *Client) Addresses(ctx context.Context, ip string) ([]checks.IPAMAddress, error) {
	return c.addresses(ctx, func(r nb.ApiIpamIpAddressesListRequest) nb.ApiIpamIpAddressesListRequest {
		return r.Address([]string{ip})
	})
}

func (c *Client) addresses(ctx context.Context, filter func(nb.ApiIpamIpAddressesListRequest) nb.ApiIpamIpAddressesListRequest) ([]checks.IPAMAddress, error) {
	as, err := pages(func(offset int32) ([]nb.IPAddress, int32, nb.NullableString, error) {
		page, resp, err := filter(c.api.IpamAPI.IpamIpAddressesList(ctx).Limit(pageSize).Offset(offset)).Execute()
		if err != nil {
			return nil, 0, nb.NullableString{}, c.wrap("list IP addresses", resp, err)
		}
		return page.Results, page.Count, page.Next, nil
	})
	out := make([]checks.IPAMAddress, len(as))
	for i, a := range as {
		out[i] = address(a)
	}
	return out, err
}

func address(a nb.IPAddress) checks.IPAMAddress {
	out := checks.IPAMAddress{Address: a.Address, DNSName: a.GetDnsName()}
	if a.Status != nil && a.Status.Value != nil {
		out.Status = string(*a.Status.Value)
	}
	if t := a.AssignedObjectType.Get(); t != nil && *t == "virtualization.vminterface" {
		if m, ok := a.AssignedObject.(map[string]any); ok {
			out.Interface, _ = m["name"].(string)
			if vm, ok := m["virtual_machine"].(map[string]any); ok {
				out.VM, _ = vm["name"].(string)
			}
		}
	}
	return out
}

// VirtualMachines lists NetBox's virtual machine records named name.
func (c *Client) VirtualMachines(ctx context.Context, name string) ([]checks.IPAMVM, error) {
	vms, err := pages(func(offset int32) ([]nb.VirtualMachineWithConfigContext, int32, nb.NullableString, error) {
		page, resp, err := c.api.VirtualizationAPI.VirtualizationVirtualMachinesList(ctx).Name([]string{name}).Limit(pageSize).Offset(offset).Execute()
		if err != nil {
			return nil, 0, nb.NullableString{}, c.wrap("list virtual machines", resp, err)
		}
		return page.Results, page.Count, page.Next, nil
	})
	out := make([]checks.IPAMVM, len(vms))
	for i, v := range vms {
		out[i] = vmRecord(v)
	}
	return out, err
}

func vmRecord(v nb.VirtualMachineWithConfigContext) checks.IPAMVM {
	out := checks.IPAMVM{ID: int(v.Id), Name: v.Name}
	if s := v.Site.Get(); s != nil {
		out.Site = s.Name
	}
	if cl := v.Cluster.Get(); cl != nil {
		out.Cluster = cl.Name
	}
	return out
}

// PlaceVM writes the VM record's site and cluster (an empty one stays) and returns the record
// NetBox answers with. The token needs change permission on virtual machines.
func (c *Client) PlaceVM(ctx context.Context, vm checks.IPAMVM, site, cluster string) (checks.IPAMVM, error) {
	var req nb.PatchedWritableVirtualMachineWithConfigContextRequest
	if site != "" {
		sites, resp, err := c.api.DcimAPI.DcimSitesList(ctx).Name([]string{site}).Limit(2).Execute()
		if err != nil {
			return vm, c.wrap("find site "+site, resp, err)
		}
		if len(sites.Results) != 1 {
			return vm, fmt.Errorf("NetBox %s: %d sites named %q, want one", c.base, len(sites.Results), site)
		}
		v := nb.Int32AsPatchedWritableVLANRequestSite(&sites.Results[0].Id)
		req.Site.Set(&v)
	}
	if cluster != "" {
		cls, resp, err := c.api.VirtualizationAPI.VirtualizationClustersList(ctx).Name([]string{cluster}).Limit(2).Execute()
		if err != nil {
			return vm, c.wrap("find cluster "+cluster, resp, err)
		}
		if len(cls.Results) != 1 {
			return vm, fmt.Errorf("NetBox %s: %d clusters named %q, want one", c.base, len(cls.Results), cluster)
		}
		v := nb.Int32AsDeviceWithConfigContextRequestCluster(&cls.Results[0].Id)
		req.Cluster.Set(&v)
	}
	after, resp, err := c.api.VirtualizationAPI.VirtualizationVirtualMachinesPartialUpdate(ctx, int32(vm.ID)).PatchedWritableVirtualMachineWithConfigContextRequest(req).Execute()
	if err != nil {
		return vm, c.wrap("update virtual machine "+vm.Name, resp, err)
	}
	return vmRecord(*after), nil
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
	page, resp, err := c.api.IpamAPI.IpamIpAddressesList(ctx).Parent([]string{p.Prefix}).Limit(1).Execute()
	if err != nil {
		return 0, c.wrap("count IP addresses", resp, err)
	}
	return min(100*float64(page.Count)/total, 100), nil
}
