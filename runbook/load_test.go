package runbook

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cutover/cutover/checks"
)

func TestLoadHostKinds(t *testing.T) {
	doc, err := Load("testdata/host-kinds.yaml")
	if err != nil {
		t.Fatal(err)
	}
	vals := Values{"unit": {Text: "nginx"}, "port": {Text: "443"}}
	want := []string{
		"checks.UnitActive{Unit:\"nginx\"}",
		"checks.NoFailedUnits{}",
		"checks.Listening{Want:checks.ListenSpec{Proto:\"tcp\", Port:443, Addr:\"\", Process:\"nginx\"}}",
		"checks.Listeners{Baseline:\"\"}",
	}
	for i, w := range want {
		c := &doc.Runbooks[0].Steps[0].Checks[i]
		got, err := c.Spec.build(c, vals)
		if err != nil || fmt.Sprintf("%#v", got) != w {
			t.Errorf("check %d: %#v %v, want %s", i, got, err, w)
		}
	}
	ep := &doc.Runbooks[0].Steps[0].Checks[6]
	got, _ := ep.Spec.build(ep, vals)
	if e := got.(checks.Endpoint); e.URL != "https://app-01:443/health" || len(e.From) != 2 {
		t.Errorf("endpoint = %+v", e)
	}
}

func TestLoadValid(t *testing.T) {
	doc, err := Load("testdata/valid.yaml")
	if err != nil {
		t.Fatal(err)
	}
	rb, err := doc.Runbook("")
	if err != nil {
		t.Fatal(err)
	}
	if rb.Name != "restart-web" || len(rb.Steps) != 3 || rb.Hosts["web"].Zone != "site-a" {
		t.Fatalf("runbook = %+v", rb)
	}
	if !rb.Vars["token"].Secret || rb.Vars["port"].Value != "443" {
		t.Errorf("vars = %+v", rb.Vars)
	}
	pre := rb.Steps[0]
	if pre.Gate.Retries != 2 || pre.Gate.Interval.Std().Seconds() != 1 || pre.Gate.OnFail != OnFailAbort {
		t.Errorf("gate = %+v", pre.Gate)
	}
	if k := pre.Checks[1].Spec.(*commandKind); len(k.Run.Argv) != 3 || k.Run.Argv[2].Refs[0] != "unit" {
		t.Errorf("argv = %+v", k.Run.Argv)
	}
	if post := rb.Steps[2]; post.Gate.Require != 1 || post.Checks[0].Baseline != "conf-before" {
		t.Errorf("post = %+v", post)
	}
	if p := pre.Checks[1].Pos.Field("host"); p.Line != 16 {
		t.Errorf("host position = %+v, want line 16", p)
	}
}

