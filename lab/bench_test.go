package lab

import (
	"context"
	"testing"
)

// BenchmarkStart measures a lab coming up (vCenter simulator laid out, three SSH hosts, tool
// server, keys and configs written) and going down again.
func BenchmarkStart(b *testing.B) {
	for range b.N {
		l, err := Start(context.Background(), Options{Dir: b.TempDir(), Hosts: seedHosts})
		if err != nil {
			b.Fatal(err)
		}
		l.Close()
	}
}
