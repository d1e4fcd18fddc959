package runbook

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/cutover/cutover/checks/ping"
	"github.com/cutover/cutover/checks/remote"
)

// Watch defaults.
const (
	defaultPingInterval = 200 * time.Millisecond
	defaultPingTimeout  = time.Second
	defaultSettle       = 10 * time.Second
	pingBatchEvery      = time.Second
)

// watchRun is a ping watch running beside a step's action.
type watchRun struct {
	e       *Engine
	step    string
	mon     *ping.Monitor
	data    WatchData
	span    *WatchSpan
	cancel  context.CancelFunc
	done    chan error
	breach  chan struct{}
	mu      sync.Mutex
	pending []ping.Sample
}

// runWatchedAction runs the step's action with its watch around it: the watch starts first, the
// gated span covers the action and the settle time after it, and a breach is journaled the moment
// it happens. A running action is not abandoned (a vMotion half-way through switch-over must end
// on vCenter's terms); the step fails, and its rollback starts, as soon as the action returns.
func (e *Engine) runWatchedAction(ctx context.Context, st *Step, attempt int) CheckData {
	if st.Watch == nil || st.Watch.Ping == nil {
		return e.runAction(ctx, st, attempt)
	}
	w, err := e.startWatch(ctx, st)
	if err != nil {
		return CheckData{Index: ActionIndex, Check: "gateway watch", Kind: "watch", Attempt: attempt,
			Result: Result{Outcome: Inconclusive, Summary: "the gateway watch could not start, so the move cannot be proven safe: " + e.redact(err.Error())}}
	}
	from := e.cfg.Clock()
	w.mon.StartSpan(from)
	if st.Watch.Ping.OnBreach == "cancel" {
		e.setBreachSignal(st.Name, w.breach)
		defer e.setBreachSignal(st.Name, nil)
	}
	e.setWatch(st.Name, w)
	defer e.setWatch(st.Name, nil)
	cd := e.runAction(ctx, st, attempt)
	settle := st.Watch.Ping.Settle.Std()
	if settle <= 0 {
		settle = defaultSettle
	}
	end := e.cfg.Clock()
	w.span = &WatchSpan{From: from, ActionEnd: end, To: end.Add(settle)}
	w.mon.EndSpan(end, w.span.To)
	e.emit(EvWatch, st.Name, WatchData{Phase: WatchSettle, Target: w.data.Target, From: w.data.From, Limits: w.data.Limits, Span: w.span})
	if cd.Outcome == Pass {
		t := time.NewTimer(settle)
		select { // watch the settle time out, unless a limit broke already
		case <-t.C:
		case <-w.breach:
		case <-ctx.Done():
		}
		t.Stop()
	}
	stats, reason, ok := w.stop()
	if ctx.Err() != nil {
		return cd
	}
	if !ok && cd.Outcome == Pass {
		cd.Outcome = Fail
		cd.Summary = fmt.Sprintf("gateway watch: %s (gated span: %s)", reason, stats)
		cd.Evidence = append([]string{fmt.Sprintf("%s → %s: %s", w.data.From, w.data.Target, stats)}, cd.Evidence...)
	}
	return cd
}

func (e *Engine) startWatch(ctx context.Context, st *Step) (*watchRun, error) {
	pw := st.Watch.Ping
	interval := pw.Interval.Std()
	if interval <= 0 {
		interval = defaultPingInterval
	}
	limits := ping.Limits{MaxLost: 1, MaxOutage: pw.MaxOutage.Std(), MaxRTTP95: pw.MaxRTTP95.Std(), MaxRTTIncrease: pw.MaxRTTIncrease.Std()}
	if pw.MaxLost != nil {
		limits.MaxLost = *pw.MaxLost
	}
	target := pw.Target.Render(e.values(), nil)
	from := pw.From
	var runner remote.Runner
	if from != "" {
		r, err := e.cfg.Runners.Runner(from)
		if err != nil {
			return nil, err
		}
		runner = r
		if target == "auto" {
			e.emit(EvCmd, st.Name, CmdData{Index: WatchIndex, Check: "gateway watch", Host: from, Command: "LC_ALL=C ip route show default"})
			gw, err := ping.DefaultGateway(ctx, r)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", from, err)
			}
			target = gw
		}
	} else {
		from = LocalHost
	}
	w := &watchRun{e: e, step: st.Name, done: make(chan error, 1), breach: make(chan struct{}),
		data: WatchData{Target: target, From: from, Limits: watchLimitsOf(limits)}}
	var once sync.Once
	w.mon = ping.NewMonitor(limits, func(b ping.Breach) {
		once.Do(func() { close(w.breach) })
		w.flush()
		stats := watchStatsOf(b.Stats)
		e.emit(EvWatch, st.Name, WatchData{Phase: WatchBreach, Target: target, From: from, Limits: watchLimitsOf(limits), Stats: &stats, Reason: b.Reason, Window: packSamples(b.Window)})
	})
	wctx, cancel := context.WithCancel(ctx)
	w.cancel = cancel
	e.emit(EvWatch, st.Name, WatchData{Phase: WatchStart, Target: target, From: from, Limits: watchLimitsOf(limits)})
	emit := func(s ping.Sample) {
		w.mu.Lock()
		w.pending = append(w.pending, s)
		w.mu.Unlock()
		w.mon.Add(s)
	}
	started := make(chan error, 1)
	go func() {
		var err error
		if runner != nil {
			e.emit(EvCmd, st.Name, CmdData{Index: WatchIndex, Check: "gateway watch", Host: from, Command: ping.RemoteCommand(target, interval).String()})
			started <- nil
			err = ping.WatchRemote(wctx, runner, target, interval, emit, nil)
		} else {
			timeout := pw.Timeout.Std()
			if timeout <= 0 {
				timeout = defaultPingTimeout
			}
			started <- nil
			err = ping.Watch(wctx, ping.Config{Target: target, Interval: interval, Timeout: timeout}, emit)
		}
		w.done <- err
	}()
	<-started
	go w.batches(wctx)
	// A watch that cannot even start (no ICMP privilege, unknown name) fails at once; give it one
	// interval to say so before the action begins.
	select {
	case err := <-w.done:
		cancel()
		if err == nil {
			err = fmt.Errorf("watch ended before the action began")
		}
		return nil, err
	case <-time.After(interval):
	}
	return w, nil
}

