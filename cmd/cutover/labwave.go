package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/cutover/cutover/lab"
	"github.com/cutover/cutover/runbook"
)

// waveRunbookName is the wave runbook lab --vms builds.
const waveRunbookName = "stretched-vlan-wave"

// waveFile names the wave runbook lab --vms N carries, in messages and in the journal.
func waveFile(n int) string { return fmt.Sprintf("(built in: cutover lab --vms %d)", n) }

// waveRunbook is the app tier's move as a wave: n VMs from SITE-A to SITE-B in batches of 20% (2
// at least), each behind its own pre-checks, gateway watch from its own guest and post-checks,
// rolled back on its own; the wave stops past 10% failed (1 at least). Its VMs are app-01 … app-NN, guests app-01 … app-NN.
func waveRunbook(n int) []byte {
	var items strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&items, "            - {vm: %s, host: %[1]s, zone: site-a, target: esx-b-0%d}\n", labVMName(i, n), (i-1)%2+1)
	}
	return []byte(`version: 1
runbooks:
  - name: ` + waveRunbookName + `
    description: >
      Move the app tier's ` + fmt.Sprint(n) + ` VMs from SITE-A to SITE-B across the stretched VLAN 200 in
      batches: each VM proves itself (its units, its gateway from its own guest, where it landed)
      and is moved back on its own if it cannot; the wave stops when more than 10% (at least one)
      have failed.
    vars:
      unit: nginx
    steps:
      - name: move-app-tier
        wave:
          items:
` + items.String() + `          serial: ` + fmt.Sprint(max(2, n/5)) + `         # 20%, and never fewer than 2
          max_failures: ` + fmt.Sprint(max(1, n/10)) + `   # 10% of the wave, and never none
          on_failure: rollback_vm
          max_parallel_per_host: 4
          steps:
            - name: pre
              checks:
                - {kind: vm_powered_on, vm: "{{ .vm }}"}
                - {kind: unit_active, host: vm, unit: "{{ .unit }}", timeout: 10s}
                - {kind: no_failed_units, host: vm, timeout: 10s}
              gate: {on_fail: abort}
            - name: move
              migrate: {vm: "{{ .vm }}", host: "{{ .target }}"}
              watch:
                ping: {from: vm, target: auto, interval: 200ms, settle: 3s, max_lost: 1, max_rtt_increase: 5ms}
              checks:
                - {kind: vm_on_host, vm: "{{ .vm }}", esx_host: "{{ .target }}"}
              rollback:
                - name: move-back
                  migrate: {vm: "{{ .vm }}", host: "{{ .origin_host }}"}
                  checks:
                    - {kind: vm_on_host, vm: "{{ .vm }}", esx_host: "{{ .origin_host }}"}
            - name: post
              checks:
                - {kind: unit_active, host: vm, unit: "{{ .unit }}", timeout: 10s}
                - {kind: no_failed_units, host: vm, timeout: 10s}
`)
}

// waveLab adds a runbook's waves to a lab: every item a VM the lab moves, every guest a lab host.
// A wave that finds its VMs in vCenter or NetBox (items_from) finds the n VMs the lab makes for it
// (--vms), in the app-tier folder, tagged, reached by name or (guest: address) by the address the
// lab gives each, which its ssh_config sends to the guest's SSH server on loopback.
func waveLab(rb *runbook.Runbook, opts *lab.Options, n int) error {
	found, byAddress, byName := false, false, false
	for _, st := range rb.Steps {
		if st.Wave == nil {
			continue
		}
		if f := st.Wave.ItemsFrom; f != nil && len(st.Wave.Items) == 0 {
			if n == 0 {
				return fmt.Errorf("wave %s finds its VMs in %s: say how many the lab makes with --vms N (they are app-01 …, in folder %s, tagged %s/%s in vCenter and %s in NetBox)",
					st.Name, f, lab.LabTierFolder, lab.LabTierCategory, lab.LabTierTag, lab.LabTierNetBoxTag)
			}
			if f.Guest == runbook.GuestByAddress {
				byAddress = true
			} else {
				byName = true
			}
			found = true
			continue
		}
		for _, it := range st.Wave.Items {
			if opts.VM == "" {
				opts.VM = it.Key
			}
			opts.Wave = append(opts.Wave, it.Key)
		}
	}
	if n > 0 && !found && len(opts.Wave) == 0 {
		return fmt.Errorf("--vms %d: runbook %s has no wave that finds its VMs (items_from): its hosts and VMs are its own", n, rb.Name)
	}
	for _, g := range rb.Guests() {
		opts.Hosts = append(opts.Hosts, lab.HostSpec{Name: "vm " + g.VM, Address: g.Target.Address, Zone: g.Zone})
	}
	if byAddress && byName {
		return fmt.Errorf("runbook %s: the lab reaches the VMs it makes for items_from one way: all its waves by name or all by guest: address", rb.Name)
	}
	if byAddress && opts.Faults.IPAMMoved {
		// VMware Tools would report the moved address, where no lab host answers: the run would
		// dial an address off this machine.
		return fmt.Errorf("runbook %s: the ipam-moved fault re-addresses a VM where the lab serves no guest, and guest: address would dial it there; leave one of them out", rb.Name)
	}
	if found {
		var made []string
		for i := 1; i <= n; i++ {
			vm := labVMName(i, n)
			if opts.VM == "" {
				opts.VM = vm
			}
			if !slices.Contains(opts.Wave, vm) {
				opts.Wave = append(opts.Wave, vm)
				made = append(made, vm)
			}
		}
		for _, vm := range made { // once every VM is known: a VM's address follows its place
			addr := vm
			if byAddress {
				addr = opts.VMAddress(vm)
			}
			opts.Hosts = append(opts.Hosts, lab.HostSpec{Name: "vm " + vm, Address: addr, Guest: vm})
		}
	}
	return nil
}

// labVMName is the lab's ith of n wave VMs: app-01 … app-50, app-001 … app-200, so that names sort
// as numbers.
func labVMName(i, n int) string {
	return fmt.Sprintf("app-%0*d", max(2, len(fmt.Sprint(n))), i)
}

// checkFaultVMs refuses a fault@vm naming a VM the lab does not move.
func checkFaultVMs(f lab.Faults, opts lab.Options) error {
	for vm := range f.ByVM {
		if !slices.Contains(opts.VMs(), vm) {
			vms := opts.VMs()
			return fmt.Errorf("--fault …@%s: the lab moves no VM %s (it moves %s … %s, %d VMs)", vm, vm, vms[0], vms[len(vms)-1], len(vms))
		}
	}
	return nil
}
