package checks

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/cutover/cutover/checks/remote"
)

const (
	evidenceTail = 20     // output lines kept as evidence
	maxBaseline  = 10_000 // output lines a baseline may hold
)

// Command runs a command and judges it by exit code and, optionally, by patterns over its output
// lines and by comparison with an earlier baseline.
type Command struct {
	Cmd      remote.Command
	Exit     []int          // accepted exit codes; empty means 0
	Match    *regexp.Regexp // some output line must match
	NotMatch *regexp.Regexp // no output line may match
	Baseline string         // id of an earlier check whose output this one must equal
	Record   bool           // keep the output as this check's baseline
}

var _ Check = Command{}

// Run runs the command once and returns the verdict.
func (c Command) Run(ctx context.Context, env Env) Result {
	var (
		tail      []string
		all       []string
		matched   string
		forbidden string
		overflow  bool
	)
	keepAll := c.Record || c.Baseline != ""
	onLine := func(l remote.Line) {
		if env.OnLine != nil {
			env.OnLine(env.Host, l)
		}
		if len(tail) == evidenceTail {
			tail = tail[1:]
		}
		tail = append(tail, l.Text)
		if keepAll {
			if len(all) < maxBaseline {
				all = append(all, l.Text)
			} else {
				overflow = true
			}
		}
		if c.Match != nil && matched == "" && c.Match.MatchString(l.Text) {
			matched = l.Text
		}
		if c.NotMatch != nil && forbidden == "" && c.NotMatch.MatchString(l.Text) {
			forbidden = l.Text
		}
	}
	if env.OnCommand != nil {
		env.OnCommand(env.Host, c.Cmd)
	}
	res, err := env.Runner.Run(ctx, c.Cmd, onLine)
	evidence := prefixed("| ", tail)
	if err != nil {
		what := "could not run"
		if errors.Is(err, remote.ErrTimeout) {
			what = "timed out"
		}
		return Result{Outcome: Inconclusive, Summary: fmt.Sprintf("%s: %v", what, err), Evidence: evidence}
	}

	var failures []string
	exits := c.Exit
	if len(exits) == 0 {
		exits = []int{0}
	}
	switch {
	case res.Signal != "":
		failures = append(failures, "killed by "+res.Signal)
	case !slices.Contains(exits, res.ExitCode):
		failures = append(failures, fmt.Sprintf("exit %d, want %s", res.ExitCode, joinInts(exits)))
	}
	if c.Match != nil && matched == "" {
		failures = append(failures, fmt.Sprintf("no line matches /%s/", c.Match))
	}
	if forbidden != "" {
		failures = append(failures, fmt.Sprintf("line matches /%s/: %s", c.NotMatch, forbidden))
	}

	out := Result{Outcome: Pass, Evidence: evidence}
	if overflow {
		out.Outcome = Inconclusive
		out.Summary = fmt.Sprintf("output over %d lines: too large to baseline", maxBaseline)
		return out
	}
	if c.Baseline != "" {
		base, ok := env.Baselines.Baseline(c.Baseline)
		if !ok {
			return Result{Outcome: Inconclusive, Summary: fmt.Sprintf("baseline %q was not recorded", c.Baseline), Evidence: evidence}
		}
		added, removed := diffLines(base, all)
		if len(added)+len(removed) > 0 {
			failures = append(failures, fmt.Sprintf("output differs from baseline %s: %d added, %d removed", c.Baseline, len(added), len(removed)))
			out.Evidence = append(prefixed("+ ", added), prefixed("- ", removed)...)
		}
	}
	if c.Record {
		out.Baseline = all
		if out.Baseline == nil {
			out.Baseline = []string{}
		}
	}
	if len(failures) > 0 {
		out.Outcome = Fail
		out.Summary = strings.Join(failures, "; ")
		return out
	}
	out.Summary = fmt.Sprintf("exit %d", res.ExitCode)
	if matched != "" {
		out.Summary += ": " + matched
	}
	if c.Baseline != "" {
		out.Summary += ", same as baseline " + c.Baseline
	}
	return out
}

// diffLines compares two outputs as multisets of lines: order changes are not differences.
func diffLines(before, after []string) (added, removed []string) {
	count := make(map[string]int, len(before))
	for _, l := range before {
		count[l]++
	}
	for _, l := range after {
		if count[l] > 0 {
			count[l]--
			continue
		}
		added = append(added, l)
	}
	for _, l := range before {
		if count[l] > 0 {
			count[l]--
			removed = append(removed, l)
		}
	}
	return added, removed
}

func prefixed(p string, lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = p + l
	}
	return out
}

func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, " or ")
}
