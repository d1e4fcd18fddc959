package runbook

import (
	"net"

	"github.com/cutover/cutover/checks"
)

// vmKind holds the fields of the vm_* checks; which of them a kind uses is decided by its name.
type vmKind struct {
	VM     Tmpl `yaml:"vm" required:"true" desc:"VM name or inventory path"`
	Host   Tmpl `yaml:"esx_host" desc:"vm_on_host: the ESXi host it must run on"`
	Expect Tmpl `yaml:"expect" desc:"vm_ip: the address it must report"`
}

func (k *vmKind) validate(v *validator, c *CheckSpec, path string) {
	v.tmpl(k.VM, path+".vm")
	v.tmpl(k.Host, path+".esx_host")
	v.tmpl(k.Expect, path+".expect")
	if c.Host != "" {
		v.add(c.Pos.Field("host"), path+".host", "a %s check asks vCenter; host does not apply", c.Kind)
	}
	if c.Kind == "vm_on_host" && k.Host.Text == "" {
		v.add(c.Pos, path+".esx_host", "required field is missing")
	}
	if c.Kind != "vm_on_host" && k.Host.Text != "" {
		v.add(k.Host.Pos, path+".esx_host", "only vm_on_host takes esx_host")
	}
	if c.Kind != "vm_ip" && k.Expect.Text != "" {
		v.add(k.Expect.Pos, path+".expect", "only vm_ip takes expect")
	}
	if k.Expect.Text != "" && len(k.Expect.Refs) == 0 && net.ParseIP(k.Expect.Text) == nil {
		v.add(k.Expect.Pos, path+".expect", "want an IP address, got %q", k.Expect.Text)
	}
}

func (k *vmKind) build(c *CheckSpec, vals Values) (checks.Check, error) {
	vm := k.VM.Render(vals, nil)
	switch c.Kind {
	case "vm_on_host":
		return checks.VMOnHost{VM: vm, Host: k.Host.Render(vals, nil)}, nil
	case "vm_powered_on":
		return checks.VMPoweredOn{VM: vm}, nil
	case "vm_tools_running":
		return checks.VMToolsRunning{VM: vm}, nil
	}
	return checks.VMIP{VM: vm, Expect: k.Expect.Render(vals, nil)}, nil
}

func (k *vmKind) subject(vals Values) string { return k.VM.Render(vals, nil) }
