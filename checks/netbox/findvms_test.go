package netbox

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cutover/cutover/checks"
	"github.com/cutover/cutover/lab/netboxapi"
)

// waveWorld is an app tier in NetBox: VMs of two clusters, tagged and with roles, one offline,
// one with only an IPv6 address and one with none.
func waveWorld() netboxapi.Model {
	m := world()
	m.VMs = []netboxapi.VM{
		{Name: "app-10", Site: "SITE-A", Cluster: "SITE-A", Role: "App Server", Tags: []string{"app-tier", "wave-1"}},
		{Name: "app-02", Site: "SITE-A", Cluster: "SITE-A", Role: "App Server", Tags: []string{"app-tier"}},
		{Name: "app-03", Site: "SITE-A", Cluster: "SITE-A", Role: "App Server", Tags: []string{"app-tier"}, Status: "offline"},
		{Name: "db-01", Site: "SITE-A", Cluster: "SITE-A", Role: "Database", Tags: []string{"db-tier"}},
		{Name: "app-20", Site: "SITE-B", Cluster: "SITE-B", Role: "App Server", Tags: []string{"app-tier"}},
		{Name: "app-v6", Site: "SITE-A", Cluster: "SITE-A", Role: "App Server", Tags: []string{"wave-1"}},
	}
	m.Addresses = []netboxapi.Address{
		{Address: "fd00:20::10/64", Status: "active", VM: "app-10", Interface: "eth0"},
		{Address: "10.20.0.10/24", Status: "active", VM: "app-10", Interface: "eth0"},
		{Address: "10.20.0.2/24", Status: "active", VM: "app-02", Interface: "eth0"},
		{Address: "10.20.0.20/24", Status: "active", VM: "app-20", Interface: "eth0"},
		{Address: "fd00:20::6/64", Status: "active", VM: "app-v6", Interface: "eth0"},
	}
	return m
}

// findVMCases are the queries a wave's items_from makes, with what the app tier of waveWorld
// answers: the lab's NetBox and a real one seeded with the same VMs must both answer them so.
var findVMCases = []struct {
	q       checks.IPAMVMQuery
	want    string
	wantErr string
}{
	{q: checks.IPAMVMQuery{Tag: "app-tier"}, want: "app-02=10.20.0.2 app-10=10.20.0.10 app-20=10.20.0.20"}, // active only; IPv4 first
	{q: checks.IPAMVMQuery{Tag: "app-tier", Cluster: "SITE-A"}, want: "app-02=10.20.0.2 app-10=10.20.0.10"},
	{q: checks.IPAMVMQuery{Tag: "app-tier", Status: "offline"}, want: "app-03="},
	{q: checks.IPAMVMQuery{Site: "site-a", Role: "app-server"}, want: "app-02=10.20.0.2 app-10=10.20.0.10 app-v6=fd00:20::6"},
	{q: checks.IPAMVMQuery{Tag: "wave-1", Site: "site-b"}, want: ""},
	{q: checks.IPAMVMQuery{Tag: "wave-1", Role: "database"}, want: ""},
	{q: checks.IPAMVMQuery{Role: "database"}, want: "db-01="},
	{q: checks.IPAMVMQuery{Cluster: "SITE-C"}, wantErr: "SITE-C is not one of the available choices"},
	{q: checks.IPAMVMQuery{Tag: "no-such-tag"}, wantErr: "no-such-tag is not one of the available choices"},
	{q: checks.IPAMVMQuery{Status: "active"}, wantErr: "name a cluster, site, role or tag"},
}

func TestFindVMs(t *testing.T) { findVMsAsTheCasesSay(t, connect(t, waveWorld())) }

func findVMsAsTheCasesSay(t *testing.T, c *Client) {
	names := func(vms []checks.IPAMVM) string {
		var out []string
		for _, v := range vms {
			out = append(out, v.Name+"="+v.PrimaryIP)
		}
		return strings.Join(out, " ")
	}
	for _, tc := range findVMCases {
		t.Run(tc.q.String(), func(t *testing.T) {
			vms, err := c.FindVMs(context.Background(), tc.q)
			switch {
			case tc.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q in it", err, tc.wantErr)
				}
			case err != nil:
				t.Fatal(err)
			case names(vms) != tc.want:
				t.Fatalf("got %q, want %q", names(vms), tc.want)
			}
		})
	}
}

// A NetBox (or a proxy before it) that drops a filter it does not know answers every VM: the list
// is refused, not moved.
func TestFindVMsRefusesAnUnfilteredAnswer(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/api/status/":
			fmt.Fprint(w, `{"netbox-version":"4.3.7"}`)
		case "/api/virtualization/virtual-machines/":
			fmt.Fprint(w, `{"count":2,"next":null,"previous":null,"results":[
				{"id":1,"name":"app-01","status":{"value":"active"},"cluster":{"id":1,"name":"SITE-A"},"tags":[{"id":1,"name":"app-tier","slug":"app-tier"}]},
				{"id":2,"name":"dc-01","status":{"value":"active"},"cluster":{"id":1,"name":"SITE-A"},"tags":[]}]}`)
		}
	}))
	t.Cleanup(srv.Close)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	writeCA(t, ca, srv.Certificate().Raw)
	c, err := Connect(context.Background(), Config{URL: srv.URL, Token: token, CACerts: ca})
	if err != nil {
		t.Fatal(err)
	}
	vms, err := c.FindVMs(context.Background(), checks.IPAMVMQuery{Tag: "app-tier"})
	if err == nil || !strings.Contains(err.Error(), `answered VM "dc-01"`) || !strings.Contains(err.Error(), "did not apply the filter") {
		t.Fatalf("got %v, %v; want the list refused naming dc-01", vms, err)
	}
	if slices.ContainsFunc(vms, func(v checks.IPAMVM) bool { return v.Name == "dc-01" }) {
		t.Fatal("dc-01 was listed")
	}
}
