package ping

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/testenv"
)

var t0 = time.Date(2026, 11, 28, 22, 0, 0, 0, time.UTC)

func sample(seq int, lost bool) Sample {
	s := Sample{Seq: seq, Sent: t0.Add(time.Duration(seq) * 200 * time.Millisecond)}
	if lost {
		s.Lost = true
	} else {
		s.RTT = time.Duration(400+seq%5*100) * time.Microsecond
	}
	return s
}

func TestMonitorCountsOnlyTheSpanAndFiresOnce(t *testing.T) {
	var breaches []Breach
	m := NewMonitor(Limits{MaxLost: 1}, func(b Breach) { breaches = append(breaches, b) })
	// Before the span: losses do not count.
	m.Add(sample(0, false))
	m.Add(sample(1, true))
	m.StartSpan(t0.Add(400 * time.Millisecond))
	// Out of order: seq 4 resolves (lost, at its timeout) after 3 and 5 were answered.
	m.Add(sample(3, false))
	m.Add(sample(2, false))
	m.Add(sample(5, false))
	if len(breaches) != 0 {
		t.Fatal("breach before any loss in the span")
	}
	m.Add(sample(4, true)) // one loss: allowed
	if len(breaches) != 0 {
		t.Fatalf("one lost packet must pass: %+v", breaches)
	}
	m.Add(sample(6, true))
	m.Add(sample(7, true))
	if len(breaches) != 1 || breaches[0].Reason != "2 packets lost, limit 1" {
		t.Fatalf("breaches %+v", breaches)
	}
	m.Add(sample(8, false))
	m.Add(sample(9, true))
	if len(breaches) != 1 {
		t.Error("a breach fires once")
	}
	// 6 and 7 lost: from 6's send (1.2 s) to 8's (1.6 s) nothing answered.
	st, reason, ok := m.Verdict(t0.Add(2 * time.Second))
	if ok || reason != "2 packets lost, limit 1" || st.Lost != 4 || st.Sent != 8 || st.LongestRun != 2 || st.LongestOutage != 400*time.Millisecond {
		t.Errorf("verdict %+v %q %v", st, reason, ok)
	}
	all := m.Stats(t0.Add(3 * time.Second))
	if all.Sent != 10 || all.Lost != 5 {
		t.Errorf("whole watch %+v", all)
	}
	w := breaches[0].Window
	if len(w) != 7 || w[len(w)-1].Seq != 6 { // the second loss in the span broke the limit
		t.Errorf("evidence window %+v", w)
	}
	if breaches[0].Stats.Lost != 2 {
		t.Errorf("evidence window %+v", w)
	}
}

func TestMonitorLimits(t *testing.T) {
	tests := []struct {
		name   string
		limits Limits
		lost   []int
		ok     bool
		reason string
	}{
		{"clean", Limits{MaxLost: 1}, nil, true, ""},
		{"one lost", Limits{MaxLost: 1}, []int{5}, true, ""},
		{"outage", Limits{MaxLost: 10, MaxOutage: 500 * time.Millisecond}, []int{5, 6, 7}, false, "outage of 600ms, limit 500ms"},
		{"two lost", Limits{MaxLost: 1}, []int{5, 9}, false, "2 packets lost, limit 1"},
		{"outage within", Limits{MaxLost: 10, MaxOutage: 500 * time.Millisecond}, []int{5, 6}, true, ""},
		{"rtt p95", Limits{MaxLost: 1, MaxRTTP95: 500 * time.Microsecond}, nil, false, "RTT p95 800µs, limit 500µs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewMonitor(tt.limits, nil)
			m.StartSpan(t0)
			lost := map[int]bool{}
			for _, l := range tt.lost {
				lost[l] = true
			}
			for i := range 20 {
				m.Add(sample(i, lost[i]))
			}
			m.EndSpan(t0.Add(5*time.Second), t0.Add(10*time.Second))
			_, reason, ok := m.Verdict(t0.Add(10 * time.Second))
			if ok != tt.ok || reason != tt.reason {
				t.Errorf("got %v %q", ok, reason)
			}
		})
	}
}

