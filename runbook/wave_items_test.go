package runbook

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cutover/cutover/checks"
)

// vmAnswers answers a vCenter query with a fixed list, as a folder would hold it.
type vmAnswers []checks.VMState

func (a vmAnswers) FindVMs(context.Context, checks.VMQuery) ([]checks.VMState, error) { return a, nil }

func TestResolveItems(t *testing.T) {
	book := func(from string) *Runbook {
		t.Helper()
		doc, err := Parse(filepath.Join(t.TempDir(), "r.yaml"), []byte("version: 1\nrunbooks:\n  - name: t\n    steps:\n      - name: tier\n        wave:\n          items_from: "+from+
			"\n          steps:\n            - name: move\n              migrate: {vm: \"{{ .vm }}\", host: esx-b-01}\n"))
		if err != nil {
			t.Fatal(err)
		}
		rb, _ := doc.Runbook("t")
		return rb
	}
	vm := func(name, ip string) checks.VMState { return checks.VMState{Name: name, IP: ip, Cluster: "SITE-A"} }
	for _, tc := range []struct {
		name, from string
		answer     vmAnswers
		want       string // keys and hosts in order, or the error
	}{
		{"natural order", "{vcenter: {folder: app}}", vmAnswers{vm("app-10", "10.0.0.10"), vm("app-9", "10.0.0.9"), vm("app-010", ""), vm("db-1", "")}, "app-9: app-010: app-10: db-1:"},
		{"guest by address", "{vcenter: {folder: app}, guest: address}", vmAnswers{vm("app-2", "10.0.0.2"), vm("app-1", "10.0.0.1")}, "app-1:10.0.0.1 app-2:10.0.0.2"},
		{"no address to dial", "{vcenter: {folder: app}, guest: address}", vmAnswers{vm("app-1", "")}, "VM app-1 has no address, and guest: address reaches it by one"},
		{"empty folder", "{vcenter: {folder: app}}", nil, "items_from vCenter folder app: no VMs: the wave would move nothing"},
		{"twice", "{vcenter: {tag: app}}", vmAnswers{vm("app-1", ""), vm("app-1", "")}, `VM "app-1" is in the wave twice`},
		{"unkeyable name", "{vcenter: {tag: app}}", vmAnswers{vm("app/1", "")}, `VM "app/1"`},
		{"terminal escape in a name", "{vcenter: {tag: app}}", vmAnswers{vm("app\x1b[2J", "")}, "control characters"},
		{"no NetBox", "{netbox: {tag: app}}", nil, "no NetBox connection"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rb := book(tc.from)
			err := rb.ResolveItems(context.Background(), ItemSources{VCenter: tc.answer})
			var got []string
			for _, it := range rb.Steps[0].Wave.Items {
				got = append(got, it.Key+":"+it.Fields["host"])
			}
			if err != nil {
				if !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("error %v, want %q", err, tc.want)
				}
				return
			}
			if strings.Join(got, " ") != tc.want {
				t.Fatalf("items %q, want %q", strings.Join(got, " "), tc.want)
			}
			// What the run's start journals is what a resume restores, in the same order.
			journaled := rb.journaledItems(func(s string) string { return s })
			again := book(tc.from)
			if err := again.RestoreItems(journaled); err != nil {
				t.Fatal(err)
			}
			if !slices.EqualFunc(again.Steps[0].Wave.Items, rb.Steps[0].Wave.Items, func(a, b Item) bool {
				return a.Key == b.Key && a.Target() == b.Target() && a.Fields["address"] == b.Fields["address"]
			}) {
				t.Fatalf("restored %+v, resolved %+v", again.Steps[0].Wave.Items, rb.Steps[0].Wave.Items)
			}
		})
	}
}
