package checks

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// UnitActive passes when a systemd unit is active. The verdict comes from systemctl show's
// machine-readable properties; systemctl status's prose (since when, main PID, last log lines) is
// the evidence a person reads.
type UnitActive struct {
	Unit string
}

// unitProps are the properties UnitActive asks systemctl show for.
var unitProps = "Id,LoadState,ActiveState,SubState,Result,UnitFileState,StateChangeTimestamp,MainPID,ExecMainStatus,LoadError"

// Run asks systemctl show for the unit's state, then systemctl status for the evidence.
func (u UnitActive) Run(ctx context.Context, env Env) Result {
	o := runHere(ctx, env, c("systemctl", "show", "-p", unitProps, "--", u.Unit))
	if why, bad := o.unusable(); bad {
		return inconclusive(why, o.stderr...)
	}
	p := ParseShow(o.stdout)
	if o.exit != 0 || p["LoadState"] == "" || p["ActiveState"] == "" {
		return inconclusive(fmt.Sprintf("systemctl show %s exited %d without the unit's state", u.Unit, o.exit), tail(append(o.stderr, o.stdout...), 5)...)
	}
	st := runHere(ctx, env, c("systemctl", "status", "--no-pager", "--lines=5", "--", u.Unit))
	evidence := append(p.evidence(), ParseStatus(st.stdout).Evidence()...)
	evidence = append(evidence, tail(o.stderr, 3)...) // e.g. systemctl's "Invalid unit name … escaped as …"
	name := p["Id"]
	if name == "" {
		name = u.Unit
	}
	switch p["LoadState"] {
	case "loaded":
	case "not-found":
		return fail(fmt.Sprintf("%s not found: no such unit on this host", name), evidence...)
	case "masked":
		return fail(fmt.Sprintf("%s is masked: it cannot be started", name), evidence...)
	default:
		return fail(fmt.Sprintf("%s failed to load (%s): %s", name, p["LoadState"], loadError(p["LoadError"])), evidence...)
	}
	state := p["ActiveState"] + " (" + p["SubState"] + ")"
	if t := p["StateChangeTimestamp"]; t != "" {
		state += " since " + t
	}
	if p["ActiveState"] == "active" || p["ActiveState"] == "reloading" {
		return pass(name+" "+state, evidence...)
	}
	if r := p["Result"]; r != "" && r != "success" {
		state += fmt.Sprintf("; last result %s (exit status %s)", r, p["ExecMainStatus"])
	}
	return fail(name+" "+state, evidence...)
}

// Show is systemctl show's answer: property name to value.
type Show map[string]string

// ParseShow reads systemctl show's NAME=VALUE lines.
func ParseShow(lines []string) Show {
	p := Show{}
	for _, l := range lines {
		if k, v, ok := strings.Cut(l, "="); ok && k != "" && !strings.ContainsAny(k, " \t") {
			p[k] = v
		}
	}
	return p
}

func (p Show) evidence() []string {
	out := []string{fmt.Sprintf("LoadState=%s ActiveState=%s SubState=%s Result=%s", p["LoadState"], p["ActiveState"], p["SubState"], p["Result"])}
	if f := p["UnitFileState"]; f != "" {
		out = append(out, "UnitFileState="+f)
	}
	if e := p["LoadError"]; e != "" {
		out = append(out, "LoadError="+e)
	}
	return out
}

// loadError is the human part of a LoadError property (`org.freedesktop.systemd1.X "text"`).
func loadError(e string) string {
	if _, msg, ok := strings.Cut(e, " "); ok {
		return strings.Trim(msg, `"`)
	}
	return e
}

// Status is what systemctl status says of a unit.
type Status struct {
	Unit     string
	Loaded   string // e.g. loaded (/lib/systemd/system/nginx.service; enabled; preset: enabled)
	Active   string // e.g. active (running)
	Since    string // e.g. Sat 2026-11-28 21:41:07 UTC
	MainPID  string // e.g. 1203 (nginx)
	Log      []string
	NotFound bool
}

var statusMark = regexp.MustCompile(`^(●|○|×|\*|o|x) `)

