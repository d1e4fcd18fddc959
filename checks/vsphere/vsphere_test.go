package vsphere

import (
	"context"
	"strings"
	"testing"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/cutover/cutover/checks"
	"github.com/cutover/cutover/internal/vcsimtest"
)

// vcsim starts govmomi's simulator with two clusters of two hosts, one VM each.
func vcsim(t *testing.T) (*simulator.Model, *simulator.Server, Config) {
	t.Helper()
	v := vcsimtest.Start(t, 1, 2, 2)
	return v.Model, v.Server, Config{URL: v.Host, Username: v.Username, Password: v.Password, CACerts: v.CACerts}
}

func TestConnectVerifiesCertificates(t *testing.T) {
	_, _, cfg := vcsim(t)
	ctx := context.Background()
	noCA := cfg
	noCA.CACerts = ""
	_, err := Connect(ctx, noCA)
	if err == nil || !strings.Contains(err.Error(), "GOVC_TLS_CA_CERTS") || !strings.Contains(err.Error(), "GOVC_INSECURE=1") {
		t.Errorf("self-signed without a CA: %v", err)
	}
	insecure := noCA
	insecure.Insecure = true
	if _, err := Connect(ctx, insecure); err != nil {
		t.Errorf("GOVC_INSECURE: %v", err)
	}
	if _, err := Connect(ctx, cfg); err != nil {
		t.Errorf("trusted CA: %v", err)
	}
	bad := cfg
	bad.Password = "wrong"
	if _, err := Connect(ctx, bad); err == nil || !strings.Contains(err.Error(), "login as "+cfg.Username+" failed") {
		t.Errorf("bad password: %v", err)
	}
	if _, err := ConfigFromEnv(func(string) string { return "" }); err != ErrNoVCenter {
		t.Errorf("no GOVC_URL: %v", err)
	}
}

