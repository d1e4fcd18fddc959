package netboxapi

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/cutover/cutover/internal/testenv"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

const token = "0123456789abcdef0123456789abcdef01234567"

// netboxSchemas compiles NetBox's published OpenAPI schemas (testdata) for JSON Schema validation.
// OpenAPI 3.0's "nullable: true" becomes "or null". A string with a pattern also takes "": the
// schema carries a model validator's pattern (dns_name's), but NetBox answers "" for a blank field
// (seen from NetBox 4.3.7 itself: TestRealNetBoxShapesMatchTheLab's seed has addresses without one).
func netboxSchemas(t *testing.T) *jsonschema.Compiler {
	t.Helper()
	data, err := os.ReadFile("testdata/netbox-4.3-openapi-schemas.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	// Where NetBox 4.3.7 answers null for a field its schema does not call nullable (seen by
	// TestRealNetBoxShapesMatchTheLab against the real server), the real server is believed.
	schemas := doc.(map[string]any)["components"].(map[string]any)["schemas"].(map[string]any)
	for name, props := range map[string][]string{"IPAddress": {"role"}, "Cluster": {"allocated_vcpus", "allocated_memory", "allocated_disk"}} {
		for _, p := range props {
			schemas[name].(map[string]any)["properties"].(map[string]any)[p].(map[string]any)["nullable"] = true
		}
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft4) // OpenAPI 3.0 schema objects follow draft 4 (boolean exclusiveMaximum)
	if err := c.AddResource("netbox.json", nullable(doc)); err != nil {
		t.Fatal(err)
	}
	return c
}

func nullable(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			if k != "nullable" {
				out[k] = nullable(e)
			}
		}
		if _, ok := x["pattern"]; ok && x["type"] == "string" {
			out = map[string]any{"anyOf": []any{out, map[string]any{"enum": []any{""}}}}
		}
		if x["nullable"] == true {
			return map[string]any{"anyOf": []any{out, map[string]any{"type": "null"}}}
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = nullable(e)
		}
		return out
	}
	return v
}

func model() Model {
	return Model{
		Sites:    []Site{{Name: "SITE-A", Slug: "site-a", Group: "stretched-dc"}, {Name: "SITE-B", Slug: "site-b", Group: "stretched-dc"}},
		Clusters: []string{"SITE-A", "SITE-B"},
		Prefixes: []Prefix{
			{Prefix: "10.20.0.0/16", Status: "container", ScopeGroup: "stretched-dc"},
			{Prefix: "10.20.0.0/24", Status: "active", VID: 200, VLANName: "stretched", ScopeGroup: "stretched-dc", Tenant: "payments", Description: "app tier"},
			{Prefix: "10.30.0.0/24", Status: "active", VID: 130, VLANName: "mgmt-a", ScopeSite: "SITE-A"},
			{Prefix: "fd00:20::/64", Status: "reserved"},
		},
		Addresses: []Address{
			{Address: "10.20.0.1/24", Status: "active"},
			{Address: "10.20.0.15/24", Status: "active", VM: "app-01", Interface: "eth0", DNSName: "app-01.example"},
			{Address: "fd00:20::15/64", Status: "dhcp"},
		},
		VMs: []VM{{Name: "app-01", Site: "SITE-A", Cluster: "SITE-A", Role: "App Server", Tags: []string{"app-tier", "wave 1"}}, {Name: "app-02", Status: "offline"}},
	}
}

