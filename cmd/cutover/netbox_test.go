package main

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cutover/cutover/lab/netboxapi"
)

func TestNetBoxPrefixesCSVFromTheLab(t *testing.T) {
	code, out, errs := cli(t, "", "netbox", "prefixes", "--lab", "--file", "../../runbooks.yaml", "--status", "active", "--format", "csv")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	// RFC 4180: CRLF line ends, a header, the same number of fields on every line.
	if !strings.HasSuffix(out, "\r\n") || strings.Count(out, "\n") != strings.Count(out, "\r\n") {
		t.Errorf("want CRLF line ends: %q", out)
	}
	r := csv.NewReader(strings.NewReader(out))
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatalf("not CSV: %v\n%s", err, out)
	}
	if strings.Join(rows[0], ",") != "prefix,status,vlan_vid,vlan_name,scope_type,site,tenant,utilisation_pct,description" {
		t.Errorf("header %v", rows[0])
	}
	want := []string{"10.20.0.0/24", "active", "200", "stretched", "dcim.sitegroup", "stretched-dc", "payments", "0.8", "app tier, stretched across SITE-A and SITE-B"}
	if len(rows) != 4 || strings.Join(rows[1], "|") != strings.Join(want, "|") {
		t.Fatalf("rows %q", rows)
	}
	for _, row := range rows[1:] {
		if row[1] != "active" {
			t.Errorf("--status active let through %v", row)
		}
	}

	code, out, _ = cli(t, "", "netbox", "prefixes", "--lab", "--file", "../../runbooks.yaml", "--vlan", "200")
	if code != 0 || !strings.Contains(strings.Join(strings.Fields(out), " "), "10.20.1.0/24 reserved 200 stretched sitegroup stretched-dc - 0.0% reserved for the next migration wave 2 prefix(es)") {
		t.Errorf("table: exit %d\n%s", code, out)
	}
}

func TestNetBoxAudit(t *testing.T) {
	code, out, errs := cli(t, "", "netbox", "audit", "--lab", "--file", "../../runbooks.yaml")
	if code != 0 || !strings.Contains(out, "NetBox "+netboxapi.Version+": 2 prefix(es) on VLAN [200], 1 address(es)") || !strings.Contains(out, "ok: every address") {
		t.Errorf("clean audit: exit %d\n%s%s", code, out, errs)
	}
	// A runbook whose gateway and new address disagree with NetBox.
	file := filepath.Join(t.TempDir(), "runbooks.yaml")
	os.WriteFile(file, []byte(`version: 1
runbooks:
  - name: stretched-vlan-vmotion
    vars: {vm: app-01, vm_ip: 10.20.0.15, new_ip: 10.20.1.40, gw: 10.31.0.1}
    hosts: {app: {address: app-01.site-a.example, zone: site-a}, probe: {address: jump-a.example, zone: site-a}}
    steps:
      - name: pre
        checks:
          - {kind: ipam, vm: "{{ .vm }}", vlan: 200}
      - name: move
        migrate: {vm: "{{ .vm }}", host: esx-b-01}
        watch: {ping: {from: app, target: "{{ .gw }}"}}
`), 0o600)
	code, out, _ = cli(t, "", "netbox", "audit", "--lab", "--file", file)
	for _, want := range []string{
		"2 mismatch(es):",
		"reserved-used  10.20.1.0/24  10.20.1.0/24 is reserved, but address 10.20.1.40 (stretched-vlan-vmotion vars.new_ip) lies in it",
		"vlan-mismatch  10.31.0.1     gateway 10.31.0.1 (stretched-vlan-vmotion vars.gw, steps[1].watch.ping.target) lies in 10.31.0.0/24 on VLAN 131 (mgmt-probe); the runbooks expect VLAN 200",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("audit lacks %q:\n%s", want, out)
		}
	}
	if code != exitFailed {
		t.Errorf("exit %d, want %d", code, exitFailed)
	}
}

func TestNetBoxNeedsAURL(t *testing.T) {
	t.Setenv("NETBOX_URL", "")
	code, _, errs := cli(t, "", "netbox", "prefixes")
	if code != exitBadInput || !strings.Contains(errs, "NETBOX_URL is not set (or use --lab)") {
		t.Errorf("exit %d %s", code, errs)
	}
	t.Setenv("NETBOX_URL", "https://127.0.0.1:1")
	t.Setenv("NETBOX_TOKEN", "secret-token-value")
	code, _, errs = cli(t, "", "netbox", "prefixes", "--format", "xml")
	if code != exitBadInput || !strings.Contains(errs, `--format "xml": want csv or table`) {
		t.Errorf("exit %d %s", code, errs)
	}
	code, _, errs = cli(t, "", "netbox", "prefixes")
	if code != exitBadInput || !strings.Contains(errs, "connection refused") || strings.Contains(errs, "secret-token-value") {
		t.Errorf("exit %d %s", code, errs)
	}
}
