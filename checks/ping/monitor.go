package ping

import (
	"fmt"
	"sync"
	"time"
)

// Limits are the gate of a watch: what may happen during the action and its settle time.
type Limits struct {
	MaxLost   int           // lost packets allowed (the seed's "no more than one")
	MaxOutage time.Duration // longest outage allowed; 0: no limit
	MaxRTTP95 time.Duration // RTT p95 allowed; 0: no limit
	// MaxRTTIncrease bounds how much the median RTT may grow from before the move to after it
	// (the settle span): a gateway now reached across the inter-site link. 0: no limit.
	MaxRTTIncrease time.Duration
}

// Breach says which limit was broken, with the figures.
type Breach struct {
	Reason string
	Stats  Stats
	Window []Sample // the samples around the outage
}

// Monitor orders samples, keeps whole-watch stats and a bounded ring for the graph, judges the
// samples of the gated span (the action plus settle) against the limits, and reports a breach the
// moment it happens.
type Monitor struct {
	mu       sync.Mutex
	limits   Limits
	all      acc
	span     acc
	inSpan   bool
	spanFrom time.Time
	spanTo   time.Time // zero: still open
	// Before and after the move, for what it did to latency: before is everything sent before the
	// switch-over (or the action's end, when nobody said when it switched); after, the settle span.
	before, after acc
	switchAt      time.Time
	actionEnd     time.Time
	ring          []Sample
	ringNext      int
	pending       map[int]Sample // resolved out of order, waiting for earlier seqs
	nextSeq       int
	onBreach      func(Breach)
	breach        *Breach
}

// RingSize bounds the samples kept for the graph and for breach evidence.
const RingSize = 4096

// NewMonitor judges samples against limits; onBreach (may be nil) is called once, from the
// goroutine that fed the breaking sample.
func NewMonitor(limits Limits, onBreach func(Breach)) *Monitor {
	return &Monitor{limits: limits, pending: map[int]Sample{}, onBreach: onBreach}
}

// StartSpan opens the gated span: samples sent from t on count toward the limits.
func (m *Monitor) StartSpan(t time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.inSpan, m.spanFrom = true, t
}

// EndSpan closes the gated span at to: the action ended at actionEnd, the settle runs to to.
func (m *Monitor) EndSpan(actionEnd, to time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.actionEnd, m.spanTo = actionEnd, to
}

// MarkSwitchover says when the move switched the VM over to its destination: what came before is
// the latency before the move. The first mark counts.
func (m *Monitor) MarkSwitchover(t time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.switchAt.IsZero() {
		m.switchAt = t
	}
}

// Latency is the round-trip time before the move and after it (the settle span).
func (m *Monitor) Latency(now time.Time) (before, after Stats) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.before.stats(now), m.after.stats(now)
}

// SpanStats are the gated span's figures so far.
func (m *Monitor) SpanStats(now time.Time) Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.span.stats(now)
}

// Add feeds a resolved sample (received, lost or duplicate), in any order.
func (m *Monitor) Add(s Sample) {
	m.mu.Lock()
	var b *Breach
	if s.Dup {
		m.all.add(s)
	} else {
		m.pending[s.Seq] = s
		for {
			next, ok := m.pending[m.nextSeq]
			if !ok {
				break
			}
			delete(m.pending, m.nextSeq)
			m.nextSeq++
			m.ingest(next)
			if b == nil {
				b = m.check(next.Sent)
			}
		}
	}
	cb := m.onBreach
	m.mu.Unlock()
	if b != nil && cb != nil {
		cb(*b)
	}
}

// Skip declares seqs below seq resolved without samples (a remote ping that restarted).
func (m *Monitor) Skip(seq int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if seq > m.nextSeq {
		m.nextSeq = seq
	}
}

func (m *Monitor) ingest(s Sample) {
	m.all.add(s)
	if len(m.ring) < RingSize {
		m.ring = append(m.ring, s)
	} else {
		m.ring[m.ringNext] = s
		m.ringNext = (m.ringNext + 1) % RingSize
	}
	if m.inSpan && !s.Sent.Before(m.spanFrom) && (m.spanTo.IsZero() || !s.Sent.After(m.spanTo)) {
		m.span.add(s)
	}
	cut := m.switchAt
	if cut.IsZero() {
		cut = m.actionEnd
	}
	if cut.IsZero() || s.Sent.Before(cut) {
		m.before.add(s)
	}
	if !m.actionEnd.IsZero() && !s.Sent.Before(m.actionEnd) && !s.Sent.After(m.spanTo) {
		m.after.add(s)
	}
}

// rttShift judges the latency limit: the median RTT after the move against before it.
func (m *Monitor) rttShift(now time.Time) (string, bool) {
	if m.limits.MaxRTTIncrease <= 0 {
		return "", true
	}
	b, a := m.before.stats(now), m.after.stats(now)
	if b.Received == 0 || a.Received == 0 {
		// Nothing to compare: the move did not happen (already there, failed) or the watch ended
		// at a breach, which the loss limit judged. The journal says the shift is unknown.
		return "", true
	}
	if d := a.RTTP50 - b.RTTP50; d > m.limits.MaxRTTIncrease {
		return fmt.Sprintf("RTT up %s after the move (p50 %s → %s), limit +%s", d, b.RTTP50, a.RTTP50, m.limits.MaxRTTIncrease), false
	}
	return "", true
}

// check returns a breach of the loss or outage limits, once.
func (m *Monitor) check(now time.Time) *Breach {
	if m.breach != nil || !m.inSpan {
		return nil
	}
	st := m.span.stats(now)
	var reason string
	switch {
	case st.Lost > m.limits.MaxLost:
		reason = fmt.Sprintf("%d packets lost, limit %d", st.Lost, m.limits.MaxLost)
	case m.limits.MaxOutage > 0 && st.LongestOutage > m.limits.MaxOutage:
		reason = fmt.Sprintf("outage of %s, limit %s", st.LongestOutage.Round(time.Millisecond), m.limits.MaxOutage)
	default:
		return nil
	}
	m.breach = &Breach{Reason: reason, Stats: st, Window: m.windowLocked(40)}
	return m.breach
}

// Verdict judges the closed span: the loss and outage limits, and RTT p95, which needs the whole
// span. ok is false with the reason when a limit was broken.
func (m *Monitor) Verdict(now time.Time) (Stats, string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.span.stats(now)
	if m.breach != nil {
		return st, m.breach.Reason, false
	}
	if b := m.check(now); b != nil {
		return st, b.Reason, false
	}
	if m.limits.MaxRTTP95 > 0 && st.Received > 0 && st.RTTP95 > m.limits.MaxRTTP95 {
		return st, fmt.Sprintf("RTT p95 %s, limit %s", st.RTTP95, m.limits.MaxRTTP95), false
	}
	if reason, ok := m.rttShift(now); !ok {
		return st, reason, false
	}
	return st, "", true
}

// Breached returns the breach, if any.
func (m *Monitor) Breached() *Breach {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.breach
}

// Stats are the whole watch's figures so far.
func (m *Monitor) Stats(now time.Time) Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.all.stats(now)
}

// Window returns the last n samples in sequence order.
func (m *Monitor) Window(n int) []Sample {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.windowLocked(n)
}

func (m *Monitor) windowLocked(n int) []Sample {
	ordered := append(append([]Sample{}, m.ring[m.ringNext:]...), m.ring[:m.ringNext]...)
	if len(ordered) > n {
		ordered = ordered[len(ordered)-n:]
	}
	return ordered
}
