package netboxapi

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"

	netbox "github.com/netbox-community/go-netbox/v4"
)

// The virtualization and dcim endpoints: the VM records that netbox_vm reads and, with
// update: true, writes, and the sites and clusters a write refers to by id.

func (s *Server) vms(w http.ResponseWriter, r *http.Request) {
	var out []netbox.VirtualMachineWithConfigContext
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
	writeJSON(w, http.StatusOK, netbox.PaginatedVirtualMachineWithConfigContextList{Count: int32(len(out)), Next: next, Previous: prev, Results: nonNil(out[from:to])})
}

func (s *Server) vmJSON(r *http.Request, i int) netbox.VirtualMachineWithConfigContext {
	vm := s.model.VMs[i]
	id := int32(100 + i)
	v := netbox.NewVirtualMachineWithConfigContext(id, s.url(r, "virtualization/virtual-machines", id), vm.Name, vm.Name, 1)
	value, label := netbox.PATCHEDWRITABLEVIRTUALMACHINEWITHCONFIGCONTEXTREQUESTSTATUS_ACTIVE, netbox.VIRTUALMACHINEWITHCONFIGCONTEXTSTATUSLABEL_ACTIVE
	v.Status = &netbox.VirtualMachineWithConfigContextStatus{Value: &value, Label: &label}
	v.Site.Set(nil)
	for j, site := range s.model.Sites {
		if site.Name == vm.Site {
			sid := int32(j + 1)
			v.Site.Set(netbox.NewBriefSite(sid, s.url(r, "dcim/sites", sid), site.Name, site.Name, site.Slug))
		}
	}
	v.Cluster.Set(nil)
	if j := slices.Index(s.model.Clusters, vm.Cluster); j >= 0 {
		cid := int32(j + 1)
		v.Cluster.Set(netbox.NewBriefCluster(cid, s.url(r, "virtualization/clusters", cid), vm.Cluster, vm.Cluster))
	}
	v.Tags = []netbox.NestedTag{}
	v.CustomFields = map[string]any{}
	return *v
}

// patchVM is PATCH /api/virtualization/virtual-machines/{id}/ with a site and cluster by id.
func (s *Server) patchVM(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.Atoi(strings.Trim(strings.TrimPrefix(r.URL.Path, "/api/virtualization/virtual-machines/"), "/"))
	i := id - 100
	if err != nil || i < 0 || i >= len(s.model.VMs) {
		writeJSON(w, http.StatusNotFound, apiError{Detail: "No VirtualMachine matches the given query."})
		return
	}
	var req netbox.PatchedWritableVirtualMachineWithConfigContextRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{Detail: "JSON parse error - " + err.Error()})
		return
	}
	vm := s.model.VMs[i]
	if site := req.Site.Get(); req.Site.IsSet() && site != nil {
		if site.Int32 == nil || *site.Int32 < 1 || int(*site.Int32) > len(s.model.Sites) {
			writeJSON(w, http.StatusBadRequest, map[string][]string{"site": {"Related object not found using the provided numeric ID"}})
			return
		}
		vm.Site = s.model.Sites[*site.Int32-1].Name
	}
	if cl := req.Cluster.Get(); req.Cluster.IsSet() && cl != nil {
		if cl.Int32 == nil || *cl.Int32 < 1 || int(*cl.Int32) > len(s.model.Clusters) {
			writeJSON(w, http.StatusBadRequest, map[string][]string{"cluster": {"Related object not found using the provided numeric ID"}})
			return
		}
		vm.Cluster = s.model.Clusters[*cl.Int32-1]
	}
	s.model.VMs[i] = vm
	writeJSON(w, http.StatusOK, s.vmJSON(r, i))
}

func (s *Server) sites(w http.ResponseWriter, r *http.Request) {
	var out []netbox.Site
	for j, site := range s.model.Sites {
		if names := r.URL.Query()["name"]; len(names) > 0 && !slices.Contains(names, site.Name) {
			continue
		}
		sid := int32(j + 1)
		out = append(out, *netbox.NewSite(sid, s.url(r, "dcim/sites", sid), site.Name, site.Name, site.Slug))
	}
	from, to, next, prev, ok := page(w, r, len(out))
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, netbox.PaginatedSiteList{Count: int32(len(out)), Next: next, Previous: prev, Results: nonNil(out[from:to])})
}

func (s *Server) clusters(w http.ResponseWriter, r *http.Request) {
	var out []netbox.Cluster
	for j, name := range s.model.Clusters {
		if names := r.URL.Query()["name"]; len(names) > 0 && !slices.Contains(names, name) {
			continue
		}
		cid := int32(j + 1)
		typ := netbox.NewBriefClusterType(1, s.url(r, "virtualization/cluster-types", 1), "VMware vSphere", "VMware vSphere", "vmware-vsphere")
		out = append(out, *netbox.NewCluster(cid, s.url(r, "virtualization/clusters", cid), name, name, *typ))
	}
	from, to, next, prev, ok := page(w, r, len(out))
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, netbox.PaginatedClusterList{Count: int32(len(out)), Next: next, Previous: prev, Results: nonNil(out[from:to])})
}
