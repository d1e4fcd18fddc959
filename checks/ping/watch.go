package ping

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	probing "github.com/prometheus-community/pro-bing"
)

// ErrNoPrivilege means this process may open neither ICMP socket kind.
var ErrNoPrivilege = errors.New("cannot send ICMP: unprivileged ping sockets are off and raw sockets need CAP_NET_RAW; " +
	"allow ping sockets (sysctl -w net.ipv4.ping_group_range=\"0 2147483647\") or give cutover the capability (setcap cap_net_raw+ep $(which cutover))")

// Config is a local watch: ICMP echo from this machine.
type Config struct {
	Target   string        // IPv4, IPv6 or a name
	Interval time.Duration // between requests (default 200ms)
	Timeout  time.Duration // a request unanswered this long is lost (default 1s)
}

// Watch pings until ctx ends, calling emit for every resolved request: a reply, a loss (the moment
// its timeout passes, so a live graph shows it), or a duplicate. It tries unprivileged ICMP first,
// then raw sockets, and fails fast if neither is allowed.
func Watch(ctx context.Context, cfg Config, emit func(Sample)) error {
	if cfg.Interval <= 0 {
		cfg.Interval = 200 * time.Millisecond
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = time.Second
	}
	var errs []string
	for _, privileged := range []bool{false, true} {
		err := watch(ctx, cfg, privileged, emit)
		if err == nil || ctx.Err() != nil {
			return nil
		}
		if !permissionError(err) {
			return fmt.Errorf("ping %s: %w", cfg.Target, err)
		}
		errs = append(errs, err.Error())
	}
	return fmt.Errorf("ping %s: %w (%s)", cfg.Target, ErrNoPrivilege, strings.Join(errs, "; "))
}

func permissionError(err error) bool {
	s := err.Error()
	return strings.Contains(s, "permission denied") || strings.Contains(s, "operation not permitted") || strings.Contains(s, "protocol not supported")
}

// inflight is a request awaiting its reply.
type inflight struct {
	seq  int
	sent time.Time
}

func watch(ctx context.Context, cfg Config, privileged bool, emit func(Sample)) error {
	p, err := probing.NewPinger(cfg.Target)
	if err != nil {
		return err
	}
	p.SetPrivileged(privileged)
	p.SetLogger(probing.NoopLogger{}) // pro-bing logs send errors as "FATAL"; they are samples here
	p.Interval = cfg.Interval
	p.RecordRtts, p.RecordTTLs = false, false
	var mu sync.Mutex
	pending := map[int]inflight{} // by ICMP sequence number (16 bits, wraps)
	next := 0
	p.OnSend = func(pkt *probing.Packet) {
		mu.Lock()
		pending[pkt.Seq] = inflight{seq: next, sent: time.Now()}
		next++
		mu.Unlock()
	}
	p.OnRecv = func(pkt *probing.Packet) {
		mu.Lock()
		f, ok := pending[pkt.Seq]
		delete(pending, pkt.Seq)
		mu.Unlock()
		if ok { // a reply after its timeout stays lost
			emit(Sample{Seq: f.seq, Sent: f.sent, RTT: pkt.Rtt, TTL: pkt.TTL})
		}
	}
	p.OnSendError = func(*probing.Packet, error) {
		// The request never left (link down, no route): lost, and known to be at once.
		mu.Lock()
		seq := next
		next++
		mu.Unlock()
		emit(Sample{Seq: seq, Sent: time.Now(), Lost: true})
	}
	p.OnDuplicateRecv = func(pkt *probing.Packet) {
		emit(Sample{Seq: -1, Dup: true, RTT: pkt.Rtt, TTL: pkt.TTL})
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // declare losses as their timeouts pass
		defer wg.Done()
		t := time.NewTicker(min(cfg.Interval, cfg.Timeout/4, 50*time.Millisecond))
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-t.C:
				var lost []inflight
				mu.Lock()
				for k, f := range pending {
					if now.Sub(f.sent) >= cfg.Timeout {
						lost = append(lost, f)
						delete(pending, k)
					}
				}
				mu.Unlock()
				for _, f := range lost {
					emit(Sample{Seq: f.seq, Sent: f.sent, Lost: true})
				}
			}
		}
	}()
	err = p.RunWithContext(ctx)
	cancel()
	wg.Wait()
	return err
}
