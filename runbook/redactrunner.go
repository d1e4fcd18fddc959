package runbook

import (
	"context"

	"github.com/cutover/cutover/checks"
	"github.com/cutover/cutover/checks/remote"
)

// redactingRunner redacts a command's output before anything sees it (the check's patterns, its
// evidence and baseline, the journal), holding back the end of a line cut into pieces until a
// secret split across pieces is whole. Patterns that name a secret are compiled against its
// redacted form (see compilePattern), so match and not_match still judge it.
// With gather, a check's commands may share one session with the others of its gate on the same
// host; an action's never do (its output is watched as it comes).
type redactingRunner struct {
	r         remote.Runner
	redaction *redaction
	gather    bool
}

func (rr redactingRunner) Run(ctx context.Context, cmd remote.Command, onLine func(remote.Line)) (remote.Result, error) {
	cmd.Gather = cmd.Gather || rr.gather
	if len(rr.redaction.forms) == 0 || onLine == nil {
		return rr.r.Run(ctx, cmd, onLine)
	}
	held := map[remote.Stream]string{}
	res, err := rr.r.Run(ctx, cmd, func(l remote.Line) {
		text, hold := rr.redaction.carry(held[l.Stream], l.Text, !l.Cut)
		held[l.Stream] = hold
		if l.Cut && text == "" {
			return
		}
		l.Text = text
		onLine(l)
	})
	// A stream that ended on a cut piece: show what was held back.
	for _, s := range []remote.Stream{remote.Stdout, remote.Stderr} {
		if rest, _ := rr.redaction.carry(held[s], "", true); rest != "" {
			onLine(remote.Line{Stream: s, Text: rest})
		}
	}
	return res, err
}

// redactingHosts hands out redacting runners for the runbook's other hosts, for checks that run
// commands from several (endpoint).
type redactingHosts struct {
	checks.Hosts
	redaction *redaction
	gather    bool
}

func (h redactingHosts) Runner(host string) (remote.Runner, error) {
	r, err := h.Hosts.Runner(host)
	if err != nil {
		return nil, err
	}
	return redactingRunner{r: r, redaction: h.redaction, gather: h.gather}, nil
}
