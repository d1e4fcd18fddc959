package netboxapi

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// The virtualization and dcim endpoints: the VM records that netbox_vm reads and, with
// update: true, writes, and the sites and clusters a write refers to by id.

// vms is GET /api/virtualization/virtual-machines/ with NetBox's filters as a wave uses them:
// name and cluster by name; site, role and tag by slug; status. A value naming nothing NetBox has
// is a 400 as NetBox answers it, not an empty list.
func (s *Server) vms(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	known := map[string]func(VM) []string{
		"cluster": func(vm VM) []string { return []string{vm.Cluster} },
		"site":    func(vm VM) []string { return []string{s.siteSlug(vm.Site)} },
		"role":    func(vm VM) []string { return []string{slug(vm.Role)} },
		"tag":     func(vm VM) []string { return slugs(vm.Tags) },
	}
	// The objects NetBox would know: the lab has no role or tag that no VM carries.
	valid := map[string][]string{"cluster": s.model.Clusters}
	for _, site := range s.model.Sites {
		valid["site"] = append(valid["site"], site.Slug)
	}
	for _, vm := range s.model.VMs {
		if vm.Role != "" {
			valid["role"] = append(valid["role"], slug(vm.Role))
		}
		valid["tag"] = append(valid["tag"], slugs(vm.Tags)...)
	}
	for _, k := range slices.Sorted(maps.Keys(known)) {
		for _, want := range q[k] {
			if !slices.Contains(valid[k], want) {
				writeJSON(w, http.StatusBadRequest, map[string][]string{k: {fmt.Sprintf("Select a valid choice. %s is not one of the available choices.", want)}})
				return
			}
		}
	}
	var out []vmJSON
	for i, vm := range s.model.VMs {
		if names := q["name"]; len(names) > 0 && !slices.Contains(names, vm.Name) {
			continue
		}
		if st := q["status"]; len(st) > 0 && !slices.Contains(st, vmStatus(vm)) {
			continue
		}
		match := true
		for k, values := range known {
			if want := q[k]; len(want) > 0 && !slices.ContainsFunc(values(vm), func(v string) bool { return slices.Contains(want, v) }) {
				match = false
			}
		}
		if match {
			out = append(out, s.vmJSON(r, i))
		}
	}
	from, to, next, prev, ok := page(w, r, len(out))
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, list[vmJSON]{Count: len(out), Next: next, Previous: prev, Results: nonNil(out[from:to])})
}

func vmStatus(vm VM) string {
	if vm.Status == "" {
		return "active"
	}
	return vm.Status
}

func slugs(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = slug(n)
	}
	return out
}

// siteSlug is the slug of the site named name, or "".
func (s *Server) siteSlug(name string) string {
	for _, site := range s.model.Sites {
		if site.Name == name {
			return site.Slug
		}
	}
	return ""
}

func (s *Server) vmJSON(r *http.Request, i int) vmJSON {
	vm := s.model.VMs[i]
	id := 100 + i
	v := vmJSON{object: s.object(r, "virtualization/virtual-machines", id, vm.Name), Name: vm.Name, Status: choice(vmStatus(vm)), meta: newMeta(), ConfigContext: map[string]any{}}
	for j, site := range s.model.Sites {
		if site.Name == vm.Site {
			v.Site = &slugJSON{object: s.object(r, "dcim/sites", j+1, site.Name), Name: site.Name, Slug: site.Slug}
		}
	}
	if j := slices.Index(s.model.Clusters, vm.Cluster); j >= 0 {
		v.Cluster = &nameJSON{object: s.object(r, "virtualization/clusters", j+1, vm.Cluster), Name: vm.Cluster}
	}
	if vm.Role != "" {
		v.Role = map[string]any{"id": 1, "url": s.url(r, "dcim/device-roles", 1), "display": vm.Role, "name": vm.Role, "slug": slug(vm.Role), "description": "", "_depth": 0}
	}
	for j, t := range vm.Tags {
		v.Tags = append(v.Tags, map[string]any{"id": j + 1, "url": s.url(r, "extras/tags", j+1), "display": t, "name": t, "slug": slug(t), "color": "9e9e9e"})
	}
	for j, a := range s.model.Addresses {
		ap, err := netip.ParsePrefix(a.Address)
		if a.VM != vm.Name || err != nil {
			continue
		}
		brief := map[string]any{"id": j + 1, "url": s.url(r, "ipam/ip-addresses", j+1), "display": a.Address, "family": family(ap.Addr()), "address": a.Address, "description": ""}
		switch {
		case ap.Addr().Is4() && v.PrimaryIP4 == nil:
			v.PrimaryIP4 = brief
		case ap.Addr().Is6() && v.PrimaryIP6 == nil:
			v.PrimaryIP6 = brief
		}
	}
	v.PrimaryIP = v.PrimaryIP4
	if v.PrimaryIP == nil {
		v.PrimaryIP = v.PrimaryIP6
	}
	return v
}

