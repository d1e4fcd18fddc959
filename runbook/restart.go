package runbook

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/cutover/cutover/checks"
	"github.com/cutover/cutover/checks/remote"
)

// defaultRestartTimeout bounds one systemctl restart when the runbook sets no timeout.
const defaultRestartTimeout = 2 * time.Minute

// runStagedRestart restarts the unit on each host in turn and runs that host's gate before moving
// on; the first host that fails stops the restart, so the rest keep serving.
func (e *Engine) runStagedRestart(ctx context.Context, st *Step, attempt int) CheckData {
	r := st.Restart
	unit := r.Unit.Render(e.values(), nil)
	label := e.redact(fmt.Sprintf("restart %s on %s", unit, strings.Join(r.Hosts, ", ")))
	cd := CheckData{Index: ActionIndex, Check: label, Kind: "staged_restart", Host: strings.Join(r.Hosts, ","), Attempt: attempt}
	start := e.cfg.Clock()
	timeout := r.Timeout.Std()
	if timeout <= 0 {
		timeout = defaultRestartTimeout
	}
	var evidence []string
	for i, h := range r.Hosts {
		restart := checks.Command{Cmd: remote.Command{Argv: []string{"systemctl", "restart", "--", unit}, Env: []string{"LC_ALL=C"}, Timeout: timeout}}
		one := CheckData{Index: ActionIndex, Check: fmt.Sprintf("restart %s on %s", unit, h), Kind: "restart", Host: h, Attempt: attempt}
		hs := e.cfg.Clock()
		one.Result = e.observe(ctx, st.Name, h, ActionIndex, one.Check, attempt, restart, false)
		one.Duration = ms(e.cfg.Clock().Sub(hs))
		e.finishCheck(&one)
		e.emit(EvAction, st.Name, one)
		if one.Outcome != Pass {
			cd.Result = Result{Outcome: one.Outcome, Summary: fmt.Sprintf("restart on %s: %s; %d of %d hosts restarted", h, one.Summary, i, len(r.Hosts))}
			break
		}
		sub := &Step{Name: st.Name, Checks: onHost(r.Checks, h), Gate: r.Gate}
		verdict, _, what := e.runGate(ctx, sub)
		if verdict != Pass {
			cd.Result = Result{Outcome: verdict, Summary: fmt.Sprintf("%s did not pass its gate after the restart: %s; stopped after %d of %d hosts", h, what, i+1, len(r.Hosts))}
			break
		}
		evidence = append(evidence, fmt.Sprintf("%s restarted and passed its gate", h))
	}
	if cd.Outcome == "" {
		cd.Result = Result{Outcome: Pass, Summary: fmt.Sprintf("%s restarted on %d hosts, each passed its gate", unit, len(r.Hosts))}
	}
	cd.Evidence = append(evidence, cd.Evidence...)
	cd.Duration = ms(e.cfg.Clock().Sub(start))
	e.finishCheck(&cd)
	e.emit(EvAction, st.Name, cd)
	return cd
}

// onHost copies check specs with their host set to h.
func onHost(specs []CheckSpec, h string) []CheckSpec {
	out := make([]CheckSpec, len(specs))
	for i, c := range specs {
		c.Host = h
		out[i] = c
	}
	return out
}