// Each malformed file lists the exact errors Load must report, all of them, in file order.
func TestLoadMalformed(t *testing.T) {
	tests := map[string][]string{
		"bad-values.yaml": {
			"testdata/bad-values.yaml:4:50: runbooks[0].window.end: window ends at or before it starts",
			"testdata/bad-values.yaml:7:84: runbooks[0].steps[0].checks[1].match: bad regexp: missing closing ): `(unclosed`",
			"testdata/bad-values.yaml:7:106: runbooks[0].steps[0].checks[1].timeout: want a duration such as 500ms, 5s or 2m, got \"soon\"",
			"testdata/bad-values.yaml:8:25: runbooks[0].steps[0].gate.require: want all, any or a number of checks (1 or more), got \"most\"",
			"testdata/bad-values.yaml:8:53: runbooks[0].steps[0].gate.interval: want a duration such as 500ms, 5s or 2m, got \"-5s\"",
			"testdata/bad-values.yaml:8:67: runbooks[0].steps[0].gate.on_fail: want rollback, abort or ask, got \"rolback\" (did you mean \"rollback\"?)",
			"testdata/bad-values.yaml:10:42: runbooks[0].steps[1].command.exit[1]: want an exit code from 0 to 255, got \"300\"",
			"testdata/bad-values.yaml:12:25: runbooks[0].steps[2].gate.require: requires 3 passing checks but the step has 1",
		},
		"duplicates.yaml": {
			"testdata/duplicates.yaml:6:88: runbooks[0].steps[0].checks[1].id: id \"a\" is defined twice in runbook dup",
			"testdata/duplicates.yaml:9:15: runbooks[0].steps[2].name: step \"one\" is defined twice in runbook dup",
			"testdata/duplicates.yaml:10:51: runbooks[0].steps[2].checks[0].id: id \"a\" is defined twice in runbook dup",
			"testdata/duplicates.yaml:11:11: runbooks[1].name: runbook \"dup\" is defined twice",
			"testdata/duplicates.yaml:17:13: runbooks[1].steps[0].checks[0].run: defined twice",
		},
		"host-kinds-bad.yaml": {
			"testdata/host-kinds-bad.yaml:11:48: runbooks[0].steps[0].checks[0].port: want a port from 1 to 65535, got \"70000\"",
			"testdata/host-kinds-bad.yaml:11:62: runbooks[0].steps[0].checks[0].proto: want tcp or udp, got \"sctp\"",
			"testdata/host-kinds-bad.yaml:12:13: runbooks[0].steps[0].checks[1].id: a listeners_baseline check needs an id to record its baseline under",
			"testdata/host-kinds-bad.yaml:13:61: runbooks[0].steps[0].checks[2].id: a unit_active check records no baseline",
			"testdata/host-kinds-bad.yaml:14:36: runbooks[0].steps[0].checks[3].host: an endpoint runs from its from: hosts; host does not apply",
			"testdata/host-kinds-bad.yaml:14:46: runbooks[0].steps[0].checks[3].url: want an http:// or https:// URL, got \"ftp://x\"",
			"testdata/host-kinds-bad.yaml:14:63: runbooks[0].steps[0].checks[3].from: these hosts span 1 zone(s) but min_zones is 2: probe from more zones",
			"testdata/host-kinds-bad.yaml:15:13: runbooks[0].steps[0].checks[4]: give exactly one of url and tcp",
			"testdata/host-kinds-bad.yaml:15:36: runbooks[0].steps[0].checks[4].from[1]: host \"probe-b\" is not defined in runbook web (did you mean \"probe-a\"?)",
			"testdata/host-kinds-bad.yaml:16:49: runbooks[0].steps[0].checks[5].allow[0]: want a service name or PORT/PROTO such as 8443/tcp, got \"443\"",
			"testdata/host-kinds-bad.yaml:17:54: runbooks[0].steps[0].checks[6].expect[0]: want an IP address, got \"not-an-ip\"",
			"testdata/host-kinds-bad.yaml:18:46: runbooks[0].steps[0].checks[7].mode: want enforcing, permissive or disabled, got \"strict\"",
			"testdata/host-kinds-bad.yaml:21:62: runbooks[0].steps[1].checks[0].baseline: baseline \"fw\" was recorded by a firewall check; a listeners_unchanged check compares with listeners_baseline",
			"testdata/host-kinds-bad.yaml:22:13: runbooks[0].steps[1].checks[1].baseline: a journal_regressions check needs the id of its baseline (from a journal_baseline check)",
			"testdata/host-kinds-bad.yaml:23:96: runbooks[0].steps[1].checks[2].sudo: sudo means nothing for kind endpoint: it runs no command on its host",
			"testdata/host-kinds-bad.yaml:24:65: runbooks[0].steps[1].checks[3].ignore: a journal_baseline records every error; ignore belongs on the journal_regressions check that compares with it",
			"testdata/host-kinds-bad.yaml:25:62: runbooks[0].steps[1].checks[4].baseline: no earlier check has id \"e0\" (did you mean \"e2\"?)",
			"testdata/host-kinds-bad.yaml:25:75: runbooks[0].steps[1].checks[4].ignore[0]: bad regexp: missing closing ): `(sshd`",
		},
		"ipam-bad.yaml": {
			"testdata/ipam-bad.yaml:8:13: runbooks[0].steps[0].checks[0].vm: an ipam check needs vm (to read its guest IP) or address",
			"testdata/ipam-bad.yaml:9:44: runbooks[0].steps[0].checks[1].host: an ipam check asks NetBox; host does not apply",
			"testdata/ipam-bad.yaml:9:55: runbooks[0].steps[0].checks[1].vlan: want a VLAN ID from 1 to 4094, got \"5000\"",
			"testdata/ipam-bad.yaml:10:35: runbooks[0].steps[0].checks[2].address: want an IP address without mask, got \"10.20.0.15/24\"",
			"testdata/ipam-bad.yaml:10:61: runbooks[0].steps[0].checks[2].interface: interface needs vm: it names the VM's interface",
			"testdata/ipam-bad.yaml:11:44: runbooks[0].steps[0].checks[3].vlan: {{ .vid }}: no such var",
			"testdata/ipam-bad.yaml:11:58: runbooks[0].steps[0].checks[3].site_groop: unknown field (did you mean \"site_group\"?)",
		},
		"migrate-bad.yaml": {
			"testdata/migrate-bad.yaml:6:24: runbooks[0].steps[0].command.run: {{ .origin_host }} is recorded by a migrate step, and runbook no-migrate has none",
			"testdata/migrate-bad.yaml:10:9: runbooks[1].steps[0]: a step has one action, not command and migrate",
			"testdata/migrate-bad.yaml:11:57: runbooks[1].steps[0].migrate.priority: want default, high or low, got \"urgent\"",
			"testdata/migrate-bad.yaml:14:13: runbooks[1].steps[0].checks[0].esx_host: required field is missing",
			"testdata/migrate-bad.yaml:14:50: runbooks[1].steps[0].checks[0].host: a vm_on_host check asks vCenter; host does not apply",
			"testdata/migrate-bad.yaml:15:49: runbooks[1].steps[0].checks[1].esx_host: only vm_on_host takes esx_host",
			"testdata/migrate-bad.yaml:15:67: runbooks[1].steps[0].checks[1].expect: want an IP address, got \"not-ip\"",
			"testdata/migrate-bad.yaml:16:13: runbooks[1].steps[0].checks[2].esx_host: required field is missing",
		},
		"quoting.yaml": {
			"testdata/quoting.yaml:8:34: runbooks[0].steps[0].checks[0].run: script line 1: {{ .unit }} stands inside single quotes, where the shell expands nothing: remove the quotes (values are quoted for you)",
			"testdata/quoting.yaml:9:34: runbooks[0].steps[0].checks[1].run: only {{ .name }} references are supported, near \"{{ .unit | printf \\\"%q\\\" }\u2026\"",
			"testdata/quoting.yaml:11:18: runbooks[0].steps[0].checks[2].run: script line 2: {{ .unit }} stands in a here-document whose delimiter 'EOF' is quoted, so the shell expands nothing in it: unquote the delimiter and the value is inserted as text",
			"testdata/quoting.yaml:15:34: runbooks[0].steps[0].checks[3].run: script line 1: {{ .unit }} stands where eval takes it as code, not data: a value there could run; pass it in the environment instead (NAME={{ .var }} before the command) and read $NAME there",
			"testdata/quoting.yaml:16:34: runbooks[0].steps[0].checks[4].run: {{ .size }} stands in arithmetic, where only integers are safe, and its value \"12k\" is not one",
			"testdata/quoting.yaml:17:35: runbooks[0].steps[0].checks[5].run: run[2]: {{ .unit }} stands where bash takes it as code, not data: a value there could run; pass it in the environment instead (NAME={{ .var }} before the command) and read $NAME there",
		},
		"rollback-rules.yaml": {
			"testdata/rollback-rules.yaml:10:29: runbooks[0].steps[0].rollback[0].gate.on_fail: a rollback step cannot roll back: use ask or abort",
			"testdata/rollback-rules.yaml:11:23: runbooks[0].steps[0].rollback[0].rollback: rollback steps cannot have rollback steps of their own",
		},
		"staged-bad.yaml": {
			"testdata/staged-bad.yaml:7:9: runbooks[0].steps[0]: a step has one action, not command and staged_restart",
			"testdata/staged-bad.yaml:11:18: runbooks[0].steps[0].staged_restart.hosts[1]: host web-1 is listed twice",
			"testdata/staged-bad.yaml:11:18: runbooks[0].steps[0].staged_restart.hosts[2]: host \"web-9\" is not defined in runbook staged (did you mean \"web-1\"?)",
			"testdata/staged-bad.yaml:13:54: runbooks[0].steps[0].staged_restart.checks[0].host: checks of a staged restart run on the host just restarted; host does not apply",
			"testdata/staged-bad.yaml:14:46: runbooks[0].steps[0].staged_restart.checks[1].id: checks of a staged restart run once per host and record no baseline",
			"testdata/staged-bad.yaml:15:27: runbooks[0].steps[0].staged_restart.gate.require: requires 3 passing checks but the step has 2",
			"testdata/staged-bad.yaml:15:39: runbooks[0].steps[0].staged_restart.gate.on_fail: a failed host fails the restart; the step's own gate.on_fail decides what happens then",
		},
		"syntax.yaml": {
			"testdata/syntax.yaml:4:2: did not find expected key (while parsing a block mapping that starts at 1:1)\n    4 |  steps: []\n      |  ^",
		},
		"undefined-refs.yaml": {
			"testdata/undefined-refs.yaml:9:35: runbooks[0].steps[0].checks[0].host: host \"wbe\" is not defined in runbook refs (did you mean \"web\"?)",
			"testdata/undefined-refs.yaml:9:45: runbooks[0].steps[0].checks[0].run: {{ .unti }}: no such var (did you mean \"unit\"?)",
			"testdata/undefined-refs.yaml:12:68: runbooks[0].steps[1].checks[0].baseline: no earlier check has id \"before-conf\"",
			"testdata/undefined-refs.yaml:13:52: runbooks[0].steps[1].checks[1].baseline: no earlier check has id \"later\"",
			"testdata/undefined-refs.yaml:14:63: runbooks[0].steps[1].checks[2].baseline: baseline \"later\" is recorded in this same step; compare in a later step",
		},
		"unknown-field.yaml": {
			"testdata/unknown-field.yaml:5:9: runbooks[0].steps[0]: step \"pre\" does nothing: give it a command or checks",
			"testdata/unknown-field.yaml:6:9: runbooks[0].steps[0].chekcs: unknown field (did you mean \"checks\"?)",
		},
		"unknown-kind.yaml": {
			"testdata/unknown-kind.yaml:7:20: runbooks[0].steps[0].checks[0].kind: unknown check kind \"comand\" (did you mean \"command\"?); known kinds: clock, command, dns, endpoint, firewall, firewall_unchanged, ipam, journal_baseline, journal_regressions, journal_unit, listeners_baseline, listeners_unchanged, listening, netbox_vm, no_failed_units, selinux, unit_active, vm_ip, vm_on_host, vm_powered_on, vm_tools_running",
			"testdata/unknown-kind.yaml:8:13: runbooks[0].steps[0].checks[1].kind: required field is missing",
		},
		"version.yaml": {
			"testdata/version.yaml:1:1: runbooks: required field is missing",
			"testdata/version.yaml:1:10: version: unsupported version 2: this cutover reads version 1",
		},
		"watch-bad.yaml": {
			"testdata/watch-bad.yaml:8:16: runbooks[0].steps[0].watch: a watch spans the step's action, and step \"observe\" has none",
			"testdata/watch-bad.yaml:8:32: runbooks[0].steps[0].watch.ping.target: auto reads the default route of the from: host; name one",
			"testdata/watch-bad.yaml:8:48: runbooks[0].steps[0].watch.ping.interval: at least 10ms, got 5ms",
			"testdata/watch-bad.yaml:8:63: runbooks[0].steps[0].watch.ping.max_lost: want 0 or more, got -1",
			"testdata/watch-bad.yaml:11:49: runbooks[0].steps[1].watch.ping.from: host \"nope\" is not defined in runbook watch",
			"testdata/watch-bad.yaml:11:55: runbooks[0].steps[1].watch.ping.pace: unknown field",
			"testdata/watch-bad.yaml:14:54: runbooks[0].steps[2].watch.ping.on_breach: cancel stops a vMotion task, and step \"restart\" migrates nothing",
			"testdata/watch-bad.yaml:17:54: runbooks[0].steps[3].watch.ping.on_breach: want finish or cancel, got \"cancle\" (did you mean \"cancel\"?)",
		},
		"wrong-types.yaml": {
			"testdata/wrong-types.yaml:1:10: version: want a whole number, got \"one\"",
			"testdata/wrong-types.yaml:5:12: runbooks[0].steps: want a list, got a mapping",
		},
	}
	for file, want := range tests {
		t.Run(file, func(t *testing.T) {
			_, err := Load(filepath.Join("testdata", file))
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("err = %v, want Errors", err)
			}
			got := strings.Split(errs.Error(), "\n")
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

func TestParseRejectsEmptyAndHugeFiles(t *testing.T) {
	if _, err := Parse("empty.yaml", nil); err == nil || !strings.Contains(err.Error(), "empty.yaml:1:1: file is empty") {
		t.Errorf("empty: %v", err)
	}
	if _, err := Parse("big.yaml", make([]byte, maxFile+1)); err == nil || !strings.Contains(err.Error(), "at most") {
		t.Errorf("huge: %v", err)
	}
	if _, err := Parse("two.yaml", []byte("version: 1\n---\nversion: 1\n")); err == nil || !strings.Contains(err.Error(), "two.yaml:2:1: a runbook file holds one YAML document") {
		t.Errorf("two docs: %v", err)
	}
}

func TestAliasBombIsBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 9; i++ {
		b.WriteString("a" + string(rune('0'+i)) + ": &a" + string(rune('0'+i)) + " [")
		for j := 0; j < 10; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*a" + string(rune('0'+i-1)))
		}
		b.WriteString("]\n")
	}
	_, err := Parse("bomb.yaml", []byte(b.String()))
	if err == nil {
		t.Fatal("alias bomb loaded")
	}
}

func TestRunbookLookup(t *testing.T) {
	doc, err := Load("testdata/valid.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := doc.Runbook("restart-wbe"); err == nil || !strings.Contains(err.Error(), `did you mean "restart-web"`) {
		t.Errorf("err = %v", err)
	}
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"valid.yaml", "unknown-field.yaml", "bad-values.yaml", "duplicates.yaml", "undefined-refs.yaml", "quoting.yaml"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := Parse("fuzz.yaml", data)
		if (doc == nil) == (err == nil) {
			t.Fatalf("doc %v with err %v", doc, err)
		}
		var errs Errors
		if err != nil && !errors.As(err, &errs) {
			t.Fatalf("err %T is not Errors", err)
		}
		for _, e := range errs {
			if e.File != "fuzz.yaml" || e.Msg == "" {
				t.Fatalf("bad error %+v", e)
			}
		}
	})
}

