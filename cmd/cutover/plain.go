package main

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cutover/cutover/checks/remote"
	"github.com/cutover/cutover/internal/termsafe"
	"github.com/cutover/cutover/runbook"
	"github.com/cutover/cutover/runbook/transcript"
)

// printer renders events for --plain: one readable line per event (per output line for output).
type printer struct {
	mu       sync.Mutex
	w        io.Writer
	journal  string
	signer   *transcript.Signer
	allowed  string // an allowed_signers file for this journal, if cutover wrote one
	operator string
	lastPct  int
	stage    string
	state    *runbook.RunState // the run's one fold, for the summary
}

// newPrinter prints a run's lines and its summary. operator is who signs (the -I of the printed
// ssh-keygen line), known before any event: a console run and a resumed run print no run.start.
func newPrinter(w io.Writer, journal string, signer *transcript.Signer, allowed, operator string) *printer {
	return &printer{w: w, journal: journal, signer: signer, allowed: allowed, operator: operator, state: runbook.NewRunState()}
}

var glyphs = map[runbook.Verdict]string{runbook.Pass: "✓", runbook.Fail: "✗", runbook.Inconclusive: "?"}

func (p *printer) line(ev runbook.Event, tag, format string, args ...any) {
	fmt.Fprintf(p.w, "%s %-8s %s\n", ev.Time.Local().Format("15:04:05.000"), tag, fmt.Sprintf(format, args...))
}

