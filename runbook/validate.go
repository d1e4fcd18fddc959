package runbook

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"
)

var namePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)

// validator checks the rules that span fields: names unique, references defined, values in range.
type validator struct {
	*errorList
	rb      *Runbook
	ids     map[string]int    // check id → index of the main step that records it
	idKinds map[string]string // check id → kind of the check that records it
	names   map[string]bool
	inWave  map[string]bool // inside a wave's steps: the item fields, which are vars there
}

func (d *Document) validate(l *errorList) {
	if p, ok := d.Pos.lookup("version"); ok && d.Version != 1 && !l.hasAt(p) {
		l.add(p, "version", "unsupported version %d: this cutover reads version 1", d.Version)
	}
	if d.Runbooks != nil && len(d.Runbooks) == 0 {
		l.add(d.Pos.Field("runbooks"), "runbooks", "no runbooks defined")
	}
	seen := map[string]bool{}
	for i := range d.Runbooks {
		rb := &d.Runbooks[i]
		path := fmt.Sprintf("runbooks[%d]", i)
		switch {
		case rb.Name == "":
		case !namePattern.MatchString(rb.Name):
			l.add(rb.Pos.Field("name"), path+".name", "%q: use lower-case letters, digits, '.', '_' and '-'", rb.Name)
		case seen[rb.Name]:
			l.add(rb.Pos.Field("name"), path+".name", "runbook %q is defined twice", rb.Name)
		}
		seen[rb.Name] = true
		v := &validator{errorList: l, rb: rb, ids: map[string]int{}, idKinds: map[string]string{}, names: map[string]bool{}}
		v.runbook(path)
	}
}

