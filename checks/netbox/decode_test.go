package netbox

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cutover/cutover/checks"
)

// Answers as NetBox 4.0 to 4.7 write them decode to the same records: 4.0 and 4.1 put a prefix's
// site in "site" (4.2 made it "scope"), later releases add fields, a choice may come as a bare
// string.
func TestDecodesEveryNetBox4(t *testing.T) {
	cases := []struct {
		name, body string
		want       checks.IPAMPrefix
	}{
		{"4.0 site", `{"count":1,"next":null,"previous":null,"results":[{"id":1,"prefix":"10.20.0.0/24","status":{"value":"active","label":"Active"},"site":{"id":3,"name":"SITE-A","slug":"site-a"},"vlan":{"id":200,"vid":200,"name":"stretched"},"is_pool":false,"description":"app"}]}`,
			checks.IPAMPrefix{Prefix: "10.20.0.0/24", Status: "active", ScopeType: "dcim.site", Scope: "SITE-A", VID: 200, VLAN: "stretched", Description: "app"}},
		{"4.3 scope", `{"count":1,"next":null,"previous":null,"results":[{"id":1,"prefix":"10.20.0.0/24","status":{"value":"reserved","label":"Reserved"},"scope_type":"dcim.sitegroup","scope_id":1,"scope":{"id":1,"name":"stretched-dc","_depth":0},"vlan":null,"tenant":{"id":1,"name":"payments"},"is_pool":true}]}`,
			checks.IPAMPrefix{Prefix: "10.20.0.0/24", Status: "reserved", ScopeType: "dcim.sitegroup", Scope: "stretched-dc", Tenant: "payments", IsPool: true}},
		{"4.7 with fields cutover does not know", `{"count":1,"next":null,"previous":null,"results":[{"id":1,"prefix":"10.20.0.0/24","status":{"value":"active","label":"Active","color":"green"},"scope_type":null,"scope":null,"owner":{"id":9,"name":"netops"},"_depth":0,"children":0,"new_thing":[1,2,3]}]}`,
			checks.IPAMPrefix{Prefix: "10.20.0.0/24", Status: "active"}},
		{"a bare string choice", `{"count":1,"next":null,"previous":null,"results":[{"prefix":"10.20.0.0/24","status":"deprecated"}]}`,
			checks.IPAMPrefix{Prefix: "10.20.0.0/24", Status: "deprecated"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := fake(t, map[string]string{"/api/ipam/prefixes/": c.body})
			ps, err := srv.Prefixes(context.Background(), Filter{})
			if err != nil {
				t.Fatal(err)
			}
			if len(ps) != 1 || ps[0] != c.want {
				t.Errorf("got %+v\nwant %+v", ps, c.want)
			}
		})
	}
}

// Answers a proxy or a broken NetBox may give are errors that say so, never a silent empty list.
func TestHostileAnswers(t *testing.T) {
	for _, c := range []struct{ name, body, want string }{
		{"a login page with 200", `<html><body>Sign in</body></html>`, "not the JSON NetBox sends"},
		{"truncated JSON", `{"count":3,"results":[{"prefix":"10.0.0.0/8"`, "not the JSON NetBox sends"},
		{"results of the wrong type", `{"count":1,"results":{"prefix":"10.0.0.0/8"}}`, "not the JSON NetBox sends"},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := fake(t, map[string]string{"/api/ipam/prefixes/": c.body})
			_, err := srv.Prefixes(context.Background(), Filter{})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want %q", err, c.want)
			}
		})
	}
	// An answer that never ends is cut at maxBody, not read into memory whole.
	big := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"count":1,"results":[{"prefix":"`))
		chunk := []byte(strings.Repeat("x", 1<<20))
		for i := 0; i < maxBody>>20+2; i++ {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	defer big.Close()
	c := &Client{http: big.Client(), base: big.URL, auth: "Token x"}
	if _, err := c.Prefixes(context.Background(), Filter{}); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("an endless answer: %v", err)
	}
}

// fake serves fixed bodies by path, as plain HTTP (NETBOX_URL may be http://).
func fake(t *testing.T, bodies map[string]string) *Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, ok := bodies[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(b))
	}))
	t.Cleanup(srv.Close)
	return &Client{http: srv.Client(), base: srv.URL, auth: "Token x"}
}

// A v2 token (NetBox 4.5+) is sent as Bearer, a v1 token as Token; the lab's NetBox refuses the
// other scheme, as NetBox does.
func TestV2Tokens(t *testing.T) {
	v2 := "nbt_abcdefgh1234.0123456789abcdef0123456789abcdef01234567"
	if got := authorization(v2); got != "Bearer "+v2 {
		t.Errorf("v2: %q", got)
	}
	if got := authorization(token); got != "Token "+token {
		t.Errorf("v1: %q", got)
	}
	for _, given := range []string{"Bearer " + v2, "Token " + token} {
		if got := authorization(given); got != given {
			t.Errorf("with its scheme: %q", got)
		}
	}
	s := netboxapiStart(t, v2)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	writeCA(t, ca, s.Certificate())
	c, err := Connect(context.Background(), Config{URL: s.URL(), Token: v2, CACerts: ca})
	if err != nil {
		t.Fatal(err)
	}
	if ps, err := c.Prefixes(context.Background(), Filter{Status: []string{"active"}}); err != nil || len(ps) == 0 {
		t.Errorf("with a v2 token: %v %v", ps, err)
	}
	_, err = Connect(context.Background(), Config{URL: s.URL(), Token: "Token " + v2, CACerts: ca})
	if err == nil || !strings.Contains(err.Error(), "token rejected") || strings.Contains(err.Error(), v2) {
		t.Errorf("v2 token as Token: %v", err)
	}
}
