package vsphere

import (
	"context"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vmware/govmomi/object"
	_ "github.com/vmware/govmomi/vapi/simulator" // the simulator's tag API (/rest, /api), as vCenter has it

	"github.com/cutover/cutover/checks"
	"github.com/cutover/cutover/internal/vcsimtest"
)

// govcFor builds govc (govmomi's own command line) and runs it against v.
func govcFor(t *testing.T, v *vcsimtest.VCenter) func(args ...string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "govc")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/cutover/cutover/internal/govc").CombinedOutput(); err != nil {
		t.Fatalf("build govc: %v\n%s", err, out)
	}
	env := append(os.Environ(), "GOVC_URL="+v.Host, "GOVC_USERNAME="+v.Username, "GOVC_PASSWORD="+v.Password, "GOVC_TLS_CA_CERTS="+v.CACerts)
	return func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("govc %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
}

// A wave's VMs from a folder or a tag are the VMs govc finds there: the same folder, its
// subfolders, the same tag; a tag on a host is not a VM; both given, the folder's tagged ones.
func TestFindVMsAsGovcFindsThem(t *testing.T) {
	v := vcsimtest.StartVMs(t, 1, 2, 2, 3)
	govc := govcFor(t, v)
	all := strings.Fields(govc("find", "/DC0/vm", "-type", "m"))
	if len(all) < 6 {
		t.Fatalf("the simulator has %d VMs: %v", len(all), all)
	}
	govc("tags.category.create", "tier")
	govc("tags.category.create", "backup")
	govc("tags.create", "-c", "tier", "app")
	govc("tags.create", "-c", "backup", "nightly")
	govc("tags.create", "-c", "tier", "shared")
	govc("tags.create", "-c", "backup", "shared")
	govc("tags.attach", "-c", "tier", "app", all[1])
	govc("tags.attach", "-c", "tier", "app", all[2])
	govc("tags.attach", "-c", "tier", "app", all[3])
	govc("tags.attach", "-c", "tier", "app", "/DC0/host/DC0_C0/DC0_C0_H0") // a host: not a wave's item
	govc("tags.attach", "-c", "backup", "nightly", all[3])
	govc("folder.create", "/DC0/vm/app-tier", "/DC0/vm/app-tier/db", "/DC0/vm/empty")
	govc("vm.power", "-off", all[5])
	govc("vm.markastemplate", all[5]) // a template in the folder: no wave moves it
	govc("object.mv", all[5], "/DC0/vm/app-tier")
	govc("object.mv", all[0], all[1], "/DC0/vm/app-tier")
	govc("object.mv", all[2], "/DC0/vm/app-tier/db")

	// What govc says: the VM names under a folder, or of the VMs a tag is on.
	found := func(args ...string) []string {
		var names []string
		for _, p := range strings.Fields(govc(append([]string{"find"}, append(args, "-type", "m", "-config.template", "false")...)...)) {
			names = append(names, path.Base(p))
		}
		slices.Sort(names)
		return names
	}
	tagged := func(tag string) []string {
		var names []string
		for _, ref := range strings.Fields(govc("tags.attached.ls", tag)) {
			if strings.HasPrefix(ref, "VirtualMachine:") {
				names = append(names, path.Base(strings.TrimSpace(govc("ls", "-L", ref))))
			}
		}
		slices.Sort(names)
		return names
	}
	both := func(a, b []string) []string {
		return slices.DeleteFunc(slices.Clone(a), func(s string) bool { return !slices.Contains(b, s) })
	}
	ctx := context.Background()
	c, err := Connect(ctx, Config{URL: v.Host, Username: v.Username, Password: v.Password, CACerts: v.CACerts})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		q    checks.VMQuery
		want []string
	}{
		{checks.VMQuery{Folder: "app-tier"}, found("/DC0/vm/app-tier", "-maxdepth", "1")},
		{checks.VMQuery{Folder: "/DC0/vm/app-tier"}, found("/DC0/vm/app-tier", "-maxdepth", "1")},
		{checks.VMQuery{Folder: "app-tier", Recursive: true}, found("/DC0/vm/app-tier")},
		{checks.VMQuery{Folder: "app-tier/db"}, found("/DC0/vm/app-tier/db")},
		{checks.VMQuery{Folder: "empty"}, nil},
		{checks.VMQuery{Tag: "app"}, tagged("app")},
		{checks.VMQuery{Tag: "nightly", Category: "backup"}, tagged("nightly")},
		{checks.VMQuery{Folder: "app-tier", Recursive: true, Tag: "app"}, both(found("/DC0/vm/app-tier"), tagged("app"))},
	} {
		t.Run(tc.q.String(), func(t *testing.T) {
			vms, err := c.FindVMs(ctx, tc.q)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, vm := range vms {
				got = append(got, vm.Name)
				if vm.Host == "" || vm.Cluster == "" || vm.PowerState == "" {
					t.Errorf("%s: no placement: %+v", vm.Name, vm)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("cutover lists %v, govc %v", got, tc.want)
			}
		})
	}
	if all, vms := strings.Fields(govc("find", "/DC0/vm/app-tier", "-type", "m", "-maxdepth", "1")), found("/DC0/vm/app-tier", "-maxdepth", "1"); len(all) != len(vms)+1 {
		t.Fatalf("the folder holds %v, its VMs but the template are %v: the template case tests nothing", all, vms)
	}
	if n := len(tagged("app")); n != 3 {
		t.Fatalf("govc lists %d VMs tagged app, the test attached it to 3", n)
	}
	for _, tc := range []struct {
		q    checks.VMQuery
		want string
	}{
		{checks.VMQuery{Folder: "no-such-folder"}, "vCenter folder no-such-folder: folder '/DC0/vm/no-such-folder' not found"},
		{checks.VMQuery{Tag: "no-such-tag"}, "vCenter tag no-such-tag"},
		{checks.VMQuery{Tag: "shared"}, "2 categories have a tag of that name: give its category"},
		{checks.VMQuery{Tag: "app", Category: "backup"}, "vCenter tag backup/app"},
		{checks.VMQuery{}, "name a folder or a tag"},
	} {
		if _, err := c.FindVMs(ctx, tc.q); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q in it", tc.q, err, tc.want)
		}
	}
	if _, err := c.FindVMs(ctx, checks.VMQuery{Tag: "shared", Category: "tier"}); err != nil {
		t.Errorf("a shared tag name with its category: %v", err)
	}
}

