// Package netboxapi serves the part of NetBox 4.x's REST API that cutover uses — status, prefixes,
// IP addresses, VM records, sites, clusters — over an in-memory IPAM model, for the lab and the
// client's tests. Every answer carries the fields NetBox's published OpenAPI schema requires, and
// a test validates each endpoint's answers against that schema (testdata: NetBox 4.3's, as
// go-netbox v4.3.0 ships it), so a shape the real server would not send fails there. The client is
// also run against a real NetBox (NETBOX_URL) by hand.
package netboxapi

import (
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Version is the NetBox release the API answers as.
const Version = "4.3.7"

// maxPage is NetBox's default MAX_PAGE_SIZE.
const maxPage = 1000

// Site is a dcim site and the site group it belongs to.
type Site struct{ Name, Slug, Group string }

// Prefix is one ipam prefix. Scope is a site group or a site (by name), as in NetBox 4.2+.
type Prefix struct {
	Prefix      string
	Status      string // active, reserved, deprecated, container
	VID         int    // 0: no VLAN
	VLANName    string
	ScopeGroup  string
	ScopeSite   string
	Tenant      string
	Description string
	IsPool      bool
}

// Address is one ipam IP address, assigned to a VM interface when VM is set.
type Address struct {
	Address   string // with mask, as NetBox stores it: 10.20.0.15/24
	Status    string
	VM        string
	Interface string
	DNSName   string
}

// VM is a virtualization virtual machine record: where NetBox thinks the VM runs. Its primary IP
// is the first address assigned to it (IPv4 before IPv6).
type VM struct {
	Name, Site, Cluster string
	Role                string   // a device role's name (its slug derived)
	Tags                []string // tag names (slugs derived)
	Status              string   // active unless set
}

// Model is the IPAM data the server answers from.
type Model struct {
	Sites     []Site
	Clusters  []string
	Prefixes  []Prefix
	Addresses []Address
	VMs       []VM
}

// Server is a running NetBox API on 127.0.0.1 with TLS.
type Server struct {
	token string
	srv   *httptest.Server
	mu    sync.Mutex
	model Model
}

// Start serves m over HTTPS on 127.0.0.1, accepting only the given API token: a v2 token
// (nbt_<key>.<token>, NetBox 4.5+) as "Bearer", any other as a v1 "Token".
func Start(m Model, token string) *Server {
	s := &Server{token: token, model: m}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	// Clients drop connections mid-handshake when the server closes under them; that is not news.
	s.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.srv.StartTLS()
	return s
}

// URL is the server's base URL (https://127.0.0.1:port).
func (s *Server) URL() string { return s.srv.URL }

// Certificate is the server's self-signed certificate, for the client's CA file.
func (s *Server) Certificate() []byte { return s.srv.Certificate().Raw }

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// Update changes the model under the server's lock (fault injection, a moved address).
func (s *Server) Update(f func(m *Model)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(&s.model)
}

func scheme(token string) string {
	if strings.HasPrefix(token, "nbt_") {
		return "Bearer"
	}
	return "Token"
}

type apiError struct {
	Detail string `json:"detail"`
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	vmPatch := r.Method == http.MethodPatch && strings.HasPrefix(r.URL.Path, "/api/virtualization/virtual-machines/")
	if r.Method != http.MethodGet && !vmPatch {
		writeJSON(w, http.StatusMethodNotAllowed, apiError{Detail: fmt.Sprintf("Method \"%s\" not allowed.", r.Method)})
		return
	}
	auth := r.Header.Get("Authorization")
	switch {
	case auth == "":
		writeJSON(w, http.StatusForbidden, apiError{Detail: "Authentication credentials were not provided."})
		return
	case auth != scheme(s.token)+" "+s.token:
		writeJSON(w, http.StatusForbidden, apiError{Detail: "Invalid token"})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if vmPatch {
		s.patchVM(w, r)
		return
	}
	switch r.URL.Path {
	case "/api/status/":
		writeJSON(w, http.StatusOK, map[string]any{
			"django-version": "5.2.4", "netbox-version": Version, "python-version": "3.12.3",
			"installed-apps": map[string]string{}, "plugins": map[string]string{}, "rq-workers-running": 1,
		})
	case "/api/ipam/prefixes/":
		s.prefixes(w, r)
	case "/api/ipam/ip-addresses/":
		s.addresses(w, r)
	case "/api/virtualization/virtual-machines/":
		s.vms(w, r)
	case "/api/dcim/sites/":
		s.sites(w, r)
	case "/api/virtualization/clusters/":
		s.clusters(w, r)
	default:
		writeJSON(w, http.StatusNotFound, apiError{Detail: "Not found."})
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("API-Version", "4.3")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

// page cuts one page out of n results and writes the links NetBox writes.
func page(w http.ResponseWriter, r *http.Request, n int) (from, to int, next, prev *string, ok bool) {
	q := r.URL.Query()
	limit, offset := 50, 0
	var err error
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 0 {
			writeJSON(w, http.StatusBadRequest, apiError{Detail: "Invalid limit"})
			return
		}
		if limit == 0 || limit > maxPage {
			limit = maxPage
		}
	}
	if v := q.Get("offset"); v != "" {
		if offset, err = strconv.Atoi(v); err != nil || offset < 0 {
			writeJSON(w, http.StatusBadRequest, apiError{Detail: "Invalid offset"})
			return
		}
	}
	from, to = min(offset, n), min(offset+limit, n)
	link := func(off int) *string {
		u := url.URL{Scheme: "https", Host: r.Host, Path: r.URL.Path}
		v := r.URL.Query()
		v.Set("limit", strconv.Itoa(limit))
		v.Set("offset", strconv.Itoa(off))
		u.RawQuery = v.Encode()
		s := u.String()
		return &s
	}
	if to < n {
		next = link(to)
	}
	if from > 0 {
		prev = link(max(from-limit, 0))
	}
	return from, to, next, prev, true
}

func (s *Server) prefixes(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	type match struct {
		i  int
		pf netip.Prefix
	}
	parsed := make([]netip.Prefix, len(s.model.Prefixes))
	var hits []match
	for i, p := range s.model.Prefixes {
		pf, err := netip.ParsePrefix(p.Prefix)
		if err != nil {
			continue
		}
		parsed[i] = pf
		if st := q["status"]; len(st) > 0 && !slices.Contains(st, p.Status) {
			continue
		}
		if v := q.Get("vlan_vid"); v != "" && v != strconv.Itoa(p.VID) {
			continue
		}
		if v := q.Get("site"); v != "" && !s.inSite(p, v) {
			continue
		}
		if v := q.Get("within"); v != "" {
			wp, err := netip.ParsePrefix(v)
			if err != nil {
				writeJSON(w, http.StatusBadRequest, map[string][]string{"within": {"Enter a valid IPv4 or IPv6 prefix."}})
				return
			}
			if pf.Bits() <= wp.Bits() || !wp.Contains(pf.Addr()) {
				continue
			}
		}
		if v := q.Get("contains"); v != "" {
			a, err := netip.ParseAddr(strings.SplitN(v, "/", 2)[0])
			if err != nil {
				writeJSON(w, http.StatusBadRequest, map[string][]string{"contains": {"Enter a valid IPv4 or IPv6 address."}})
				return
			}
			if !pf.Contains(a) {
				continue
			}
		}
		hits = append(hits, match{i, pf})
	}
	// NetBox orders prefixes by VRF, then network, then mask length.
	slices.SortStableFunc(hits, func(a, b match) int { return a.pf.Compare(b.pf) })
	from, to, next, prev, ok := page(w, r, len(hits))
	if !ok {
		return
	}
	out := make([]prefixJSON, 0, to-from)
	for _, h := range hits[from:to] {
		out = append(out, s.prefixJSON(r, h.i, s.model.Prefixes[h.i], h.pf, parsed))
	}
	writeJSON(w, http.StatusOK, list[prefixJSON]{Count: len(hits), Next: next, Previous: prev, Results: out})
}

// inSite is NetBox's site filter on prefixes: scoped to the site, or to the site's group.
func (s *Server) inSite(p Prefix, slug string) bool {
	for _, site := range s.model.Sites {
		if site.Slug == slug {
			return p.ScopeSite == site.Name || (p.ScopeGroup != "" && p.ScopeGroup == site.Group)
		}
	}
	return false
}

func (s *Server) prefixJSON(r *http.Request, i int, p Prefix, pf netip.Prefix, all []netip.Prefix) prefixJSON {
	id := i + 1
	children, depth := 0, 0
	for _, op := range all {
		if !op.IsValid() || op == pf {
			continue
		}
		if op.Bits() > pf.Bits() && pf.Contains(op.Addr()) {
			children++
		}
		if op.Bits() < pf.Bits() && op.Contains(pf.Addr()) {
			depth++
		}
	}
	out := prefixJSON{object: s.object(r, "ipam/prefixes", id, p.Prefix), Family: family(pf.Addr()), Prefix: p.Prefix,
		Status: choice(p.Status), IsPool: p.IsPool, Children: children, Depth: depth, meta: newMeta()}
	out.Description = p.Description
	if p.VID != 0 {
		out.VLAN = &vlanJSON{object: s.object(r, "ipam/vlans", p.VID, fmt.Sprintf("%s (%d)", p.VLANName, p.VID)), VID: p.VID, Name: p.VLANName}
	}
	if p.Tenant != "" {
		out.Tenant = &slugJSON{object: s.object(r, "tenancy/tenants", 1, p.Tenant), Name: p.Tenant, Slug: slug(p.Tenant)}
	}
	switch {
	case p.ScopeGroup != "":
		out.ScopeType, out.ScopeID = ptr("dcim.sitegroup"), ptr(1)
		out.Scope = map[string]any{"id": 1, "url": s.url(r, "dcim/site-groups", 1), "display": p.ScopeGroup, "name": p.ScopeGroup,
			"slug": slug(p.ScopeGroup), "description": "", "_depth": 0}
	case p.ScopeSite != "":
		sid := 1
		for j, site := range s.model.Sites {
			if site.Name == p.ScopeSite {
				sid = j + 1
			}
		}
		out.ScopeType, out.ScopeID = ptr("dcim.site"), &sid
		out.Scope = map[string]any{"id": sid, "url": s.url(r, "dcim/sites", sid), "display": p.ScopeSite, "name": p.ScopeSite,
			"slug": slug(p.ScopeSite), "description": ""}
	}
	return out
}

func (s *Server) addresses(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var out []addressJSON
	for i, a := range s.model.Addresses {
		ap, err := netip.ParsePrefix(a.Address)
		if err != nil {
			continue
		}
		if v := q["address"]; len(v) > 0 && !slices.ContainsFunc(v, func(x string) bool {
			// NetBox matches the host part, with or without a mask.
			xa, err := netip.ParseAddr(strings.SplitN(x, "/", 2)[0])
			return err == nil && xa == ap.Addr()
		}) {
			continue
		}
		if v := q.Get("parent"); v != "" {
			pp, err := netip.ParsePrefix(v)
			if err != nil {
				writeJSON(w, http.StatusBadRequest, map[string][]string{"parent": {"Enter a valid IPv4 or IPv6 prefix."}})
				return
			}
			if !pp.Contains(ap.Addr()) {
				continue
			}
		}
		if st := q["status"]; len(st) > 0 && !slices.Contains(st, a.Status) {
			continue
		}
		if v := q.Get("virtual_machine"); v != "" && v != a.VM {
			continue
		}
		out = append(out, s.addressJSON(r, i, a, ap))
	}
	from, to, next, prev, ok := page(w, r, len(out))
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, list[addressJSON]{Count: len(out), Next: next, Previous: prev, Results: nonNil(out[from:to])})
}

func (s *Server) addressJSON(r *http.Request, i int, a Address, ap netip.Prefix) addressJSON {
	id := i + 1
	out := addressJSON{object: s.object(r, "ipam/ip-addresses", id, a.Address), Family: family(ap.Addr()), Address: a.Address,
		Status: choice(a.Status), DNSName: a.DNSName, NATOutside: []any{}, meta: newMeta()}
	if a.VM != "" {
		vmID, ifID := 100+i, 200+i
		out.AssignedObjectType, out.AssignedObjectID = ptr("virtualization.vminterface"), &ifID
		out.AssignedObject = map[string]any{"id": ifID, "url": s.url(r, "virtualization/interfaces", ifID), "display": a.Interface,
			"name": a.Interface, "description": "",
			"virtual_machine": map[string]any{"id": vmID, "url": s.url(r, "virtualization/virtual-machines", vmID), "display": a.VM,
				"name": a.VM, "description": ""}}
	}
	return out
}

func (s *Server) url(r *http.Request, path string, id int) string {
	return fmt.Sprintf("https://%s/api/%s/%d/", r.Host, path, id)
}

func (s *Server) object(r *http.Request, path string, id int, display string) object {
	return object{ID: id, URL: s.url(r, path, id), DisplayURL: fmt.Sprintf("https://%s/%s/%d/", r.Host, path, id), Display: display}
}

func family(a netip.Addr) familyJSON {
	if a.Is6() && !a.Is4In6() {
		return familyJSON{6, "IPv6"}
	}
	return familyJSON{4, "IPv4"}
}

func slug(s string) string { return strings.ToLower(strings.ReplaceAll(s, " ", "-")) }

func ptr[T any](v T) *T { return &v }

// nonNil keeps an empty page a JSON [] as NetBox sends it, not null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
