package vsphere

// Moving a VM: the relocate spec, vCenter's pre-flight, the relocate task followed to its end, and
// the task's status and cancellation.

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cutover/cutover/checks"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// spec builds the relocate spec of a move. A move to a host of another cluster also moves the VM
// into that cluster's root resource pool, as vMotion across clusters requires. Host, pool and
// datastore may be references (what a rollback moves by), names or paths.
func (c *Client) spec(ctx context.Context, m checks.Move) (*object.VirtualMachine, types.VirtualMachineRelocateSpec, error) {
	var spec types.VirtualMachineRelocateSpec
	vm, err := c.vm(ctx, m.VM)
	if err != nil {
		return nil, spec, err
	}
	ref, isRef, err := c.byRef(ctx, "HostSystem", m.Host)
	if err != nil {
		return nil, spec, err
	}
	if !isRef {
		host, err := c.hostSystem(ctx, m.Host)
		if err != nil {
			return nil, spec, err
		}
		ref = host.Reference()
	}
	spec.Host = &ref
	switch pr, isRef, err := c.byRef(ctx, "ResourcePool", m.Pool); {
	case err != nil:
		return nil, spec, err
	case isRef:
		spec.Pool = &pr
	case m.Pool != "":
		pool, err := findOne(c, "resource pool", m.Pool,
			func(f *find.Finder) (*object.ResourcePool, error) { return f.ResourcePool(ctx, m.Pool) },
			func(f *find.Finder) ([]*object.ResourcePool, error) { return f.ResourcePoolList(ctx, m.Pool) },
			func(o *object.ResourcePool) string { return o.InventoryPath })
		if err != nil {
			return nil, spec, err
		}
		pr := pool.Reference()
		spec.Pool = &pr
	default:
		cluster, _ := c.clusterOf(ctx, ref)
		var cr mo.ComputeResource
		if cluster.Value != "" && property.DefaultCollector(c.vc).RetrieveOne(ctx, cluster, []string{"resourcePool"}, &cr) == nil && cr.ResourcePool != nil {
			spec.Pool = cr.ResourcePool
		}
	}
	switch dr, isRef, err := c.byRef(ctx, "Datastore", m.Datastore); {
	case err != nil:
		return nil, spec, err
	case isRef:
		spec.Datastore = &dr
	case m.Datastore != "":
		ds, err := findOne(c, "datastore", m.Datastore,
			func(f *find.Finder) (*object.Datastore, error) { return f.Datastore(ctx, m.Datastore) },
			func(f *find.Finder) ([]*object.Datastore, error) { return f.DatastoreList(ctx, m.Datastore) },
			func(o *object.Datastore) string { return o.InventoryPath })
		if err != nil {
			return nil, spec, err
		}
		dr := ds.Reference()
		spec.Datastore = &dr
	}
	return vm, spec, nil
}

// Preflight asks vCenter (CheckRelocate) whether the move would work; its warnings and errors are
// returned as text.
func (c *Client) Preflight(ctx context.Context, m checks.Move) ([]string, []string, error) {
	vm, spec, err := c.spec(ctx, m)
	if err != nil {
		return nil, nil, err
	}
	results, err := object.NewVmProvisioningChecker(c.vc).CheckRelocate(ctx, vm.Reference(), spec)
	if err != nil {
		return nil, nil, fmt.Errorf("CheckRelocate %s → %s: %w", m.VM, m.Host, err)
	}
	var warnings, errs []string
	for _, r := range results {
		for _, w := range r.Warning {
			warnings = append(warnings, faultText(w))
		}
		for _, e := range r.Error {
			errs = append(errs, faultText(e))
		}
	}
	return warnings, errs, nil
}

// faultText is a vSphere fault as an operator reads it: its messages, then its type.
func faultText(f types.LocalizedMethodFault) string {
	name := strings.TrimPrefix(fmt.Sprintf("%T", f.Fault), "*types.")
	var msgs []string
	if f.LocalizedMessage != "" && !strings.HasPrefix(f.LocalizedMessage, "*types.") {
		msgs = append(msgs, f.LocalizedMessage)
	}
	if f.Fault != nil {
		if mf := f.Fault.GetMethodFault(); mf != nil {
			for _, m := range mf.FaultMessage {
				if m.Message != "" && !slices.Contains(msgs, m.Message) {
					msgs = append(msgs, m.Message)
				}
			}
		}
	}
	if len(msgs) == 0 {
		return name
	}
	return strings.Join(msgs, "; ") + " (" + name + ")"
}

