package runbook

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/cutover/cutover/checks/ping"
)

// WatchStats are a gateway watch's figures as the journal keeps them: counts, and times in the
// journal's one unit, milliseconds (round-trip times keep microseconds as a fraction). The ping
// package's own type is converted at the engine; its JSON does not shape the signed file.
type WatchStats struct {
	Sent          int    `json:"sent"`
	Received      int    `json:"received"`
	Lost          int    `json:"lost"`
	Dups          int    `json:"dups,omitempty"`
	LongestRun    int    `json:"longest_loss_run"`  // consecutive lost requests
	LongestOutage Millis `json:"longest_outage_ms"` // first lost send to the next answered one
	RTTMin        Millis `json:"rtt_min_ms"`
	RTTAvg        Millis `json:"rtt_avg_ms"`
	RTTP50        Millis `json:"rtt_p50_ms"`
	RTTP95        Millis `json:"rtt_p95_ms"`
	RTTMax        Millis `json:"rtt_max_ms"`
	Jitter        Millis `json:"jitter_ms"` // mean absolute difference of consecutive RTTs
}

// LossPct is the share of requests lost, in percent.
func (s WatchStats) LossPct() float64 {
	if s.Sent == 0 {
		return 0
	}
	return 100 * float64(s.Lost) / float64(s.Sent)
}

func (s WatchStats) String() string {
	return fmt.Sprintf("%d sent, %d lost (%.1f%%), longest outage %s, RTT p50 %s p95 %s max %s",
		s.Sent, s.Lost, s.LossPct(), s.LongestOutage.Std().Round(time.Millisecond), s.RTTP50.Std(), s.RTTP95.Std(), s.RTTMax.Std())
}

// WatchLimits are a watch's gate: at most MaxLost lost, outage and RTT p95 within bounds (0: none).
type WatchLimits struct {
	MaxLost        int    `json:"max_lost"`
	MaxOutage      Millis `json:"max_outage_ms,omitempty"`
	MaxRTTP95      Millis `json:"max_rtt_p95_ms,omitempty"`
	MaxRTTIncrease Millis `json:"max_rtt_increase_ms,omitempty"`
}

func watchStatsOf(s ping.Stats) WatchStats {
	return WatchStats{Sent: s.Sent, Received: s.Received, Lost: s.Lost, Dups: s.Dups, LongestRun: s.LongestRun,
		LongestOutage: msFine(s.LongestOutage), RTTMin: msFine(s.RTTMin), RTTAvg: msFine(s.RTTAvg), RTTP50: msFine(s.RTTP50),
		RTTP95: msFine(s.RTTP95), RTTMax: msFine(s.RTTMax), Jitter: msFine(s.Jitter)}
}

func watchLimitsOf(l ping.Limits) WatchLimits {
	return WatchLimits{MaxLost: l.MaxLost, MaxOutage: msFine(l.MaxOutage), MaxRTTP95: msFine(l.MaxRTTP95), MaxRTTIncrease: msFine(l.MaxRTTIncrease)}
}

func rttFiguresOf(s ping.Stats) RTTFigures {
	return RTTFigures{Answers: s.Received, P50: msFine(s.RTTP50), P95: msFine(s.RTTP95)}
}

// nsOr reads a figure journaled before 2026-12-02 in nanoseconds when the milliseconds are absent.
func nsOr(msVal *Millis, ns *int64) Millis {
	switch {
	case msVal != nil:
		return *msVal
	case ns != nil:
		return Millis(float64(*ns) / 1e6)
	}
	return 0
}

// UnmarshalJSON reads the figures in milliseconds, or in the nanoseconds older journals used.
func (s *WatchStats) UnmarshalJSON(b []byte) error {
	var v struct {
		Sent, Received, Lost, Dups int
		LongestRun                 int     `json:"longest_loss_run"`
		LongestOutage              *Millis `json:"longest_outage_ms"`
		LongestOutageNs            *int64  `json:"longest_outage_ns"`
		RTTMin                     *Millis `json:"rtt_min_ms"`
		RTTMinNs                   *int64  `json:"rtt_min_ns"`
		RTTAvg                     *Millis `json:"rtt_avg_ms"`
		RTTAvgNs                   *int64  `json:"rtt_avg_ns"`
		RTTP50                     *Millis `json:"rtt_p50_ms"`
		RTTP50Ns                   *int64  `json:"rtt_p50_ns"`
		RTTP95                     *Millis `json:"rtt_p95_ms"`
		RTTP95Ns                   *int64  `json:"rtt_p95_ns"`
		RTTMax                     *Millis `json:"rtt_max_ms"`
		RTTMaxNs                   *int64  `json:"rtt_max_ns"`
		Jitter                     *Millis `json:"jitter_ms"`
		JitterNs                   *int64  `json:"jitter_ns"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*s = WatchStats{Sent: v.Sent, Received: v.Received, Lost: v.Lost, Dups: v.Dups, LongestRun: v.LongestRun,
		LongestOutage: nsOr(v.LongestOutage, v.LongestOutageNs), RTTMin: nsOr(v.RTTMin, v.RTTMinNs), RTTAvg: nsOr(v.RTTAvg, v.RTTAvgNs),
		RTTP50: nsOr(v.RTTP50, v.RTTP50Ns), RTTP95: nsOr(v.RTTP95, v.RTTP95Ns), RTTMax: nsOr(v.RTTMax, v.RTTMaxNs), Jitter: nsOr(v.Jitter, v.JitterNs)}
	return nil
}

// UnmarshalJSON reads the limits in milliseconds, or in the nanoseconds older journals used.
func (l *WatchLimits) UnmarshalJSON(b []byte) error {
	var v struct {
		MaxLost     int     `json:"max_lost"`
		MaxOutage   *Millis `json:"max_outage_ms"`
		MaxOutageNs *int64  `json:"max_outage_ns"`
		MaxRTTP95   *Millis `json:"max_rtt_p95_ms"`
		MaxRTTP95Ns *int64  `json:"max_rtt_p95_ns"`
		MaxRTTInc   Millis  `json:"max_rtt_increase_ms"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*l = WatchLimits{MaxLost: v.MaxLost, MaxOutage: nsOr(v.MaxOutage, v.MaxOutageNs), MaxRTTP95: nsOr(v.MaxRTTP95, v.MaxRTTP95Ns), MaxRTTIncrease: v.MaxRTTInc}
	return nil
}