func TestParseLine(t *testing.T) {
	at := time.Unix(1795900000, 123456000)
	tests := []struct {
		in   string
		want Line
	}{
		{"PING 10.20.0.1 (10.20.0.1) 56(84) bytes of data.", Line{}},
		{"[1795900000.123456] 64 bytes from 10.20.0.1: icmp_seq=7 ttl=64 time=0.412 ms", Line{Kind: Reply, Seq: 7, At: at, RTT: 412 * time.Microsecond, TTL: 64}},
		{"[1795900000.123456] 64 bytes from gw.site-b.example (10.20.0.1): icmp_seq=8 ttl=63 time=12 ms", Line{Kind: Reply, Seq: 8, At: at, RTT: 12 * time.Millisecond, TTL: 63}},
		{"[1795900000.123456] 64 bytes from 10.20.0.1: icmp_seq=9 ttl=64 time=0.5 ms (DUP!)", Line{Kind: Reply, Seq: 9, At: at, RTT: 500 * time.Microsecond, TTL: 64, Dup: true}},
		{"[1795900000.123456] no answer yet for icmp_seq=10", Line{Kind: NoAnswer, Seq: 10, At: at}},
		{"[1795900000.123456] From 10.20.0.15 icmp_seq=11 Destination Host Unreachable", Line{Kind: NoAnswer, Seq: 11, At: at}},
		{"64 bytes from ::1: icmp_seq=1 ttl=64 time=0.030 ms", Line{Kind: Reply, Seq: 1, RTT: 30 * time.Microsecond, TTL: 64}},
		{"--- 10.20.0.1 ping statistics ---", Line{}},
		{"5 packets transmitted, 4 received, 20% packet loss, time 804ms", Line{}},
	}
	for _, tt := range tests {
		if got := ParseLine(tt.in); got != tt.want {
			t.Errorf("ParseLine(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestUnwrapper(t *testing.T) {
	var u Unwrapper
	var got []int
	for _, s := range []int{1, 2, 65535, 0, 1, 2} {
		got = append(got, u.Seq(s))
	}
	// 65535 → 0 is a wrap (iputils counts on); a late reply for an older seq stays old.
	if fmt.Sprint(got) != "[0 1 65534 65535 65536 65537]" {
		t.Errorf("unwrapped %v", got)
	}
}

func FuzzParseLine(f *testing.F) {
	for _, s := range []string{"[1795900000.123456] 64 bytes from 10.20.0.1: icmp_seq=7 ttl=64 time=0.412 ms", "[1.1] no answer yet for icmp_seq=99999999999999999999", "From x icmp_seq=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l := ParseLine(s)
		var u Unwrapper
		u.Feed(l, 200*time.Millisecond)
		if l.RTT < 0 {
			t.Fatalf("negative RTT from %q", s)
		}
	})
}

// helperEnv makes the test binary run one watch and print its stats: used to watch from inside a
// network namespace.
const helperEnv = "CUTOVER_PING_HELPER"

type helperConfig struct {
	Target   string
	Targets  []string // more watches at once, one per target (Target is the first)
	Interval time.Duration
	Timeout  time.Duration
	For      time.Duration
}

type helperResult struct {
	Stats  Stats   // the first watch's
	Each   []Stats // every watch's, in Targets' order
	CPU    time.Duration
	Err    string
	Breach string
}

func TestMain(m *testing.M) {
	if cfg := os.Getenv(helperEnv); cfg != "" {
		var hc helperConfig
		json.Unmarshal([]byte(cfg), &hc)
		os.Exit(runWatches(hc))
	}
	os.Exit(testenv.Main(m))
}

// runWatches is the helper: a watch per target at once, "ready" once each has had an answer,
// then every watch's stats and the CPU they took, as JSON.
func runWatches(hc helperConfig) int {
	targets := append([]string{hc.Target}, hc.Targets...)
	if hc.Target == "" {
		targets = hc.Targets
	}
	ctx, cancel := context.WithTimeout(context.Background(), hc.For)
	defer cancel()
	var ru0, ru1 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	mons := make([]*Monitor, len(targets))
	errs := make([]error, len(targets))
	var answered sync.WaitGroup
	answered.Add(len(targets))
	go func() { answered.Wait(); fmt.Println("ready") }() // the parent may start its experiment
	var wg sync.WaitGroup
	for i, target := range targets {
		mons[i] = NewMonitor(Limits{MaxLost: 1}, nil)
		mons[i].StartSpan(time.Now())
		var once sync.Once
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = Watch(ctx, Config{Target: target, Interval: hc.Interval, Timeout: hc.Timeout}, func(s Sample) {
				mons[i].Add(s)
				if !s.Lost {
					once.Do(answered.Done)
				}
			})
		}()
	}
	wg.Wait()
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	res := helperResult{Stats: mons[0].Stats(time.Now()),
		CPU: time.Duration(ru1.Utime.Nano()-ru0.Utime.Nano()) + time.Duration(ru1.Stime.Nano()-ru0.Stime.Nano())}
	for _, m := range mons {
		res.Each = append(res.Each, m.Stats(time.Now()))
	}
	if b := mons[0].Breached(); b != nil {
		res.Breach = b.Reason
	}
	if err := errors.Join(errs...); err != nil {
		res.Err = err.Error()
	}
	json.NewEncoder(os.Stdout).Encode(res)
	return 0
}

func requireRoot(t *testing.T) {
	t.Helper()
	testenv.Root(t, "ICMP")
}

func TestRealICMPToLoopback(t *testing.T) {
	requireRoot(t)
	for _, target := range []string{"127.0.0.1", "::1"} {
		t.Run(target, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
			defer cancel()
			var mu sync.Mutex
			var samples []Sample
			err := Watch(ctx, Config{Target: target, Interval: 20 * time.Millisecond, Timeout: 500 * time.Millisecond}, func(s Sample) {
				mu.Lock()
				samples = append(samples, s)
				mu.Unlock()
			})
			if err != nil {
				t.Fatal(err)
			}
			mon := NewMonitor(Limits{MaxLost: 0}, nil)
			for _, s := range samples {
				mon.Add(s)
			}
			st := mon.Stats(time.Now())
			if st.Received < 40 || st.Lost != 0 || st.RTTMax <= 0 || st.RTTMax > 100*time.Millisecond {
				t.Errorf("loopback: %s", st)
			}
		})
	}
}

