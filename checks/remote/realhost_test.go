package remote_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cutover/cutover/checks/remote"
	"github.com/cutover/cutover/internal/realhost"
)

// cutover must not pollute what it measures: timeouts, aborts and closed connections leave no
// err-level line in a real host's journal (sshd logs a client's signal request, or a connection
// closed under its post-login messages, at err level; journal_regressions would then blame sshd).
func TestRealHostJournalKeepsNoTraceOfCutover(t *testing.T) {
	h := realhost.Start(t)
	h.AddUser(t, "ops")
	before := h.ErrorLines(t)
	for _, user := range []string{"root", "ops"} {
		pool := func() *remote.SSH { return h.SSH(t, "app", user) }
		ctx := context.Background()

		// Connected, then closed at once (an aborted start).
		s := pool()
		if err := s.Connect(ctx, remote.Target{Address: "app"}); err != nil {
			t.Fatal(err)
		}
		s.Close()

		s = pool()
		r := s.Runner("app", remote.Target{Address: "app"})
		// A command that outlives its timeout, then one whose context is cancelled.
		if _, err := r.Run(ctx, remote.Command{Argv: []string{"sleep", "30"}, Timeout: 300 * time.Millisecond}, nil); !errors.Is(err, remote.ErrTimeout) {
			t.Fatalf("as %s: want a timeout, got %v", user, err)
		}
		cctx, cancel := context.WithCancel(ctx)
		started := make(chan struct{})
		go func() { <-started; cancel() }()
		if _, err := r.Run(cctx, remote.Command{Script: "echo go; exec sleep 30"}, func(remote.Line) { close(started) }); err == nil {
			t.Fatalf("as %s: a cancelled command returned no error", user)
		}
		// A command that exits at once while its session closes, and a normal one.
		if _, err := r.Run(ctx, remote.Command{Argv: []string{"true"}}, nil); err != nil {
			t.Fatal(err)
		}
		s.Close()
		if procs, err := h.Try("pgrep", "-u", user, "-x", "sleep"); err == nil { // pgrep exits 1 when none is left
			t.Errorf("as %s: sleep still runs: %s", user, procs)
		}
	}
	if after := h.ErrorLines(t); !slices.Equal(before, after) {
		t.Errorf("cutover left err-level lines in the host's journal:\nbefore %q\nafter  %q", before, after)
	}
}

// On a real systemd host, as root and as a user, a gate's batch gives each command what it gives
// in a session of its own, keeps its files in the user's runtime directory (pam_systemd's
// /run/user/UID, private to the user), leaves none behind, and leaves no err-level line.
func TestRealHostBatchAsEachUser(t *testing.T) {
	h := realhost.Start(t)
	h.AddUser(t, "ops")
	before := h.ErrorLines(t)
	cmds := []remote.Command{
		{Script: `echo "dir ${XDG_RUNTIME_DIR:-none}"; ls -ld /proc/$$/fd/1 >/dev/null; readlink /proc/$$/fd/1 | sed 's/cutover\..*/cutover.*/'`},
		{Argv: []string{"systemctl", "is-system-running"}},
		{Argv: []string{"journalctl", "-n", "1", "--no-pager", "-o", "cat", "-u", "no-such.service"}},
		{Script: `id -un; exit 4`},
	}
	for _, user := range []string{"root", "ops"} {
		run := func(gather bool) []string {
			s := h.SSH(t, "app", user)
			defer s.Close()
			r := s.Runner("app", remote.Target{Address: "app"})
			g := remote.NewGathering(len(cmds))
			out := make([]string, len(cmds))
			var wg sync.WaitGroup
			for i, c := range cmds {
				c.Gather = gather
				ctx, done := g.Join(context.Background())
				wg.Add(1)
				go func() {
					defer wg.Done()
					defer done()
					res, err := r.Run(ctx, c, func(l remote.Line) { out[i] += string(l.Stream) + ":" + l.Text + "\n" })
					out[i] += fmt.Sprintf("exit %d err %v", res.ExitCode, err)
				}()
			}
			wg.Wait()
			return out
		}
		alone, together := run(false), run(true)
		uid := strings.TrimSpace(h.Exec(t, "id", "-u", user))
		for i := range cmds {
			want := alone[i]
			if i == 0 { // alone its stdout is a pipe; in the batch, a file in the runtime dir
				want = strings.Replace(want, "stdout:pipe:", "", 1)
				if !strings.Contains(together[i], "stdout:/run/user/"+uid+"/cutover.*\n") {
					t.Errorf("as %s: the batch's files are not in /run/user/%s: %q", user, uid, together[i])
				}
				continue
			}
			if together[i] != want {
				t.Errorf("as %s: %v:\n alone    %q\n together %q", user, cmds[i], want, together[i])
			}
		}
		if !strings.Contains(alone[3], "stdout:"+user+"\nexit 4 err <nil>") {
			t.Fatalf("as %s: the cases do not test what they say: %q", user, alone)
		}
		if left, _ := h.Try("sh", "-c", "ls -A /run/user/*/ /dev/shm /tmp | grep cutover"); left != "" {
			t.Errorf("as %s: batch files left behind: %s", user, left)
		}
	}
	if after := h.ErrorLines(t); !slices.Equal(before, after) {
		t.Errorf("batches left err-level lines in the host's journal:\nbefore %q\nafter  %q", before, after)
	}
}
