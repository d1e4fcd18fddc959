package runbook

import (
	"sync"
	"time"

	"github.com/cutover/cutover/checks/remote"
)

// What one command may put in the journal: its first lines up to headLines and headBytes, then its
// last lines up to tailLines and tailBytes. What falls between is counted, and the journal says
// how many lines and bytes were cut, so a runaway command cannot fill the disk during a change
// window and the end of its output, usually the error, is still there.
const (
	headLines = 10_000
	headBytes = 1 << 20
	tailLines = 1_000
	tailBytes = 256 << 10
)

// batcher turns a command's output lines into one output event per FlushEvery, so that a chatty
// command costs a few journal writes a second instead of one per line. Lines come redacted by the
// redactingRunner every check runs through (and the journal's writer redacts every line it writes).
type batcher struct {
	e           *Engine
	step, label string
	host        string
	index       int
	every       time.Duration

	mu           sync.Mutex
	lines        []Line // head lines waiting for the next flush
	headN, headB int
	tail         []Line
	tailB        int
	droppedN     int
	droppedB     int64
	timer        *time.Timer
}

func (b *batcher) add(rl remote.Line) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.keep(lineOf(rl))
}

// keep puts a redacted line in the head while it has room, else in the bounded tail.
func (b *batcher) keep(l Line) {
	if b.droppedN == 0 && len(b.tail) == 0 && b.headN < headLines && b.headB+len(l.Text) <= headBytes {
		b.headN++
		b.headB += len(l.Text)
		b.lines = append(b.lines, l)
		if b.timer == nil {
			b.timer = time.AfterFunc(b.every, b.flush)
		}
		return
	}
	b.tail = append(b.tail, l)
	b.tailB += len(l.Text)
	for len(b.tail) > 1 && (len(b.tail) > tailLines || b.tailB > tailBytes) {
		b.droppedN++
		b.droppedB += int64(len(b.tail[0].Text))
		b.tailB -= len(b.tail[0].Text)
		b.tail = b.tail[1:]
	}
	if t := &b.tail[0]; b.tailB > tailBytes { // one line longer than the whole tail: keep its end
		cut := b.tailB - tailBytes
		b.droppedB += int64(cut)
		t.Text = t.Text[cut:]
		b.tailB = tailBytes
	}
}

func (b *batcher) flush() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.flushLocked()
}

func (b *batcher) flushLocked() {
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
	if len(b.lines) == 0 {
		return
	}
	b.e.emit(EvOutput, b.step, OutputData{Index: b.index, Check: b.label, Host: b.host, Lines: b.lines})
	b.lines = nil
}

// close flushes the head, journals the cut, then the tail.
func (b *batcher) close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.flushLocked()
	if b.droppedN > 0 || b.droppedB > 0 {
		b.e.emit(EvOutput, b.step, OutputData{Index: b.index, Check: b.label, Host: b.host, Lines: []Line{}, Dropped: b.droppedN, DroppedBytes: b.droppedB})
	}
	if len(b.tail) > 0 {
		b.e.emit(EvOutput, b.step, OutputData{Index: b.index, Check: b.label, Host: b.host, Lines: b.tail})
		b.tail = nil
	}
}
