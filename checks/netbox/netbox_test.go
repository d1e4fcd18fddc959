package netbox

import (
	"context"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cutover/cutover/checks"
	"github.com/cutover/cutover/lab/netboxapi"
)

const token = "0123456789abcdef0123456789abcdef01234567"

// world is a small stretched-VLAN IPAM: an active /24 on VLAN 200 for the site group, a reserved
// /24 next to it, a site-scoped management prefix and a container above them.
func world() netboxapi.Model {
	return netboxapi.Model{
		Sites: []netboxapi.Site{{Name: "SITE-A", Slug: "site-a", Group: "stretched-dc"}, {Name: "SITE-B", Slug: "site-b", Group: "stretched-dc"}},
		Prefixes: []netboxapi.Prefix{
			{Prefix: "10.20.0.0/16", Status: "container", ScopeGroup: "stretched-dc"},
			{Prefix: "10.20.0.0/24", Status: "active", VID: 200, VLANName: "stretched", ScopeGroup: "stretched-dc", Tenant: "payments", Description: "app tier"},
			{Prefix: "10.20.1.0/24", Status: "reserved", VID: 200, VLANName: "stretched", ScopeGroup: "stretched-dc"},
			{Prefix: "10.30.0.0/24", Status: "active", VID: 130, VLANName: "mgmt-a", ScopeSite: "SITE-A"},
		},
		Addresses: []netboxapi.Address{
			{Address: "10.20.0.1/24", Status: "active"},
			{Address: "10.20.0.15/24", Status: "active", VM: "app-01", Interface: "eth0", DNSName: "app-01.example"},
			{Address: "10.20.0.16/24", Status: "reserved", VM: "app-02", Interface: "eth0"},
			{Address: "10.20.1.9/24", Status: "active", VM: "app-03", Interface: "eth0"},
			{Address: "10.20.0.17/24", Status: "active"},
		},
		Clusters: []string{"SITE-A", "SITE-B"},
		VMs:      []netboxapi.VM{{Name: "app-01", Site: "SITE-B", Cluster: "SITE-B"}, {Name: "app-02", Site: "SITE-A", Cluster: "SITE-A"}, {Name: "app-03"}},
	}
}

func netboxapiStart(t *testing.T, tok string) *netboxapi.Server {
	t.Helper()
	s := netboxapi.Start(world(), tok)
	t.Cleanup(s.Close)
	return s
}

func start(t *testing.T, m netboxapi.Model) (*netboxapi.Server, Config) {
	t.Helper()
	s := netboxapi.Start(m, token)
	t.Cleanup(s.Close)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	writeCA(t, ca, s.Certificate())
	return s, Config{URL: s.URL(), Token: token, CACerts: ca}
}

func writeCA(t testing.TB, file string, der []byte) {
	t.Helper()
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
}