// A syntax error is named where the parser stopped, line and column, with the construct it was
// reading and a caret; a tab in the indentation is called that; a value where a mapping belongs
// names the mapping's fields.
func TestSyntaxErrorsPointAtTheFault(t *testing.T) {
	tests := []struct{ doc, want string }{
		{"\tversion: 1\n", "t.yaml:1:1: a tab in the indentation: YAML indents with spaces only\n    1 | \tversion: 1\n      | ^"},
		{"version: 1\nrunbooks:\n  - name: x\n    steps:\n      - name: a\n\tcommand: {run: \"true\"}\n", "t.yaml:6:1: a tab in the indentation: YAML indents with spaces only\n    6 | \tcommand: {run: \"true\"}\n      | ^"},
		{"version: 1\nrunbooks:\n  - name: x\n    steps: [a, b\n  - name: y\n", "t.yaml:5:9: did not find expected ',' or ']' (while parsing a flow sequence that starts at 4:12)\n    5 |   - name: y\n      |         ^"},
		{"version: 1\nrunbooks:\n  - name: x\n     steps: []\n", "t.yaml:4:11: mapping values are not allowed in this context\n    4 |      steps: []\n      |           ^"},
		{"version: 1\nrunbooks:\n  - name: \"x\n", "t.yaml:4:1: found unexpected end of stream (while scanning a quoted scalar that starts at 3:11)"},
		{"version: 1\nrunbooks:\n  - name: x\n    steps:\n      - name: a\n        command: \"echo hi\"\n", `t.yaml:6:18: runbooks[0].steps[0].command: want a mapping, got "echo hi"; its fields: host, timeout, run, exit, match, not_match (did you mean {run: "echo hi"}?)`},
	}
	for _, tt := range tests {
		_, err := Parse("t.yaml", []byte(tt.doc))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q:\n%v\nwant\n%s", tt.doc, err, tt.want)
		}
	}
}
