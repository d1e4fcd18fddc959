package ping

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Kind is what a line of iputils ping output says.
type Kind int

// The lines that matter to a watch.
const (
	Other    Kind = iota
	Reply         // 64 bytes from ...: icmp_seq=N ttl=T time=X ms
	NoAnswer      // no answer yet for icmp_seq=N (ping -O), or an ICMP error for it
)

// Line is one parsed line of `ping -D -O`.
type Line struct {
	Kind Kind
	Seq  int // icmp_seq as printed (16-bit, wraps)
	At   time.Time
	RTT  time.Duration
	TTL  int
	Dup  bool
}

var (
	tsRe   = regexp.MustCompile(`^\[(\d+)\.(\d+)\]\s*`)
	seqRe  = regexp.MustCompile(`icmp_seq=(\d+)`)
	ttlRe  = regexp.MustCompile(`ttl=(\d+)`)
	timeRe = regexp.MustCompile(`time[=<]([0-9.]+) ?(ms|s)`)
)

// ParseLine reads one line of iputils ping output (-D timestamps optional).
func ParseLine(s string) Line {
	var l Line
	if m := tsRe.FindStringSubmatch(s); m != nil {
		sec, _ := strconv.ParseInt(m[1], 10, 64)
		frac := m[2]
		for len(frac) < 9 {
			frac += "0"
		}
		ns, _ := strconv.ParseInt(frac[:9], 10, 64)
		l.At = time.Unix(sec, ns)
		s = s[len(m[0]):]
	}
	seq := seqRe.FindStringSubmatch(s)
	if seq == nil {
		return l
	}
	l.Seq, _ = strconv.Atoi(seq[1])
	switch {
	case strings.HasPrefix(s, "no answer yet"):
		l.Kind = NoAnswer
	case strings.Contains(s, " bytes from ") && strings.Contains(s, "time"):
		l.Kind = Reply
		l.Dup = strings.Contains(s, "(DUP!)")
		if m := ttlRe.FindStringSubmatch(s); m != nil {
			l.TTL, _ = strconv.Atoi(m[1])
		}
		if m := timeRe.FindStringSubmatch(s); m != nil {
			v, err := strconv.ParseFloat(m[1], 64)
			if err == nil && v >= 0 && v < 1e6 {
				unit := time.Millisecond
				if m[2] == "s" {
					unit = time.Second
				}
				l.RTT = time.Duration(v * float64(unit))
			}
		}
	case strings.HasPrefix(s, "From "):
		l.Kind = NoAnswer // Destination Host Unreachable, Time to live exceeded...
	}
	return l
}

// Unwrapper turns iputils' 16-bit icmp_seq (starting at 1) into the watch's monotonic sequence
// (starting at 0).
type Unwrapper struct {
	last, base int
	started    bool
}

// Seq unwraps one printed sequence number.
func (u *Unwrapper) Seq(printed int) int {
	if u.started && printed < u.last && u.last-printed > 32768 {
		u.base += 65536
	}
	if !u.started || printed > u.last || u.last-printed > 32768 {
		u.last = printed
	}
	u.started = true
	return u.base + printed - 1
}

// Feed turns a line into a sample for the monitor; ok is false for lines that are not about a
// packet. Sent is the reply's timestamp less its RTT, or the "no answer" line's timestamp less the
// interval (when ping sent the unanswered packet).
func (u *Unwrapper) Feed(l Line, interval time.Duration) (Sample, bool) {
	if l.Kind == Other {
		return Sample{}, false
	}
	s := Sample{Seq: u.Seq(l.Seq), TTL: l.TTL, Dup: l.Dup}
	switch l.Kind {
	case Reply:
		s.RTT, s.Sent = l.RTT, l.At.Add(-l.RTT)
	case NoAnswer:
		s.Lost, s.Sent = true, l.At.Add(-interval)
	}
	return s, true
}