func connect(t *testing.T, m netboxapi.Model) *Client {
	t.Helper()
	_, cfg := start(t, m)
	c, err := Connect(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestConnect(t *testing.T) {
	_, cfg := start(t, world())
	c, err := Connect(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if c.Version != netboxapi.Version {
		t.Errorf("version %q, want %q", c.Version, netboxapi.Version)
	}
	// A URL that ends in /api or / is the same NetBox.
	for _, u := range []string{cfg.URL + "/", cfg.URL + "/api/"} {
		cfg := cfg
		cfg.URL = u
		if _, err := Connect(context.Background(), cfg); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
}

func TestConnectErrors(t *testing.T) {
	_, cfg := start(t, world())
	old := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"django-version":"4.2.9","netbox-version":"3.7.8","python-version":"3.11.6","plugins":{}}`)
	}))
	t.Cleanup(old.Close)
	oldCA := filepath.Join(t.TempDir(), "old.pem")
	writeCA(t, oldCA, old.Certificate().Raw)
	// A proxy in front of NetBox that answers 401, and one that never answers.
	unauthorized := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("WWW-Authenticate", "Token")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"detail":"Invalid token."}`)
	}))
	t.Cleanup(unauthorized.Close)
	unauthCA := filepath.Join(t.TempDir(), "unauth.pem")
	writeCA(t, unauthCA, unauthorized.Certificate().Raw)
	// It answers nothing until the test ends, whatever becomes of the request's context (a handler
	// that returned once its context ended answered an empty 200 once under -race in CI).
	stop := make(chan struct{})
	hung := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-stop }))
	t.Cleanup(hung.Close)
	t.Cleanup(func() { close(stop) }) // first: Close waits for the handler
	hungCA := filepath.Join(t.TempDir(), "hung.pem")
	writeCA(t, hungCA, hung.Certificate().Raw)
	for _, tc := range []struct {
		name string
		edit func(c *Config)
		want string
	}{
		{"bad token", func(c *Config) { c.Token = "nope" }, "token rejected (403 Forbidden Invalid token); check NETBOX_TOKEN"},
		{"untrusted certificate", func(c *Config) { c.CACerts = "" }, "set NETBOX_CA_CERTS"},
		{"wrong path", func(c *Config) { c.URL += "/netbox" }, "not found (/netbox/api/status/)"},
		{"not a URL", func(c *Config) { c.URL = "netbox.example.com" }, "want https://host"},
		{"missing CA file", func(c *Config) { c.CACerts = "/nonexistent/ca.pem" }, "NETBOX_CA_CERTS: open /nonexistent/ca.pem"},
		{"NetBox 3", func(c *Config) { c.URL, c.CACerts = old.URL, oldCA }, `is version "3.7.8"; cutover speaks the NetBox 4.x API`},
		{"401", func(c *Config) { c.URL, c.CACerts = unauthorized.URL, unauthCA }, `token rejected (401 Unauthorized Invalid token.)`},
		{"timeout", func(c *Config) { c.URL, c.CACerts, c.Timeout = hung.URL, hungCA, 200*time.Millisecond }, "Client.Timeout exceeded"},
		{"nothing listening", func(c *Config) { c.URL = "https://127.0.0.1:1" }, "connection refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := cfg
			tc.edit(&c)
			_, err := Connect(context.Background(), c)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q in it", err, tc.want)
			}
			if strings.Contains(err.Error(), token) {
				t.Fatalf("error leaks the token: %v", err)
			}
		})
	}
}

func TestConfigFromEnv(t *testing.T) {
	env := map[string]string{}
	get := func(k string) string { return env[k] }
	if _, err := ConfigFromEnv(get); err != ErrNoNetBox {
		t.Fatalf("no URL: %v", err)
	}
	env["NETBOX_URL"] = "https://netbox.example.com"
	if _, err := ConfigFromEnv(get); err == nil || !strings.Contains(err.Error(), "NETBOX_TOKEN") {
		t.Fatalf("no token: %v", err)
	}
	env["NETBOX_TOKEN"], env["NETBOX_CA_CERTS"] = "t", "/etc/ca.pem"
	c, err := ConfigFromEnv(get)
	if err != nil || c.Token != "t" || c.CACerts != "/etc/ca.pem" {
		t.Fatalf("%+v %v", c, err)
	}
}