// patchVM is PATCH /api/virtualization/virtual-machines/{id}/ with a site and cluster by id.
func (s *Server) patchVM(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.Atoi(strings.Trim(strings.TrimPrefix(r.URL.Path, "/api/virtualization/virtual-machines/"), "/"))
	i := id - 100
	if err != nil || i < 0 || i >= len(s.model.VMs) {
		writeJSON(w, http.StatusNotFound, apiError{Detail: "No VirtualMachine matches the given query."})
		return
	}
	var req struct {
		Site    *int `json:"site"`
		Cluster *int `json:"cluster"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{Detail: "JSON parse error - " + err.Error()})
		return
	}
	vm := s.model.VMs[i]
	if req.Site != nil {
		if *req.Site < 1 || *req.Site > len(s.model.Sites) {
			writeJSON(w, http.StatusBadRequest, map[string][]string{"site": {"Related object not found using the provided numeric ID: " + strconv.Itoa(*req.Site)}})
			return
		}
		vm.Site = s.model.Sites[*req.Site-1].Name
	}
	if req.Cluster != nil {
		if *req.Cluster < 1 || *req.Cluster > len(s.model.Clusters) {
			writeJSON(w, http.StatusBadRequest, map[string][]string{"cluster": {"Related object not found using the provided numeric ID: " + strconv.Itoa(*req.Cluster)}})
			return
		}
		vm.Cluster = s.model.Clusters[*req.Cluster-1]
	}
	s.model.VMs[i] = vm
	writeJSON(w, http.StatusOK, s.vmJSON(r, i))
}

func (s *Server) sites(w http.ResponseWriter, r *http.Request) {
	var out []siteJSON
	for j, site := range s.model.Sites {
		if names := r.URL.Query()["name"]; len(names) > 0 && !slices.Contains(names, site.Name) {
			continue
		}
		sj := siteJSON{object: s.object(r, "dcim/sites", j+1, site.Name), Name: site.Name, Slug: site.Slug,
			Status: choice("active"), ASNs: []any{}, meta: newMeta()}
		if site.Group != "" {
			sj.Group = map[string]any{"id": 1, "url": s.url(r, "dcim/site-groups", 1), "display": site.Group, "name": site.Group,
				"slug": slug(site.Group), "description": "", "site_count": 0, "_depth": 0}
		}
		for _, vm := range s.model.VMs {
			if vm.Site == site.Name {
				sj.VirtualMachineCount++
			}
		}
		out = append(out, sj)
	}
	from, to, next, prev, ok := page(w, r, len(out))
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, list[siteJSON]{Count: len(out), Next: next, Previous: prev, Results: nonNil(out[from:to])})
}

func (s *Server) clusters(w http.ResponseWriter, r *http.Request) {
	var out []clusterJSON
	for j, name := range s.model.Clusters {
		if names := r.URL.Query()["name"]; len(names) > 0 && !slices.Contains(names, name) {
			continue
		}
		typ := slugJSON{object: s.object(r, "virtualization/cluster-types", 1, "VMware vSphere"), Name: "VMware vSphere", Slug: "vmware-vsphere"}
		cj := clusterJSON{object: s.object(r, "virtualization/clusters", j+1, name), Name: name, Type: typ,
			Status: choice("active"), meta: newMeta()}
		// The lab's clusters are named after their sites, and scoped to them, as the seed's are.
		for k, site := range s.model.Sites {
			if site.Name == name {
				cj.ScopeType, cj.ScopeID = ptr("dcim.site"), ptr(k+1)
				cj.Scope = map[string]any{"id": k + 1, "url": s.url(r, "dcim/sites", k+1), "display": site.Name, "name": site.Name,
					"slug": site.Slug, "description": ""}
			}
		}
		for _, vm := range s.model.VMs {
			if vm.Cluster == name {
				cj.VirtualMachineCount++
			}
		}
		out = append(out, cj)
	}
	from, to, next, prev, ok := page(w, r, len(out))
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, list[clusterJSON]{Count: len(out), Next: next, Previous: prev, Results: nonNil(out[from:to])})
}
