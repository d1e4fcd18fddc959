package lab

import (
	"context"
	"fmt"
	"net/url"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vapi/rest"
	_ "github.com/vmware/govmomi/vapi/simulator" // the simulator's tag API, as vCenter has it
	"github.com/vmware/govmomi/vapi/tags"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// The app tier as vCenter groups it, for waves that find their VMs there (items_from): a wave
// lab's VMs are in the folder app-tier and carry the tag app of category tier.
const (
	LabTierFolder   = "app-tier"
	LabTierCategory = "tier"
	LabTierTag      = "app"
	// In the lab's NetBox the same VMs have the role app-server and the tag app-tier.
	LabTierRole      = "app-server"
	LabTierNetBoxTag = "app-tier"
)

// appTier puts the VMs in the app-tier folder (one task) and tags them (one call).
func (v *vcenter) appTier(ctx context.Context, c *vim25.Client, f *find.Finder, vms []*object.VirtualMachine) error {
	root, err := f.DefaultFolder(ctx)
	if err != nil {
		return err
	}
	folder, err := root.CreateFolder(ctx, LabTierFolder)
	if err != nil {
		return err
	}
	refs := make([]types.ManagedObjectReference, len(vms))
	tagged := make([]mo.Reference, len(vms))
	for i, vm := range vms {
		refs[i], tagged[i] = vm.Reference(), vm.Reference()
	}
	task, err := folder.MoveInto(ctx, refs)
	if err != nil {
		return err
	}
	if err := task.Wait(ctx); err != nil {
		return err
	}
	rc := rest.NewClient(c)
	if err := rc.Login(ctx, url.UserPassword(v.cfg.Username, v.cfg.Password)); err != nil {
		return fmt.Errorf("tag API: %w", err)
	}
	defer rc.Logout(context.WithoutCancel(ctx))
	m := tags.NewManager(rc)
	cat, err := m.CreateCategory(ctx, &tags.Category{Name: LabTierCategory, Cardinality: "SINGLE", AssociableTypes: []string{"VirtualMachine"}})
	if err != nil {
		return err
	}
	tag, err := m.CreateTag(ctx, &tags.Tag{Name: LabTierTag, CategoryID: cat})
	if err != nil {
		return err
	}
	return m.AttachTagToMultipleObjects(ctx, tag, tagged)
}
