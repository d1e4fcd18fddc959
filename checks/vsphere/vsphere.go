// Package vsphere moves VMs and reads their state through the vSphere API (govmomi), against a
// real vCenter or govmomi's simulator. It knows nothing of runbooks or the UI.
package vsphere

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/cutover/cutover/checks"
	"github.com/cutover/cutover/internal/editdist"
)

// Config is how to reach vCenter, read like govc reads it.
type Config struct {
	URL        string // GOVC_URL: host, or https://host/sdk
	Username   string // GOVC_USERNAME
	Password   string // GOVC_PASSWORD: a secret, never journaled
	Insecure   bool   // GOVC_INSECURE: skip certificate verification
	CACerts    string // GOVC_TLS_CA_CERTS: PEM files (colon-separated) to trust
	Datacenter string // GOVC_DATACENTER

	// OnRelogin, if set, hears each time an expired session is replaced (err nil) or cannot be.
	OnRelogin func(err error)
}

// ErrNoVCenter means GOVC_URL is not set.
var ErrNoVCenter = errors.New("no vCenter: set GOVC_URL (and GOVC_USERNAME, GOVC_PASSWORD)")

// ConfigFromEnv reads the GOVC_* variables.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	c := Config{
		URL: getenv("GOVC_URL"), Username: getenv("GOVC_USERNAME"), Password: getenv("GOVC_PASSWORD"),
		CACerts: getenv("GOVC_TLS_CA_CERTS"), Datacenter: getenv("GOVC_DATACENTER"),
	}
	if c.URL == "" {
		return c, ErrNoVCenter
	}
	if v := getenv("GOVC_INSECURE"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return c, fmt.Errorf("GOVC_INSECURE=%q: want true or false", v)
		}
		c.Insecure = b
	}
	return c, nil
}

// Client is a logged-in vCenter session scoped to one datacenter.
type Client struct {
	vc      *vim25.Client
	host    string
	dcPath  string   // the datacenter's inventory path: relative folders are under it
	relogin *relogin // nil without credentials

	// finder caches the datacenter's folders without locking: one lookup at a time (checks of a
	// gate run concurrently).
	findMu sync.Mutex
	finder *find.Finder

	// vms remembers which object a VM name found, so that a wave's hundreds of moves and checks
	// do not walk the inventory at every call; each use checks the object still has the name.
	vmsMu sync.Mutex
	vms   map[string]types.ManagedObjectReference
}

// find1 runs one inventory lookup with the finder to itself.
func find1[T any](c *Client, lookup func(*find.Finder) (T, error)) (T, error) {
	c.findMu.Lock()
	defer c.findMu.Unlock()
	return lookup(c.finder)
}

var _ checks.Migrator = (*Client)(nil)