func TestLocateMoveAndState(t *testing.T) {
	_, _, cfg := vcsim(t)
	ctx := context.Background()
	c, err := Connect(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.Locate(ctx, "DC0_C0_RP0_VM0")
	if err != nil || !strings.HasPrefix(p.Host, "DC0_C0_H") || p.Cluster != "DC0_C0" || p.Pool != "Resources" || p.Datastore != "LocalDS_0" {
		t.Fatalf("placement %+v %v", p, err)
	}
	if _, err := c.Locate(ctx, "DC0_C0_RP0_VM9"); err == nil || !strings.Contains(err.Error(), `no such VM "DC0_C0_RP0_VM9" (did you mean DC0_C0_RP0_VM0, DC0_C1_RP0_VM0?)`) {
		t.Errorf("unknown VM: %v", err)
	}
	move := checks.Move{VM: "DC0_C0_RP0_VM0", Host: "DC0_C1_H1"}
	if _, _, err := c.Preflight(ctx, checks.Move{VM: move.VM, Host: "esx-z-99"}); err == nil || !strings.Contains(err.Error(), `no such host "esx-z-99"`) {
		t.Errorf("unknown host: %v", err)
	}
	w, e, err := c.Preflight(ctx, move)
	if err != nil || len(w)+len(e) != 0 {
		t.Fatalf("preflight %v %v %v", w, e, err)
	}
	var reports []checks.MoveProgress
	if err := c.Relocate(ctx, move, func(p checks.MoveProgress) { reports = append(reports, p) }); err != nil {
		t.Fatal(err)
	}
	if len(reports) == 0 || reports[len(reports)-1].Percent != 100 {
		t.Errorf("progress %+v", reports)
	}
	st, err := c.VMState(ctx, move.VM)
	if err != nil || st.Host != "DC0_C1_H1" || st.Cluster != "DC0_C1" || st.PowerState != "poweredOn" {
		t.Fatalf("after the move: %+v %v", st, err)
	}
	env := checks.Env{Inventory: c}
	for _, tc := range []struct {
		check checks.Check
		want  checks.Outcome
	}{
		{checks.VMOnHost{VM: move.VM, Host: "DC0_C1_H1"}, checks.Pass},
		{checks.VMOnHost{VM: move.VM, Host: "DC0_C0_H0"}, checks.Fail},
		{checks.VMPoweredOn{VM: move.VM}, checks.Pass},
		{checks.VMOnHost{VM: "nope", Host: "DC0_C0_H0"}, checks.Inconclusive},
	} {
		if r := tc.check.Run(ctx, env); r.Outcome != tc.want {
			t.Errorf("%T: %s %q", tc.check, r.Outcome, r.Summary)
		}
	}
	if r := (checks.VMOnHost{VM: move.VM, Host: "x"}).Run(ctx, checks.Env{}); r.Outcome != checks.Inconclusive || !strings.Contains(r.Summary, "GOVC_URL") {
		t.Errorf("no vCenter: %+v", r)
	}
}

// failingVM makes every relocation task fail the way a real vMotion can.
type failingVM struct {
	*simulator.VirtualMachine
}

func (vm *failingVM) RelocateVMTask(ctx *simulator.Context, req *types.RelocateVM_Task) soap.HasFault {
	task := simulator.CreateTask(vm, "relocateVm", func(*simulator.Task) (types.AnyType, types.BaseMethodFault) {
		return nil, &types.MigrationFault{}
	})
	return &methods.RelocateVM_TaskBody{Res: &types.RelocateVM_TaskResponse{Returnval: task.Run(ctx)}}
}

func TestRelocateTaskFailureCarriesTheFault(t *testing.T) {
	m, _, cfg := vcsim(t)
	ctx := context.Background()
	obj := m.Map().Any("VirtualMachine").(*simulator.VirtualMachine)
	m.Map().Put(&failingVM{obj})
	c, err := Connect(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := c.Locate(ctx, obj.Name)
	err = c.Relocate(ctx, checks.Move{VM: obj.Name, Host: "DC0_C1_H0"}, nil)
	if err == nil || !strings.Contains(err.Error(), "failed: MigrationFault") {
		t.Fatalf("err = %v", err)
	}
	after, _ := c.Locate(ctx, obj.Name)
	if after.Host != before.Host {
		t.Errorf("a failed task moved the VM: %s → %s", before.Host, after.Host)
	}
}

// A move across clusters and back by the origin's references: every cluster's root pool is named
// "Resources", so the name cannot say which; the reference can. A name that matches several
// objects is refused with their paths.
func TestMoveBackAcrossClustersByReference(t *testing.T) {
	_, _, cfg := vcsim(t)
	ctx := context.Background()
	c, err := Connect(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	const vm = "DC0_C0_RP0_VM0"
	origin, err := c.Locate(ctx, vm)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(origin.HostRef, "HostSystem:") || !strings.HasPrefix(origin.PoolRef, "ResourcePool:") || !strings.HasPrefix(origin.DatastoreRef, "Datastore:") ||
		origin.PoolPath != "/DC0/host/DC0_C0/Resources" || origin.HostPath != "/DC0/host/DC0_C0/"+origin.Host || origin.DatastorePath != "/DC0/datastore/LocalDS_0" {
		t.Fatalf("origin %+v", origin)
	}
	if err := c.Relocate(ctx, checks.Move{VM: vm, Host: "DC0_C1_H0"}, nil); err != nil {
		t.Fatal(err)
	}
	moved, _ := c.Locate(ctx, vm)
	if moved.Cluster != "DC0_C1" || moved.Pool != "Resources" || moved.PoolRef == origin.PoolRef {
		t.Fatalf("after the move %+v", moved)
	}
	// By name the pool is ambiguous: refused, naming both.
	_, _, err = c.Preflight(ctx, checks.Move{VM: vm, Host: origin.Host, Pool: origin.Pool})
	if err == nil || !strings.Contains(err.Error(), `resource pool "Resources" is ambiguous: it names /DC0/host/DC0_C0/Resources, /DC0/host/DC0_C1/Resources`) {
		t.Errorf("by name: %v", err)
	}
	back := checks.Move{VM: vm, Host: origin.HostRef, Pool: origin.PoolRef, Datastore: origin.DatastoreRef}
	if _, _, err := c.Preflight(ctx, back); err != nil {
		t.Fatalf("preflight by reference: %v", err)
	}
	if err := c.Relocate(ctx, back, nil); err != nil {
		t.Fatalf("back by reference: %v", err)
	}
	home, _ := c.Locate(ctx, vm)
	if home.HostRef != origin.HostRef || home.PoolRef != origin.PoolRef || home.DatastoreRef != origin.DatastoreRef {
		t.Errorf("back home %+v, origin %+v", home, origin)
	}
	// vm_on_host takes the reference a rollback gives it.
	if r := (checks.VMOnHost{VM: vm, Host: origin.HostRef}).Run(ctx, checks.Env{Inventory: c}); r.Outcome != checks.Pass || !strings.Contains(r.Summary, origin.HostRef) {
		t.Errorf("vm_on_host by reference: %s %q", r.Outcome, r.Summary)
	}
	// A reference of another kind, or to nothing, is refused; a name with a colon stays a name.
	if _, _, err := c.Preflight(ctx, checks.Move{VM: vm, Host: "HostSystem:host-999999"}); err == nil || !strings.Contains(err.Error(), "no such HostSystem in this vCenter") {
		t.Errorf("dangling reference: %v", err)
	}
	if _, _, err := c.Preflight(ctx, checks.Move{VM: vm, Host: origin.PoolRef}); err == nil || !strings.Contains(err.Error(), "no such host") {
		t.Errorf("a pool's reference as the host: %v", err)
	}
}

// Equal datastore names in two datacenters: the client works in GOVC_DATACENTER's, and the
// origin's reference and path say which one.
func TestEqualNamesInTwoDatacenters(t *testing.T) {
	v := vcsimtest.Start(t, 2, 1, 2)
	ctx := context.Background()
	refs := map[string]string{}
	for _, dc := range []string{"DC0", "DC1"} {
		c, err := Connect(ctx, Config{URL: v.Host, Username: v.Username, Password: v.Password, CACerts: v.CACerts, Datacenter: dc})
		if err != nil {
			t.Fatal(err)
		}
		p, err := c.Locate(ctx, dc+"_C0_RP0_VM0")
		if err != nil || p.Datastore != "LocalDS_0" || p.DatastorePath != "/"+dc+"/datastore/LocalDS_0" {
			t.Fatalf("%s: %+v %v", dc, p, err)
		}
		refs[dc] = p.DatastoreRef
		other := dc + "_C0_H1"
		if err := c.Relocate(ctx, checks.Move{VM: dc + "_C0_RP0_VM0", Host: other, Datastore: p.DatastoreRef}, nil); err != nil {
			t.Fatalf("%s: move within the datacenter by datastore reference: %v", dc, err)
		}
	}
	if refs["DC0"] == refs["DC1"] {
		t.Errorf("two datastores named LocalDS_0 share the reference %s", refs["DC0"])
	}
}

// A malformed GOVC_URL with a password in it (govc accepts one there) is not echoed: Go's own URL
// error quotes the value.
func TestMalformedURLKeepsItsPassword(t *testing.T) {
	for _, raw := range []string{"https://admin:S3cr3t%zz@vc.example/sdk", "https://admin:S3cr3t@vc example/sdk", "admin:S3cr3t%@vc.example"} {
		_, err := Connect(context.Background(), Config{URL: raw})
		if err == nil || strings.Contains(err.Error(), "S3cr3t") || !strings.Contains(err.Error(), "GOVC_URL is not a valid URL") {
			t.Errorf("%s: %v", raw, err)
		}
	}
}