// Every answer of every endpoint the lab serves validates against NetBox's own schema for it.
func TestAnswersMatchNetBoxSchema(t *testing.T) {
	c := netboxSchemas(t)
	srv := Start(model(), token)
	defer srv.Close()
	cl := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} // the test's own server
	do := func(method, path, body string) []byte {
		req, _ := http.NewRequest(method, srv.URL()+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Token "+token)
		resp, err := cl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("%s %s: %s %s", method, path, resp.Status, b)
		}
		return b
	}
	for _, tc := range []struct{ method, path, body, schema string }{
		{"GET", "/api/ipam/prefixes/?limit=2", "", "PaginatedPrefixList"},
		{"GET", "/api/ipam/prefixes/?limit=2&offset=2", "", "PaginatedPrefixList"},
		{"GET", "/api/ipam/prefixes/?contains=10.20.0.15", "", "PaginatedPrefixList"},
		{"GET", "/api/ipam/prefixes/?vlan_vid=999", "", "PaginatedPrefixList"},
		{"GET", "/api/ipam/ip-addresses/", "", "PaginatedIPAddressList"},
		{"GET", "/api/ipam/ip-addresses/?parent=10.20.0.0/24&limit=1", "", "PaginatedIPAddressList"},
		{"GET", "/api/virtualization/virtual-machines/", "", "PaginatedVirtualMachineWithConfigContextList"},
		{"GET", "/api/virtualization/virtual-machines/?name=nothing", "", "PaginatedVirtualMachineWithConfigContextList"},
		{"GET", "/api/virtualization/virtual-machines/?cluster=SITE-A&site=site-a&tag=app-tier&role=app-server&status=active", "", "PaginatedVirtualMachineWithConfigContextList"},
		{"GET", "/api/virtualization/virtual-machines/?status=offline", "", "PaginatedVirtualMachineWithConfigContextList"},
		{"PATCH", "/api/virtualization/virtual-machines/100/", `{"site": 2, "cluster": 2}`, "VirtualMachineWithConfigContext"},
		{"GET", "/api/dcim/sites/?name=SITE-B", "", "PaginatedSiteList"},
		{"GET", "/api/virtualization/clusters/", "", "PaginatedClusterList"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			sch, err := c.Compile("netbox.json#/components/schemas/" + tc.schema)
			if err != nil {
				t.Fatal(err)
			}
			if tc.body != "" {
				req, _ := jsonschema.UnmarshalJSON(strings.NewReader(tc.body))
				rs, err := c.Compile("netbox.json#/components/schemas/PatchedWritableVirtualMachineWithConfigContextRequest")
				if err != nil {
					t.Fatal(err)
				}
				if err := rs.Validate(req); err != nil {
					t.Errorf("the client's request is not NetBox's: %v", err)
				}
			}
			body := do(tc.method, tc.path, tc.body)
			v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			if err := sch.Validate(v); err != nil {
				t.Fatalf("%s does not match NetBox's %s: %v\n%s", tc.path, tc.schema, err, body)
			}
			// The validation can fail: the same answer without a required field does.
			if m, ok := v.(map[string]any); ok {
				if rs, ok := m["results"].([]any); ok && len(rs) > 0 {
					delete(rs[0].(map[string]any), "display")
				} else if ok {
					delete(m, "count")
				} else {
					delete(m, "display")
				}
				if sch.Validate(v) == nil {
					t.Fatal("an answer without display passes: the schema holds nothing")
				}
			}
		})
	}
}

// A NetBox 4.5+ v2 token goes as Bearer; the same token as a v1 Token is refused, as NetBox does.
func TestTokenSchemes(t *testing.T) {
	v2 := "nbt_abcdefgh1234.0123456789abcdef0123456789abcdef01234567"
	srv := Start(model(), v2)
	defer srv.Close()
	cl := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	for _, tc := range []struct {
		header string
		want   int
	}{{"Bearer " + v2, 200}, {"Token " + v2, 403}, {"", 403}, {"Bearer nbt_other.1", 403}} {
		req, _ := http.NewRequest("GET", srv.URL()+"/api/status/", nil)
		if tc.header != "" {
			req.Header.Set("Authorization", tc.header)
		}
		resp, err := cl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s: %d, want %d", fmt.Sprintf("%.20q", tc.header), resp.StatusCode, tc.want)
		}
	}
}

// The schema and its exceptions above, held against a real NetBox when NETBOX_URL names one
// (../shared/realnetbox): every answer cutover asks for validates, so the exceptions are the real
// server's and no more.
func TestRealNetBoxAnswersMatchTheSchema(t *testing.T) {
	base, tok, caFile := os.Getenv("NETBOX_URL"), os.Getenv("NETBOX_TOKEN"), os.Getenv("NETBOX_CA_CERTS")
	if base == "" || tok == "" {
		testenv.ByHand(t, "against a real NetBox: NETBOX_URL and NETBOX_TOKEN are not set (start one with ../shared/realnetbox/start.sh)")
	}
	tr := &http.Transport{}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			t.Fatal(err)
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pem)
		tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	}
	c := netboxSchemas(t)
	for path, schema := range map[string]string{
		"ipam/prefixes/?limit=50":                   "PaginatedPrefixList",
		"ipam/ip-addresses/?limit=50":               "PaginatedIPAddressList",
		"virtualization/virtual-machines/?limit=50": "PaginatedVirtualMachineWithConfigContextList",
		"dcim/sites/?limit=50":                      "PaginatedSiteList",
		"virtualization/clusters/?limit=50":         "PaginatedClusterList",
	} {
		req, _ := http.NewRequest("GET", strings.TrimSuffix(base, "/")+"/api/"+path, nil)
		req.Header.Set("Authorization", "Token "+tok)
		if strings.HasPrefix(tok, "nbt_") {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := (&http.Client{Transport: tr}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		sch, err := c.Compile("netbox.json#/components/schemas/" + schema)
		if err != nil {
			t.Fatal(err)
		}
		if err := sch.Validate(v); err != nil {
			t.Errorf("the real NetBox's %s does not match its own schema: %v", path, err)
		}
	}
}
