// Package runbook owns the runbook document (types, strict loading, validation, vars) and the
// engine that runs it through health gates and rollback triggers, emitting one ordered event stream.
package runbook

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"
)

// Document is one runbooks.yaml file.
type Document struct {
	Version  int       `yaml:"version" required:"true" desc:"format version; must be 1"`
	Runbooks []Runbook `yaml:"runbooks" required:"true" desc:"the runbooks in this file"`
	File     string    `yaml:"-"`
	Pos      Pos       `yaml:"-"`
}

// Runbook is one change procedure: its hosts, vars and steps.
type Runbook struct {
	Name        string          `yaml:"name" required:"true" desc:"unique name, used on the command line"`
	Description string          `yaml:"description" desc:"what this runbook changes and proves"`
	Window      *Window         `yaml:"window" desc:"the approved change window"`
	Vars        map[string]Var  `yaml:"vars" desc:"values referenced as {{ .name }}; a mapping form reads the environment or marks a secret"`
	Hosts       map[string]Host `yaml:"hosts" desc:"hosts that checks and actions run on; 'local' is this machine and needs no entry"`
	Steps       []Step          `yaml:"steps" required:"true" desc:"the steps, run in order"`
	Pos         Pos             `yaml:"-"`
}

// Window is the approved change window.
type Window struct {
	Start            Timestamp `yaml:"start" required:"true" desc:"RFC 3339 time the window opens"`
	End              Timestamp `yaml:"end" required:"true" desc:"RFC 3339 time the window closes"`
	RollbackEstimate Duration  `yaml:"rollback_estimate" desc:"how long a full rollback takes: past end minus this is the point of no return"`
	HardStop         bool      `yaml:"hard_stop" desc:"past the point of no return, ask before every forward step"`
	Pos              Pos       `yaml:"-"`
}

// ErrOutsideWindow means a run would start outside its change window.
var ErrOutsideWindow = errors.New("outside the change window")

// Check tells whether a run may start at now.
func (w *Window) Check(now time.Time) error {
	switch {
	case w == nil:
		return nil
	case now.Before(w.Start.Time):
		return fmt.Errorf("%w: it opens at %s, in %s", ErrOutsideWindow, w.Start.UTC().Format(time.RFC3339), w.Start.Sub(now).Round(time.Minute))
	case !now.Before(w.End.Time):
		return fmt.Errorf("%w: it closed at %s, %s ago", ErrOutsideWindow, w.End.UTC().Format(time.RFC3339), now.Sub(w.End.Time).Round(time.Minute))
	}
	return nil
}

// Host is a machine that checks and actions run on.
type Host struct {
	Address string `yaml:"address" required:"true" desc:"host name, ssh_config alias or IP address"`
	Zone    string `yaml:"zone" desc:"network zone (site) the host sits in"`
	User    string `yaml:"user" desc:"login user, if not the ssh_config one"`
	Port    int    `yaml:"port" desc:"SSH port, if not the ssh_config one"`
	Pos     Pos    `yaml:"-"`
}

// LocalHost names this machine in check and action host fields.
const LocalHost = "local"

// Step is one stage of a runbook: an optional action, then checks behind a gate. Rollback holds the
// steps that undo it.
type Step struct {
	Name        string         `yaml:"name" required:"true" desc:"unique name within the runbook"`
	Description string         `yaml:"description" desc:"what this step does"`
	Confirm     Tmpl           `yaml:"confirm" desc:"a question the operator must answer before the action runs"`
	Approval    *Approval      `yaml:"approval" desc:"more people who must approve (cutover approve) before the action runs"`
	Command     *CommandAction `yaml:"command" desc:"action: run a command, which must succeed"`
	Restart     *StagedRestart `yaml:"staged_restart" desc:"action: restart a unit host by host, each behind its own gate"`
	Migrate     *MigrateAction `yaml:"migrate" desc:"action: move a VM to another host (vMotion) through vCenter"`
	Watch       *WatchSpec     `yaml:"watch" desc:"watch the network while the action runs; a breach fails the action"`
	Checks      []CheckSpec    `yaml:"checks" desc:"checks that make up the step's health gate"`
	Gate        *Gate          `yaml:"gate" desc:"how the checks combine, retry and fail"`
	Rollback    []Step         `yaml:"rollback" desc:"steps that undo this one, run if a later gate fails"`
	Wave        *Wave          `yaml:"wave" desc:"run steps once per VM of a list, in batches, with per-VM gates and rollback"`
	Pos         Pos            `yaml:"-"`
}

// hasAction tells whether the step changes something (as opposed to only observing).
func (s *Step) hasAction() bool { return s.Command != nil || s.Restart != nil || s.Migrate != nil }