// runInNamespace runs the test binary as a watch helper under the given command prefix.
func runHelper(t *testing.T, prefix []string, hc helperConfig) helperResult {
	t.Helper()
	cfg, _ := json.Marshal(hc)
	args := append(prefix, os.Args[0], "-test.run=^$")
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), helperEnv+"="+string(cfg))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	out = bytes.TrimPrefix(out, []byte("ready\n"))
	var res helperResult
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("helper said %q: %v", out, err)
	}
	return res
}

func TestUnprivilegedPingSockets(t *testing.T) {
	requireRoot(t)
	testenv.Tool(t, "unshare", "util-linux")
	// A fresh network namespace of our own: loopback up, ping sockets allowed for every group,
	// and the helper drops root's capabilities so only the unprivileged path can work.
	script := `ip link set lo up && sysctl -q -w net.ipv4.ping_group_range="0 2147483647" && exec setpriv --inh-caps=-all --bounding-set=-all "$@"`
	res := runHelper(t, []string{"unshare", "-n", "sh", "-c", script, "sh"}, helperConfig{Target: "127.0.0.1", Interval: 20 * time.Millisecond, Timeout: 300 * time.Millisecond, For: time.Second})
	if res.Err != "" || res.Stats.Received < 20 || res.Stats.Lost != 0 {
		t.Errorf("unprivileged: %+v", res)
	}
	// Without ping sockets and without the capability, the watch fails fast and says both fixes.
	script = `ip link set lo up && sysctl -q -w net.ipv4.ping_group_range="1 0" && exec setpriv --inh-caps=-all --bounding-set=-all "$@"`
	start := time.Now()
	res = runHelper(t, []string{"unshare", "-n", "sh", "-c", script, "sh"}, helperConfig{Target: "127.0.0.1", Interval: 20 * time.Millisecond, Timeout: 300 * time.Millisecond, For: 10 * time.Second})
	if !strings.Contains(res.Err, "ping_group_range") || !strings.Contains(res.Err, "cap_net_raw") || time.Since(start) > 5*time.Second {
		t.Errorf("no privilege: %+v after %s", res, time.Since(start))
	}
}

// netns is a network namespace this test made; it is deleted when the test ends.
func netns(t testing.TB, name string) string {
	t.Helper()
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v %s", name, err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", name).Run() })
	return name
}

func ipCmd(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %v: %v %s", args, err, out)
	}
}

