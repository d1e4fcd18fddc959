package lab

import (
	"net/netip"
	"testing"
)

func TestVMPrefixesAndMovedGuestIP(t *testing.T) {
	for _, tc := range []struct{ ip, subnet, reserved, wide, moved string }{
		{"10.20.0.15", "10.20.0.0/24", "10.20.1.0/24", "10.20.0.0/16", "10.20.1.15"},
		{"10.20.255.7", "10.20.255.0/24", "10.21.0.0/24", "10.20.0.0/16", "10.21.0.7"},
		{"fd00:20::15", "fd00:20::/64", "fd00:20:0:1::/64", "fd00:20::/48", "fd00:20:0:1::15"},
	} {
		s, r, w := vmPrefixes(netip.MustParseAddr(tc.ip))
		l := &Lab{opts: Options{VMIP: tc.ip}, faults: Faults{IPAMMoved: true}}
		if s.String() != tc.subnet || r.String() != tc.reserved || w.String() != tc.wide || l.guestIP(l.opts.VM) != tc.moved {
			t.Errorf("%s: %s %s %s moved to %s, want %s %s %s %s", tc.ip, s, r, w, l.guestIP(l.opts.VM), tc.subnet, tc.reserved, tc.wide, tc.moved)
		}
		if l.faults.IPAMMoved = false; l.guestIP(l.opts.VM) != tc.ip {
			t.Errorf("%s: without the fault the guest IP is %s", tc.ip, l.guestIP(l.opts.VM))
		}
	}
}
