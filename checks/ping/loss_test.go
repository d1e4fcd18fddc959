package ping

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/testenv"
)

// lossRun is what a loss experiment measured: every watch's stats, the requests the kernel's
// nftables dropped, and the CPU the watches took.
type lossRun struct {
	each    []Stats
	dropped int
	cpu     time.Duration
	wall    time.Duration
}

// lossExperiment runs n watches at once at interval, from one namespace to n addresses of another
// across a veth pair, where the far side's nftables drops loss% (1-99) of the echo requests it
// receives for lossFor, counting each drop in a named counter, then nothing for the last three
// seconds: every dropped request's timeout has run out before the watches end, so each drop is a
// lost sample and nothing else is. The kernel's counter is the oracle for the loss.
func lossExperiment(tb testing.TB, n int, interval time.Duration, loss int, lossFor time.Duration) lossRun {
	tb.Helper()
	testenv.Root(tb, "ICMP and network namespaces")
	testenv.Tool(tb, "nft", "nftables")
	a := netns(tb, fmt.Sprintf("cutover-loss-a-%d", os.Getpid()))
	b := netns(tb, fmt.Sprintf("cutover-loss-b-%d", os.Getpid()))
	ip := func(args ...string) {
		tb.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			tb.Fatalf("ip %v: %v %s", args, err, out)
		}
	}
	ip("link", "add", "vA", "netns", a, "type", "veth", "peer", "name", "vB", "netns", b)
	ip("-n", a, "addr", "add", "198.18.0.1/24", "dev", "vA")
	var targets []string
	for i := range n {
		t := fmt.Sprintf("198.18.0.%d", 10+i)
		targets = append(targets, t)
		ip("-n", b, "addr", "add", t+"/24", "dev", "vB")
	}
	for _, ns := range []string{a, b} {
		ip("-n", ns, "link", "set", "lo", "up")
	}
	ip("-n", a, "link", "set", "vA", "up")
	ip("-n", b, "link", "set", "vB", "up")
	nft := func(cmd string) string {
		tb.Helper()
		out, err := exec.Command("ip", "netns", "exec", b, "nft", cmd).CombinedOutput()
		if err != nil {
			tb.Fatalf("nft %s: %v %s", cmd, err, out)
		}
		return string(out)
	}
	nft("add table ip loss")
	nft("add counter ip loss dropped")
	nft("add chain ip loss in { type filter hook input priority 0; }")

	const timeout = time.Second      // a reply a loaded machine reads late is not a lost one
	total := lossFor + 5*time.Second // 2 s to start, the loss, 3 s without it (past every timeout)
	cfg, _ := json.Marshal(helperConfig{Targets: targets, Interval: interval, Timeout: timeout, For: total})
	cmd := exec.Command("ip", "netns", "exec", a, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+string(cfg))
	stdout, _ := cmd.StdoutPipe()
	start := time.Now()
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	defer cmd.Process.Kill()
	sc := bufio.NewScanner(stdout)
	sc.Buffer(nil, 1<<20)
	if !sc.Scan() || sc.Text() != "ready" {
		tb.Fatalf("the watches did not start: %q", sc.Text())
	}
	nft(fmt.Sprintf(`add rule ip loss in icmp type echo-request numgen random mod 100 < %d counter name "dropped" drop`, loss))
	time.Sleep(lossFor) // the experiment's own duration, not a wait for something to happen
	nft("flush chain ip loss in")
	if !sc.Scan() {
		tb.Fatal("no result from the watches")
	}
	cmd.Wait()
	var res helperResult
	if err := json.Unmarshal(sc.Bytes(), &res); err != nil {
		tb.Fatal(err)
	}
	if res.Err != "" {
		tb.Fatal(res.Err)
	}
	m := regexp.MustCompile(`packets (\d+)`).FindStringSubmatch(nft("list counter ip loss dropped"))
	if m == nil {
		tb.Fatal("nft shows no counter")
	}
	dropped, _ := strconv.Atoi(m[1])
	return lossRun{each: res.Each, dropped: dropped, cpu: res.CPU, wall: time.Since(start)}
}

// check holds the experiment to exact accounting: the watches lost what nftables dropped, not one
// more or fewer, and each watch's sent is its received plus its lost.
func (r lossRun) check(tb testing.TB, n int) (sent, lost int) {
	tb.Helper()
	if len(r.each) != n {
		tb.Fatalf("%d watches reported, want %d", len(r.each), n)
	}
	var per []string
	for i, st := range r.each {
		sent, lost = sent+st.Sent, lost+st.Lost
		per = append(per, strconv.Itoa(st.Lost))
		if st.Sent != st.Received+st.Lost || st.Received == 0 {
			tb.Errorf("watch %d: sent %d, received %d, lost %d", i, st.Sent, st.Received, st.Lost)
		}
	}
	if lost != r.dropped {
		tb.Errorf("the watches lost %d (%s), nftables dropped %d", lost, strings.Join(per, " "), r.dropped)
	}
	if r.dropped == 0 {
		tb.Error("nftables dropped nothing: the experiment tested no loss")
	}
	return sent, lost
}

// Twenty watches at once, as a wave's batch has them, on a link that drops 10% of requests: each
// lost request is counted, by the watch that sent it, exactly once.
func TestConcurrentWatchesCountLossExactly(t *testing.T) {
	const n = 20
	r := lossExperiment(t, n, 200*time.Millisecond, 10, 4*time.Second)
	sent, lost := r.check(t, n)
	t.Logf("%d watches: %d sent, %d lost, nftables dropped %d", n, sent, lost, r.dropped)
}

// BenchmarkWatches20x5pps is issue 21's figure: 20 watches at 5 pings/s each for
// CUTOVER_BENCH_SECONDS (default 10; the figure is 60) of 2% loss, exact accounting held to nftables'
// drop counter, and the CPU the watches take:
// go test -run X -bench Watches20x5pps -benchtime 1x ./checks/ping/
func BenchmarkWatches20x5pps(b *testing.B) {
	secs := 10
	if v, err := strconv.Atoi(os.Getenv("CUTOVER_BENCH_SECONDS")); err == nil && v > 0 {
		secs = v
	}
	for range b.N {
		r := lossExperiment(b, 20, 200*time.Millisecond, 2, time.Duration(secs)*time.Second)
		sent, lost := r.check(b, 20)
		b.ReportMetric(float64(sent), "sent")
		b.ReportMetric(float64(lost), "lost")
		b.ReportMetric(float64(r.dropped), "nft-dropped")
		b.ReportMetric(100*r.cpu.Seconds()/r.wall.Seconds(), "cpu%")
	}
}
