package vsphere

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/vapi/rest"
	"github.com/vmware/govmomi/vapi/tags"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/cutover/cutover/checks"
)

var _ checks.VMFinder = (*Client)(nil)

// FindVMs lists the VMs of a folder (its subfolders too with Recursive), those carrying a tag,
// or with both those of the folder that carry it: a wave's items, sorted by name, each with the
// host it runs on and its guest address. Templates are not VMs a wave moves: left out. A folder or tag that does not exist is an error; one
// that holds no VM is an empty list.
func (c *Client) FindVMs(ctx context.Context, q checks.VMQuery) ([]checks.VMState, error) {
	if q.Folder == "" && q.Tag == "" {
		return nil, errors.New("vCenter VMs: name a folder or a tag")
	}
	var refs []types.ManagedObjectReference
	if q.Folder != "" {
		inFolder, err := c.folderVMs(ctx, q.Folder, q.Recursive)
		if err != nil {
			return nil, err
		}
		refs = inFolder
	}
	if q.Tag != "" {
		tagged, err := c.taggedVMs(ctx, q.Tag, q.Category)
		if err != nil {
			return nil, err
		}
		if q.Folder != "" {
			refs = slices.DeleteFunc(refs, func(r types.ManagedObjectReference) bool { return !slices.Contains(tagged, r) })
		} else {
			refs = tagged
		}
	}
	return c.states(ctx, refs)
}

// folderVMs lists a folder's VMs: a relative path is under the datacenter's VM folder, as govc
// reads it.
func (c *Client) folderVMs(ctx context.Context, folder string, recursive bool) ([]types.ManagedObjectReference, error) {
	return find1(c, func(f *find.Finder) ([]types.ManagedObjectReference, error) {
		p := folder
		if !strings.HasPrefix(p, "/") {
			p = path.Join(c.dcPath, "vm", p)
		}
		fo, err := f.Folder(ctx, p)
		if err != nil {
			return nil, fmt.Errorf("vCenter folder %s: %w", folder, err)
		}
		pattern := path.Join(fo.InventoryPath, "*")
		if recursive {
			pattern = path.Join(fo.InventoryPath, "...")
		}
		vms, err := f.VirtualMachineList(ctx, pattern)
		var nf *find.NotFoundError
		if errors.As(err, &nf) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("vCenter folder %s: %w", folder, err)
		}
		out := make([]types.ManagedObjectReference, len(vms))
		for i, vm := range vms {
			out[i] = vm.Reference()
		}
		return out, nil
	})
}

// taggedVMs lists the VMs a tag is attached to, through the vAPI (a REST session of its own,
// logged out at once).
func (c *Client) taggedVMs(ctx context.Context, tag, category string) ([]types.ManagedObjectReference, error) {
	if c.relogin == nil {
		return nil, fmt.Errorf("vCenter tag %s: the tag API needs GOVC_USERNAME and GOVC_PASSWORD", tag)
	}
	rc := rest.NewClient(c.relogin.vc)
	if err := rc.Login(ctx, c.relogin.user); err != nil {
		return nil, fmt.Errorf("vCenter %s: tag API login as %s: %w", c.host, c.relogin.user.Username(), err)
	}
	defer rc.Logout(context.WithoutCancel(ctx))
	m := tags.NewManager(rc)
	var t *tags.Tag
	var err error
	if category != "" {
		t, err = m.GetTagForCategory(ctx, tag, category)
	} else {
		t, err = m.GetTag(ctx, tag)
	}
	if err != nil {
		return nil, fmt.Errorf("vCenter tag %s: %w", strings.TrimPrefix(category+"/"+tag, "/"), err)
	}
	if category == "" {
		// GetTag takes the first tag of the name; a name in two categories is ambiguous.
		all, err := m.GetTags(ctx)
		if err != nil {
			return nil, fmt.Errorf("vCenter tags: %w", err)
		}
		if n := len(slices.DeleteFunc(all, func(x tags.Tag) bool { return x.Name != tag })); n > 1 {
			return nil, fmt.Errorf("vCenter tag %s: %d categories have a tag of that name: give its category", tag, n)
		}
	}
	objs, err := m.ListAttachedObjects(ctx, t.ID)
	if err != nil {
		return nil, fmt.Errorf("vCenter tag %s: %w", tag, err)
	}
	var out []types.ManagedObjectReference
	for _, o := range objs {
		if r := o.Reference(); r.Type == "VirtualMachine" {
			out = append(out, r)
		}
	}
	return out, nil
}

// states reads the VMs' names, hosts and guest addresses in one call, sorted by name.
func (c *Client) states(ctx context.Context, refs []types.ManagedObjectReference) ([]checks.VMState, error) {
	if len(refs) == 0 {
		return nil, nil
	}
	pc := property.DefaultCollector(c.vc)
	var vms []mo.VirtualMachine
	if err := pc.Retrieve(ctx, refs, []string{"name", "config.template", "runtime.host", "runtime.powerState", "guest.toolsRunningStatus", "guest.ipAddress"}, &vms); err != nil {
		return nil, fmt.Errorf("read VMs: %w", err)
	}
	hosts := map[types.ManagedObjectReference][2]string{} // host and its cluster, read once each
	out := make([]checks.VMState, 0, len(vms))
	for _, o := range vms {
		if o.Config != nil && o.Config.Template {
			continue // a template is not a VM a wave moves
		}
		st := checks.VMState{Name: o.Name, PowerState: string(o.Runtime.PowerState)}
		if h := o.Runtime.Host; h != nil {
			if _, ok := hosts[*h]; !ok {
				_, cl := c.clusterOf(ctx, *h)
				hosts[*h] = [2]string{c.name(ctx, *h), cl}
			}
			st.Host, st.HostRef, st.Cluster = hosts[*h][0], h.String(), hosts[*h][1]
		}
		if g := o.Guest; g != nil {
			st.Tools, st.IP = g.ToolsRunningStatus, g.IpAddress
		}
		out = append(out, st)
	}
	slices.SortFunc(out, func(a, b checks.VMState) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}
