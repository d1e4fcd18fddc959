package runbook

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/cutover/cutover/checks"
)

// ItemsFrom finds a wave's VMs when the run starts, in vCenter or NetBox. What it found is
// journaled with the run's start, and a resumed run moves those VMs, not what a new query finds.
type ItemsFrom struct {
	VCenter *VCenterItems `yaml:"vcenter" desc:"the VMs of a vCenter folder, or those with a tag, or both (the folder's tagged ones); each item has vm, address (the guest IP VMware Tools report) and cluster"`
	NetBox  *NetBoxItems  `yaml:"netbox" desc:"the VMs NetBox lists for a cluster, site, role or tag (every one given must hold); each item has vm, address (its primary IP), cluster and site"`
	Guest   string        `yaml:"guest" desc:"what host: vm dials: name (default: the VM's name, through ssh_config and known_hosts as ssh would) or address (the address the source gives)"`
	Pos     Pos           `yaml:"-"`
}

// VCenterItems selects VMs in vCenter.
type VCenterItems struct {
	Folder    string `yaml:"folder" desc:"an inventory folder: absolute (/DC/vm/app-tier) or under the datacenter's VM folder (app-tier)"`
	Recursive bool   `yaml:"recursive" desc:"also the VMs in the folder's subfolders"`
	Tag       string `yaml:"tag" desc:"a vSphere tag's name"`
	Category  string `yaml:"category" desc:"the tag's category, needed when two categories have a tag of that name"`
	Pos       Pos    `yaml:"-"`
}

// NetBoxItems selects NetBox's virtual machine records.
type NetBoxItems struct {
	Cluster string `yaml:"cluster" desc:"the cluster's name"`
	Site    string `yaml:"site" desc:"the site's slug"`
	Role    string `yaml:"role" desc:"the role's slug"`
	Tag     string `yaml:"tag" desc:"a tag's slug"`
	Status  string `yaml:"status" desc:"the records' status (default active)"`
	Pos     Pos    `yaml:"-"`
}

// The guest a wave item from a source is reached by.
const (
	GuestByName    = "name"
	GuestByAddress = "address"
)

// fields are the item fields a source gives, vars in the wave's steps.
func (f *ItemsFrom) fields() []string {
	out := []string{"vm", "address", "cluster"}
	if f.NetBox != nil {
		out = append(out, "site")
	}
	if f.Guest == GuestByAddress {
		out = append(out, "host")
	}
	return out
}

func (f *ItemsFrom) query() (checks.VMQuery, checks.IPAMVMQuery) {
	var vq checks.VMQuery
	var nq checks.IPAMVMQuery
	if v := f.VCenter; v != nil {
		vq = checks.VMQuery{Folder: v.Folder, Recursive: v.Recursive, Tag: v.Tag, Category: v.Category}
	}
	if n := f.NetBox; n != nil {
		nq = checks.IPAMVMQuery{Cluster: n.Cluster, Site: n.Site, Role: n.Role, Tag: n.Tag, Status: n.Status}
	}
	return vq, nq
}

// String says where the items come from, for messages and the journal.
func (f *ItemsFrom) String() string {
	vq, nq := f.query()
	if f.VCenter != nil {
		return vq.String()
	}
	if nq.Status == "" {
		nq.Status = "active"
	}
	return nq.String()
}

// itemsFrom checks a wave's items_from where it is written.
func (v *validator) itemsFrom(w *Wave, wp string) {
	f := w.ItemsFrom
	p := wp + ".items_from"
	if w.Items != nil || w.ItemsFile != "" {
		v.add(w.Pos.Field("items_from"), p, "give items, items_file or items_from, one of them")
	}
	switch {
	case (f.VCenter == nil) == (f.NetBox == nil):
		v.add(f.Pos, p, "name one source: vcenter or netbox")
	case f.VCenter != nil && f.VCenter.Folder == "" && f.VCenter.Tag == "":
		v.add(f.VCenter.Pos, p+".vcenter", "name a folder or a tag")
	case f.VCenter != nil && f.VCenter.Category != "" && f.VCenter.Tag == "":
		v.add(f.VCenter.Pos.Field("category"), p+".vcenter.category", "a category without a tag selects nothing: name the tag")
	case f.NetBox != nil && f.NetBox.Cluster == "" && f.NetBox.Site == "" && f.NetBox.Role == "" && f.NetBox.Tag == "":
		v.add(f.NetBox.Pos, p+".netbox", "name a cluster, site, role or tag (cutover does not move every VM NetBox has)")
	}
	switch f.Guest {
	case "", GuestByName, GuestByAddress:
	default:
		v.add(f.Pos.Field("guest"), p+".guest", "want name or address, got %q%s", f.Guest, didYouMean(f.Guest, []string{GuestByName, GuestByAddress}))
	}
}

