package transcript

import (
	"bufio"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cutover/cutover/runbook"
)

// A typical line: a batch of command output, about 250 bytes.
var benchData = runbook.OutputData{Index: 0, Check: "systemctl is-active nginx", Lines: []runbook.Line{
	{Stream: "stdout", Text: "● nginx.service - A high performance web server and a reverse proxy server"},
	{Stream: "stdout", Text: "     Active: active (running) since Sat 2026-11-28 21:41:07 UTC; 19min ago"},
}}

// benchWriter is a journal for a benchmark, closed when it ends.
func benchWriter(b *testing.B) *Writer {
	w, err := Create(b.TempDir(), "bench", "op", nil, []string{"s3cr3t"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { w.Close() })
	return w
}

// BenchmarkAppend measures journal appends, each fsynced as the engine requires.
func BenchmarkAppend(b *testing.B) {
	w := benchWriter(b)
	now := time.Now()
	b.ResetTimer()
	for i := range b.N {
		if err := w.Append(int64(i+1), now, "output", "pre-checks", benchData); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkVerify measures chain verification of a 200,000-line journal.
func BenchmarkVerify(b *testing.B) {
	const lines = 200_000
	path := filepath.Join(b.TempDir(), "big.jsonl")
	writeUnsynced(b, path, lines)
	fi, _ := os.Stat(path)
	b.SetBytes(fi.Size())
	b.ResetTimer()
	for range b.N {
		rep, err := Verify(path, VerifyOptions{})
		if err != nil || rep.Lines != lines || rep.Problem != nil {
			b.Fatalf("%+v %v", rep, err)
		}
	}
	b.ReportMetric(float64(lines*b.N)/b.Elapsed().Seconds(), "lines/s")
}

// writeUnsynced builds a large journal with the real line encoder, without an fsync per line.
func writeUnsynced(b *testing.B, path string, n int) {
	w, err := Create(filepath.Dir(path), "bench", "op", nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	w.f.Close()
	out, _ := os.Create(path)
	bw := bufio.NewWriter(out)
	now := time.Now()
	for i := 1; i <= n; i++ {
		sum, err := w.encode(int64(i), now, "output", "pre-checks", benchData)
		if err != nil {
			b.Fatal(err)
		}
		bw.Write(w.buf)
		w.prev = sum
	}
	bw.Flush()
	out.Close()
}

// BenchmarkReadEvents decodes a 200,000-line journal into events: what report and replay read.
func BenchmarkReadEvents(b *testing.B) {
	const lines = 200_000
	path := filepath.Join(b.TempDir(), "big.jsonl")
	writeUnsynced(b, path, lines)
	b.ResetTimer()
	for range b.N {
		evs, err := ReadEvents(path)
		if err != nil || len(evs) != lines {
			b.Fatalf("%d events, %v", len(evs), err)
		}
	}
	b.ReportMetric(float64(lines*b.N)/b.Elapsed().Seconds(), "lines/s")
}

// BenchmarkAppendConcurrent is a wave's engines emitting at once: 64 writers, each line written
// under one lock and made durable outside it, one fdatasync for every line written meanwhile.
func BenchmarkAppendConcurrent(b *testing.B) {
	w := benchWriter(b)
	now := time.Now()
	sw := &sharedWriter{w: w}
	b.SetParallelism(32) // 64 goroutines on 2 cores
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := sw.write(now, "output", "pre-checks", benchData); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