// actionKind names the step's action for events.
func (s *Step) actionKind() string {
	switch {
	case s.Command != nil:
		return "command"
	case s.Restart != nil:
		return "staged_restart"
	case s.Migrate != nil:
		return "migrate"
	}
	return ""
}

// Approval is the four-eyes rule of a step: required counts the operator, so 2 means one more
// engineer, with their own SSH key, signs off with cutover approve.
type Approval struct {
	Required int `yaml:"required" required:"true" desc:"people in all, the operator included (2: one more)"`
	Pos      Pos `yaml:"-"`
}

// WatchSpec is what a step watches during its action.
type WatchSpec struct {
	Ping *PingWatch `yaml:"ping" required:"true" desc:"ping the gateway; at most max_lost packets may be lost"`
	Pos  Pos        `yaml:"-"`
}

// PingWatch pings a gateway from this machine (pro-bing) or from a host over SSH (iputils ping),
// from the step's start until settle after its action; only the action and settle count.
type PingWatch struct {
	Target    Tmpl     `yaml:"target" required:"true" desc:"address or name to ping; auto: the from host's default gateway"`
	From      string   `yaml:"from" desc:"host to ping from (ping -D -O over SSH); default this machine"`
	Interval  Duration `yaml:"interval" desc:"between requests (default 200ms, at least 10ms)"`
	Timeout   Duration `yaml:"timeout" desc:"a request unanswered this long is lost (default 1s; from a host: the interval)"`
	Settle    Duration `yaml:"settle" desc:"keep watching this long after the action (default 10s)"`
	MaxLost   *int     `yaml:"max_lost" desc:"packets that may be lost (default 1)"`
	MaxOutage Duration `yaml:"max_outage" desc:"longest outage allowed (default: no limit)"`
	MaxRTTP95 Duration `yaml:"max_rtt_p95" desc:"RTT p95 allowed (default: no limit)"`
	// MaxRTTIncrease catches tromboning: the VM on the other site still reaching its gateway
	// across the inter-site link.
	MaxRTTIncrease Duration `yaml:"max_rtt_increase" desc:"how much the median RTT may grow from before the move (up to its switch-over) to after it (the settle); default: no limit"`
	OnBreach       string   `yaml:"on_breach" desc:"for a migrate step: finish (default) lets the move end on vCenter's terms and the rollback move the VM back; cancel cancels the vMotion task through vCenter when the gate breaks before the switch-over (after it, the move finishes)"`
	Pos            Pos      `yaml:"-"`
}

// MigrateAction moves a VM with vSphere: pre-flight (CheckRelocate), then Relocate. Its first run
// in a run records where the VM was as origin_host, origin_pool, origin_datastore, origin_cluster.
type MigrateAction struct {
	VM        Tmpl   `yaml:"vm" required:"true" desc:"VM name or inventory path"`
	Host      Tmpl   `yaml:"host" required:"true" desc:"destination ESXi host"`
	Pool      Tmpl   `yaml:"pool" desc:"destination resource pool (default: the destination cluster's)"`
	Datastore Tmpl   `yaml:"datastore" desc:"destination datastore (default: unchanged, as on a stretched datastore)"`
	Priority  string `yaml:"priority" desc:"default, high or low"`
	Pos       Pos    `yaml:"-"`
}

// StagedRestart restarts a systemd unit on one host at a time; a host's checks must pass its gate
// before the next host restarts, so a bad restart stops at the first host.
type StagedRestart struct {
	Unit    Tmpl        `yaml:"unit" required:"true" desc:"systemd unit to restart"`
	Hosts   []string    `yaml:"hosts" required:"true" desc:"hosts in the order they restart"`
	Checks  []CheckSpec `yaml:"checks" desc:"checks run on each host after its restart (their host is that host)"`
	Gate    *Gate       `yaml:"gate" desc:"how each host's checks must hold before the next host restarts"`
	Timeout Duration    `yaml:"timeout" desc:"limit of one restart command (default 2m)"`
	Pos     Pos         `yaml:"-"`
}

// Gate decides whether a step may proceed.
type Gate struct {
	Require  Require  `yaml:"require" desc:"all, any, or how many checks must pass (default all)"`
	Retries  int      `yaml:"retries" desc:"how many more times to run the checks before giving up"`
	Interval Duration `yaml:"interval" desc:"wait between attempts, e.g. 5s"`
	Timeout  Duration `yaml:"timeout" desc:"give up after this long across all attempts"`
	OnFail   OnFail   `yaml:"on_fail" desc:"rollback (default), abort, or ask the operator"`
	// Unattended is what a run with --yes does where the gate would ask a person.
	Unattended Unattended `yaml:"unattended" desc:"what --yes does where this gate would ask: proceed, rollback or abort (default: as on_fail says for a failure; abort for ask)"`
	Pos        Pos        `yaml:"-"`
}

