package netboxapi

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// The virtualization and dcim endpoints: the VM records that netbox_vm reads and, with
// update: true, writes, and the sites and clusters a write refers to by id.

func (s *Server) vms(w http.ResponseWriter, r *http.Request) {
	var out []vmJSON
	for i, vm := range s.model.VMs {
		if names := r.URL.Query()["name"]; len(names) > 0 && !slices.Contains(names, vm.Name) {
			continue
		}
		out = append(out, s.vmJSON(r, i))
	}
	from, to, next, prev, ok := page(w, r, len(out))
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, list[vmJSON]{Count: len(out), Next: next, Previous: prev, Results: nonNil(out[from:to])})
}

func (s *Server) vmJSON(r *http.Request, i int) vmJSON {
	vm := s.model.VMs[i]
	id := 100 + i
	v := vmJSON{object: s.object(r, "virtualization/virtual-machines", id, vm.Name), Name: vm.Name, Status: choice("active"), meta: newMeta(), ConfigContext: map[string]any{}}
	for j, site := range s.model.Sites {
		if site.Name == vm.Site {
			v.Site = &slugJSON{object: s.object(r, "dcim/sites", j+1, site.Name), Name: site.Name, Slug: site.Slug}
		}
	}
	if j := slices.Index(s.model.Clusters, vm.Cluster); j >= 0 {
		v.Cluster = &nameJSON{object: s.object(r, "virtualization/clusters", j+1, vm.Cluster), Name: vm.Cluster}
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
