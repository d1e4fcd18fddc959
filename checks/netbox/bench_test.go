package netbox

import (
	"context"
	"fmt"
	"testing"

	"github.com/cutover/cutover/lab/netboxapi"
)

// BenchmarkPrefixes10k lists 10,000 prefixes: 20 pages of 500 over TLS on loopback, decoded into
// the fields cutover uses, once.
func BenchmarkPrefixes10k(b *testing.B) {
	m := netboxapi.Model{}
	for i := range 10000 {
		m.Prefixes = append(m.Prefixes, netboxapi.Prefix{Prefix: fmt.Sprintf("10.%d.%d.0/24", i/256, i%256), Status: "active", VID: 200, VLANName: "stretched", ScopeGroup: "stretched-dc", Description: "bench"})
	}
	s := netboxapi.Start(m, token)
	defer s.Close()
	cfg := Config{URL: s.URL(), Token: token}
	c, err := Connect(context.Background(), cfg)
	if err == nil {
		b.Fatal("connected without trusting the certificate")
	}
	ca := b.TempDir() + "/ca.pem"
	writeCA(b, ca, s.Certificate())
	cfg.CACerts = ca
	if c, err = Connect(context.Background(), cfg); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		ps, err := c.Prefixes(context.Background(), Filter{Status: []string{"active"}})
		if err != nil || len(ps) != 10000 {
			b.Fatal(len(ps), err)
		}
	}
}
