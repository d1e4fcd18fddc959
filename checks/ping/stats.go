// Package ping watches a gateway: pro-bing ICMP from this machine, or iputils ping run on a remote
// host, turned into samples, bounded statistics and a loss gate. It knows nothing of runbooks or
// the UI.
package ping

import (
	"fmt"
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

// acc accumulates stats over samples fed in sequence order. RTT percentiles come from a bounded
// reservoir, so memory stays flat however long the watch runs.
type acc struct {
	Stats
	rttSum    time.Duration
	rtts      []time.Duration // the last maxRTTs RTTs, a ring
	next      int
	lastRTT   time.Duration
	jitterSum time.Duration
	jitterN   int
	run       int
	runStart  time.Time
	// keep bounds the RTT reservoir (0: maxRTTs); the spans before and after a move need fewer.
	keep int
}

const maxRTTs = 1 << 16

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
	keep := a.keep
	if keep <= 0 {
		keep = maxRTTs
	}
	if len(a.rtts) < keep {
		a.rtts = append(a.rtts, s.RTT)
	} else {
		a.rtts[a.next] = s.RTT
		a.next = (a.next + 1) % keep
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
	if len(a.rtts) > 0 {
		sorted := slices.Clone(a.rtts)
		slices.Sort(sorted)
		s.RTTP50 = sorted[(len(sorted)-1)*50/100]
		s.RTTP95 = sorted[(len(sorted)-1)*95/100]
	}
	s.LongestOutage = max(s.LongestOutage, a.outageNow(now))
	return s
}
