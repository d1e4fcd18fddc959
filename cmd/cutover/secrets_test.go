package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/teatest"

	"github.com/cutover/cutover/lab"
)

const secretsRunbook = `version: 1
runbooks:
  - name: secrets
    vars:
      api_key: {secret: true, description: "an API key"}
    steps:
      - name: pre
        checks:
          - {kind: vm_on_host, vm: app-01, esx_host: esx-a-01}
          - {kind: ipam, vm: app-01, address: 10.20.0.15, vlan: 200}
          - {kind: command, name: leak, run: "printenv GOVC_PASSWORD NETBOX_TOKEN; echo key={{ .api_key }}; echo {{ .api_key }} >&2; exit 1"}
        gate: {on_fail: ask}
      - name: after
        command: {run: "echo after"}
`

// vCenter's password and NetBox's token from the environment and a secret var: a command prints
// all three, and none of them reaches the journal, the reports, stderr, the plain output or any
// frame the console drew.
func TestSecretsNeverLeave(t *testing.T) {
	l, err := lab.Start(context.Background(), lab.Options{Dir: t.TempDir(), VM: "app-01"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	vc, nb := l.VCenter(), l.NetBox()
	const apiKey = "apikey-7c1e9b2d4f6a8c0e"
	secrets := map[string]string{"GOVC_PASSWORD": vc.Password, "NETBOX_TOKEN": nb.Token, "api_key": apiKey}
	for k, v := range map[string]string{
		"GOVC_URL": vc.URL, "GOVC_USERNAME": vc.Username, "GOVC_PASSWORD": vc.Password, "GOVC_TLS_CA_CERTS": vc.CACerts, "GOVC_DATACENTER": vc.Datacenter,
		"NETBOX_URL": nb.URL, "NETBOX_TOKEN": nb.Token, "NETBOX_CA_CERTS": nb.CACerts,
	} {
		t.Setenv(k, v)
	}
	book := filepath.Join(t.TempDir(), "runbooks.yaml")
	os.WriteFile(book, []byte(secretsRunbook), 0o600)

	for _, mode := range []string{"plain", "console"} {
		t.Run(mode, func(t *testing.T) {
			tr := t.TempDir()
			var out, errs bytes.Buffer
			s := streams{in: strings.NewReader(""), out: &out, err: &errs}
			var frames []byte
			args := []string{"run", book, "--yes", "--transcript", tr, "--var", "secret:api_key=" + apiKey}
			if mode == "plain" {
				args = append(args, "--plain")
			} else {
				s.console = func(m tea.Model) error {
					tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(160, 48))
					teatest.WaitFor(t, tm.Output(), func(b []byte) bool {
						frames = append(frames[:0], b...)
						return bytes.Contains(b, []byte("run ended"))
					}, teatest.WithDuration(60*time.Second), teatest.WithCheckInterval(20*time.Millisecond))
					tm.Type("q")
					tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))
					frames = append(frames, tm.FinalModel(t).View()...)
					return nil
				}
			}
			if code := run(args, s); code != exitFailed {
				t.Fatalf("exit %d, want 1 (the leak check fails the gate)\n%s\n%s", code, out.String(), errs.String())
			}
			journal := journalOf(t, tr)
			data, _ := os.ReadFile(journal)
			_, md, _ := cli(t, "", "report", journal)
			_, html, _ := cli(t, "", "report", journal, "--format", "html")
			places := map[string]string{"journal": string(data), "markdown report": md, "html report": html, "stdout": out.String(), "stderr": errs.String(), "console": string(frames)}
			for name, secret := range secrets {
				for where, text := range places {
					if strings.Contains(text, secret) {
						t.Errorf("%s reached the %s", name, where)
					}
				}
			}
			// The command did print them: the journal holds its redacted output.
			if n := strings.Count(string(data), "[REDACTED]"); n < 4 {
				t.Errorf("%d redactions in the journal, want the 4 printed lines:\n%s", n, data)
			}
			if !strings.Contains(string(data), `"outcome":"pass","summary":"app-01 runs on esx-a-01 (HostSystem:`) || !strings.Contains(string(data), "is Active in 10.20.0.0/24") {
				t.Error("vCenter and NetBox were not both used")
			}
		})
	}
}
