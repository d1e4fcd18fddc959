package runbook

// History is a watch's samples in time order, bounded: up to maxBuckets buckets, each the
// requests of a time slice (first and last send, how many, how many lost, RTT min and max). When
// full, neighbours merge and every bucket covers twice the time, so a four-hour watch keeps its
// whole shape in a fixed amount of memory and no lost request ever drops out of sight.
type History struct {
	Buckets []Bucket
	per     int // samples a bucket holds at the current resolution
}

// Bucket is the requests of one time slice.
type Bucket struct {
	From, To int64 // first and last send, unix ms
	Sent     int
	Lost     int
	Dups     int
	MinRTT   int64 // µs; -1 when nothing was answered
	MaxRTT   int64
}

// maxBuckets bounds a history: 4,096 buckets (about 200 KB) whatever the watch's length.
const maxBuckets = 4096

// Add folds one journaled sample ([seq, sent unix ms, RTT µs], RTT -1 lost, -2 duplicate).
func (h *History) Add(x [3]int64) {
	if h.per == 0 {
		h.per = 1
	}
	if x[2] == -2 { // a duplicate reply is not a request: it counts where the last request is
		if n := len(h.Buckets); n > 0 {
			h.Buckets[n-1].Dups++
		}
		return
	}
	n := len(h.Buckets)
	if n == 0 || h.Buckets[n-1].Sent >= h.per {
		if n == maxBuckets {
			h.halve()
		}
		h.Buckets = append(h.Buckets, Bucket{From: x[1], To: x[1], MinRTT: -1, MaxRTT: -1})
		n = len(h.Buckets)
	}
	b := &h.Buckets[n-1]
	b.From, b.To = min(b.From, x[1]), max(b.To, x[1])
	b.Sent++
	if x[2] == -1 {
		b.Lost++
		return
	}
	if b.MinRTT < 0 || x[2] < b.MinRTT {
		b.MinRTT = x[2]
	}
	b.MaxRTT = max(b.MaxRTT, x[2])
}

// halve merges neighbouring buckets: half as many, each twice as long.
func (h *History) halve() {
	out := h.Buckets[:0]
	for i := 0; i < len(h.Buckets); i += 2 {
		b := h.Buckets[i]
		if i+1 < len(h.Buckets) {
			b = b.merge(h.Buckets[i+1])
		}
		out = append(out, b)
	}
	h.Buckets = out
	h.per *= 2
}

func (b Bucket) merge(o Bucket) Bucket {
	m := Bucket{From: min(b.From, o.From), To: max(b.To, o.To), Sent: b.Sent + o.Sent, Lost: b.Lost + o.Lost, Dups: b.Dups + o.Dups, MinRTT: b.MinRTT, MaxRTT: max(b.MaxRTT, o.MaxRTT)}
	if o.MinRTT >= 0 && (m.MinRTT < 0 || o.MinRTT < m.MinRTT) {
		m.MinRTT = o.MinRTT
	}
	return m
}

// Sent and Lost count every request the history holds.
func (h *History) Sent() (sent, lost int) {
	for _, b := range h.Buckets {
		sent += b.Sent
		lost += b.Lost
	}
	return sent, lost
}

// Span is the time the history covers, unix ms.
func (h *History) Span() (from, to int64) {
	if len(h.Buckets) == 0 {
		return 0, 0
	}
	return h.Buckets[0].From, h.Buckets[len(h.Buckets)-1].To
}
