// Package ping watches a gateway: pro-bing ICMP from this machine, or iputils ping run on a remote
// host, turned into samples, bounded statistics and a loss gate. It knows nothing of runbooks or
// the UI.
package ping

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Sample is one echo request and what became of it.
type Sample struct {
	Seq  int           // monotonic for the watch (ICMP's 16-bit sequence unwrapped)
	Sent time.Time     // when the request left
	RTT  time.Duration // 0 when lost
	Lost bool          // no reply within the timeout
	Dup  bool          // a duplicate reply (not counted as received)
	TTL  int
}

// Stats summarise samples.
type Stats struct {
	Sent          int           `json:"sent"`
	Received      int           `json:"received"`
	Lost          int           `json:"lost"`
	Dups          int           `json:"dups,omitempty"`
	LongestRun    int           `json:"longest_loss_run"`  // consecutive lost packets
	LongestOutage time.Duration `json:"longest_outage_ns"` // first lost send to next answered send
	RTTMin        time.Duration `json:"rtt_min_ns"`
	RTTAvg        time.Duration `json:"rtt_avg_ns"`
	RTTP50        time.Duration `json:"rtt_p50_ns"`
	RTTP95        time.Duration `json:"rtt_p95_ns"`
	RTTMax        time.Duration `json:"rtt_max_ns"`
	Jitter        time.Duration `json:"jitter_ns"` // mean absolute difference of consecutive RTTs
}

// LossPct is the lost share of sent packets, in percent.
func (s Stats) LossPct() float64 {
	if s.Sent == 0 {
		return 0
	}
	return 100 * float64(s.Lost) / float64(s.Sent)
}

func (s Stats) String() string {
	return fmt.Sprintf("%d sent, %d lost (%.1f%%), longest outage %s, RTT p50 %s p95 %s max %s",
		s.Sent, s.Lost, s.LossPct(), s.LongestOutage.Round(time.Millisecond), s.RTTP50, s.RTTP95, s.RTTMax)
}

// acc accumulates stats over samples fed in sequence order. RTT percentiles are exact over the
// first exactRTTs answers, then come from a histogram of 0.5 %-wide bins over every answer: memory
// stays flat however long the watch runs, and a four-hour watch's p95 is its whole p95, not its
// last hour's.
type acc struct {
	Stats
	rttSum    time.Duration
	rtts      []time.Duration // every RTT while there are at most exactRTTs
	hist      []uint32        // then: answers per logarithmic bin of µs (rttBin)
	lastRTT   time.Duration
	jitterSum time.Duration
	jitterN   int
	run       int
	runStart  time.Time
}

const exactRTTs = 4096

// rttBin is an RTT's bin: bins are 0.5 % wide, so a percentile read from them is within 0.5 %.
func rttBin(d time.Duration) int {
	return int(math.Log1p(float64(d.Microseconds())) / binWidth)
}

// binRTT is the middle of a bin.
func binRTT(i int) time.Duration {
	return time.Duration(math.Round(math.Expm1((float64(i)+0.5)*binWidth))) * time.Microsecond
}

var binWidth = math.Log(1.005)

func (a *acc) add(s Sample) {
	if s.Dup {
		a.Dups++
		return
	}
	a.Sent++
	if s.Lost {
		a.Lost++
		if a.run == 0 {
			a.runStart = s.Sent
		}
		a.run++
		a.LongestRun = max(a.LongestRun, a.run)
		return
	}
	if a.run > 0 {
		a.LongestOutage = max(a.LongestOutage, s.Sent.Sub(a.runStart))
		a.run = 0
	}
	a.Received++
	if a.Received == 1 || s.RTT < a.RTTMin {
		a.RTTMin = s.RTT
	}
	a.RTTMax = max(a.RTTMax, s.RTT)
	a.rttSum += s.RTT
	if a.Received > 1 {
		d := s.RTT - a.lastRTT
		a.jitterSum += d.Abs()
		a.jitterN++
	}
	a.lastRTT = s.RTT
	switch {
	case a.hist != nil:
		a.bin(s.RTT)
	case len(a.rtts) < exactRTTs:
		a.rtts = append(a.rtts, s.RTT)
	default: // from now on the histogram holds them all
		for _, r := range a.rtts {
			a.bin(r)
		}
		a.rtts = nil
		a.bin(s.RTT)
	}
}

// outageNow is the outage still going on at t, if packets are being lost right now.
func (a *acc) outageNow(t time.Time) time.Duration {
	if a.run == 0 {
		return 0
	}
	return t.Sub(a.runStart)
}

// stats finishes the derived figures.
func (a *acc) stats(now time.Time) Stats {
	s := a.Stats
	if a.Received > 0 {
		s.RTTAvg = a.rttSum / time.Duration(a.Received)
	}
	if a.jitterN > 0 {
		s.Jitter = a.jitterSum / time.Duration(a.jitterN)
	}
	switch {
	case a.hist != nil:
		s.RTTP50, s.RTTP95 = a.histQuantile(50), a.histQuantile(95)
	case len(a.rtts) > 0:
		sorted := slices.Clone(a.rtts)
		slices.Sort(sorted)
		s.RTTP50 = sorted[(len(sorted)-1)*50/100]
		s.RTTP95 = sorted[(len(sorted)-1)*95/100]
	}
	s.LongestOutage = max(s.LongestOutage, a.outageNow(now))
	return s
}

func (a *acc) bin(d time.Duration) {
	i := rttBin(d)
	if i >= len(a.hist) {
		a.hist = append(a.hist, make([]uint32, i+1-len(a.hist))...)
	}
	a.hist[i]++
}

// histQuantile is the q-th percentile of the binned answers, as the exact rank would take it.
func (a *acc) histQuantile(q int) time.Duration {
	n := 0
	for _, c := range a.hist {
		n += int(c)
	}
	rank, seen := (n-1)*q/100, 0
	for i, c := range a.hist {
		if seen += int(c); seen > rank {
			return min(max(binRTT(i), a.RTTMin), a.RTTMax)
		}
	}
	return a.RTTMax
}