// ParseStatus reads the output of systemctl status (systemd 245 to 256, any distribution).
func ParseStatus(lines []string) Status {
	var s Status
	inLog := false
	for i, l := range lines {
		t := strings.TrimSpace(l)
		switch {
		case inLog:
			if t != "" {
				s.Log = append(s.Log, t)
			}
		case t == "" && i > 0:
			inLog = true
		case strings.HasPrefix(t, "Unit ") && strings.HasSuffix(t, "could not be found."):
			s.NotFound = true
		case i == 0 && statusMark.MatchString(t):
			// ● ○ × in a UTF-8 locale; * o x under LC_ALL=C, as the checks run it.
			name, _, _ := strings.Cut(statusMark.ReplaceAllString(t, ""), " ")
			s.Unit = name
		case strings.HasPrefix(t, "Loaded:"):
			s.Loaded = strings.TrimSpace(strings.TrimPrefix(t, "Loaded:"))
		case strings.HasPrefix(t, "Active:"):
			v := strings.TrimSpace(strings.TrimPrefix(t, "Active:"))
			state, since, _ := strings.Cut(v, " since ")
			s.Active = strings.TrimSpace(state)
			since, _, _ = strings.Cut(since, ";")
			s.Since = strings.TrimSpace(since)
		case strings.HasPrefix(t, "Main PID:"):
			s.MainPID = strings.TrimSpace(strings.TrimPrefix(t, "Main PID:"))
		}
	}
	return s
}

// Evidence lists what a person needs to see of a status.
func (s Status) Evidence() []string {
	var out []string
	if s.Active != "" {
		e := "state " + s.Active
		if s.Since != "" {
			e += " since " + s.Since
		}
		out = append(out, e)
	}
	if s.MainPID != "" {
		out = append(out, "main PID "+s.MainPID)
	}
	if s.Loaded != "" {
		out = append(out, "loaded "+s.Loaded)
	}
	for _, l := range tail(s.Log, 5) {
		out = append(out, "log: "+l)
	}
	return out
}

func (s Status) summary(unit, state string) string {
	switch {
	case s.Active != "" && s.Since != "":
		return fmt.Sprintf("%s %s since %s", unit, s.Active, s.Since)
	case s.Active != "":
		return fmt.Sprintf("%s %s", unit, s.Active)
	}
	return fmt.Sprintf("%s %s", unit, state)
}

// NoFailedUnits passes when systemd lists no failed units.
type NoFailedUnits struct{}

// failedCommand asks for JSON (systemd 251 and later); older systemctl takes --output as a journal
// mode, ignores it here and prints its plain table, which ParseFailedUnits reads too.
var failedCommand = c("systemctl", "list-units", "--failed", "--no-legend", "--plain", "--no-pager", "--output=json")

// Run lists failed units.
func (NoFailedUnits) Run(ctx context.Context, env Env) Result {
	o := runHere(ctx, env, failedCommand)
	if why, bad := o.unusable(); bad {
		return inconclusive(why, o.stderr...)
	}
	if o.exit != 0 {
		return inconclusive(fmt.Sprintf("systemctl --failed exited %d", o.exit), tail(o.stderr, 5)...)
	}
	failed, err := ParseFailedUnits(o.stdout)
	if err != nil {
		return inconclusive("cannot read systemctl's failed units: "+err.Error(), tail(o.stdout, 5)...)
	}
	if len(failed) == 0 {
		return pass("no failed units")
	}
	names := make([]string, len(failed))
	evidence := make([]string, len(failed))
	for i, u := range failed {
		names[i] = u.Unit
		evidence[i] = fmt.Sprintf("%s %s %s %s %s", u.Unit, u.Load, u.Active, u.Sub, u.Description)
	}
	return fail(fmt.Sprintf("%d failed unit(s): %s", len(failed), strings.Join(names, ", ")), evidence...)
}

// FailedUnit is one row of systemctl list-units --failed.
type FailedUnit struct {
	Unit        string `json:"unit"`
	Load        string `json:"load"`
	Active      string `json:"active"`
	Sub         string `json:"sub"`
	Description string `json:"description"`
}

// ParseFailedUnits reads systemctl list-units --failed: JSON (systemd 251 and later) or the plain
// table (--no-legend --plain) of older versions.
func ParseFailedUnits(lines []string) ([]FailedUnit, error) {
	text := strings.TrimSpace(strings.Join(lines, "\n"))
	if strings.HasPrefix(text, "[") {
		var units []FailedUnit
		if err := json.Unmarshal([]byte(text), &units); err != nil {
			return nil, fmt.Errorf("JSON: %w", err)
		}
		for _, u := range units {
			if u.Unit == "" {
				return nil, fmt.Errorf("JSON: a row without a unit name")
			}
		}
		return units, nil
	}
	var units []FailedUnit
	for _, l := range lines {
		f := strings.Fields(strings.TrimLeft(strings.TrimSpace(l), "●*× "))
		if len(f) >= 4 && strings.Contains(f[0], ".") {
			units = append(units, FailedUnit{Unit: f[0], Load: f[1], Active: f[2], Sub: f[3], Description: strings.Join(f[4:], " ")})
		}
	}
	return units, nil
}
