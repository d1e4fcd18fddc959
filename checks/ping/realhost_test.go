package ping

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/realhost"
)

// The remote watch runs the real iputils ping over SSH on a real host, as root and as a user: every
// request is accounted for, and a real outage (ICMP dropped by nftables in the host's own network
// namespace) shows as lost requests, then the watch recovers.
func TestRemoteWatchOnARealHost(t *testing.T) {
	h := realhost.Start(t)
	h.AddUser(t, "ops")
	for _, user := range []string{"root", "ops"} {
		t.Run(user, func(t *testing.T) {
			runner := h.Runner(t, user)
			var mu sync.Mutex
			var samples []Sample
			changed := make(chan struct{}, 1)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			done := make(chan error, 1)
			go func() {
				done <- WatchRemote(ctx, runner, "127.0.0.1", 100*time.Millisecond, func(sm Sample) {
					mu.Lock()
					samples = append(samples, sm)
					mu.Unlock()
					select {
					case changed <- struct{}{}:
					default:
					}
				}, nil)
			}()
			// waitFor waits for samples to satisfy cond (each new sample wakes it; the minute bounds it).
			waitFor := func(what string, cond func([]Sample) bool) {
				t.Helper()
				for {
					mu.Lock()
					ok := cond(samples)
					mu.Unlock()
					if ok {
						return
					}
					select {
					case <-changed:
					case err := <-done:
						t.Fatalf("the watch ended while waiting for %s: %v", what, err)
					case <-ctx.Done():
						t.Fatalf("no %s within a minute", what)
					}
				}
			}
			answered := func(n int) func([]Sample) bool {
				return func(ss []Sample) bool {
					c := 0
					for _, s := range ss {
						if !s.Lost && !s.Dup && s.RTT > 0 {
							c++
						}
					}
					return c >= n
				}
			}
			waitFor("5 answers", answered(5))
			h.Script(t, `nft add table inet outage && nft add chain inet outage out '{ type filter hook output priority 0; }' && nft add rule inet outage out icmp type echo-request drop`)
			waitFor("3 lost requests", func(ss []Sample) bool {
				c := 0
				for _, s := range ss {
					if s.Lost {
						c++
					}
				}
				return c >= 3
			})
			h.Exec(t, "nft", "delete", "table", "inet", "outage")
			mu.Lock()
			before := len(samples)
			mu.Unlock()
			waitFor("answers after the outage", func(ss []Sample) bool { return answered(1)(ss[before:]) })
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			for i, s := range samples { // every request accounted for, in order, once
				if s.Seq != samples[0].Seq+i {
					t.Fatalf("sample %d has seq %d, want %d: %+v", i, s.Seq, samples[0].Seq+i, samples)
				}
			}
		})
	}
}