// print is the engine's Watch: it runs on the engine's goroutines, so it locks.
// Every string of the event is made terminal-safe first: a host's output must not move the cursor
// over what cutover printed, set the title or write the clipboard.
func (p *printer) print(ev runbook.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	ev.Step, ev.Data = termsafe.Text(ev.Step), termsafe.Value(ev.Data)
	p.state.Apply(ev)
	switch d := ev.Data.(type) {
	case runbook.RunStartData:
		p.operator = d.Operator
		p.line(ev, "run", "%s (%s) as %s", d.Runbook, d.File, d.Operator)
		p.line(ev, "journal", "%s", p.journal)
		if p.signer != nil {
			p.line(ev, "signing", "%s", p.signer)
		}
	case runbook.StepStartData:
		what := fmt.Sprintf("[%d/%d] %s", d.Index, d.Of, ev.Step)
		if d.Phase == runbook.PhaseRollback {
			what = fmt.Sprintf("rollback [%d/%d] %s (undoes %s)", d.Index, d.Of, ev.Step, d.Undoes)
		}
		p.line(ev, "step", "%s", what)
	case runbook.CmdData:
		who := "check"
		if d.Index == runbook.ActionIndex {
			who = "action"
		}
		p.line(ev, "cmd", "%s %s $ %s", who, d.Host, d.Command)
	case runbook.OutputData:
		for _, l := range d.Lines {
			mark := "|"
			if l.Stream == "stderr" {
				mark = "!"
			}
			p.line(ev, "out", "%s %s", mark, l.Text)
		}
		if d.Dropped > 0 {
			p.line(ev, "out", "… %d more lines not journaled", d.Dropped)
		}
	case runbook.CheckData:
		tag := "check"
		if ev.Type == runbook.EvAction {
			tag = "action"
		}
		p.line(ev, tag, "%s %s: %s (%.0fms)", glyphs[d.Outcome], d.Check, d.Summary, float64(d.Duration))
		if d.Outcome != runbook.Pass {
			for _, e := range d.Evidence {
				p.line(ev, "", "  %s", e)
			}
		}
	case runbook.GateData:
		next := ""
		if d.Next != "" {
			next = "; " + d.Next
		}
		p.line(ev, "gate", "%s %s: %d passed, %d failed, %d inconclusive (require %s, attempt %d/%d)%s",
			glyphs[d.Verdict], d.Verdict, d.Passed, d.Failed, d.Inconclusive, d.Require, d.Attempt, d.Attempts, next)
	case runbook.QuestionData:
		p.line(ev, "question", "%s", d.Prompt)
	case runbook.DecisionData:
		p.line(ev, "decision", "%s by %s: %s", d.Choice, d.By, d.Reason)
	case runbook.MigrateData:
		switch d.Phase {
		case runbook.MigrateOrigin:
			p.line(ev, "vcenter", "%s is on %s (%s), pool %s, datastore %s", d.Move.VM, d.From.Host, d.From.Cluster, d.From.Pool, d.From.Datastore)
		case runbook.MigratePreflight:
			p.line(ev, "vcenter", "pre-flight %s → %s: %d warning(s), %d error(s)", d.Move.VM, p.state.HostName(d.Move.Host), len(d.Warnings), len(d.Errors))
			for _, m := range append(d.Warnings, d.Errors...) {
				p.line(ev, "", "  %s", m)
			}
		case "start":
			p.lastPct, p.stage = -100, ""
			p.line(ev, "vcenter", "relocating %s → %s", d.Move.VM, p.state.HostName(d.Move.Host))
		case runbook.MigrateDone:
			p.line(ev, "vcenter", "%s now on %s (%s) after %s", d.Move.VM, d.To.Host, d.To.Cluster, fmtMillis(d.Duration))
		case runbook.MigrateFailed:
			p.line(ev, "vcenter", "relocation FAILED after %s: %s", fmtMillis(d.Duration), d.Error)
		case runbook.MigrateSkipped:
			p.line(ev, "vcenter", "%s already on %s", d.Move.VM, p.state.HostName(d.Move.Host))
		case runbook.MigrateBreach:
			p.line(ev, "vcenter", "the gateway broke with the move of %s at %d%% (%s): %s%s", d.Move.VM, d.Percent, cmp.Or(d.Stage, "not started"), d.Then, colonReason(d.Error))
		case runbook.MigrateInterrupted:
			where := "where it is could not be read"
			if d.To != nil {
				where = "it is on " + d.To.Host
			}
			p.line(ev, "vcenter", "stopped waiting for the move of %s after %s: %s; vCenter task %s %s", d.Move.VM, fmtMillis(d.Duration), where, d.Task, d.TaskState)
		}
	case runbook.ProgressData:
		if d.Percent-p.lastPct >= 10 || d.Stage != p.stage || d.Percent == 100 {
			p.line(ev, "progress", "%s %3d%% %s (%s)", bar(d.Percent), d.Percent, d.Stage, fmtMillis(d.Elapsed))
			p.lastPct, p.stage = d.Percent, d.Stage
		}
	case runbook.PingData:
		// The counts as every reader says them, each with its span (the fold's words).
		if w := p.state.Watch; w != nil {
			g := w.GateStats()
			p.line(ev, "ping", "%s→%s %s  %s · outage %s, p95 %s · %s", d.From, d.Target, spark(d.Samples), w.Counts(),
				g.LongestOutage.Std().Round(time.Millisecond), g.RTTP95.Std().Round(10*time.Microsecond), w.GateLine())
		}
	case runbook.WatchData:
		switch d.Phase {
		case runbook.WatchStart:
			p.line(ev, "watch", "pinging %s from %s; gate: at most %d lost during the action and settle (the gated span)", d.Target, d.From, d.Limits.MaxLost)
		case runbook.WatchBreach:
			p.line(ev, "WATCH", "BREACH: %s — the rollback trigger fires; window %s", d.Reason, spark(d.Window))
		case runbook.WatchSettle:
			if d.Span != nil {
				p.line(ev, "watch", "the action ended; the gated span runs on to %s (settle)", d.Span.To.Local().Format("15:04:05"))
			}
		case runbook.WatchEnd:
			w := p.state.Watch
			line := fmt.Sprintf("%s %s: %s", map[string]string{"pass": "✓", "fail": "✗"}[d.Verdict], d.Verdict, w.Counts())
			if d.Stats != nil {
				line += fmt.Sprintf("; gated span: longest outage %s, RTT p95 %s", d.Stats.LongestOutage.Std().Round(time.Millisecond), d.Stats.RTTP95.Std().Round(10*time.Microsecond))
			}
			if d.Latency != nil {
				line += "; " + d.Latency.String()
			}
			p.line(ev, "watch", "%s%s", line, colonReason(d.Reason))
		}
	case runbook.ApprovalRequest:
		p.line(ev, "APPROVAL", "step %s waits for %d more engineer(s): cutover approve %s --step %s", ev.Step, d.Needed, p.journal, ev.Step)
	case runbook.ApprovalData:
		p.line(ev, "approved", "step %s by %s", ev.Step, d.Fingerprint)
	case runbook.ResumeData:
		note := ""
		if d.Dropped > 0 {
			note = fmt.Sprintf("; dropped a torn last line (%d bytes)", d.Dropped)
		}
		what := "continuing after " + orNone(d.Completed)
		if d.Rollback {
			what = "continuing the rollback"
		}
		p.line(ev, "RESUME", "by %s: %s%s", d.Operator, what, note)
	case runbook.NoteData:
		p.line(ev, "note", "%s: %s", d.Source, d.Text)
	case runbook.WindowEventData:
		msg := map[string]string{"open": "open", "closing": "CLOSING", "no-return": "PAST THE POINT OF NO RETURN", "closed": "CLOSED"}[d.Phase]
		p.line(ev, "window", "%s: %s left", msg, fmtMillis(d.Left))
	case runbook.RollbackData:
		if _, vm, _, item := runbook.SplitItemStep(ev.Step); item {
			p.line(ev, "vm "+vm, "rolling back: %s; will run: %s", d.Reason, orNone(d.Steps))
			break
		}
		p.line(ev, "ROLLBACK", "triggered by %s: %s", d.Trigger, d.Reason)
		p.line(ev, "", "  will run: %s", orNone(d.Steps))
	case runbook.WaveData:
		p.line(ev, "wave", "%s: %d VMs in %d batch(es) of %d; max_failures %d over the wave, on_failure %s, %d vMotion(s) at once per host",
			ev.Step, len(d.Items), d.Batches, d.BatchSize, d.MaxFailures, d.Rule, d.ParallelPerHost)
	case runbook.WaveItemData:
		p.line(ev, "vm "+d.Item, "batch %d: %s%s", d.Batch, strings.ToUpper(d.Status), colonReason(d.Reason))
	case runbook.StepEndData:
		p.line(ev, "step", "%s %s %s (%.0fms)%s", stepGlyph(d.Status), ev.Step, d.Status, float64(d.Duration), colonReason(d.Reason))
	case runbook.CheckpointData:
		switch {
		case d.Sig != "":
			p.line(ev, "signed", "checkpoint %.12s", d.Head)
		case d.Error != "":
			p.line(ev, "UNSIGNED", "checkpoint %.12s: %s", d.Head, d.Error)
		}
	case runbook.RunEndData:
		p.line(ev, "run", "%s after %s%s", strings.ToUpper(string(d.Status)), fmtMillis(d.Duration), colonReason(d.Reason))
	}
}