// ItemSources answer the waves' items_from: vCenter's inventory and NetBox.
type ItemSources struct {
	VCenter checks.VMFinder
	NetBox  checks.IPAMVMFinder
}

// NeedsItems tells whether a wave of the runbook finds its items when the run starts.
func (rb *Runbook) NeedsItems() (vcenter, netbox bool) {
	for _, st := range rb.Steps {
		if st.Wave != nil && st.Wave.ItemsFrom != nil {
			vcenter = vcenter || st.Wave.ItemsFrom.VCenter != nil
			netbox = netbox || st.Wave.ItemsFrom.NetBox != nil
		}
	}
	return vcenter, netbox
}

// ResolveItems asks each wave's source for its VMs, in name order (app-9 before app-10). A
// source that finds none, or finds a VM twice or by a name cutover cannot key a step by, stops the
// run before it starts.
func (rb *Runbook) ResolveItems(ctx context.Context, src ItemSources) error {
	var errs []error
	for i := range rb.Steps {
		st := &rb.Steps[i]
		if st.Wave == nil || st.Wave.ItemsFrom == nil {
			continue
		}
		f := st.Wave.ItemsFrom
		items, err := f.find(ctx, src)
		if err != nil {
			errs = append(errs, fmt.Errorf("step %s: items_from %s: %w", st.Name, f, err))
			continue
		}
		if len(items) == 0 {
			errs = append(errs, fmt.Errorf("step %s: items_from %s: no VMs: the wave would move nothing", st.Name, f))
			continue
		}
		seen := map[string]string{}
		for _, it := range items {
			if msg := itemKeyProblem(it, seen); msg != "" {
				errs = append(errs, fmt.Errorf("step %s: items_from %s: %s", st.Name, f, msg))
			}
		}
		st.Wave.Items = items
	}
	return errors.Join(errs...)
}

func (f *ItemsFrom) find(ctx context.Context, src ItemSources) ([]Item, error) {
	vq, nq := f.query()
	from := f.String()
	var items []Item
	add := func(fields map[string]string) {
		if f.Guest == GuestByAddress {
			fields["host"] = fields["address"]
		}
		items = append(items, Item{Key: fields["vm"], Fields: fields, Source: from})
	}
	switch {
	case f.VCenter != nil:
		if src.VCenter == nil {
			return nil, errors.New("no vCenter connection")
		}
		vms, err := src.VCenter.FindVMs(ctx, vq)
		if err != nil {
			return nil, err
		}
		for _, vm := range vms {
			add(map[string]string{"vm": vm.Name, "address": vm.IP, "cluster": vm.Cluster})
		}
	case f.NetBox != nil:
		if src.NetBox == nil {
			return nil, errors.New("no NetBox connection")
		}
		vms, err := src.NetBox.FindVMs(ctx, nq)
		if err != nil {
			return nil, err
		}
		for _, vm := range vms {
			add(map[string]string{"vm": vm.Name, "address": vm.PrimaryIP, "cluster": vm.Cluster, "site": vm.SiteSlug})
		}
	}
	if f.Guest == GuestByAddress {
		for _, it := range items {
			if it.Fields["host"] == "" {
				return nil, fmt.Errorf("VM %s has no address, and guest: address reaches it by one", it.Key)
			}
		}
	}
	slices.SortStableFunc(items, func(a, b Item) int { return naturalCompare(a.Key, b.Key) })
	return items, nil
}

