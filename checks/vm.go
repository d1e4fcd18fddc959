package checks

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// VMState is what vCenter says about a VM.
type VMState struct {
	Name       string
	Host       string   // the ESXi host it runs on
	HostRef    string   // that host's managed object reference, Type:value (HostSystem:host-21)
	Cluster    string   // that host's cluster (the site)
	PowerState string   // poweredOn, poweredOff, suspended
	Tools      string   // guestToolsRunning, guestToolsNotRunning, ...
	IP         string   // the guest's primary address, as VMware Tools reports it
	IPs        []string // every guest address
}

// Placement is where a VM lives: what a migration changes and a rollback restores. Names are for
// people; the references (Type:value, as govc writes them: HostSystem:host-21) are what a rollback
// moves by, since names repeat across clusters and datacenters (every cluster's root pool is
// "Resources"). Paths are the full inventory paths.
type Placement struct {
	Host, Cluster, Pool, Datastore                 string
	HostRef, ClusterRef, PoolRef, DatastoreRef     string
	HostPath, ClusterPath, PoolPath, DatastorePath string
}

// Move is one migration request. Host, Pool and Datastore each name the object, give its
// inventory path, or its reference (Type:value). Empty fields stay as they are.
type Move struct {
	VM, Host, Pool, Datastore string
	Priority                  string // defaultPriority, highPriority, lowPriority
}

// MoveProgress is one progress report of a running migration.
type MoveProgress struct {
	Task    string // vCenter's task moving the VM, e.g. task-74
	Percent int
	Stage   string
	Elapsed time.Duration
}

// TaskStatus is where a vCenter task is: queued, running, success or error.
type TaskStatus struct {
	State   string
	Percent int
	Error   string
}

// VMQuery selects VMs in vCenter: those of a folder (and its subfolders, with Recursive), those
// with a tag, or with both given those of the folder that carry the tag.
type VMQuery struct {
	Folder    string // an inventory path: absolute (/DC/vm/app) or under the datacenter's VM folder
	Recursive bool
	Tag       string
	Category  string // the tag's category, when the tag's name is not unique
}

func (q VMQuery) String() string {
	var parts []string
	if q.Folder != "" {
		parts = append(parts, "folder "+q.Folder)
		if q.Recursive {
			parts[0] += " (and its subfolders)"
		}
	}
	if q.Tag != "" {
		t := "tag " + q.Tag
		if q.Category != "" {
			t = "tag " + q.Category + "/" + q.Tag
		}
		parts = append(parts, t)
	}
	return "vCenter " + strings.Join(parts, " with ")
}

// VMFinder lists the VMs a query selects, sorted by name: a wave's items.
type VMFinder interface {
	FindVMs(ctx context.Context, q VMQuery) ([]VMState, error)
}

// Inventory reads VM state from vCenter.
type Inventory interface {
	VMState(ctx context.Context, vm string) (VMState, error)
}

// Migrator moves VMs: where a VM is, whether a move would work, and the move itself.
type Migrator interface {
	Inventory
	Locate(ctx context.Context, vm string) (Placement, error)
	Preflight(ctx context.Context, m Move) (warnings, errs []string, err error)
	Relocate(ctx context.Context, m Move, progress func(MoveProgress)) error
	// TaskStatus asks where a task is (after an interrupted wait, the move may go on in vCenter).
	TaskStatus(ctx context.Context, task string) (TaskStatus, error)
	// CancelTask asks vCenter to cancel a task (a vMotion whose gate broke before switch-over).
	CancelTask(ctx context.Context, task string) error
}

// vmCheck reads a VM's state and judges it.
func vmCheck(ctx context.Context, env Env, vm string, judge func(VMState) Result) Result {
	if env.Inventory == nil {
		return inconclusive("no vCenter connection: set GOVC_URL (or run the lab)")
	}
	st, err := env.Inventory.VMState(ctx, vm)
	if err != nil {
		return inconclusive(err.Error())
	}
	r := judge(st)
	r.Evidence = append(r.Evidence, fmt.Sprintf("vCenter: %s on %s (%s), %s, tools %s, IP %s", st.Name, st.Host, st.Cluster, st.PowerState, st.Tools, orNone(st.IP)))
	return r
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// VMOnHost passes when the VM runs on the given host.
type VMOnHost struct{ VM, Host string }

// Run asks vCenter.
func (c VMOnHost) Run(ctx context.Context, env Env) Result {
	return vmCheck(ctx, env, c.VM, func(st VMState) Result {
		// The host as the runbook gives it: a name, or a reference ({{ .origin_host }}).
		if st.Host == c.Host || (st.HostRef != "" && st.HostRef == c.Host) {
			return pass(fmt.Sprintf("%s runs on %s", c.VM, hostWithRef(st)))
		}
		return fail(fmt.Sprintf("%s runs on %s, not %s", c.VM, hostWithRef(st), c.Host))
	})
}

func hostWithRef(st VMState) string {
	if st.HostRef == "" {
		return st.Host
	}
	return st.Host + " (" + st.HostRef + ")"
}

// VMPoweredOn passes when the VM is powered on.
type VMPoweredOn struct{ VM string }

// Run asks vCenter.
func (c VMPoweredOn) Run(ctx context.Context, env Env) Result {
	return vmCheck(ctx, env, c.VM, func(st VMState) Result {
		if st.PowerState == "poweredOn" {
			return pass(c.VM + " is powered on")
		}
		return fail(fmt.Sprintf("%s is %s", c.VM, st.PowerState))
	})
}

// VMToolsRunning passes when VMware Tools run in the guest (needed for guest IP and clean moves).
type VMToolsRunning struct{ VM string }

// Run asks vCenter.
func (c VMToolsRunning) Run(ctx context.Context, env Env) Result {
	return vmCheck(ctx, env, c.VM, func(st VMState) Result {
		if st.Tools == "guestToolsRunning" {
			return pass("VMware Tools running in " + c.VM)
		}
		return fail(fmt.Sprintf("VMware Tools in %s: %s", c.VM, st.Tools))
	})
}

// VMIP passes when the guest reports an IP address, and the expected one if given: on a stretched
// network the VM keeps its address across sites.
type VMIP struct{ VM, Expect string }

// Run asks vCenter.
func (c VMIP) Run(ctx context.Context, env Env) Result {
	return vmCheck(ctx, env, c.VM, func(st VMState) Result {
		switch {
		case st.IP == "" && len(st.IPs) == 0:
			return inconclusive(c.VM + " reports no guest IP (are VMware Tools running?)")
		case c.Expect == "":
			return pass(fmt.Sprintf("%s has IP %s", c.VM, st.IP))
		case st.IP == c.Expect || slices.Contains(st.IPs, c.Expect):
			return pass(fmt.Sprintf("%s kept IP %s", c.VM, c.Expect))
		}
		return fail(fmt.Sprintf("%s has IP %s, want %s", c.VM, strings.Join(append([]string{st.IP}, st.IPs...), ", "), c.Expect))
	})
}