func colonReason(r string) string {
	if r == "" {
		return ""
	}
	return ": " + r
}

// spark draws samples as a sparkline: RTT as bar height, ✗ for a lost request.
func spark(samples [][3]int64) string {
	var maxRTT int64 = 1
	for _, s := range samples {
		maxRTT = max(maxRTT, s[2])
	}
	levels := []rune("▁▂▃▄▅▆▇█")
	var b strings.Builder
	for _, s := range samples {
		switch {
		case s[2] == -1:
			b.WriteRune('✗')
		case s[2] < 0:
			b.WriteRune('d')
		default:
			b.WriteRune(levels[int(s[2]*int64(len(levels)-1)/maxRTT)])
		}
	}
	return b.String()
}

// bar draws a 20-cell progress bar.
func bar(pct int) string {
	n := max(0, min(20, pct/5))
	return "[" + strings.Repeat("#", n) + strings.Repeat(".", 20-n) + "]"
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "(no rollback steps)"
	}
	return strings.Join(s, ", ")
}

func stepGlyph(s runbook.StepStatus) string {
	switch s {
	case runbook.StepPassed:
		return "✓"
	case runbook.StepOverridden:
		return "!"
	}
	return "✗"
}

func fmtMillis(m runbook.Millis) string {
	return fmt.Sprintf("%.1fs", float64(m)/1000)
}

// summary closes the run's output with where the proof is. closeErr is how closing the journal
// (and writing its detached signature) went.
func (p *printer) summary(out runbook.Outcome, closeErr error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	what := string(out.Status)
	if p.state.HasEnded() {
		what = p.state.Outcome() // the one fold says what the end means
	}
	line := what + colonReason(out.Reason)
	if strings.HasPrefix(out.Reason, what+":") { // "interrupted: interrupt signal received", said once
		line = out.Reason
	}
	fmt.Fprintf(p.w, "\n%s\n", termsafe.Text(line))
	fmt.Fprintf(p.w, "journal:   %s\n", p.journal)
	allowed, who := "allowed_signers", "OPERATOR"
	if p.allowed != "" {
		allowed, who = p.allowed, p.operator
	}
	if p.signer != nil && closeErr != nil {
		// The journal could not be finished (a full disk): say so rather than show a verify
		// command for a signature that does not exist.
		fmt.Fprintf(p.w, "signature: NOT written: the journal could not be finished; it is signed up to its last checkpoint\n")
		fmt.Fprintf(p.w, "check:     cutover verify %s%s\n", p.journal, allowedFlag(p.allowed))
		return
	}
	if p.signer == nil {
		fmt.Fprintf(p.w, "verify:    cutover verify %s (not signed: it can prove its chain only)\n", p.journal)
		return
	}
	fmt.Fprintf(p.w, "verify:    cutover verify %s%s\n", p.journal, allowedFlag(p.allowed))
	if p.signer != nil {
		// Quoted for the shell: the line is meant to be pasted.
		fmt.Fprintf(p.w, "           ssh-keygen -Y verify -f %s -I %s -n %s -s %s < %s\n",
			pasteable(allowed, p.allowed == ""), pasteable(who, p.allowed == ""), transcript.Namespace, remote.Quote(p.journal+".sig"), remote.Quote(p.journal))
	}
}

