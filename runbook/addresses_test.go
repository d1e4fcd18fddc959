package runbook

import (
	"fmt"
	"testing"
)

func TestAddressUsesAndNeeds(t *testing.T) {
	doc, err := Parse("addr.yaml", []byte(`version: 1
runbooks:
  - name: rb
    vars: {vm: app-01, vm_ip: 10.20.0.15, gw: 10.20.0.1, vid: "200", name: app, key: {value: 10.9.9.9, secret: true}}
    hosts: {app: {address: app-01}}
    steps:
      - name: pre
        checks:
          - {kind: ipam, vm: "{{ .vm }}", vlan: "{{ .vid }}"}
          - {kind: ipam, address: 10.20.0.16, vlan: 210}
          - {kind: dns, host: app, name: "{{ .name }}", expect: ["{{ .vm_ip }}", "fd00::15"]}
      - name: move
        migrate: {vm: "{{ .vm }}", host: esx-b-01}
        watch: {ping: {from: app, target: "{{ .gw }}"}}
        checks:
          - {kind: vm_ip, vm: "{{ .vm }}", expect: "{{ .vm_ip }}"}
        rollback:
          - name: back
            command: {run: "true", host: app}
            watch: {ping: {target: 10.20.0.254}}
`))
	if err != nil {
		t.Fatal(err)
	}
	rb := &doc.Runbooks[0]
	vals, err := rb.ResolveVars(nil, func(string) (string, bool) { return "", false }, nil)
	if err != nil {
		t.Fatal(err)
	}
	uses, vlans := rb.AddressUses(vals)
	want := "[{10.20.0.1 true [vars.gw steps[1].watch.ping.target]} " +
		"{10.20.0.15 false [vars.vm_ip steps[0].checks[2].expect[0] steps[1].checks[0].expect]} " +
		"{10.20.0.16 false [steps[0].checks[1].address]} {fd00::15 false [steps[0].checks[2].expect[1]]} " +
		"{10.20.0.254 true [steps[1].rollback[0].watch.ping.target]}] [200 210]"
	if got := fmt.Sprint(uses, " ", vlans); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if !rb.NeedsNetBox() || !rb.NeedsVCenter() {
		t.Errorf("needs NetBox %v, vCenter %v", rb.NeedsNetBox(), rb.NeedsVCenter())
	}
	// An ipam check with an address asks NetBox only; without one it reads the guest IP from vCenter.
	for _, tc := range []struct {
		check string
		vc    bool
	}{{"{kind: ipam, address: 10.0.0.1}", false}, {"{kind: ipam, vm: app-01}", true}} {
		doc, err := Parse("n.yaml", []byte("version: 1\nrunbooks:\n  - name: n\n    steps:\n      - name: s\n        checks:\n          - "+tc.check+"\n"))
		if err != nil {
			t.Fatal(err)
		}
		if rb := &doc.Runbooks[0]; !rb.NeedsNetBox() || rb.NeedsVCenter() != tc.vc {
			t.Errorf("%s: NetBox %v vCenter %v", tc.check, rb.NeedsNetBox(), rb.NeedsVCenter())
		}
	}
}