// itemKeyProblem says what is wrong with an item's key (none, twice, or a character its steps'
// names cannot hold); seen maps keys to where they were first written.
func itemKeyProblem(it Item, seen map[string]string) string {
	where := it.where()
	defer func() {
		if it.Key != "" && seen[it.Key] == "" {
			seen[it.Key] = where
		}
	}()
	switch {
	case it.Key == "":
		return fmt.Sprintf("item at %s has no vm", where)
	case seen[it.Key] != "":
		return fmt.Sprintf("VM %q is in the wave twice (%s and %s): it would be moved twice", it.Key, seen[it.Key], where)
	case strings.ContainsAny(it.Key, "[]/\n") || strings.ContainsFunc(it.Key, func(r rune) bool { return r < ' ' || r == 0x7f }):
		return fmt.Sprintf("VM %q (%s): cutover names an item's steps after it, so it cannot hold [, ], / or control characters", it.Key, where)
	}
	return ""
}

// where says where the item was written (or found), for messages.
func (it Item) where() string {
	if it.Source != "" {
		return it.Source
	}
	return fmt.Sprintf("line %d", it.Pos.Line)
}

// naturalCompare orders names with their digit runs as numbers: app-9 before app-10.
func naturalCompare(a, b string) int {
	for a != "" && b != "" {
		da, db := digitRun(a), digitRun(b)
		if da > 0 && db > 0 {
			ta, tb := strings.TrimLeft(a[:da], "0"), strings.TrimLeft(b[:db], "0")
			if len(ta) != len(tb) {
				return cmp.Compare(len(ta), len(tb))
			}
			if c := strings.Compare(ta, tb); c != 0 {
				return c
			}
			if c := strings.Compare(a[:da], b[:db]); c != 0 { // 007 and 7: the same number
				return c
			}
			a, b = a[da:], b[db:]
			continue
		}
		if a[0] != b[0] {
			return strings.Compare(a[:1], b[:1])
		}
		a, b = a[1:], b[1:]
	}
	return strings.Compare(a, b)
}

func digitRun(s string) int {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return n
}

// WaveItemsData is, in the run's start, the items a wave found in a source or file: the list a
// resumed run moves.
type WaveItemsData struct {
	Step  string     `json:"step"`
	From  string     `json:"from"`
	Items []ItemData `json:"items"`
}

// ItemData is one item as journaled.
type ItemData struct {
	VM     string            `json:"vm"`
	Fields map[string]string `json:"fields"`
}

// journaledItems are the waves' items that the runbook file alone does not fix (a source, an
// items file), for the run's start.
func (rb *Runbook) journaledItems(redact func(string) string) []WaveItemsData {
	var out []WaveItemsData
	for _, st := range rb.Steps {
		w := st.Wave
		if w == nil || (w.ItemsFrom == nil && w.ItemsFile == "") {
			continue
		}
		d := WaveItemsData{Step: st.Name, From: w.ItemsFile}
		if w.ItemsFrom != nil {
			d.From = w.ItemsFrom.String()
		}
		for _, it := range w.Items {
			fields := map[string]string{}
			for k, v := range it.Fields {
				fields[k] = redact(v)
			}
			d.Items = append(d.Items, ItemData{VM: it.Key, Fields: fields})
		}
		out = append(out, d)
	}
	return out
}

// RestoreItems sets the waves' items to those the run started with (its journal's start): a
// resumed run neither forgets a VM that left the folder nor moves one that joined it.
func (rb *Runbook) RestoreItems(waves []WaveItemsData) error {
	for _, d := range waves {
		i := slices.IndexFunc(rb.Steps, func(st Step) bool { return st.Name == d.Step && st.Wave != nil })
		if i < 0 {
			return fmt.Errorf("the journal's wave %s is not a wave of runbook %s", d.Step, rb.Name)
		}
		items := make([]Item, len(d.Items))
		for j, it := range d.Items {
			items[j] = Item{Key: it.VM, Fields: it.Fields, Source: "the run's start (" + d.From + ")"}
		}
		rb.Steps[i].Wave.Items = items
	}
	return nil
}
