package runbook

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
)

// Builtin vars are set by the engine for every run and may be referenced without declaring them.
var builtinVars = []string{"run_id", "runbook", "operator", "transcript_dir"}

// runtimeVars are set during the run: a migrate step records where the VM was, for the rollback.
var runtimeVars = []string{"origin_host", "origin_pool", "origin_datastore", "origin_cluster"}

var identPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Value is a resolved var.
type Value struct {
	Text   string
	Secret bool
}

// Values are the resolved vars of a run, by name.
type Values map[string]Value

// Secrets lists the secret values, longest first, so that redaction replaces a longer secret
// before any shorter one it contains.
func (v Values) Secrets() []string {
	var out []string
	for _, val := range v {
		if val.Secret && val.Text != "" {
			out = append(out, val.Text)
		}
	}
	slices.SortFunc(out, func(a, b string) int { return len(b) - len(a) })
	return out
}

// Override is a --var flag: name=value, or secret:name=value for a value that must be redacted.
type Override struct {
	Name   string
	Value  string
	Secret bool
}

// ParseOverride parses one --var flag.
func ParseOverride(s string) (Override, error) {
	var o Override
	if rest, ok := strings.CutPrefix(s, "secret:"); ok {
		o.Secret, s = true, rest
	}
	name, value, ok := strings.Cut(s, "=")
	if !ok || !identPattern.MatchString(name) {
		return o, fmt.Errorf("--var %q: want name=value or secret:name=value", s)
	}
	o.Name, o.Value = name, value
	return o, nil
}

// ResolveVars computes the values of a run: declared values, then the environment for vars that
// name one, then --var overrides, then the builtins. Every error is reported, not just the first.
func (rb *Runbook) ResolveVars(overrides []Override, lookupEnv func(string) (string, bool), builtins map[string]string) (Values, error) {
	vals := Values{}
	var errs []error
	for name, v := range rb.Vars {
		val := Value{Text: v.Value, Secret: v.Secret}
		if v.Env != "" {
			if s, ok := lookupEnv(v.Env); ok {
				val.Text = s
			} else if v.Value == "" {
				errs = append(errs, fmt.Errorf("var %s: environment variable %s is not set", name, v.Env))
			}
		}
		vals[name] = val
	}
	declaredOverride := map[string]bool{}
	for _, o := range overrides {
		declaredOverride[o.Name] = true
	}
	for name, v := range rb.Vars {
		if v.Value == "" && v.Env == "" && !declaredOverride[name] {
			errs = append(errs, fmt.Errorf("var %s has no value: pass --var %s=VALUE", name, name))
		}
	}
	for _, o := range overrides {
		v, ok := rb.Vars[o.Name]
		if !ok {
			errs = append(errs, fmt.Errorf("--var %s: runbook %s declares no such var%s", o.Name, rb.Name, didYouMean(o.Name, slices.Sorted(maps.Keys(rb.Vars)))))
			continue
		}
		vals[o.Name] = Value{Text: o.Value, Secret: o.Secret || v.Secret}
	}
	for name, text := range builtins {
		vals[name] = Value{Text: text}
	}
	return vals, errors.Join(errs...)
}
