package netbox

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/cutover/cutover/checks"
	"github.com/cutover/cutover/internal/testenv"
	"github.com/cutover/cutover/lab/netboxapi"
)

// A real NetBox, when NETBOX_URL (and NETBOX_TOKEN, NETBOX_CA_CERTS) name one — ../shared/realnetbox
// starts NetBox 4.3.7 seeded with the stretched-VLAN scenario. It cannot run in CI (NetBox needs
// packages from PyPI and git mirrors the CI machine has not), so it is skipped there, saying so
// (testenv.ByHand);
// its last results are in BENCHMARKS.md. It only reads unless NETBOX_TEST_WRITE=1: NETBOX_URL may
// name a NetBox that matters.
func realNetBox(t *testing.T) *Client {
	t.Helper()
	cfg, err := ConfigFromEnv(os.Getenv)
	if err != nil {
		testenv.ByHand(t, "against a real NetBox: %v (start one with ../shared/realnetbox/start.sh)", err)
	}
	c, err := Connect(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("NetBox %s at %s", c.Version, c.base)
	return c
}

func TestRealNetBoxReads(t *testing.T) {
	c := realNetBox(t)
	ctx := context.Background()
	all, err := c.Prefixes(ctx, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) == 0 {
		t.Fatal("no prefixes: is the NetBox seeded?")
	}
	p, ok := find(all, "10.20.0.0/24")
	if !ok {
		t.Logf("not the stretched-VLAN seed: %d prefixes decoded, the seed's answers not checked", len(all))
		return
	}
	want := checks.IPAMPrefix{Prefix: "10.20.0.0/24", Status: "active", VID: 200, VLAN: p.VLAN, ScopeType: "dcim.sitegroup", Scope: p.Scope}
	if p.Status != want.Status || p.VID != 200 || p.ScopeType != want.ScopeType || p.Scope == "" {
		t.Errorf("10.20.0.0/24 = %+v", p)
	}
	active, err := c.Prefixes(ctx, Filter{Status: []string{"active"}, VID: 200})
	if err != nil || len(active) == 0 || slices.ContainsFunc(active, func(p checks.IPAMPrefix) bool { return p.Status != "active" || p.VID != 200 }) {
		t.Errorf("filter status=active vlan_vid=200: %+v %v", active, err)
	}
	addrs, err := c.Addresses(ctx, "10.20.0.15")
	if err != nil || len(addrs) != 1 || addrs[0].VM != "app-01" || addrs[0].Interface != "eth0" || addrs[0].Status != "active" {
		t.Errorf("10.20.0.15: %+v %v", addrs, err)
	}
	vms, err := c.VirtualMachines(ctx, "app-01")
	if err != nil || len(vms) != 1 || vms[0].Site == "" || vms[0].Cluster == "" {
		t.Errorf("app-01: %+v %v", vms, err)
	}
	if u, err := c.Utilisation(ctx, p); err != nil || u <= 0 {
		t.Errorf("utilisation of %s: %v %v", p.Prefix, u, err)
	}
	if _, findings, err := c.Audit(ctx, []Use{{Address: "10.20.0.15", Where: "test"}}, []int{200}); err != nil {
		t.Errorf("audit: %v %v", findings, err)
	}
}

// The lab's NetBox answers with the fields the real one does, object by object.
func TestRealNetBoxShapesMatchTheLab(t *testing.T) {
	c := realNetBox(t)
	lab := netboxapi.Start(world(), token)
	defer lab.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	writeCA(t, ca, lab.Certificate())
	lc, err := Connect(context.Background(), Config{URL: lab.URL(), Token: token, CACerts: ca})
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"ipam/prefixes/?vlan_vid=200", "ipam/ip-addresses/?address=10.20.0.15", "virtualization/virtual-machines/?name=app-01", "dcim/sites/", "virtualization/clusters/"} {
		real, lab := keysOf(t, c, path), keysOf(t, lc, path)
		if real == nil {
			t.Logf("%s: the real NetBox has no such object; not compared", path)
			continue
		}
		var missing []string
		for _, k := range real {
			if !slices.Contains(lab, k) {
				missing = append(missing, k)
			}
		}
		var extra []string
		for _, k := range lab {
			if !slices.Contains(real, k) {
				extra = append(extra, k)
			}
		}
		if len(missing)+len(extra) > 0 {
			t.Errorf("%s: the lab lacks %v and adds %v", path, missing, extra)
		}
	}
}