// Relocate moves the VM and reports progress until the vCenter task ends. A failed task returns
// the vSphere fault text.
func (c *Client) Relocate(ctx context.Context, m checks.Move, progress func(checks.MoveProgress)) error {
	vm, spec, err := c.spec(ctx, m)
	if err != nil {
		return err
	}
	prio := types.VirtualMachineMovePriority(m.Priority)
	if prio == "" {
		prio = types.VirtualMachineMovePriorityDefaultPriority
	}
	task, err := vm.Relocate(ctx, spec, prio)
	if err != nil {
		return fmt.Errorf("relocate %s → %s: %w", m.VM, m.Host, err)
	}
	start := time.Now()
	taskID := task.Reference().Value
	if progress != nil {
		progress(checks.MoveProgress{Task: taskID, Stage: "queued"})
	}
	var info types.TaskInfo
	last := -1
	ended := func() bool { return info.State == types.TaskInfoStateSuccess || info.State == types.TaskInfoStateError }
	follow := func() error {
		return property.Wait(ctx, property.DefaultCollector(c.vc), task.Reference(), []string{"info"}, func(pc []types.PropertyChange) bool {
			for _, ch := range pc {
				if ch.Name == "info" && ch.Val != nil {
					info = ch.Val.(types.TaskInfo)
				}
			}
			stage := string(info.State)
			if info.Description != nil && info.Description.Message != "" {
				stage = info.Description.Message
			}
			pct := int(info.Progress)
			if info.State == types.TaskInfoStateSuccess {
				pct = 100
			}
			if progress != nil && (pct != last || ended()) {
				progress(checks.MoveProgress{Task: taskID, Percent: pct, Stage: stage, Elapsed: time.Since(start)})
				last = pct
			}
			return ended()
		})
	}
	// The task runs on in vCenter whatever happens to our session. If the session expired mid-wait
	// (relogin opened a new one), the old session's property collector is gone: follow the task
	// again from where it is now.
	for seen := c.Relogins(); ; {
		err = follow()
		if err == nil || ended() || ctx.Err() != nil || c.Relogins() == seen {
			break
		}
		seen = c.Relogins()
	}
	if err != nil && !ended() {
		return fmt.Errorf("relocate %s → %s: waiting for task %s: %w", m.VM, m.Host, task.Reference().Value, err)
	}
	if info.State == types.TaskInfoStateError {
		if info.Error != nil {
			return fmt.Errorf("relocate %s → %s: vCenter task %s failed: %s", m.VM, m.Host, task.Reference().Value, faultText(*info.Error))
		}
		return fmt.Errorf("relocate %s → %s: vCenter task %s failed", m.VM, m.Host, task.Reference().Value)
	}
	return nil
}

// TaskStatus reads a task's state, progress and fault.
func (c *Client) TaskStatus(ctx context.Context, task string) (checks.TaskStatus, error) {
	var t mo.Task
	ref := types.ManagedObjectReference{Type: "Task", Value: task}
	if err := property.DefaultCollector(c.vc).RetrieveOne(ctx, ref, []string{"info"}, &t); err != nil {
		return checks.TaskStatus{}, fmt.Errorf("vCenter task %s: %w", task, err)
	}
	st := checks.TaskStatus{State: string(t.Info.State), Percent: int(t.Info.Progress)}
	if t.Info.Error != nil {
		st.Error = faultText(*t.Info.Error)
	}
	return st, nil
}

// CancelTask asks vCenter to cancel a task.
func (c *Client) CancelTask(ctx context.Context, task string) error {
	if err := object.NewTask(c.vc, types.ManagedObjectReference{Type: "Task", Value: task}).Cancel(ctx); err != nil {
		return fmt.Errorf("cancel vCenter task %s: %w", task, err)
	}
	return nil
}