// CommandSpec is a command and what its result must look like.
type CommandSpec struct {
	Run      Cmdline   `yaml:"run" required:"true" desc:"a shell script (values quoted for you) or a list of argv words"`
	Exit     ExitCodes `yaml:"exit" desc:"accepted exit code or codes (default 0)"`
	Match    Tmpl      `yaml:"match" desc:"regexp some output line must match"`
	NotMatch Tmpl      `yaml:"not_match" desc:"regexp no output line may match"`
}

// CommandAction is a step's command action.
type CommandAction struct {
	Host        string   `yaml:"host" desc:"where to run it (default local)"`
	Timeout     Duration `yaml:"timeout" desc:"kill the command after this long"`
	CommandSpec `yaml:",inline"`
	Pos         Pos `yaml:"-"`
}

// CheckSpec is one check of a step as written: common fields plus those of its kind.
type CheckSpec struct {
	Kind     string   `yaml:"kind" required:"true" desc:"what to check"`
	Name     string   `yaml:"name" desc:"a short label (default derived from the check)"`
	Host     string   `yaml:"host" desc:"where to run it (default local)"`
	ID       string   `yaml:"id" desc:"keep this check's output as a baseline under this id"`
	Baseline string   `yaml:"baseline" desc:"id of an earlier check whose output this one must equal"`
	Timeout  Duration `yaml:"timeout" desc:"give up (inconclusive) after this long"`
	Sudo     bool     `yaml:"sudo" desc:"run the check's commands through sudo -n (a host check, for a login that may not read the system journal, the firewall or other users' sockets); a password prompt is inconclusive, never a hang"`
	Spec     kindSpec `yaml:"-"`
	Pos      Pos      `yaml:"-"`
}

// HostsUsed lists the hosts other than local that the runbook's checks and actions run on,
// rollback steps and endpoint probes included, sorted.
func (rb *Runbook) HostsUsed() []string {
	var out []string
	for _, h := range rb.hostRefs() {
		if h != LocalHost && h != GuestHost { // a wave item's guest is not a runbook host (Guests)
			out = append(out, h)
		}
	}
	return out
}

// hostRefs lists every host name the runbook's steps refer to, sorted.
func (rb *Runbook) hostRefs() []string {
	seen := map[string]bool{}
	add := func(h string) {
		if h != "" {
			seen[h] = true
		}
	}
	var visit func(steps []Step)
	visit = func(steps []Step) {
		for _, st := range steps {
			if st.Command != nil {
				add(st.Command.Host)
			}
			if st.Restart != nil {
				for _, h := range st.Restart.Hosts {
					add(h)
				}
			}
			if st.Watch != nil && st.Watch.Ping != nil {
				add(st.Watch.Ping.From)
			}
			for _, c := range st.Checks {
				add(c.Host)
				if ep, ok := c.Spec.(*endpointKind); ok {
					for _, h := range ep.From {
						add(h)
					}
				}
			}
			visit(st.Rollback)
			if st.Wave != nil {
				visit(st.Wave.Steps)
			}
		}
	}
	visit(rb.Steps)
	return slices.Sorted(maps.Keys(seen))
}

// NeedsVCenter tells whether any step migrates a VM or checks one through vCenter, or a wave
// finds its VMs there.
func (rb *Runbook) NeedsVCenter() bool {
	if vc, _ := rb.NeedsItems(); vc {
		return true
	}
	return rb.anyStep(func(st Step) bool { return st.Migrate != nil }, func(c CheckSpec) bool {
		if k, ok := c.Spec.(interface{ needsVCenter() bool }); ok && k.needsVCenter() {
			return true
		}
		return checkKinds()[c.Kind].vcenter
	})
}

// NeedsNetBox tells whether any check asks NetBox, or a wave finds its VMs there.
func (rb *Runbook) NeedsNetBox() bool {
	if _, nb := rb.NeedsItems(); nb {
		return true
	}
	return rb.anyStep(func(Step) bool { return false }, func(c CheckSpec) bool { return checkKinds()[c.Kind].netbox })
}

// anyStep tells whether a step, rollback step or check of the runbook satisfies its predicate.
func (rb *Runbook) anyStep(step func(Step) bool, check func(CheckSpec) bool) bool {
	var any func(steps []Step) bool
	any = func(steps []Step) bool {
		for _, st := range steps {
			if step(st) || any(st.Rollback) || slices.ContainsFunc(st.Checks, check) {
				return true
			}
			if st.Wave != nil && any(st.Wave.Steps) {
				return true
			}
		}
		return false
	}
	return any(rb.Steps)
}

// migrates tells whether a step (or rollback step) of the runbook migrates a VM.
func (rb *Runbook) migrates() bool {
	return rb.anyStep(func(st Step) bool { return st.Migrate != nil }, func(CheckSpec) bool { return false })
}
