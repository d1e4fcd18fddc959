package main

import (
	"crypto/tls"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmware/govmomi/simulator"
)

// vcenter starts govmomi's simulator with two clusters of two hosts (every cluster's root pool is
// named "Resources") and points the GOVC_* variables at it, as an operator would.
func vcenter(t *testing.T) *simulator.Model {
	t.Helper()
	m := simulator.VPX()
	m.Cluster, m.ClusterHost, m.Host, m.Machine = 2, 2, 0, 1
	if err := m.Create(); err != nil {
		t.Fatal(err)
	}
	m.Service.TLS = new(tls.Config)
	m.Service.Listen = &url.URL{User: url.UserPassword("administrator@vsphere.local", "VMware1!-test")}
	s := m.Service.NewServer()
	t.Cleanup(func() { s.Close(); m.Remove() })
	ca, err := s.CertificateFile()
	if err != nil {
		t.Fatal(err)
	}
	pw, _ := s.URL.User.Password()
	t.Setenv("GOVC_URL", s.URL.Host)
	t.Setenv("GOVC_USERNAME", s.URL.User.Username())
	t.Setenv("GOVC_PASSWORD", pw)
	t.Setenv("GOVC_TLS_CA_CERTS", ca)
	return m
}

const crossClusterRunbook = `version: 1
runbooks:
  - name: cross-cluster
    vars: {vm: DC0_C0_RP0_VM0, target: DC0_C1_H0}
    steps:
      - name: migrate
        migrate: {vm: "{{ .vm }}", host: "{{ .target }}"}
        rollback:
          - name: migrate-back
            migrate: {vm: "{{ .vm }}", host: "{{ .origin_host }}", pool: "{{ .origin_pool }}", datastore: "{{ .origin_datastore }}"}
            checks:
              - {kind: vm_on_host, vm: "{{ .vm }}", esx_host: "{{ .origin_host }}"}
      - name: post-checks
        checks:
          - {kind: command, name: app-answers, run: "exit 1"}
        gate: {on_fail: rollback}
`

// A move to another cluster, then a failed gate: the rollback moves the VM back by the origin's
// references (host, pool, datastore), though both clusters' root pools are named "Resources".
func TestRollbackAcrossClusters(t *testing.T) {
	vcenter(t)
	dir := t.TempDir()
	book := filepath.Join(dir, "runbooks.yaml")
	os.WriteFile(book, []byte(crossClusterRunbook), 0o600)
	tr := t.TempDir()
	code, out, errs := cli(t, "", "run", book, "--plain", "--yes", "--transcript", tr)
	if code != 1 || !strings.Contains(out, "ROLLED-BACK") || strings.Contains(out, "ambiguous") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	lines := readJournal(t, journalOf(t, tr))
	var origin, back map[string]any
	for _, l := range lines {
		if l.Type == "migrate" && l.Data["phase"] == "origin" && origin == nil {
			origin = l.Data["from"].(map[string]any)
		}
		if l.Type == "migrate" && l.Data["phase"] == "done" && l.Step == "migrate-back" {
			back = l.Data["to"].(map[string]any)
		}
	}
	if origin == nil || back == nil || back["host_ref"] != origin["host_ref"] || back["pool_ref"] != origin["pool_ref"] || back["pool_path"] != "/DC0/host/DC0_C0/Resources" {
		t.Errorf("origin %v, back %v\n%s", origin, back, out)
	}
}