// keysOf lists the fields of the first object a list answers with.
func keysOf(t *testing.T, c *Client, path string) []string {
	t.Helper()
	p, q, _ := strings.Cut(path, "?")
	vals, _ := url.ParseQuery(q)
	var pg page[map[string]json.RawMessage]
	if err := c.call(context.Background(), path, http.MethodGet, p, vals, nil, &pg); err != nil {
		t.Fatal(err)
	}
	if len(pg.Results) == 0 {
		return nil
	}
	var keys []string
	for k := range pg.Results[0] {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func TestRealNetBoxWrites(t *testing.T) {
	c := realNetBox(t)
	if os.Getenv("NETBOX_TEST_WRITE") != "1" {
		testenv.ByHand(t, "writing a VM record needs NETBOX_TEST_WRITE=1 (NETBOX_URL may name a NetBox that matters)")
	}
	ctx := context.Background()
	vms, err := c.VirtualMachines(ctx, "app-01")
	if err != nil || len(vms) != 1 {
		t.Fatalf("app-01: %v %v", vms, err)
	}
	before := vms[0]
	to := "SITE-B"
	if before.Site == "SITE-B" {
		to = "SITE-A"
	}
	after, err := c.PlaceVM(ctx, before, to, to)
	if err != nil || after.Site != to || after.Cluster != to {
		t.Fatalf("place app-01 at %s: %+v %v", to, after, err)
	}
	if back, err := c.PlaceVM(ctx, after, before.Site, before.Cluster); err != nil || back.Site != before.Site {
		t.Fatalf("put it back: %+v %v", back, err)
	}
}

// The queries of a wave's items_from answer from a real NetBox what they answer from the lab's:
// the app tier of waveWorld is written into it (roles, tags, VMs, interfaces, addresses, primary
// IPs), queried, and removed.
func TestRealNetBoxFindsVMsAsTheLabDoes(t *testing.T) {
	c := realNetBox(t)
	if os.Getenv("NETBOX_TEST_WRITE") != "1" {
		testenv.ByHand(t, "writing VMs, roles and tags needs NETBOX_TEST_WRITE=1 (NETBOX_URL may name a NetBox that matters)")
	}
	seedVMs(t, c, waveWorld())
	findVMsAsTheCasesSay(t, c)
}

// seedVMs writes m's VMs into a real NetBox (its sites and clusters must be there): the roles and
// tags they name that NetBox lacks, each VM with an interface per address and its primary IPs.
// Everything written is deleted when the test ends.
func seedVMs(t *testing.T, c *Client, m netboxapi.Model) {
	t.Helper()
	ctx := context.Background()
	var undo []string
	t.Cleanup(func() {
		for i := len(undo) - 1; i >= 0; i-- {
			if err := c.call(ctx, "delete "+undo[i], http.MethodDelete, undo[i], nil, nil, nil); err != nil {
				t.Errorf("cleaning up: %v", err)
			}
		}
	})
	create := func(what, path string, body map[string]any) int {
		t.Helper()
		var made ref
		if err := c.call(ctx, "create "+what, http.MethodPost, path, nil, body, &made); err != nil {
			t.Fatal(err)
		}
		undo = append(undo, fmt.Sprintf("%s%d/", path, made.ID))
		return made.ID
	}
	// idOf finds an object by slug, making it (with fields) if NetBox has none.
	idOf := func(what, path, name string, fields map[string]any) int {
		t.Helper()
		var p page[ref]
		sl := strings.ToLower(strings.ReplaceAll(name, " ", "-"))
		if err := c.call(ctx, "find "+what, http.MethodGet, path, url.Values{"slug": {sl}}, nil, &p); err != nil {
			t.Fatal(err)
		}
		if len(p.Results) == 1 {
			return p.Results[0].ID
		}
		body := map[string]any{"name": name, "slug": sl}
		maps.Copy(body, fields)
		return create(what+" "+name, path, body)
	}
	for _, vm := range m.VMs {
		if existing, err := c.VirtualMachines(ctx, vm.Name); err != nil || len(existing) > 0 {
			t.Fatalf("NetBox has a VM %s already (%v): the test would not know which it found", vm.Name, err)
		}
		site, err := c.one(ctx, "site", "dcim/sites/", vm.Site)
		if err != nil {
			t.Fatal(err)
		}
		cluster, err := c.one(ctx, "cluster", "virtualization/clusters/", vm.Cluster)
		if err != nil {
			t.Fatal(err)
		}
		var tags []map[string]any
		for _, tg := range vm.Tags {
			tags = append(tags, map[string]any{"id": idOf("tag", "extras/tags/", tg, nil)})
		}
		status := cmp.Or(vm.Status, "active")
		id := create("VM "+vm.Name, "virtualization/virtual-machines/", map[string]any{
			"name": vm.Name, "site": site, "cluster": cluster, "status": status, "tags": tags,
			"role": idOf("role", "dcim/device-roles/", vm.Role, map[string]any{"vm_role": true}),
		})
		primary := map[string]any{}
		ifaces := map[string]int{}
		for _, a := range m.Addresses {
			if a.VM != vm.Name {
				continue
			}
			if _, ok := ifaces[a.Interface]; !ok {
				ifaces[a.Interface] = create("interface", "virtualization/interfaces/", map[string]any{"virtual_machine": id, "name": a.Interface})
			}
			ip := create("address "+a.Address, "ipam/ip-addresses/", map[string]any{
				"address": a.Address, "status": a.Status,
				"assigned_object_type": "virtualization.vminterface", "assigned_object_id": ifaces[a.Interface],
			})
			key := "primary_ip4"
			if strings.Contains(a.Address, ":") {
				key = "primary_ip6"
			}
			if _, ok := primary[key]; !ok {
				primary[key] = ip
			}
		}
		if len(primary) > 0 {
			var after ref
			if err := c.call(ctx, "set primary IPs of "+vm.Name, http.MethodPatch, fmt.Sprintf("virtualization/virtual-machines/%d/", id), nil, primary, &after); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func find(ps []checks.IPAMPrefix, prefix string) (checks.IPAMPrefix, bool) {
	for _, p := range ps {
		if p.Prefix == prefix {
			return p, true
		}
	}
	return checks.IPAMPrefix{}, false
}
