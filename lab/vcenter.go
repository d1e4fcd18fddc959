package lab

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
	"golang.org/x/sync/errgroup"

	"github.com/cutover/cutover/checks/vsphere"
)

// The lab's vCenter: govmomi's simulator laid out as two sites of a stretched cluster pair.
const (
	labDatacenter = "DC-STRETCHED"
	labUser       = "administrator@vsphere.local"
)

// siteHosts are the ESXi hosts of each site, in the simulator's order.
var siteHosts = [2][2]string{{"esx-a-01", "esx-a-02"}, {"esx-b-01", "esx-b-02"}}

// vcsimCreate serialises the simulator's Model.Create, which appends to a package-level license
// (simulator.EvalLicense): two labs starting at once in one process race on it (go test -race
// caught it). The lock guards govmomi's state, not ours.
var vcsimCreate sync.Mutex

type vcenter struct {
	model *simulator.Model
	srv   *simulator.Server
	cfg   vsphere.Config
	admin *vim25.Client // the lab's own session: lays out the inventory, ends sessions for faults
}

// startVCenter starts the simulator on 127.0.0.1 with TLS and a per-lab password, lays out the
// sites and puts the VM on esx-a-01.
func (l *Lab) startVCenter(ctx context.Context) (*vcenter, error) {
	m := simulator.VPX()
	m.Cluster, m.ClusterHost, m.Host, m.Machine = 2, 2, 0, len(l.opts.VMs())
	var pw [12]byte
	rand.Read(pw[:])
	password := hex.EncodeToString(pw[:])
	vcsimCreate.Lock()
	err := m.Create()
	vcsimCreate.Unlock()
	if err != nil {
		return nil, fmt.Errorf("lab vCenter: %w", err)
	}
	m.Service.TLS = new(tls.Config)
	m.Service.RegisterEndpoints = true // the tag API (vapi/simulator): waves find VMs by tag
	m.Service.Listen = &url.URL{Host: "127.0.0.1:0", User: url.UserPassword(labUser, password)}
	v := &vcenter{model: m, srv: m.Service.NewServer()}
	ca := filepath.Join(l.dir, "vcenter-ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: v.srv.Certificate().Raw}), 0o644); err != nil {
		v.close()
		return nil, err
	}
	v.cfg = vsphere.Config{URL: v.srv.URL.Host, Username: labUser, Password: password, CACerts: ca, Datacenter: labDatacenter}
	if err := v.layout(ctx, l); err != nil {
		v.close()
		return nil, fmt.Errorf("lab vCenter layout: %w", err)
	}
	return v, nil
}

func (v *vcenter) close() {
	v.srv.Close()
	v.model.Remove()
}

// endSessions ends every session but the lab's own, as vCenter's idle timeout or an admin would,
// and returns how many it ended.
func (v *vcenter) endSessions(ctx context.Context) (int, error) {
	var m mo.SessionManager
	if err := property.DefaultCollector(v.admin).RetrieveOne(ctx, *v.admin.ServiceContent.SessionManager, []string{"sessionList", "currentSession"}, &m); err != nil {
		return 0, err
	}
	var keys []string
	for _, s := range m.SessionList {
		if m.CurrentSession == nil || s.Key != m.CurrentSession.Key {
			keys = append(keys, s.Key)
		}
	}
	if len(keys) == 0 {
		return 0, nil
	}
	return len(keys), session.NewManager(v.admin).TerminateSession(ctx, keys)
}

