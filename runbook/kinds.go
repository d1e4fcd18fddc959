package runbook

import (
	"reflect"
	"slices"
	"strings"

	"go.yaml.in/yaml/v4"

	"github.com/cutover/cutover/checks"
)

// kindSpec is the kind-specific part of a check: its fields, their validation, and how to build
// the runnable check once vars are known.
type kindSpec interface {
	validate(v *validator, c *CheckSpec, path string)
	build(c *CheckSpec, vals Values) (checks.Check, error)
}

// rule says whether a common field may, must or must not be set for a kind.
type rule int

const (
	never rule = iota
	optional
	required
)

// checkKind describes one check kind of the document.
type checkKind struct {
	doc      string
	new      func() kindSpec
	id       rule     // may it record a baseline (id)?
	baseline rule     // may it compare with one?
	compares []string // the kinds whose baselines it can compare with
	remote   bool     // runs from its own from: hosts, not host:
	vcenter  bool     // asks vCenter, not a host
	netbox   bool     // asks NetBox, not a host
}

// checkKinds is the catalogue of check kinds, built on each call so there is no shared state.
func checkKinds() map[string]checkKind {
	return map[string]checkKind{
		"command": {doc: "run a command; pass on the expected exit code and output patterns",
			new: func() kindSpec { return &commandKind{} }, id: optional, baseline: optional, compares: []string{"command"}},
		"unit_active": {doc: "a systemd unit is active (evidence: state, since, main PID, last log lines)",
			new: func() kindSpec { return &unitActiveKind{} }},
		"no_failed_units": {doc: "systemctl --failed lists nothing",
			new: func() kindSpec { return &noFailedUnitsKind{} }},
		"listening": {doc: "a socket listens on the port (ss -tulpnH), optionally on an address and by a process",
			new: func() kindSpec { return &listeningKind{} }},
		"listeners_baseline": {doc: "record the listening sockets (id required)",
			new: func() kindSpec { return &listenersKind{} }, id: required},
		"listeners_unchanged": {doc: "listening sockets equal the baseline, ignoring PIDs and fds",
			new: func() kindSpec { return &listenersKind{} }, baseline: required, compares: []string{"listeners_baseline"}},
		"journal_unit": {doc: "none of the unit's last log lines matches fail_on",
			new: func() kindSpec { return &journalUnitKind{} }},
		"journal_baseline": {doc: "record this boot's error-priority journal entries (id required)",
			new: func() kindSpec { return &journalErrorsKind{} }, id: required},
		"journal_regressions": {doc: "no error-priority journal entry since the baseline that was not there before",
			new: func() kindSpec { return &journalErrorsKind{} }, baseline: required, compares: []string{"journal_baseline"}},
		"endpoint": {doc: "a URL answers, or a TCP port accepts, from hosts in at least min_zones zones",
			new: func() kindSpec { return &endpointKind{} }, remote: true},
		"selinux": {doc: "getenforce reports the expected mode",
			new: func() kindSpec { return &selinuxKind{} }},
		"firewall": {doc: "the firewall (firewalld or nftables) allows services or ports; id records the ruleset",
			new: func() kindSpec { return &firewallKind{} }, id: optional},
		"firewall_unchanged": {doc: "the firewall ruleset equals the baseline",
			new: func() kindSpec { return &firewallKind{} }, baseline: required, compares: []string{"firewall"}},
		"clock": {doc: "the clock is synchronised and off by at most max_offset (chrony, else timedatectl)",
			new: func() kindSpec { return &clockKind{} }},
		"dns": {doc: "a name resolves (getent ahosts), to the expected addresses if given",
			new: func() kindSpec { return &dnsKind{} }},
		"vm_on_host": {doc: "vCenter says the VM runs on the host",
			new: func() kindSpec { return &vmKind{} }, vcenter: true},
		"vm_powered_on": {doc: "vCenter says the VM is powered on",
			new: func() kindSpec { return &vmKind{} }, vcenter: true},
		"vm_tools_running": {doc: "VMware Tools run in the VM",
			new: func() kindSpec { return &vmKind{} }, vcenter: true},
		"vm_ip": {doc: "the guest reports an IP address (the expected one, if given) as vCenter sees it",
			new: func() kindSpec { return &vmKind{} }, vcenter: true},
		"ipam": {doc: "NetBox: the VM's address is in an Active prefix on the expected VLAN and site group, and assigned to the VM",
			new: func() kindSpec { return &ipamKind{} }, netbox: true},
		"netbox_vm": {doc: "NetBox's virtual machine record names the cluster vCenter runs the VM in (and the site); a failure lists what to update",
			new: func() kindSpec { return &netboxVMKind{} }, netbox: true, vcenter: true},
	}
}

func kindNames() []string {
	names := make([]string, 0, 8)
	for k := range checkKinds() {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

func (c *CheckSpec) decodeNode(d *decoder, n *yaml.Node, path string) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "want a mapping, got %s", describe(n))
		return
	}
	var kindNode *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "kind" {
			kindNode = n.Content[i+1]
		}
	}
	if kindNode == nil {
		// Without a kind, other fields cannot be judged; decode the common ones for their errors.
		var others []string
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k := n.Content[i].Value; !slices.ContainsFunc(structFields(reflect.TypeFor[CheckSpec]()), func(f field) bool { return f.name == k }) {
				others = append(others, k)
			}
		}
		d.decodeFields(n, path, []reflect.Value{reflectOf(c)}, others)
		return
	}
	kind, ok := d.scalar(kindNode, joinPath(path, "kind"))
	if !ok {
		return
	}
	k, ok := checkKinds()[kind]
	if !ok {
		d.fail(kindNode, joinPath(path, "kind"), "unknown check kind %q%s; known kinds: %s", kind, didYouMean(kind, kindNames()), strings.Join(kindNames(), ", "))
		return
	}
	c.Spec = k.new()
	d.decodeFields(n, path, []reflect.Value{reflectOf(c), reflect.ValueOf(c.Spec).Elem()}, nil)
}

func (CheckSpec) jsonSchema(g *schemaGen) map[string]any {
	var variants []any
	common := g.structSchema(reflect.TypeFor[CheckSpec]())
	for _, name := range kindNames() {
		k := checkKinds()[name]
		s := g.structSchema(reflect.TypeOf(k.new()).Elem())
		props := map[string]any{}
		for p, v := range common["properties"].(map[string]any) {
			props[p] = v
		}
		for p, v := range s["properties"].(map[string]any) {
			props[p] = v
		}
		props["kind"] = map[string]any{"const": name, "description": k.doc}
		required := []string{"kind"}
		if r, ok := s["required"].([]string); ok {
			required = append(required, r...)
		}
		variants = append(variants, map[string]any{
			"type": "object", "properties": props, "required": required, "additionalProperties": false,
		})
	}
	return map[string]any{"oneOf": variants}
}

func reflectOf(p any) reflect.Value { return reflect.ValueOf(p).Elem() }

// commandKind is the "command" check: a command with expected exit codes and output patterns.
type commandKind struct {
	CommandSpec `yaml:",inline"`
}