func TestPrefixesPaginate(t *testing.T) {
	m := netboxapi.Model{}
	for i := range 1203 {
		status := "active"
		if i%3 == 0 {
			status = "reserved"
		}
		m.Prefixes = append(m.Prefixes, netboxapi.Prefix{Prefix: fmt.Sprintf("10.%d.%d.0/24", 100+i/256, i%256), Status: status, VID: 200, VLANName: "stretched"})
	}
	c := connect(t, m)
	all, err := c.Prefixes(context.Background(), Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1203 || all[0].Prefix != "10.100.0.0/24" || all[1202].Prefix != "10.104.178.0/24" {
		t.Fatalf("got %d prefixes, first %v last %v", len(all), all[0], all[len(all)-1])
	}
	seen := map[string]bool{}
	for _, p := range all {
		if seen[p.Prefix] {
			t.Fatalf("%s twice: pages overlap", p.Prefix)
		}
		seen[p.Prefix] = true
	}
	active, err := c.Prefixes(context.Background(), Filter{Status: []string{"active"}})
	if err != nil || len(active) != 802 {
		t.Fatalf("active: %d, %v", len(active), err)
	}
}

func TestPrefixesFilters(t *testing.T) {
	c := connect(t, world())
	for _, tc := range []struct {
		f    Filter
		want []string
	}{
		{Filter{Status: []string{"active"}}, []string{"10.20.0.0/24", "10.30.0.0/24"}},
		{Filter{VID: 200}, []string{"10.20.0.0/24", "10.20.1.0/24"}},
		{Filter{Site: "site-b"}, []string{"10.20.0.0/16", "10.20.0.0/24", "10.20.1.0/24"}},
		{Filter{Site: "site-a", Status: []string{"active"}}, []string{"10.20.0.0/24", "10.30.0.0/24"}},
		{Filter{Contains: "10.20.1.9"}, []string{"10.20.0.0/16", "10.20.1.0/24"}},
		{Filter{Within: "10.20.0.0/16"}, []string{"10.20.0.0/24", "10.20.1.0/24"}},
		{Filter{Contains: "192.0.2.1"}, nil},
	} {
		ps, err := c.Prefixes(context.Background(), tc.f)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, p := range ps {
			got = append(got, p.Prefix)
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%+v: got %v, want %v", tc.f, got, tc.want)
		}
	}
	ps, _ := c.Prefixes(context.Background(), Filter{Contains: "10.20.0.15"})
	p, _ := checks.MostSpecific(ps)
	want := checks.IPAMPrefix{Prefix: "10.20.0.0/24", Status: "active", VID: 200, VLAN: "stretched", ScopeType: "dcim.sitegroup", Scope: "stretched-dc", Tenant: "payments", Description: "app tier"}
	if p != want {
		t.Errorf("decoded %+v, want %+v", p, want)
	}
}

func TestAddressesAndUtilisation(t *testing.T) {
	c := connect(t, world())
	ctx := context.Background()
	as, err := c.Addresses(ctx, "10.20.0.15")
	want := checks.IPAMAddress{Address: "10.20.0.15/24", Status: "active", VM: "app-01", Interface: "eth0", DNSName: "app-01.example"}
	if err != nil || len(as) != 1 || as[0] != want {
		t.Fatalf("got %+v %v, want %+v", as, err, want)
	}
	for _, tc := range []struct {
		p    checks.IPAMPrefix
		want float64
	}{
		{checks.IPAMPrefix{Prefix: "10.20.0.0/24", Status: "active"}, 100 * 4.0 / 254},
		{checks.IPAMPrefix{Prefix: "10.20.0.0/24", Status: "active", IsPool: true}, 100 * 4.0 / 256},
		{checks.IPAMPrefix{Prefix: "10.20.0.0/16", Status: "container"}, 100 * 512.0 / 65536},
		{checks.IPAMPrefix{Prefix: "10.30.0.0/24", Status: "active"}, 0},
	} {
		u, err := c.Utilisation(ctx, tc.p)
		if err != nil || u != tc.want {
			t.Errorf("%s: %v %v, want %v", tc.p.Prefix, u, err, tc.want)
		}
	}
}

// vm is a vCenter that knows one VM's guest IP and cluster.
type vm struct{ ip, cluster string }

func (v vm) VMState(_ context.Context, name string) (checks.VMState, error) {
	return checks.VMState{Name: name, IP: v.ip, IPs: []string{v.ip}, Cluster: v.cluster}, nil
}

func TestIPAMVMRecordUpdate(t *testing.T) {
	c := connect(t, world())
	env := checks.Env{IPAM: c, Inventory: vm{"10.20.0.16", "SITE-B"}}
	r := checks.IPAMVMRecord{VM: "app-02", Site: "SITE-B", Update: true}.Run(context.Background(), env)
	if r.Outcome != checks.Pass || r.Summary != "NetBox record of app-02 updated: cluster SITE-A → SITE-B, site SITE-A → SITE-B" ||
		!strings.HasPrefix(strings.Join(r.Evidence, "\n"), "NetBox before: virtual machine app-02, cluster SITE-A, site SITE-A\nNetBox after:  virtual machine app-02, cluster SITE-B, site SITE-B\nvCenter: app-02") {
		t.Fatalf("%s %q %q", r.Outcome, r.Summary, r.Evidence)
	}
	// NetBox kept it: a read-only check now passes.
	if r := (checks.IPAMVMRecord{VM: "app-02", Site: "SITE-B"}).Run(context.Background(), env); r.Outcome != checks.Pass {
		t.Errorf("after the update: %s %q", r.Outcome, r.Summary)
	}
	// A site NetBox does not know: nothing is written, and the failure says why.
	r = checks.IPAMVMRecord{VM: "app-01", Site: "SITE-C", Update: true}.Run(context.Background(), env)
	if r.Outcome != checks.Fail || !strings.Contains(r.Summary, `update failed: NetBox https://127.0.0.1`) || !strings.Contains(r.Summary, `0 sites named "SITE-C", want one`) {
		t.Errorf("%s %q", r.Outcome, r.Summary)
	}
	if vms, _ := c.VirtualMachines(context.Background(), "app-01"); len(vms) != 1 || vms[0].Site != "SITE-B" || vms[0].Cluster != "SITE-B" {
		t.Errorf("app-01 changed: %+v", vms)
	}
}

func TestIPAMVMRecord(t *testing.T) {
	c := connect(t, world())
	for _, tc := range []struct {
		check   checks.IPAMVMRecord
		cluster string
		want    checks.Outcome
		summary string
	}{
		{checks.IPAMVMRecord{VM: "app-01", Site: "SITE-B"}, "SITE-B", checks.Pass, "NetBox has app-01 in cluster SITE-B, site SITE-B, as vCenter does"},
		{checks.IPAMVMRecord{VM: "app-01"}, "site-b", checks.Pass, "NetBox has app-01 in cluster SITE-B"},
		{checks.IPAMVMRecord{VM: "app-02", Site: "SITE-B"}, "SITE-B", checks.Fail, "NetBox record of app-02 is stale: update cluster SITE-A → SITE-B, site SITE-A → SITE-B"},
		{checks.IPAMVMRecord{VM: "app-01", Site: "SITE-C"}, "SITE-B", checks.Fail, "update site SITE-B → SITE-C"},
		{checks.IPAMVMRecord{VM: "app-03"}, "SITE-B", checks.Fail, "update cluster none → SITE-B"},
		{checks.IPAMVMRecord{VM: "app-09"}, "SITE-B", checks.Fail, "NetBox has no virtual machine app-09: create it in cluster SITE-B"},
	} {
		r := tc.check.Run(context.Background(), checks.Env{IPAM: c, Inventory: vm{"10.20.0.15", tc.cluster}})
		if r.Outcome != tc.want || !strings.Contains(r.Summary, tc.summary) {
			t.Errorf("%+v: %s %q, want %s %q", tc.check, r.Outcome, r.Summary, tc.want, tc.summary)
		}
	}
}

func TestIPAMAddressCheck(t *testing.T) {
	c := connect(t, world())
	for _, tc := range []struct {
		name    string
		check   checks.IPAMAddressCheck
		guestIP string
		want    checks.Outcome
		summary string
	}{
		{"guest IP active on VLAN 200", checks.IPAMAddressCheck{VM: "app-01", VID: 200, SiteGroup: "stretched-dc", Interface: "eth0"}, "10.20.0.15", checks.Pass, "10.20.0.15 is Active in 10.20.0.0/24 on VLAN 200 (stretched)"},
		{"address given", checks.IPAMAddressCheck{VM: "app-01", Address: "10.20.0.15", VID: 200}, "", checks.Pass, "10.20.0.15 is Active in 10.20.0.0/24"},
		{"moved into the reserved prefix", checks.IPAMAddressCheck{VM: "app-03", VID: 200}, "10.20.1.9", checks.Fail, "10.20.1.9 is in prefix 10.20.1.0/24, which is Reserved, not Active"},
		{"wrong VLAN", checks.IPAMAddressCheck{VM: "app-01", VID: 300}, "10.20.0.15", checks.Fail, "prefix 10.20.0.0/24 is on VLAN 200 (stretched), not VLAN 300"},
		{"wrong site group", checks.IPAMAddressCheck{VM: "app-01", SiteGroup: "dc-north"}, "10.20.0.15", checks.Fail, "prefix 10.20.0.0/24 is scoped to site group stretched-dc, not site group dc-north"},
		{"site-scoped prefix", checks.IPAMAddressCheck{Address: "10.30.0.5", SiteGroup: "stretched-dc"}, "", checks.Fail, "prefix 10.30.0.0/24 is scoped to site SITE-A"},
		{"address object reserved", checks.IPAMAddressCheck{VM: "app-02"}, "10.20.0.16", checks.Fail, "no Active IP address 10.20.0.16 assigned to app-02"},
		{"assigned to another VM", checks.IPAMAddressCheck{VM: "app-09"}, "10.20.0.15", checks.Fail, "no Active IP address 10.20.0.15 assigned to app-09"},
		{"wrong interface", checks.IPAMAddressCheck{VM: "app-01", Interface: "eth1"}, "10.20.0.15", checks.Fail, "assigned to app-01 eth1"},
		{"unassigned", checks.IPAMAddressCheck{VM: "app-01"}, "10.20.0.17", checks.Fail, "no Active IP address 10.20.0.17 assigned to app-01"},
		{"no address object", checks.IPAMAddressCheck{VM: "app-01"}, "10.20.0.99", checks.Fail, "NetBox has no IP address object for 10.20.0.99"},
		{"outside every prefix", checks.IPAMAddressCheck{VM: "app-01"}, "192.0.2.7", checks.Fail, "192.0.2.7 lies in no prefix NetBox knows"},
		{"no guest IP", checks.IPAMAddressCheck{VM: "app-01"}, "", checks.Inconclusive, "app-01 reports no guest IP"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.check.Run(context.Background(), checks.Env{IPAM: c, Inventory: vm{tc.guestIP, ""}})
			if r.Outcome != tc.want || !strings.Contains(r.Summary, tc.summary) {
				t.Fatalf("%s %q, want %s %q\n%s", r.Outcome, r.Summary, tc.want, tc.summary, strings.Join(r.Evidence, "\n"))
			}
			if r.Outcome != checks.Inconclusive && !strings.Contains(strings.Join(r.Evidence, "\n"), "NetBox prefix: ") {
				if tc.summary != "192.0.2.7 lies in no prefix NetBox knows" {
					t.Errorf("evidence names no prefix: %q", r.Evidence)
				}
			}
		})
	}
	r := checks.IPAMAddressCheck{VM: "app-01", VID: 200}.Run(context.Background(), checks.Env{IPAM: c, Inventory: vm{"10.20.0.15", ""}})
	ev := strings.Join(r.Evidence, "\n")
	for _, want := range []string{
		"vCenter: app-01 reports guest IP 10.20.0.15",
		"NetBox prefix: 10.20.0.0/24 Active, VLAN 200 (stretched), site group stretched-dc, tenant payments, app tier",
		"NetBox: 10.20.0.0/24 is 2% utilised",
		"NetBox address: 10.20.0.15/24 Active, assigned to app-01 eth0, DNS app-01.example",
	} {
		if !strings.Contains(ev, want) {
			t.Errorf("evidence lacks %q:\n%s", want, ev)
		}
	}
	if r := (checks.IPAMAddressCheck{VM: "app-01"}).Run(context.Background(), checks.Env{}); r.Outcome != checks.Inconclusive || !strings.Contains(r.Summary, "NETBOX_URL") {
		t.Errorf("no NetBox: %+v", r)
	}
}

