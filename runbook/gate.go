package runbook

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/cutover/cutover/checks"
	"github.com/cutover/cutover/checks/remote"
)

// DefaultCheckTimeout bounds a check that sets no timeout of its own.
const DefaultCheckTimeout = 2 * time.Minute

// Combine applies a gate's requirement to check verdicts: pass, fail, or inconclusive when the
// checks that could not tell might have swung it.
func Combine(req Require, outcomes []Verdict) Verdict {
	var pass, fail, inc int
	for _, o := range outcomes {
		switch o {
		case Pass:
			pass++
		case Fail:
			fail++
		default:
			inc++
		}
	}
	need := int(req)
	switch req {
	case RequireAll:
		need = len(outcomes)
	case RequireAny:
		need = min(1, len(outcomes))
	}
	switch {
	case pass >= need:
		return Pass
	case pass+inc >= need:
		return Inconclusive
	}
	return Fail
}

// runGate runs the step's checks until the gate holds or its attempts or time run out. It returns
// the last verdict, the last attempt's results and a summary of what did not hold.
func (e *Engine) runGate(ctx context.Context, st *Step) (Verdict, []CheckData, string) {
	if len(st.Checks) == 0 {
		return Pass, nil, ""
	}
	g := Gate{}
	if st.Gate != nil {
		g = *st.Gate
	}
	gctx := ctx
	if g.Timeout > 0 {
		var cancel context.CancelFunc
		gctx, cancel = context.WithTimeout(ctx, g.Timeout.Std())
		defer cancel()
	}
	attempts := 1 + g.Retries
	for attempt := 1; ; attempt++ {
		results := e.runChecks(gctx, st, attempt)
		outcomes := make([]Verdict, len(results))
		gd := GateData{Attempt: attempt, Attempts: attempts, Require: g.Require.String()}
		for i, r := range results {
			outcomes[i] = r.Outcome
			switch r.Outcome {
			case Pass:
				gd.Passed++
			case Fail:
				gd.Failed++
			default:
				gd.Inconclusive++
			}
		}
		gd.Verdict = Combine(g.Require, outcomes)
		what := summarize(results)
		timedOut := ctx.Err() == nil && gctx.Err() != nil
		if timedOut && gd.Verdict != Pass {
			// The gate did not hold within its time: that is a failure, not a lack of evidence.
			gd.Verdict, gd.Next = Fail, fmt.Sprintf("timed out after %s", g.Timeout.Std())
			what = "gate " + gd.Next + "; " + what
		} else if gd.Verdict != Pass && attempt < attempts && ctx.Err() == nil {
			gd.Next = fmt.Sprintf("retry in %s", g.Interval.Std())
		}
		if ctx.Err() != nil {
			return gd.Verdict, results, what
		}
		e.emit(EvGate, st.Name, gd)
		if gd.Verdict == Pass || gd.Next == "" {
			return gd.Verdict, results, what
		}
		if err := e.cfg.Sleep(gctx, g.Interval.Std()); err != nil && ctx.Err() == nil {
			e.emit(EvGate, st.Name, GateData{Attempt: attempt, Attempts: attempts, Require: gd.Require, Verdict: Fail, Next: fmt.Sprintf("timed out after %s", g.Timeout.Std())})
			return Fail, results, fmt.Sprintf("gate timed out after %s; %s", g.Timeout.Std(), what)
		}
		if ctx.Err() != nil {
			return gd.Verdict, results, what
		}
	}
}

// runChecks runs every check of the step once, at most Forks at a time, and returns their results
// in the order the step lists them.
func (e *Engine) runChecks(ctx context.Context, st *Step, attempt int) []CheckData {
	results := make([]CheckData, len(st.Checks))
	sem := make(chan struct{}, e.cfg.Forks)
	gathering, member := gatheringOf(st.Checks, e.cfg.Forks)
	var wg sync.WaitGroup
	for i := range st.Checks {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			ctx := ctx
			if member[i] {
				var done func()
				ctx, done = gathering.Join(ctx)
				defer done()
			}
			results[i] = e.runCheck(ctx, st, i, attempt)
		}()
	}
	wg.Wait()
	return results
}

// gatheringOf is the gathering of a gate's checks that run commands on hosts (not only ask
// vCenter or NetBox), so that those on one host share one session (remote.Gathering), and which
// checks are its members: none for one such check, or for more checks than run at once (one
// waiting for a slot would hold the others' batch).
func gatheringOf(cs []CheckSpec, forks int) (*remote.Gathering, []bool) {
	kinds := checkKinds()
	member := make([]bool, len(cs))
	n := 0
	for i, c := range cs {
		k := kinds[c.Kind]
		member[i] = !k.vcenter && !k.netbox
		if member[i] {
			n++
		}
	}
	if n < 2 || len(cs) > forks {
		return nil, make([]bool, len(cs))
	}
	return remote.NewGathering(n), member
}