// batches journals the samples about once a second, for the live graph and the record.
func (w *watchRun) batches(ctx context.Context) {
	t := time.NewTicker(pingBatchEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			w.flush()
		}
	}
}

func (w *watchRun) flush() {
	w.mu.Lock()
	batch := w.pending
	w.pending = nil
	w.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	now := w.e.cfg.Clock()
	span := watchStatsOf(w.mon.SpanStats(now))
	w.e.emit(EvPing, w.step, PingData{Target: w.data.Target, From: w.data.From, Samples: packSamples(batch), Stats: watchStatsOf(w.mon.Stats(now)), Span: &span})
}

// stop ends the watch, journals the last samples and the verdict over the gated span.
func (w *watchRun) stop() (ping.Stats, string, bool) {
	w.cancel()
	err := <-w.done
	w.flush()
	now := w.e.cfg.Clock()
	stats, reason, ok := w.mon.Verdict(now)
	if err != nil && ok {
		ok, reason = false, "the watch failed: "+err.Error()
	}
	d := w.data
	js, whole := watchStatsOf(stats), watchStatsOf(w.mon.Stats(now))
	before, after := w.mon.Latency(now)
	d.Phase, d.Stats, d.Whole, d.Reason, d.Span = WatchEnd, &js, &whole, reason, w.span
	d.Latency = &WatchLatency{Before: rttFiguresOf(before), After: rttFiguresOf(after)}
	d.Verdict = "pass"
	if !ok {
		d.Verdict = "fail"
	}
	w.e.emit(EvWatch, w.step, d)
	return stats, reason, ok
}

// setBreachSignal lets the step's move hear of a breach (on_breach: cancel); nil clears it.
func (e *Engine) setBreachSignal(step string, ch <-chan struct{}) {
	e.baseMu.Lock()
	defer e.baseMu.Unlock()
	if e.breaches == nil {
		e.breaches = map[string]<-chan struct{}{}
	}
	if ch == nil {
		delete(e.breaches, step)
		return
	}
	e.breaches[step] = ch
}

// setWatch names the watch running beside a step's action (nil: none any more), so the move can
// tell it when it switched over.
func (e *Engine) setWatch(step string, w *watchRun) {
	e.baseMu.Lock()
	defer e.baseMu.Unlock()
	if e.watches == nil {
		e.watches = map[string]*watchRun{}
	}
	if w == nil {
		delete(e.watches, step)
		return
	}
	e.watches[step] = w
}

// switchedOver tells the step's watch the move switched the VM over at t: the round trip before
// it is the latency before the move.
func (e *Engine) switchedOver(step string, t time.Time) {
	e.baseMu.Lock()
	w := e.watches[step]
	e.baseMu.Unlock()
	if w != nil {
		w.mon.MarkSwitchover(t)
	}
}

// IsSwitchover tells a vMotion progress stage that switches the VM over to its destination (the
// lab's "Switching over to the destination"; vCenter words it per version, so any stage naming
// a switch-over). Without one, the action's end is the cut.
func IsSwitchover(stage string) bool {
	s := strings.ToLower(stage)
	return strings.Contains(s, "switch") && strings.Contains(s, "over")
}

func (e *Engine) breachSignal(step string) <-chan struct{} {
	e.baseMu.Lock()
	defer e.baseMu.Unlock()
	return e.breaches[step]
}