// pasteable quotes a word of the printed ssh-keygen line; a placeholder (ALLOWED_SIGNERS, OPERATOR)
// stays bare, for the reader to replace.
func pasteable(word string, placeholder bool) string {
	if placeholder {
		return word
	}
	return remote.Quote(word)
}

func allowedFlag(file string) string {
	if file == "" {
		return " --allowed-signers ALLOWED_SIGNERS"
	}
	return " --allowed-signers " + file
}

// stdinDecider asks questions on the terminal: a choice word or letter, then a reason when needed.
type stdinDecider struct {
	in  io.Reader
	out io.Writer
	sc  *bufio.Scanner
	mu  sync.Mutex
}

var choiceKeys = map[string]runbook.Choice{
	"p": runbook.Proceed, "proceed": runbook.Proceed,
	"r": runbook.Retry, "retry": runbook.Retry,
	"b": runbook.Rollback, "rollback": runbook.Rollback,
	"a": runbook.Abort, "abort": runbook.Abort,
}

var errNoInput = errors.New("standard input closed: no operator to ask")

// Decide prints the question and its evidence and reads an answer such as "p checked by hand".
func (d *stdinDecider) Decide(ctx context.Context, q runbook.Question) (runbook.Answer, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.sc == nil {
		d.sc = bufio.NewScanner(d.in)
	}
	q = termsafe.Value(q)
	fmt.Fprintf(d.out, "\n?? %s: %s\n", q.Step, q.Prompt)
	for _, c := range q.Checks {
		fmt.Fprintf(d.out, "   %s %s [%s]: %s\n", glyphs[c.Outcome], c.Check, c.Host, c.Summary)
		if c.Outcome != runbook.Pass {
			for _, e := range c.Evidence {
				fmt.Fprintf(d.out, "       %s\n", e)
			}
		}
	}
	var opts []string
	for _, o := range q.Options {
		key := string(o[0])
		if o == runbook.Rollback {
			key = "b"
		}
		opts = append(opts, fmt.Sprintf("%s=%s", key, o))
	}
	for {
		fmt.Fprintf(d.out, "   choose %s (then a reason): ", strings.Join(opts, " "))
		line, err := d.readLine(ctx)
		if err != nil {
			return runbook.Answer{}, err
		}
		word, reason, _ := strings.Cut(strings.TrimSpace(line), " ")
		choice, ok := choiceKeys[strings.ToLower(word)]
		if !ok || !slices.Contains(q.Options, choice) {
			fmt.Fprintf(d.out, "   %q is not one of the choices\n", word)
			continue
		}
		reason = strings.TrimSpace(reason)
		for reason == "" && slices.Contains(q.NeedReason, choice) {
			fmt.Fprintf(d.out, "   %s needs a reason (it goes into the signed journal): ", choice)
			if reason, err = d.readLine(ctx); err != nil {
				return runbook.Answer{}, err
			}
			reason = strings.TrimSpace(reason)
		}
		return runbook.Answer{Choice: choice, Reason: reason}, nil
	}
}

// readLine reads one line, giving up when ctx ends (the read itself is left to finish on its own).
func (d *stdinDecider) readLine(ctx context.Context) (string, error) {
	type result struct {
		s  string
		ok bool
	}
	ch := make(chan result, 1)
	go func() {
		ok := d.sc.Scan()
		ch <- result{d.sc.Text(), ok}
	}()
	select {
	case r := <-ch:
		if !r.ok {
			return "", errNoInput
		}
		return r.s, nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}