func (e *Engine) runCheck(ctx context.Context, st *Step, i, attempt int) CheckData {
	spec := &st.Checks[i]
	label := e.redact(spec.label(e.values()))
	cd := CheckData{Index: i, Check: label, Kind: spec.Kind, Host: hostName(spec.Host), Attempt: attempt, ID: spec.ID}
	start := e.cfg.Clock()
	// The check's timeout bounds all its commands together; a hung command makes it inconclusive.
	timeout := spec.Timeout.Std()
	if timeout <= 0 {
		timeout = DefaultCheckTimeout
	}
	ctx, cancel := context.WithTimeoutCause(ctx, timeout, remote.ErrTimeout)
	defer cancel()
	check, err := spec.Spec.build(spec, e.values())
	if err != nil {
		cd.Result = Result{Outcome: Inconclusive, Summary: "cannot build check: " + err.Error()}
	} else {
		cd.Result = e.observe(ctx, st.Name, spec.Host, i, label, attempt, check, spec.Sudo)
	}
	if cd.Outcome == Pass && cd.Baseline != nil && spec.ID != "" {
		e.baseMu.Lock()
		e.baselines[spec.ID] = cd.Baseline
		e.baseMu.Unlock()
	}
	cd.Duration = ms(e.cfg.Clock().Sub(start))
	e.finishCheck(&cd)
	e.emit(EvCheck, st.Name, cd)
	return cd
}

// runAction runs the step's action once and returns its verdict as check data.
func (e *Engine) runAction(ctx context.Context, st *Step, attempt int) CheckData {
	if st.Restart != nil {
		return e.runStagedRestart(ctx, st, attempt)
	}
	if st.Migrate != nil {
		return e.runMigrate(ctx, st, attempt)
	}
	a := st.Command
	label := e.redact(a.Run.display(e.values()))
	cd := CheckData{Index: ActionIndex, Check: label, Kind: "command", Host: hostName(a.Host), Attempt: attempt}
	start := e.cfg.Clock()
	cmd, err := a.compile(e.values(), a.Timeout)
	if err != nil {
		cd.Result = Result{Outcome: Inconclusive, Summary: "cannot build action: " + err.Error()}
	} else {
		cd.Result = e.observe(ctx, st.Name, a.Host, ActionIndex, label, attempt, cmd, false)
	}
	cd.Duration = ms(e.cfg.Clock().Sub(start))
	e.finishCheck(&cd)
	e.emit(EvAction, st.Name, cd)
	return cd
}

func hostName(h string) string {
	if h == "" {
		return LocalHost
	}
	return h
}

// observe runs one check on its host, journaling its commands and batched output (per host, for
// checks such as endpoint that run commands from several hosts).
func (e *Engine) observe(ctx context.Context, step, host string, index int, label string, attempt int, c checks.Check, asRoot bool) Result {
	host = hostName(host)
	runner, err := e.cfg.Runners.Runner(host)
	if err != nil {
		return Result{Outcome: Inconclusive, Summary: err.Error()}
	}
	var mu sync.Mutex
	batchers := map[string]*batcher{}
	batcherFor := func(h string) *batcher {
		mu.Lock()
		defer mu.Unlock()
		b, ok := batchers[h]
		if !ok {
			b = &batcher{e: e, step: step, host: h, index: index, label: label, every: e.cfg.FlushEvery}
			batchers[h] = b
		}
		return b
	}
	env := checks.Env{
		Host:   host,
		AsRoot: asRoot,
		Runner: redactingRunner{r: runner, redaction: e.redaction, gather: index >= 0}, // an action (-1) alone
		OnCommand: func(h string, cmd remote.Command) {
			batcherFor(h).flush()
			e.emit(EvCmd, step, CmdData{Index: index, Check: label, Host: h, Command: e.redact(cmd.String()), Attempt: attempt})
		},
		OnLine:    func(h string, l remote.Line) { batcherFor(h).add(l) },
		Baselines: e,
		Hosts:     redactingHosts{Hosts: e.cfg.Runners, redaction: e.redaction, gather: index >= 0},
		Inventory: e.cfg.VSphere,
		IPAM:      e.cfg.IPAM,
	}
	res := c.Run(ctx, env)
	mu.Lock()
	for _, b := range batchers {
		b.close()
	}
	mu.Unlock()
	return resultOf(res)
}

// finishCheck redacts what a check result shows.
func (e *Engine) finishCheck(cd *CheckData) {
	cd.Summary = e.redact(cd.Summary)
	cd.Evidence = redactAll(e.redact, cd.Evidence)
	cd.Baseline = redactAll(e.redact, cd.Baseline)
}

func redactAll(r func(string) string, lines []string) []string {
	if lines == nil {
		return nil
	}
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = r(l)
	}
	return out
}

// Baseline gives checks the baselines recorded so far in this run.
func (e *Engine) Baseline(id string) ([]string, bool) {
	e.baseMu.Lock()
	defer e.baseMu.Unlock()
	l, ok := e.baselines[id]
	return l, ok
}