// layout renames the simulator's inventory into the lab's two sites and places the VMs.
func (v *vcenter) layout(ctx context.Context, l *Lab) error {
	sc := soap.NewClient(v.srv.URL, false)
	if err := sc.SetRootCAs(v.cfg.CACerts); err != nil {
		return err
	}
	c, err := vim25.NewClient(ctx, sc)
	if err != nil {
		return err
	}
	if err := session.NewManager(c).Login(ctx, url.UserPassword(v.cfg.Username, v.cfg.Password)); err != nil {
		return err
	}
	v.admin = c
	f := find.NewFinder(c, true)
	dc, err := f.DefaultDatacenter(ctx)
	if err != nil {
		return err
	}
	f.SetDatacenter(dc)
	rename := func(ref types.ManagedObjectReference, name string) error {
		task, err := object.NewCommon(c, ref).Rename(ctx, name)
		if err != nil {
			return err
		}
		return task.Wait(ctx)
	}
	for i, site := range []string{"SITE-A", "SITE-B"} {
		cl, err := f.ClusterComputeResource(ctx, fmt.Sprintf("DC0_C%d", i))
		if err != nil {
			return err
		}
		for j := range siteHosts[i] {
			h, err := f.HostSystem(ctx, fmt.Sprintf("DC0_C%d_H%d", i, j))
			if err != nil {
				return err
			}
			// HostSystem has no Rename_Task (as in vSphere); name the simulator's object directly.
			obj := v.model.Map().Get(h.Reference()).(*simulator.HostSystem)
			sctx := v.model.Service.Context
			sctx.WithLock(obj, func() {
				sctx.Update(obj, []types.PropertyChange{{Name: "name", Val: siteHosts[i][j]}, {Name: "summary.config.name", Val: siteHosts[i][j]}})
			})
		}
		if err := rename(cl.Reference(), site); err != nil {
			return err
		}
	}
	// The lab's VMs are SITE-A's first ones; SITE-B keeps one, mon-b-01, and the simulator's others
	// there go (the model makes as many per cluster).
	names := map[string]string{"DC0_C1_RP0_VM0": "mon-b-01"}
	for i, vm := range l.opts.VMs() {
		names[fmt.Sprintf("DC0_C0_RP0_VM%d", i)] = vm
	}
	// One listing of the inventory, not a search per VM: a 200-VM wave would search 400 VMs 400 times.
	all, err := f.VirtualMachineList(ctx, "*")
	if err != nil {
		return err
	}
	byName := map[string]*object.VirtualMachine{}
	for _, vm := range all {
		byName[vm.Name()] = vm
	}
	// The tasks go one at a time: the simulator's Destroy and Relocate update shared datastore and
	// host references without its own locks (go test -race caught two at once).
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(1)
	for i := 1; i < len(l.opts.VMs()); i++ {
		extra := byName[fmt.Sprintf("DC0_C1_RP0_VM%d", i)]
		if extra == nil {
			return fmt.Errorf("lab vCenter: no DC0_C1_RP0_VM%d in the simulator", i)
		}
		g.Go(func() error {
			for _, op := range []func(context.Context) (*object.Task, error){extra.PowerOff, extra.Destroy} {
				task, err := op(gctx)
				if err != nil {
					return err
				}
				if err := task.Wait(gctx); err != nil {
					return err
				}
			}
			return nil
		})
	}
	moved := map[string]*object.VirtualMachine{}
	for old, name := range names {
		vm := byName[old]
		if vm == nil {
			return fmt.Errorf("lab vCenter: no %s in the simulator", old)
		}
		g.Go(func() error { return rename(vm.Reference(), name) })
		if name != "mon-b-01" {
			moved[name] = vm
		}
	}
	if err := g.Wait(); err != nil {
		return err
	}
	if err := rename(dc.Reference(), labDatacenter); err != nil {
		return err
	}
	f.SetDatacenter(object.NewDatacenter(c, dc.Reference()))
	v.model.Map().Put(&labChecker{VmProvisioningChecker: v.model.Map().VmProvisioningChecker(), lab: l})
	hosts := map[string]*object.HostSystem{}
	for _, site := range siteHosts {
		for _, name := range site {
			h, err := f.HostSystem(ctx, name)
			if err != nil {
				return err
			}
			hosts[name] = h
		}
	}
	g, gctx = errgroup.WithContext(ctx)
	g.SetLimit(1)
	for i, name := range l.opts.VMs() {
		g.Go(func() error { return v.place(gctx, l, hosts, moved[name], name, i) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	if len(l.opts.Wave) == 0 {
		return nil
	}
	var tier []*object.VirtualMachine
	for _, name := range l.opts.VMs() {
		tier = append(tier, moved[name])
	}
	return v.appTier(ctx, c, f, tier)
}

// place puts a VM where it starts (a SITE-A host, the first VM on esx-a-01, or where a resumed run
// left it), gives it its guest's identity and makes its moves the lab's vMotions.
func (v *vcenter) place(ctx context.Context, l *Lab, hosts map[string]*object.HostSystem, vm *object.VirtualMachine, name string, i int) error {
	start := siteHosts[0][i%2]
	switch {
	case name == l.opts.VM && l.opts.VMHost != "":
		start = l.opts.VMHost
	case l.opts.VMHosts[name] != "":
		start = l.opts.VMHosts[name]
	}
	home, ok := hosts[start]
	if !ok {
		return fmt.Errorf("lab vCenter: no host %s to start %s on", start, name)
	}
	ref := home.Reference()
	task, err := vm.Relocate(ctx, types.VirtualMachineRelocateSpec{Host: &ref}, types.VirtualMachineMovePriorityDefaultPriority)
	if err != nil {
		return err
	}
	if err := task.Wait(ctx); err != nil {
		return err
	}
	obj := v.model.Map().Get(vm.Reference()).(*simulator.VirtualMachine)
	sctx := v.model.Service.Context
	ip := l.guestIP(name)
	sctx.WithLock(obj, func() {
		sctx.Update(obj, []types.PropertyChange{
			{Name: "guest.toolsRunningStatus", Val: string(types.VirtualMachineToolsRunningStatusGuestToolsRunning)},
			{Name: "guest.ipAddress", Val: ip},
			{Name: "guest.hostName", Val: name},
			{Name: "guest.net", Val: []types.GuestNicInfo{{Network: "VLAN200-stretched", IpAddress: []string{ip}, Connected: true}}},
		})
	})
	v.model.Map().Put(&labVM{VirtualMachine: obj, lab: l})
	if !strings.HasPrefix(start, "esx-a") {
		for _, h := range l.snapshotHosts() {
			if h.VM && h.vmName == name {
				h.SetZone("site-b")
			}
		}
	}
	return nil
}

// labVM is a VM the lab moves: its relocation takes a few seconds in vMotion's stages, reports
// progress, tells the lab where the VM went, and fails when the relocate-fails fault is on.
type labVM struct {
	*simulator.VirtualMachine
	lab *Lab
}

var vmotionStages = []struct {
	at    int32
	stage string
}{
	{5, "Preparing the destination host"},
	{15, "Copying memory (pre-copy, pass 1)"},
	{55, "Copying memory (pre-copy, pass 2)"},
	{80, "Copying changed memory"},
	{92, "Switching over to the destination"},
	{98, "Updating ARP on the stretched network"},
}

// RelocateVMTask runs the lab's vMotion.
func (vm *labVM) RelocateVMTask(ctx *simulator.Context, req *types.RelocateVM_Task) soap.HasFault {
	// vcsim holds a task's entity locked while the task runs, so nothing could read the VM during
	// a vMotion (where is it? is the task still running?), which vCenter answers. The task is made
	// on a lock of its own, under the VM's name.
	lock := types.ManagedObjectReference{Type: "VirtualMachine", Value: vm.Self.Value + "-vmotion"}
	toSiteB := false // the ping-loss faults strike the move to SITE-B; the way home loses the usual one
	name := vm.Name
	faults := vm.lab.faults.For(name)
	if req.Spec.Host != nil {
		if h, ok := ctx.Map.Get(*req.Spec.Host).(*simulator.HostSystem); ok {
			toSiteB = strings.HasPrefix(h.Name, "esx-b")
		}
	}
	task := simulator.CreateTask(lock, "relocateVm", func(t *simulator.Task) (types.AnyType, types.BaseMethodFault) {
		step := vm.lab.opts.RelocateTime / time.Duration(len(vmotionStages))
		for _, s := range vmotionStages {
			// The whole info changes at once, a copy: vcsim's property collector answers a filter on
			// "info" for a change of "info.progress" by reading the task's live info without its
			// lock (PropertyFilter.matches), which raced with a field written in place. A change
			// named "info" it passes on as given, and the copy is never written again.
			ctx.WithLock(t, func() {
				info := t.Info
				info.Description = &types.LocalizableMessage{Key: "vmotion", Message: s.stage}
				info.Progress = s.at
				ctx.Update(t, []types.PropertyChange{{Name: "info", Val: info}})
			})
			if s.at == 92 {
				vm.lab.switchover(name, toSiteB)
			}
			if s.at == vmotionStages[1].at && faults.PingLossEarly > 0 && toSiteB {
				vm.lab.dropPings(name, faults.PingLossEarly)
			}
			if s.at == vmotionStages[1].at && vm.lab.faults.SessionExpires {
				vm.lab.vc.endSessions(context.Background())
			}
			select {
			case <-time.After(step):
			case <-vm.lab.closing: // the lab is closing: the move stops where it is
				return nil, &types.TaskInProgress{}
			}
			cancelled := false
			ctx.WithLock(t, func() { cancelled = t.Info.Cancelled })
			if cancelled { // CancelTask: before the switch-over the VM stays where it was
				return nil, &types.RequestCanceled{}
			}
			if s.at >= 92 && faults.RelocateFails {
				return nil, &types.MigrationFault{VimFault: types.VimFault{MethodFault: types.MethodFault{FaultMessage: []types.LocalizableMessage{{
					Key: "com.vmware.vim.vmotion.switchover", Message: "The vMotion failed because the destination host did not receive data from the source host on the vMotion network.",
				}}}}}
			}
		}
		ctx.WithLock(vm, func() { vm.move(ctx, req.Spec) })
		return nil, nil
	})
	task.Info.EntityName = vm.Name // what govc's task list shows; set before the task's goroutine reads it
	return &methods.RelocateVM_TaskBody{Res: &types.RelocateVM_TaskResponse{Returnval: task.Run(ctx)}}
}

// move applies a relocation to the inventory and to the lab model.
func (vm *labVM) move(ctx *simulator.Context, spec types.VirtualMachineRelocateSpec) {
	var changes []types.PropertyChange
	if spec.Host != nil {
		if old := vm.Runtime.Host; old != nil {
			if h, ok := ctx.Map.Get(*old).(*simulator.HostSystem); ok {
				ctx.Map.RemoveReference(ctx, h, &h.Vm, vm.Self)
			}
		}
		if h, ok := ctx.Map.Get(*spec.Host).(*simulator.HostSystem); ok {
			ctx.Map.AddReference(ctx, h, &h.Vm, vm.Self)
		}
		changes = append(changes, types.PropertyChange{Name: "runtime.host", Val: spec.Host}, types.PropertyChange{Name: "summary.runtime.host", Val: spec.Host})
	}
	if spec.Pool != nil {
		changes = append(changes, types.PropertyChange{Name: "resourcePool", Val: spec.Pool})
	}
	if spec.Datastore != nil {
		changes = append(changes, types.PropertyChange{Name: "datastore", Val: []types.ManagedObjectReference{*spec.Datastore}})
	}
	ctx.Update(vm, changes)
	if spec.Host != nil {
		var h mo.HostSystem
		if obj, ok := ctx.Map.Get(*spec.Host).(*simulator.HostSystem); ok {
			h = obj.HostSystem
		}
		vm.lab.vmArrived(vm.Name, h.Name)
	}
}

// labChecker answers CheckRelocate as vCenter does (vcsim's answers nothing): the lab's pre-flight
// faults give a move to site B a warning or an error in vCenter's own words.
type labChecker struct {
	*simulator.VmProvisioningChecker
	lab *Lab
}

func (c *labChecker) CheckRelocateTask(ctx *simulator.Context, r *types.CheckRelocate_Task) soap.HasFault {
	task := simulator.CreateTask(c, "checkRelocate", func(*simulator.Task) (types.AnyType, types.BaseMethodFault) {
		res := types.CheckResult{Vm: &r.Vm, Host: r.Spec.Host}
		toSiteB := false
		var faults Faults
		if m, ok := ctx.Map.Get(r.Vm).(*labVM); ok {
			faults = c.lab.faults.For(m.Name)
		}
		if r.Spec.Host != nil {
			if h, ok := ctx.Map.Get(*r.Spec.Host).(*simulator.HostSystem); ok {
				toSiteB = strings.HasPrefix(h.Name, "esx-b")
			}
		}
		if toSiteB && faults.PreflightWarning {
			res.Warning = append(res.Warning, types.LocalizedMethodFault{
				Fault:            &types.CpuIncompatible{Level: 7, RegisterName: "ebx"},
				LocalizedMessage: "The target host does not support the virtual machine's current hardware requirements: CPUID level 0x7 register 'ebx' (AVX-512). Enable EVC on the target cluster, or power the VM off to move it.",
			})
		}
		if toSiteB && faults.PreflightError {
			res.Error = append(res.Error, types.LocalizedMethodFault{
				Fault:            &types.NetworkInaccessible{},
				LocalizedMessage: "Currently connected network interface 'Network adapter 1' uses network 'VLAN200-stretched', which is not accessible.",
			})
		}
		return types.ArrayOfCheckResult{CheckResult: []types.CheckResult{res}}, nil
	})
	return &methods.CheckRelocate_TaskBody{Res: &types.CheckRelocate_TaskResponse{Returnval: task.Run(ctx)}}
}
