package checks

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cutover/cutover/checks/remote"
)

type baselines map[string][]string

func (b baselines) Baseline(id string) ([]string, bool) { l, ok := b[id]; return l, ok }

func TestCommand(t *testing.T) {
	sh := func(s string) remote.Command { return remote.Command{Script: s} }
	tests := []struct {
		name    string
		check   Command
		want    Outcome
		summary string
	}{
		{"exit zero passes", Command{Cmd: sh("true")}, Pass, "exit 0"},
		{"exit non-zero fails", Command{Cmd: sh("exit 4")}, Fail, "exit 4, want 0"},
		{"accepted exit codes", Command{Cmd: sh("exit 3"), Exit: []int{0, 3}}, Pass, "exit 3"},
		{"unaccepted exit codes listed", Command{Cmd: sh("exit 1"), Exit: []int{0, 3}}, Fail, "exit 1, want 0 or 3"},
		{"match found", Command{Cmd: sh("echo inactive; echo active"), Match: regexp.MustCompile(`^active$`)}, Pass, "exit 0: active"},
		{"match missing", Command{Cmd: sh("echo inactive"), Match: regexp.MustCompile(`^active$`)}, Fail, "no line matches /^active$/"},
		{"match on stderr too", Command{Cmd: sh("echo ok >&2"), Match: regexp.MustCompile(`ok`)}, Pass, "exit 0: ok"},
		{"not_match hit", Command{Cmd: sh("echo 'error: disk'"), NotMatch: regexp.MustCompile(`(?i)error`)}, Fail, "line matches /(?i)error/: error: disk"},
		{"both failures reported", Command{Cmd: sh("echo x; exit 2"), Match: regexp.MustCompile(`y`)}, Fail, "exit 2, want 0; no line matches /y/"},
		{"signal fails", Command{Cmd: sh("kill -9 $$")}, Fail, "killed by SIGKILL"},
		{"cannot start is inconclusive", Command{Cmd: remote.Command{Argv: []string{"/nonexistent/x"}}}, Inconclusive, "could not run: run /nonexistent/x"},
		{"timeout is inconclusive", Command{Cmd: remote.Command{Script: "sleep 5", Timeout: 50 * time.Millisecond}}, Inconclusive, "timed out: run /bin/sh: command timed out after 50ms"},
		{"same as baseline", Command{Cmd: sh("echo b; echo a"), Baseline: "before"}, Pass, "exit 0, same as baseline before"},
		{"differs from baseline", Command{Cmd: sh("echo a; echo c"), Baseline: "before"}, Fail, "output differs from baseline before: 1 added, 1 removed"},
		{"missing baseline", Command{Cmd: sh("true"), Baseline: "nope"}, Inconclusive, `baseline "nope" was not recorded`},
	}
	env := Env{Runner: remote.Local{}, Baselines: baselines{"before": {"a", "b"}}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.check.Run(context.Background(), env)
			if got.Outcome != tt.want || !strings.HasPrefix(got.Summary, tt.summary) {
				t.Errorf("got %s %q, want %s %q", got.Outcome, got.Summary, tt.want, tt.summary)
			}
		})
	}
}

func TestCommandRecordsBaselineAndEvidence(t *testing.T) {
	var streamed []string
	env := Env{Runner: remote.Local{}, OnLine: func(_ string, l remote.Line) { streamed = append(streamed, l.Text) }}
	got := Command{Cmd: remote.Command{Script: "seq 1 25"}, Record: true}.Run(context.Background(), env)
	if got.Outcome != Pass || len(got.Baseline) != 25 || got.Baseline[24] != "25" {
		t.Fatalf("got %+v", got)
	}
	if len(streamed) != 25 {
		t.Errorf("streamed %d lines, want 25", len(streamed))
	}
	if len(got.Evidence) != evidenceTail || got.Evidence[0] != "| 6" {
		t.Errorf("evidence = %q, want the last %d lines", got.Evidence, evidenceTail)
	}
	empty := Command{Cmd: remote.Command{Script: "true"}, Record: true}.Run(context.Background(), env)
	if empty.Baseline == nil {
		t.Error("an empty output must still record an (empty) baseline")
	}
}

func TestDiffLinesIsAMultisetDiff(t *testing.T) {
	added, removed := diffLines([]string{"a", "a", "b"}, []string{"b", "a", "c"})
	if strings.Join(added, ",") != "c" || strings.Join(removed, ",") != "a" {
		t.Errorf("added %q removed %q", added, removed)
	}
}
