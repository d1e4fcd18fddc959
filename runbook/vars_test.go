package runbook

import (
	"strings"
	"testing"
)

func TestParseOverride(t *testing.T) {
	tests := []struct {
		in   string
		want Override
		err  bool
	}{
		{"unit=nginx", Override{Name: "unit", Value: "nginx"}, false},
		{"url=https://x/?a=b", Override{Name: "url", Value: "https://x/?a=b"}, false},
		{"secret:token=s3cr3t", Override{Name: "token", Value: "s3cr3t", Secret: true}, false},
		{"empty=", Override{Name: "empty"}, false},
		{"novalue", Override{}, true},
		{"bad-name=x", Override{}, true},
		{"=x", Override{}, true},
	}
	for _, tt := range tests {
		got, err := ParseOverride(tt.in)
		if (err != nil) != tt.err || (!tt.err && got != tt.want) {
			t.Errorf("ParseOverride(%q) = %+v, %v", tt.in, got, err)
		}
	}
}

func TestResolveVars(t *testing.T) {
	rb := &Runbook{Name: "rb", Vars: map[string]Var{
		"unit":   {Value: "nginx"},
		"token":  {Env: "TOKEN", Secret: true},
		"region": {Env: "REGION", Value: "eu"},
		"needed": {},
		"pw":     {Value: "default"},
	}}
	env := map[string]string{"TOKEN": "t0ken-value"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	vals, err := rb.ResolveVars([]Override{{Name: "needed", Value: "yes"}, {Name: "pw", Value: "hunter22", Secret: true}}, lookup, map[string]string{"run_id": "r1"})
	if err != nil {
		t.Fatal(err)
	}
	want := Values{
		"unit": {Text: "nginx"}, "token": {Text: "t0ken-value", Secret: true}, "region": {Text: "eu"},
		"needed": {Text: "yes"}, "pw": {Text: "hunter22", Secret: true}, "run_id": {Text: "r1"},
	}
	for k, v := range want {
		if vals[k] != v {
			t.Errorf("%s = %+v, want %+v", k, vals[k], v)
		}
	}
	if s := vals.Secrets(); strings.Join(s, ",") != "t0ken-value,hunter22" {
		t.Errorf("secrets = %q (want longest first)", s)
	}

	_, err = rb.ResolveVars([]Override{{Name: "unti", Value: "x"}}, func(string) (string, bool) { return "", false }, nil)
	for _, want := range []string{
		"var token: environment variable TOKEN is not set",
		"var needed has no value: pass --var needed=VALUE",
		`--var unti: runbook rb declares no such var (did you mean "unit"?)`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want it to contain %q", err, want)
		}
	}
}

func TestTmplRender(t *testing.T) {
	tm, err := ParseTmpl("systemctl status {{ .unit }} {{.unit}}x")
	if err != nil {
		t.Fatal(err)
	}
	vals := Values{"unit": {Text: "my unit; rm -rf /"}}
	if got := tm.Render(vals, func(s string) string { return "<" + s + ">" }); got != "systemctl status <my unit; rm -rf /> <my unit; rm -rf />x" {
		t.Errorf("Render = %q", got)
	}
	for _, bad := range []string{"{{ if .x }}", "{{ .x | q }}", "a }} b", "{{ printf }}"} {
		if _, err := ParseTmpl(bad); err == nil {
			t.Errorf("ParseTmpl(%q) accepted", bad)
		}
	}
}

func TestRedactorLongestFirst(t *testing.T) {
	// The NetBox token and a secret var that is its prefix: the whole token must go, in any order.
	for _, secrets := range [][]string{{"abc", "abcdef"}, {"abcdef", "abc"}} {
		if got := Redactor(secrets)("token abcdef and abc"); got != "token [REDACTED] and [REDACTED]" {
			t.Errorf("%v: %q", secrets, got)
		}
	}
	if got := Redactor(nil)("plain"); got != "plain" {
		t.Errorf("no secrets: %q", got)
	}
}
