package lab

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Faults are the training faults a lab can inject.
type Faults struct {
	RelocateFails   bool          // the vMotion task fails at switch-over
	UnitDown        string        // this unit fails on the VM when it lands on site B
	NewJournalError bool          // the VM logs a new error after the move
	HostKeyChanged  string        // this host answers with an unexpected host key
	ClockSkew       time.Duration // the VM's clock is off by this much
	SlowCheck       bool          // systemctl hangs on the VM, past any sane check timeout
	PingLoss        int           // gateway pings lost at switch-over (a clean vMotion loses 1)
	PingLossEarly   int           // gateway pings lost early in the vMotion, while memory is copied
	IPAMMoved       bool          // the guest was re-addressed into the VLAN's reserved prefix
	NetBoxStale     bool          // NetBox's VM record does not follow a move (no sync from vCenter)
	SessionExpires  bool          // vCenter ends every session early in the vMotion
	// PreflightWarning: vCenter's CheckRelocate warns about a move to site B (a CPU feature the
	// target hosts lack); PreflightError: it refuses one (the VM's network is not on the target).
	PreflightWarning bool
	PreflightError   bool
	// Trombone: the inter-site link is this slow one way, so the VM on SITE-B reaches its gateway
	// (on SITE-A) twice as much later: the latency rule (max_rtt_increase) fires.
	Trombone time.Duration
	// ByVM are faults written fault@vm: they strike that VM of a wave only. A fault without @ strikes
	// every VM the lab moves.
	ByVM map[string]*Faults
}

// For is what strikes one VM: the faults without @, and its own.
func (f Faults) For(vm string) Faults {
	out := f
	out.ByVM = nil
	o := f.ByVM[vm]
	if o == nil {
		return out
	}
	out.RelocateFails = out.RelocateFails || o.RelocateFails
	out.NewJournalError = out.NewJournalError || o.NewJournalError
	out.PreflightWarning = out.PreflightWarning || o.PreflightWarning
	out.PreflightError = out.PreflightError || o.PreflightError
	out.UnitDown = cmp.Or(o.UnitDown, out.UnitDown)
	out.PingLoss = cmp.Or(o.PingLoss, out.PingLoss)
	out.PingLossEarly = cmp.Or(o.PingLossEarly, out.PingLossEarly)
	return out
}

// String lists the faults as --fault values, "none" if there are none.
func (f Faults) String() string {
	var out []string
	if f.RelocateFails {
		out = append(out, "relocate-fails")
	}
	if f.UnitDown != "" {
		out = append(out, "unit-down="+f.UnitDown)
	}
	if f.NewJournalError {
		out = append(out, "new-journal-error")
	}
	if f.HostKeyChanged != "" {
		out = append(out, "host-key-changed="+f.HostKeyChanged)
	}
	if f.ClockSkew != 0 {
		out = append(out, "clock-skew="+f.ClockSkew.String())
	}
	if f.SlowCheck {
		out = append(out, "slow-check")
	}
	if f.PingLoss != 0 {
		out = append(out, fmt.Sprintf("ping-loss=%d", f.PingLoss))
	}
	if f.PingLossEarly != 0 {
		out = append(out, fmt.Sprintf("ping-loss-early=%d", f.PingLossEarly))
	}
	if f.IPAMMoved {
		out = append(out, "ipam-moved")
	}
	if f.Trombone != 0 {
		out = append(out, "trombone="+f.Trombone.String())
	}
	if f.NetBoxStale {
		out = append(out, "netbox-stale")
	}
	if f.SessionExpires {
		out = append(out, "session-expires")
	}
	if f.PreflightWarning {
		out = append(out, "preflight-warning")
	}
	if f.PreflightError {
		out = append(out, "preflight-error")
	}
	for _, vm := range slices.Sorted(maps.Keys(f.ByVM)) {
		for _, x := range strings.Fields(strings.Trim(f.ByVM[vm].String(), "[]")) {
			out = append(out, x+"@"+vm)
		}
	}
	if len(out) == 0 {
		return "none"
	}
	return fmt.Sprint(out)
}

// FaultNames lists the --fault values, for help texts.
var FaultNames = []string{"relocate-fails", "ping-loss=N", "ping-loss-early=N", "unit-down=UNIT", "new-journal-error", "host-key-changed=HOST", "clock-skew=DURATION", "slow-check", "ipam-moved", "netbox-stale", "session-expires", "preflight-warning", "preflight-error", "trombone=DURATION"}

// ParseFault adds one --fault value to f; fault@vm strikes that VM only.
func ParseFault(s string, f *Faults) error {
	if spec, vm, ok := strings.Cut(s, "@"); ok {
		switch name, _, _ := strings.Cut(spec, "="); name {
		case "relocate-fails", "new-journal-error", "preflight-warning", "preflight-error", "unit-down", "ping-loss", "ping-loss-early":
		default:
			return fmt.Errorf("--fault %s: only a VM's own faults take @vm (relocate-fails, ping-loss, ping-loss-early, unit-down, new-journal-error, preflight-warning, preflight-error)", s)
		}
		if vm == "" {
			return fmt.Errorf("--fault %s: name the VM after @", s)
		}
		if f.ByVM == nil {
			f.ByVM = map[string]*Faults{}
		}
		if f.ByVM[vm] == nil {
			f.ByVM[vm] = &Faults{}
		}
		return ParseFault(spec, f.ByVM[vm])
	}
	name, val, hasVal := strings.Cut(s, "=")
	need := func() error {
		if !hasVal || val == "" {
			return fmt.Errorf("--fault %s needs a value: %s=...", name, name)
		}
		return nil
	}
	switch name {
	case "relocate-fails":
		f.RelocateFails = true
	case "new-journal-error":
		f.NewJournalError = true
	case "slow-check":
		f.SlowCheck = true
	case "ipam-moved":
		f.IPAMMoved = true
	case "netbox-stale":
		f.NetBoxStale = true
	case "session-expires":
		f.SessionExpires = true
	case "preflight-warning":
		f.PreflightWarning = true
	case "preflight-error":
		f.PreflightError = true
	case "unit-down":
		if err := need(); err != nil {
			return err
		}
		f.UnitDown = val
	case "host-key-changed":
		if err := need(); err != nil {
			return err
		}
		f.HostKeyChanged = val
	case "clock-skew":
		if err := need(); err != nil {
			return err
		}
		d, err := time.ParseDuration(val)
		if err != nil {
			return fmt.Errorf("--fault clock-skew=%s: %w", val, err)
		}
		f.ClockSkew = d
	case "trombone":
		if err := need(); err != nil {
			return err
		}
		d, err := time.ParseDuration(val)
		if err != nil || d <= 0 {
			return fmt.Errorf("--fault trombone=%s: want the inter-site link's one-way delay, e.g. trombone=5ms", val)
		}
		f.Trombone = d
	case "ping-loss", "ping-loss-early":
		if err := need(); err != nil {
			return err
		}
		n, err := strconv.Atoi(val)
		if err != nil || n < 0 {
			return fmt.Errorf("--fault %s=%s: want a number of packets", name, val)
		}
		if name == "ping-loss" {
			f.PingLoss = n
		} else {
			f.PingLossEarly = n
		}
	default:
		return errors.New("unknown fault " + strconv.Quote(s) + "; faults: " + strings.Join(FaultNames, ", "))
	}
	return nil
}