func TestAudit(t *testing.T) {
	c := connect(t, world())
	uses := []Use{
		{Address: "10.20.0.15", Where: "vars.vm_ip"},
		{Address: "10.20.0.1", Gateway: true, Where: "steps[1].watch.ping.target"},
		{Address: "10.20.1.20", Where: "vars.new_ip"},
		{Address: "10.30.0.5", Where: "vars.probe"},
		{Address: "10.20.200.1", Where: "vars.far"},
		{Address: "192.0.2.1", Gateway: true, Where: "vars.gw"},
	}
	prefixes, findings, err := c.Audit(context.Background(), uses, []int{200})
	if err != nil {
		t.Fatal(err)
	}
	if len(prefixes) != 2 || prefixes[0].Prefix != "10.20.0.0/24" || prefixes[1].Prefix != "10.20.1.0/24" {
		t.Errorf("audited prefixes %+v", prefixes)
	}
	want := []Finding{
		{ReservedUsed, "10.20.1.0/24", "10.20.1.0/24 is reserved, but address 10.20.1.20 (vars.new_ip) lies in it"},
		{VLANMismatch, "10.30.0.5", "address 10.30.0.5 (vars.probe) lies in 10.30.0.0/24 on VLAN 130 (mgmt-a); the runbooks expect VLAN 200"},
		{OutsideActive, "10.20.200.1", "address 10.20.200.1 (vars.far) lies in 10.20.0.0/16, a container prefix, not an Active one"},
		{OutsideActive, "192.0.2.1", "gateway 192.0.2.1 (vars.gw) lies in no prefix NetBox knows"},
		{ReservedUsed, "10.20.1.0/24", "10.20.1.0/24 is reserved, but NetBox has 1 address(es) in use in it: 10.20.1.9/24"},
	}
	if fmt.Sprint(findings) != fmt.Sprint(want) {
		t.Errorf("findings:\n%v\nwant:\n%v", strings.ReplaceAll(fmt.Sprint(findings), "} {", "}\n{"), strings.ReplaceAll(fmt.Sprint(want), "} {", "}\n{"))
	}
	// Without stretched VLANs, an address on any VLAN is fine as long as its prefix is Active.
	_, findings, _ = c.Audit(context.Background(), uses[:2], nil)
	if len(findings) != 0 {
		t.Errorf("clean audit: %v", findings)
	}
}