// A VM found by name is remembered, but a name always means the VM that bears it now: after two
// VMs swap names, each name finds the other object, and a gone one is looked up anew.
func TestVMNameFollowsRenames(t *testing.T) {
	v := vcsimtest.StartVMs(t, 1, 1, 1, 2)
	ctx := context.Background()
	c, err := Connect(ctx, Config{URL: v.Host, Username: v.Username, Password: v.Password, CACerts: v.CACerts})
	if err != nil {
		t.Fatal(err)
	}
	a, err := c.vm(ctx, "DC0_C0_RP0_VM0")
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.vm(ctx, "DC0_C0_RP0_VM1")
	if err != nil {
		t.Fatal(err)
	}
	rename := func(vm *object.VirtualMachine, name string) {
		t.Helper()
		task, err := vm.Rename(ctx, name)
		if err == nil {
			err = task.Wait(ctx)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	rename(a, "swap")
	rename(b, "DC0_C0_RP0_VM0")
	rename(a, "DC0_C0_RP0_VM1")
	if got, err := c.vm(ctx, "DC0_C0_RP0_VM0"); err != nil || got.Reference() != b.Reference() {
		t.Errorf("DC0_C0_RP0_VM0 finds %v (%v), want %v", got, err, b.Reference())
	}
	if got, err := c.vm(ctx, "DC0_C0_RP0_VM1"); err != nil || got.Reference() != a.Reference() {
		t.Errorf("DC0_C0_RP0_VM1 finds %v (%v), want %v", got, err, a.Reference())
	}
	task, err := b.PowerOff(ctx)
	if err == nil {
		task.Wait(ctx)
		task, err = b.Destroy(ctx)
	}
	if err == nil {
		err = task.Wait(ctx)
	}
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.vm(ctx, "DC0_C0_RP0_VM0"); err == nil || !strings.Contains(err.Error(), `no such VM "DC0_C0_RP0_VM0"`) {
		t.Errorf("a destroyed VM's name: %v", err)
	}
}