// A real outage: two namespaces joined by a veth pair (198.18.0.0/30, the benchmarking range),
// the watch in one pinging the other, and the far end's link down for 600 ms.
func TestRealOutageIsCounted(t *testing.T) {
	requireRoot(t)
	a := netns(t, fmt.Sprintf("cutover-ping-a-%d", os.Getpid()))
	b := netns(t, fmt.Sprintf("cutover-ping-b-%d", os.Getpid()))
	ipCmd(t, "link", "add", "vA", "netns", a, "type", "veth", "peer", "name", "vB", "netns", b)
	ipCmd(t, "-n", a, "addr", "add", "198.18.0.1/30", "dev", "vA")
	ipCmd(t, "-n", b, "addr", "add", "198.18.0.2/30", "dev", "vB")
	for _, ns := range []string{a, b} {
		ipCmd(t, "-n", ns, "link", "set", "lo", "up")
	}
	ipCmd(t, "-n", a, "link", "set", "vA", "up")
	ipCmd(t, "-n", b, "link", "set", "vB", "up")

	const interval, outage = 50 * time.Millisecond, 600 * time.Millisecond
	cfg, _ := json.Marshal(helperConfig{Target: "198.18.0.2", Interval: interval, Timeout: 200 * time.Millisecond, For: 3 * time.Second})
	cmd := exec.Command("ip", "netns", "exec", a, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+string(cfg))
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	sc := bufio.NewScanner(stdout)
	if !sc.Scan() || sc.Text() != "ready" {
		t.Fatalf("helper did not start: %q", sc.Text())
	}
	ipCmd(t, "-n", b, "link", "set", "vB", "down")
	time.Sleep(outage) // the experiment's own duration, not a wait for something to happen
	ipCmd(t, "-n", b, "link", "set", "vB", "up")
	if !sc.Scan() {
		t.Fatal("no result from the helper")
	}
	cmd.Wait()
	var res helperResult
	if err := json.Unmarshal(sc.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	want := int(outage / interval)
	if res.Err != "" || res.Stats.Lost < want-1 || res.Stats.Lost > want+1 {
		t.Errorf("lost %d, want %d ± 1: %+v", res.Stats.Lost, want, res)
	}
	if res.Stats.LongestOutage < outage-2*interval || res.Stats.LongestOutage > outage+2*interval {
		t.Errorf("longest outage %s, want about %s", res.Stats.LongestOutage, outage)
	}
	if !strings.HasPrefix(res.Breach, "2 packets lost, limit 1") {
		t.Errorf("the ≤ 1 lost gate must fire: %q", res.Breach)
	}
	t.Logf("outage of %s at %s intervals: %s", outage, interval, res.Stats)
}

// BenchmarkWatch100pps pings loopback 100 times a second (real ICMP, root) for
// CUTOVER_BENCH_SECONDS (default 10; the figure is 60) and reports false losses and the
// CPU the watch costs: go test -run X -bench Watch100pps -benchtime 1x ./checks/ping/
func BenchmarkWatch100pps(b *testing.B) {
	testenv.Root(b, "ICMP to loopback")
	secs := 10
	if v, err := strconv.Atoi(os.Getenv("CUTOVER_BENCH_SECONDS")); err == nil && v > 0 {
		secs = v
	}
	for range b.N {
		var ru0, ru1 syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
		mon := NewMonitor(Limits{MaxLost: 0}, nil)
		ctx, cancel := context.WithTimeout(context.Background(), time.Duration(secs)*time.Second)
		start := time.Now()
		err := Watch(ctx, Config{Target: "127.0.0.1", Interval: 10 * time.Millisecond, Timeout: time.Second}, mon.Add)
		cancel()
		wall := time.Since(start)
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
		if err != nil {
			b.Fatal(err)
		}
		st := mon.Stats(time.Now())
		cpu := time.Duration(ru1.Utime.Nano()-ru0.Utime.Nano()) + time.Duration(ru1.Stime.Nano()-ru0.Stime.Nano())
		b.ReportMetric(float64(st.Sent), "sent")
		b.ReportMetric(float64(st.Lost), "lost")
		b.ReportMetric(100*cpu.Seconds()/wall.Seconds(), "cpu%")
		b.ReportMetric(float64(st.RTTP95.Microseconds()), "p95-µs")
	}
}

// What the move did to latency: the median before the switch-over against the settle span's, and
// the limit on its growth (the gateway now across the inter-site link: tromboning).
func TestRTTShift(t *testing.T) {
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * 200 * time.Millisecond) }
	feed := func(m *Monitor, after time.Duration) {
		for i := range 50 {
			rtt := 300 * time.Microsecond
			if i >= 25 {
				rtt += after
			}
			m.Add(Sample{Seq: i, Sent: at(i), RTT: rtt})
		}
	}
	tests := []struct {
		name   string
		limit  time.Duration
		after  time.Duration
		mark   bool
		ok     bool
		reason string
	}{
		{"no limit", 0, 5 * time.Millisecond, true, true, ""},
		{"within", 2 * time.Millisecond, time.Millisecond, true, true, ""},
		{"trombone", 2 * time.Millisecond, 5 * time.Millisecond, true, false, "RTT up 5ms after the move (p50 300µs → 5.3ms), limit +2ms"},
		// Without a switch-over mark, before is everything up to the action's end: the same here.
		{"no mark", 2 * time.Millisecond, 5 * time.Millisecond, false, false, "RTT up 5ms after the move (p50 300µs → 5.3ms), limit +2ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewMonitor(Limits{MaxLost: 1, MaxRTTIncrease: tt.limit}, nil)
			m.StartSpan(t0)
			if tt.mark {
				m.MarkSwitchover(at(20)) // pre-copy ran to sample 20; then the VM moved
			}
			m.EndSpan(at(25), at(50))
			feed(m, tt.after)
			_, reason, ok := m.Verdict(at(50))
			if ok != tt.ok || reason != tt.reason {
				t.Errorf("got %v %q", ok, reason)
			}
			before, after := m.Latency(at(50))
			if before.RTTP50 != 300*time.Microsecond || after.RTTP50 != 300*time.Microsecond+tt.after || after.Received != 25 {
				t.Errorf("before %v after %v (%d)", before.RTTP50, after.RTTP50, after.Received)
			}
		})
	}
	// Nothing answered after the action (the VM was already there, or the loss limit broke): the
	// shift is not known, and the latency limit does not judge what it cannot see; the loss limit
	// does.
	m := NewMonitor(Limits{MaxLost: 100, MaxRTTIncrease: time.Millisecond}, nil)
	m.StartSpan(t0)
	m.EndSpan(at(5), at(10))
	for i := range 10 {
		m.Add(Sample{Seq: i, Sent: at(i), RTT: 300 * time.Microsecond, Lost: i >= 5})
	}
	if _, reason, ok := m.Verdict(at(10)); !ok || reason != "" {
		t.Errorf("got %v %q", ok, reason)
	}
	if _, after := m.Latency(at(10)); after.Received != 0 {
		t.Errorf("after %+v", after)
	}
}