func (v *validator) runbook(path string) {
	rb := v.rb
	if w := rb.Window; w != nil && !w.Start.IsZero() && !w.End.IsZero() && !w.End.After(w.Start.Time) {
		v.add(w.Pos.Field("end"), path+".window.end", "window ends at or before it starts")
	}
	for _, name := range slices.Sorted(maps.Keys(rb.Vars)) {
		vr := rb.Vars[name]
		p := path + ".vars." + name
		switch {
		case !identPattern.MatchString(name):
			v.add(rb.Pos.Field("vars"), p, "var names are letters, digits and '_', not starting with a digit")
		case slices.Contains(builtinVars, name):
			v.add(rb.Pos.Field("vars"), p, "%q is set by cutover itself and cannot be declared", name)
		}
		if vr.Env != "" && !identPattern.MatchString(vr.Env) {
			v.add(vr.Pos.Field("env"), p+".env", "%q is not an environment variable name", vr.Env)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(rb.Hosts)) {
		h := rb.Hosts[name]
		p := path + ".hosts." + name
		switch {
		case name == LocalHost:
			v.add(h.Pos, p, "%q is this machine and needs no entry", LocalHost)
		case !namePattern.MatchString(name):
			v.add(h.Pos, p, "host names are lower-case letters, digits, '.', '_' and '-'")
		}
		if h.Port < 0 || h.Port > 65535 {
			v.add(h.Pos.Field("port"), p+".port", "port %d is out of range", h.Port)
		}
	}
	if rb.Steps != nil && len(rb.Steps) == 0 {
		v.add(rb.Pos.Field("steps"), path+".steps", "no steps defined")
	}
	for i := range rb.Steps {
		v.step(&rb.Steps[i], fmt.Sprintf("%s.steps[%d]", path, i), i, false)
	}
}

func (v *validator) step(s *Step, path string, index int, rollback bool) {
	if s.Name != "" {
		if v.names[s.Name] {
			v.add(s.Pos.Field("name"), path+".name", "step %q is defined twice in runbook %s", s.Name, v.rb.Name)
		}
		v.names[s.Name] = true
	}
	if s.Wave != nil {
		loadItems(v.file, s.Wave, v.errorList, path+".wave")
		v.wave(s, path, rollback)
	}
	if !s.hasAction() && len(s.Checks) == 0 && s.Wave == nil && s.Pos.Fields != nil {
		v.add(s.Pos, path, "step %q does nothing: give it a command or checks", s.Name)
	}
	var actions []string
	for name, set := range map[string]bool{"command": s.Command != nil, "staged_restart": s.Restart != nil, "migrate": s.Migrate != nil} {
		if set {
			actions = append(actions, name)
		}
	}
	if len(actions) > 1 {
		slices.Sort(actions)
		v.add(s.Pos, path, "a step has one action, not %s", strings.Join(actions, " and "))
	}
	if w := s.Watch; w != nil && w.Ping != nil {
		p := w.Ping
		pp := path + ".watch.ping"
		if !s.hasAction() {
			v.add(s.Pos.Field("watch"), path+".watch", "a watch spans the step's action, and step %q has none", s.Name)
		}
		v.tmpl(p.Target, pp+".target")
		v.host(p.From, p.Pos.Field("from"), pp+".from")
		if p.Target.Text == "auto" && p.From == "" {
			v.add(p.Target.Pos, pp+".target", "auto reads the default route of the from: host; name one")
		}
		if p.Interval != 0 && p.Interval.Std() < 10*time.Millisecond {
			v.add(p.Pos.Field("interval"), pp+".interval", "at least 10ms, got %s", p.Interval.Std())
		}
		if p.MaxLost != nil && *p.MaxLost < 0 {
			v.add(p.Pos.Field("max_lost"), pp+".max_lost", "want 0 or more, got %d", *p.MaxLost)
		}
		switch {
		case p.OnBreach != "" && p.OnBreach != "finish" && p.OnBreach != "cancel":
			v.add(p.Pos.Field("on_breach"), pp+".on_breach", "want finish or cancel, got %q%s", p.OnBreach, didYouMean(p.OnBreach, []string{"cancel", "finish"}))
		case p.OnBreach == "cancel" && s.Migrate == nil:
			v.add(p.Pos.Field("on_breach"), pp+".on_breach", "cancel stops a vMotion task, and step %q migrates nothing", s.Name)
		}
	}
	if m := s.Migrate; m != nil {
		v.tmpl(m.VM, path+".migrate.vm")
		v.tmpl(m.Host, path+".migrate.host")
		v.tmpl(m.Pool, path+".migrate.pool")
		v.tmpl(m.Datastore, path+".migrate.datastore")
		switch m.Priority {
		case "", "default", "high", "low":
		default:
			v.add(m.Pos.Field("priority"), path+".migrate.priority", "want default, high or low, got %q", m.Priority)
		}
	}
	if r := s.Restart; r != nil {
		v.stagedRestart(r, path+".staged_restart", index, rollback)
	}
	if g := s.Gate; g != nil {
		if len(s.Checks) == 0 {
			v.add(s.Pos.Field("gate"), path+".gate", "gate has no checks to judge")
		}
		v.gate(g, len(s.Checks), path+".gate")
		if rollback && g.OnFail == OnFailRollback {
			v.add(g.Pos.Field("on_fail"), path+".gate.on_fail", "a rollback step cannot roll back: use ask or abort")
		}
		if rollback && g.Unattended != "" {
			v.add(g.Pos.Field("unattended"), path+".gate.unattended", "a rollback step's gate asks only to retry, pass or abort, and --yes passes it (the run ends rollback-failed): unattended means nothing here")
		}
	}
	v.tmpl(s.Confirm, path+".confirm")
	if a := s.Approval; a != nil && (a.Required < 2 || a.Required > 5) {
		v.add(a.Pos.Field("required"), path+".approval.required", "want 2 to 5 people (the operator counts), got %d", a.Required)
	}
	if a := s.Command; a != nil {
		v.host(a.Host, a.Pos.Field("host"), path+".command.host")
		v.command(&a.CommandSpec, path+".command")
	}
	for j := range s.Checks {
		v.check(&s.Checks[j], fmt.Sprintf("%s.checks[%d]", path, j), index, rollback)
	}
	if len(s.Rollback) > 0 && rollback {
		v.add(s.Pos.Field("rollback"), path+".rollback", "rollback steps cannot have rollback steps of their own")
	}
	for j := range s.Rollback {
		v.step(&s.Rollback[j], fmt.Sprintf("%s.rollback[%d]", path, j), index, true)
	}
}

func (v *validator) gate(g *Gate, checks int, path string) {
	if g.Require > 0 && int(g.Require) > checks {
		v.add(g.Pos.Field("require"), path+".require", "requires %d passing checks but the step has %d", g.Require, checks)
	}
	if g.Retries < 0 || g.Retries > 1000 {
		v.add(g.Pos.Field("retries"), path+".retries", "want 0 to 1000 retries, got %d", g.Retries)
	}
}

func (v *validator) stagedRestart(r *StagedRestart, path string, index int, rollback bool) {
	v.tmpl(r.Unit, path+".unit")
	if r.Hosts != nil && len(r.Hosts) == 0 {
		v.add(r.Pos.Field("hosts"), path+".hosts", "no hosts to restart")
	}
	seen := map[string]bool{}
	for i, h := range r.Hosts {
		p := fmt.Sprintf("%s.hosts[%d]", path, i)
		v.host(h, r.Pos.Field("hosts"), p)
		if seen[h] {
			v.add(r.Pos.Field("hosts"), p, "host %s is listed twice", h)
		}
		seen[h] = true
	}
	for j := range r.Checks {
		c := &r.Checks[j]
		p := fmt.Sprintf("%s.checks[%d]", path, j)
		if c.Host != "" {
			v.add(c.Pos.Field("host"), p+".host", "checks of a staged restart run on the host just restarted; host does not apply")
		}
		if c.ID != "" {
			v.add(c.Pos.Field("id"), p+".id", "checks of a staged restart run once per host and record no baseline")
			continue
		}
		v.check(c, p, index, rollback)
	}
	if g := r.Gate; g != nil {
		if len(r.Checks) == 0 {
			v.add(r.Pos.Field("gate"), path+".gate", "gate has no checks to judge")
		}
		v.gate(g, len(r.Checks), path+".gate")
		if g.OnFail != "" {
			v.add(g.Pos.Field("on_fail"), path+".gate.on_fail", "a failed host fails the restart; the step's own gate.on_fail decides what happens then")
		}
	}
}

func (v *validator) check(c *CheckSpec, path string, step int, rollback bool) {
	v.host(c.Host, c.Pos.Field("host"), path+".host")
	kind, known := checkKinds()[c.Kind]
	if known {
		switch {
		case kind.id == never && c.ID != "":
			v.add(c.Pos.Field("id"), path+".id", "a %s check records no baseline", c.Kind)
		case kind.id == required && c.ID == "":
			v.add(c.Pos, path+".id", "a %s check needs an id to record its baseline under", c.Kind)
		case kind.baseline == never && c.Baseline != "":
			v.add(c.Pos.Field("baseline"), path+".baseline", "a %s check compares with no baseline", c.Kind)
		case kind.baseline == required && c.Baseline == "":
			v.add(c.Pos, path+".baseline", "a %s check needs the id of its baseline (from a %s check)", c.Kind, strings.Join(kind.compares, " or "))
		case c.Sudo && (kind.remote || kind.vcenter || kind.netbox):
			v.add(c.Pos.Field("sudo"), path+".sudo", "sudo means nothing for kind %s: it runs no command on its host", c.Kind)
		}
	}
	if c.ID != "" {
		if !namePattern.MatchString(c.ID) {
			v.add(c.Pos.Field("id"), path+".id", "ids are lower-case letters, digits, '.', '_' and '-'")
		} else if _, dup := v.ids[c.ID]; dup {
			v.add(c.Pos.Field("id"), path+".id", "id %q is defined twice in runbook %s", c.ID, v.rb.Name)
		} else if rollback {
			v.add(c.Pos.Field("id"), path+".id", "rollback steps cannot record baselines")
		} else {
			v.ids[c.ID] = step
			v.idKinds[c.ID] = c.Kind
		}
	}
	if c.Baseline != "" {
		at, ok := v.ids[c.Baseline]
		switch {
		case !ok:
			v.add(c.Pos.Field("baseline"), path+".baseline", "no earlier check has id %q%s", c.Baseline, didYouMean(c.Baseline, slices.Sorted(maps.Keys(v.ids))))
		case at == step && !rollback:
			v.add(c.Pos.Field("baseline"), path+".baseline", "baseline %q is recorded in this same step; compare in a later step", c.Baseline)
		case known && !slices.Contains(kind.compares, v.idKinds[c.Baseline]):
			v.add(c.Pos.Field("baseline"), path+".baseline", "baseline %q was recorded by a %s check; a %s check compares with %s", c.Baseline, v.idKinds[c.Baseline], c.Kind, strings.Join(kind.compares, " or "))
		}
	}
	if c.Spec != nil {
		c.Spec.validate(v, c, path)
	}
}

func (v *validator) host(name string, p Pos, path string) {
	if name == "" || name == LocalHost || (name == GuestHost && v.inWave != nil) {
		return
	}
	if _, ok := v.rb.Hosts[name]; !ok {
		v.add(p, path, "host %q is not defined in runbook %s%s", name, v.rb.Name, didYouMean(name, slices.Sorted(maps.Keys(v.rb.Hosts))))
	}
}

// tmpl checks that every reference of t names a var.
func (v *validator) tmpl(t Tmpl, path string) {
	for _, ref := range t.Refs {
		if v.inWave[ref] {
			continue
		}
		if slices.Contains(runtimeVars, ref) {
			if !v.rb.migrates() {
				v.add(t.Pos, path, "{{ .%s }} is recorded by a migrate step, and runbook %s has none", ref, v.rb.Name)
			}
			continue
		}
		if _, ok := v.rb.Vars[ref]; !ok && !slices.Contains(builtinVars, ref) {
			known := append(slices.Sorted(maps.Keys(v.rb.Vars)), builtinVars...)
			v.add(t.Pos, path, "{{ .%s }}: no such var%s", ref, didYouMean(ref, known))
		}
	}
}

func (v *validator) command(c *CommandSpec, path string) {
	if s := c.Run.Script; s != nil {
		v.tmpl(*s, path+".run")
		problems, arithmetic := scriptRules(*s)
		for _, p := range problems {
			v.add(s.Pos, path+".run", "%s", p)
		}
		for _, ref := range arithmetic {
			if val, ok := v.static(Tmpl{Text: "{{ ." + ref + " }}", Refs: []string{ref}}); ok && !integer.MatchString(val) {
				v.add(s.Pos, path+".run", "{{ .%s }} stands in arithmetic, where only integers are safe, and its value %q is not one", ref, clip(val, 40))
			}
		}
	}
	for i, w := range c.Run.Argv {
		v.tmpl(w, fmt.Sprintf("%s.run[%d]", path, i))
	}
	if len(c.Run.Argv) > 0 {
		for _, p := range argvProblems(c.Run.Argv) {
			v.add(c.Run.Argv[0].Pos, path+".run", "%s", p)
		}
	}
	v.pattern(c.Match, path+".match")
	v.pattern(c.NotMatch, path+".not_match")
}

// pattern checks a regexp field's references and syntax.
func (v *validator) pattern(t Tmpl, path string) {
	if t.Text == "" {
		return
	}
	v.tmpl(t, path)
	// Vars render escaped, so a placeholder stands in for any value they may take.
	if _, err := regexp.Compile(t.Render(placeholders(t.Refs), regexp.QuoteMeta)); err != nil {
		v.add(t.Pos, path, "bad regexp: %s", strings.TrimPrefix(err.Error(), "error parsing regexp: "))
	}
}

// static renders t with the runbook's literal var values, when every reference has one (no
// environment, no --var needed, no runtime var): what validate can check before a run.
func (v *validator) static(t Tmpl) (string, bool) {
	vals := Values{}
	for _, r := range t.Refs {
		vr, ok := v.rb.Vars[r]
		if !ok || vr.Env != "" || vr.Value == "" {
			return "", false
		}
		vals[r] = Value{Text: vr.Value}
	}
	return t.Render(vals, nil), true
}

func placeholders(refs []string) Values {
	vals := Values{}
	for _, r := range refs {
		vals[r] = Value{Text: "x"}
	}
	return vals
}

func (k *commandKind) validate(v *validator, c *CheckSpec, path string) {
	v.command(&k.CommandSpec, path)
}