// Connect logs in. Certificates are verified unless Insecure is set; a certificate that does not
// verify gets an error that says which variable fixes it.
func Connect(ctx context.Context, cfg Config) (*Client, error) {
	u, err := soap.ParseURL(cfg.URL)
	if err != nil {
		if strings.Contains(cfg.URL, "@") {
			// The value, and Go's error that quotes it, may hold the password: neither is shown.
			return nil, errors.New("GOVC_URL is not a valid URL (not shown: it holds credentials); write it as https://HOST/sdk with GOVC_USERNAME and GOVC_PASSWORD, or %-escape the password's special characters")
		}
		return nil, fmt.Errorf("GOVC_URL %q: %w", cfg.URL, err)
	}
	if cfg.Username != "" {
		u.User = url.UserPassword(cfg.Username, cfg.Password)
	}
	sc := soap.NewClient(u, cfg.Insecure)
	// A wave's moves and checks call vCenter at once: keep their connections instead of a new TLS
	// handshake for every call past Go's default of two idle ones.
	sc.DefaultTransport().MaxIdleConnsPerHost = 64
	if cfg.CACerts != "" {
		if err := sc.SetRootCAs(cfg.CACerts); err != nil {
			return nil, fmt.Errorf("GOVC_TLS_CA_CERTS: %w", err)
		}
	}
	vc, err := vim25.NewClient(ctx, sc)
	if err != nil {
		return nil, explainTLS(u.Host, err)
	}
	var rl *relogin
	if u.User != nil {
		if err := session.NewManager(vc).Login(ctx, u.User); err != nil {
			return nil, fmt.Errorf("vCenter %s: login as %s failed: %w", u.Host, u.User.Username(), err)
		}
		direct := *vc
		rl = &relogin{next: vc.RoundTripper, vc: &direct, user: u.User, onRelogin: cfg.OnRelogin}
		vc.RoundTripper = rl
	}
	f := find.NewFinder(vc, true)
	var dc *object.Datacenter
	if cfg.Datacenter != "" {
		dc, err = f.Datacenter(ctx, cfg.Datacenter)
	} else {
		dc, err = f.DefaultDatacenter(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("vCenter %s: datacenter: %w (set GOVC_DATACENTER)", u.Host, err)
	}
	f.SetDatacenter(dc)
	return &Client{vc: vc, finder: f, host: u.Host, relogin: rl, dcPath: dc.InventoryPath}, nil
}

// explainTLS turns certificate errors into what to do about them.
func explainTLS(host string, err error) error {
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var cv *tls.CertificateVerificationError
	switch {
	case errors.As(err, &ua), errors.As(err, &cv):
		return fmt.Errorf("vCenter %s presents a certificate no trusted CA signed (self-signed?): set GOVC_TLS_CA_CERTS to its CA's PEM file, or GOVC_INSECURE=1 to skip verification: %w", host, err)
	case errors.As(err, &hn):
		return fmt.Errorf("vCenter %s: the certificate is for another name: use that name in GOVC_URL: %w", host, err)
	}
	return fmt.Errorf("vCenter %s: %w", host, err)
}

// named is an inventory object with a name (VMs, hosts).
type named interface{ Name() string }

// lookup finds one object by name (or inventory path); when there is none, the error lists near
// matches among all objects of the kind.
func lookup[T named](c *Client, kind, name string, one func(*find.Finder) (T, error), all func(*find.Finder) ([]T, error)) (T, error) {
	obj, err := find1(c, one)
	if err == nil {
		return obj, nil
	}
	var nf *find.NotFoundError
	if !errors.As(err, &nf) {
		return obj, fmt.Errorf("find %s %s: %w", kind, name, err)
	}
	var names []string
	if list, err := find1(c, all); err == nil {
		for _, o := range list {
			names = append(names, o.Name())
		}
	}
	return obj, fmt.Errorf("no such %s %q%s", kind, name, near(name, names))
}

// vm finds a VM by name (or inventory path), listing near matches when there is none. The object a
// plain name found is remembered and used again while it still bears that name (one property
// read instead of an inventory walk); renamed, gone or never found, the name is looked up anew.
func (c *Client) vm(ctx context.Context, name string) (*object.VirtualMachine, error) {
	c.vmsMu.Lock()
	ref, ok := c.vms[name]
	c.vmsMu.Unlock()
	if ok {
		var e mo.ManagedEntity
		if err := property.DefaultCollector(c.vc).RetrieveOne(ctx, ref, []string{"name"}, &e); err == nil && e.Name == name {
			return object.NewVirtualMachine(c.vc, ref), nil
		}
	}
	vm, err := lookup(c, "VM", name,
		func(f *find.Finder) (*object.VirtualMachine, error) { return f.VirtualMachine(ctx, name) },
		func(f *find.Finder) ([]*object.VirtualMachine, error) { return f.VirtualMachineList(ctx, "*") })
	if err == nil && !strings.Contains(name, "/") {
		c.vmsMu.Lock()
		if c.vms == nil {
			c.vms = map[string]types.ManagedObjectReference{}
		}
		c.vms[name] = vm.Reference()
		c.vmsMu.Unlock()
	}
	return vm, err
}

func (c *Client) hostSystem(ctx context.Context, name string) (*object.HostSystem, error) {
	return lookup(c, "host", name,
		func(f *find.Finder) (*object.HostSystem, error) { return f.HostSystem(ctx, name) },
		func(f *find.Finder) ([]*object.HostSystem, error) { return f.HostSystemList(ctx, "*") })
}

// near lists the candidates that look like a typo of name.
func near(name string, candidates []string) string {
	var out []string
	for _, c := range candidates {
		if strings.Contains(strings.ToLower(c), strings.ToLower(name)) || strings.Contains(strings.ToLower(name), strings.ToLower(c)) || editdist.Levenshtein(strings.ToLower(name), strings.ToLower(c)) <= 3 {
			out = append(out, c)
		}
	}
	slices.Sort(out)
	if len(out) > 5 {
		out = out[:5]
	}
	if len(out) == 0 {
		if len(candidates) == 0 {
			return ""
		}
		return fmt.Sprintf(" (%d others exist)", len(candidates))
	}
	return " (did you mean " + strings.Join(out, ", ") + "?)"
}

// name reads an object's name.
func (c *Client) name(ctx context.Context, ref types.ManagedObjectReference) string {
	var e mo.ManagedEntity
	if err := property.DefaultCollector(c.vc).RetrieveOne(ctx, ref, []string{"name"}, &e); err != nil {
		return ref.Value
	}
	return e.Name
}

// clusterOf names the compute resource (cluster) a host belongs to.
func (c *Client) clusterOf(ctx context.Context, host types.ManagedObjectReference) (types.ManagedObjectReference, string) {
	var h mo.HostSystem
	if err := property.DefaultCollector(c.vc).RetrieveOne(ctx, host, []string{"parent"}, &h); err != nil || h.Parent == nil {
		return types.ManagedObjectReference{}, ""
	}
	return *h.Parent, c.name(ctx, *h.Parent)
}

// Locate says where a VM lives now: names, references and inventory paths.
func (c *Client) Locate(ctx context.Context, vmName string) (checks.Placement, error) {
	vm, err := c.vm(ctx, vmName)
	if err != nil {
		return checks.Placement{}, err
	}
	var o mo.VirtualMachine
	if err := vm.Properties(ctx, vm.Reference(), []string{"runtime.host", "resourcePool", "datastore"}, &o); err != nil {
		return checks.Placement{}, fmt.Errorf("read VM %s: %w", vmName, err)
	}
	var p checks.Placement
	if o.Runtime.Host != nil {
		p.Host, p.HostRef, p.HostPath = c.identity(ctx, *o.Runtime.Host)
		if cl, _ := c.clusterOf(ctx, *o.Runtime.Host); cl.Value != "" {
			p.Cluster, p.ClusterRef, p.ClusterPath = c.identity(ctx, cl)
		}
	}
	if o.ResourcePool != nil {
		p.Pool, p.PoolRef, p.PoolPath = c.identity(ctx, *o.ResourcePool)
	}
	if len(o.Datastore) > 0 {
		p.Datastore, p.DatastoreRef, p.DatastorePath = c.identity(ctx, o.Datastore[0])
	}
	return p, nil
}

// identity is an object's name, reference (Type:value) and inventory path.
func (c *Client) identity(ctx context.Context, ref types.ManagedObjectReference) (name, moref, path string) {
	path, _ = find.InventoryPath(ctx, c.vc, ref)
	return c.name(ctx, ref), ref.String(), path
}

// byRef reads s as a managed object reference of kind (HostSystem:host-21), as Locate records
// them and govc writes them. ok is false when s is not one (a name or a path).
func (c *Client) byRef(ctx context.Context, kind, s string) (ref types.ManagedObjectReference, ok bool, err error) {
	if !ref.FromString(s) || ref.Type != kind {
		return ref, false, nil
	}
	var e mo.ManagedEntity
	if err := property.DefaultCollector(c.vc).RetrieveOne(ctx, ref, []string{"name"}, &e); err != nil {
		return ref, true, fmt.Errorf("%s: no such %s in this vCenter: %w", s, kind, err)
	}
	return ref, true, nil
}

// findOne finds one object by name or path. A name that matches several is refused with their
// paths, so that the runbook can say which.
func findOne[T any](c *Client, kind, name string, one func(*find.Finder) (T, error), all func(*find.Finder) ([]T, error), path func(T) string) (T, error) {
	obj, err := find1(c, one)
	var many *find.MultipleFoundError
	if errors.As(err, &many) {
		list, _ := find1(c, all)
		var paths []string
		for _, o := range list {
			paths = append(paths, path(o))
		}
		slices.Sort(paths)
		return obj, fmt.Errorf("%s %q is ambiguous: it names %s; give the path or the reference (Type:value)", kind, name, strings.Join(paths, ", "))
	}
	if err != nil {
		return obj, fmt.Errorf("%s %s: %w", kind, name, err)
	}
	return obj, nil
}

// VMState reads what the vm_* checks judge.
func (c *Client) VMState(ctx context.Context, vmName string) (checks.VMState, error) {
	vm, err := c.vm(ctx, vmName)
	if err != nil {
		return checks.VMState{}, err
	}
	var o mo.VirtualMachine
	if err := vm.Properties(ctx, vm.Reference(), []string{"name", "runtime.host", "runtime.powerState", "guest.toolsRunningStatus", "guest.ipAddress", "guest.net"}, &o); err != nil {
		return checks.VMState{}, fmt.Errorf("read VM %s: %w", vmName, err)
	}
	st := checks.VMState{Name: o.Name, PowerState: string(o.Runtime.PowerState)}
	if o.Runtime.Host != nil {
		st.Host, st.HostRef = c.name(ctx, *o.Runtime.Host), o.Runtime.Host.String()
		_, st.Cluster = c.clusterOf(ctx, *o.Runtime.Host)
	}
	if g := o.Guest; g != nil {
		st.Tools, st.IP = g.ToolsRunningStatus, g.IpAddress
		for _, n := range g.Net {
			st.IPs = append(st.IPs, n.IpAddress...)
		}
	}
	return st, nil
}

// Host is the vCenter address, for messages.
func (c *Client) Host() string { return c.host }