// Past 4,096 answers the percentiles come from 0.5 % bins over every answer: within 0.5 % of the
// exact ones for a long watch, in a few kB whatever its length.
func TestPercentilesOfALongWatch(t *testing.T) {
	var a acc
	var all []time.Duration
	x := uint64(7)
	for i := range 100_000 {
		x = x*6364136223846793005 + 1442695040888963407
		rtt := 250*time.Microsecond + time.Duration(x>>40%400)*time.Microsecond // 250–650 µs
		if i%100 == 0 {
			rtt = 20 * time.Millisecond // an outlier now and then
		}
		all = append(all, rtt)
		a.add(Sample{Seq: i, Sent: t0.Add(time.Duration(i) * time.Millisecond), RTT: rtt})
	}
	slices.Sort(all)
	st := a.stats(t0)
	for _, c := range []struct {
		name     string
		got, exp time.Duration
	}{{"p50", st.RTTP50, all[(len(all)-1)*50/100]}, {"p95", st.RTTP95, all[(len(all)-1)*95/100]}} {
		if diff := (c.got - c.exp).Abs(); float64(diff) > 0.005*float64(c.exp)+float64(time.Microsecond) {
			t.Errorf("%s %v, exact %v", c.name, c.got, c.exp)
		}
	}
	if a.rtts != nil || len(a.hist) > 4000 {
		t.Errorf("memory: %d exact RTTs kept, %d bins", len(a.rtts), len(a.hist))
	}
}
