package transcript

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/cutover/cutover/runbook"
)

// line is a journal line's envelope.
type line struct {
	Seq  int64             `json:"seq"`
	Time time.Time         `json:"time"`
	Run  string            `json:"run"`
	Type runbook.EventType `json:"type"`
	Step string            `json:"step"`
	Data json.RawMessage   `json:"data"`
}

// decodeLine turns one journal line back into an engine event.
func decodeLine(b []byte) (runbook.Event, error) {
	var l line
	if err := json.Unmarshal(b, &l); err != nil {
		return runbook.Event{}, err
	}
	data, err := runbook.DecodeData(l.Type, l.Data)
	if err != nil {
		return runbook.Event{}, err
	}
	return runbook.Event{Seq: l.Seq, Time: l.Time, Run: l.Run, Type: l.Type, Step: l.Step, Data: data}, nil
}

// ReadEvents reads a whole journal into events. Read it after Verify: this only decodes. A torn
// last line (a crash mid-write) is left out. Lines decode in parallel (each stands alone): a
// 200,000-line journal is a report's wait, not a coffee's.
func ReadEvents(path string) ([]runbook.Event, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read journal: %w", err)
	}
	defer f.Close()
	var lines [][]byte
	br := bufio.NewReaderSize(f, 256<<10)
	for {
		b, err := br.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			break // nothing, or a torn last line
		}
		if err != nil {
			return nil, fmt.Errorf("read journal: %w", err)
		}
		lines = append(lines, b)
	}
	out := make([]runbook.Event, len(lines))
	errs := make([]error, len(lines))
	workers := max(1, min(runtime.GOMAXPROCS(0), len(lines)/1000+1))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(lines); i += workers {
				out[i], errs[i] = decodeLine(lines[i])
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("%s line %d: %w", path, i+1, err)
		}
	}
	return out, nil
}

// Follow reads a journal that may still be growing, as a live run writes it, verifying every line
// against the chain as it arrives and handing each event to emit. It returns at the run's end
// (run.end and its checkpoint), when ctx ends, or at the first line that does not verify.
func Follow(ctx context.Context, path string, poll time.Duration, emit func(runbook.Event)) error {
	var f *os.File
	for f == nil { // the run may not have created its journal yet
		var err error
		if f, err = os.Open(path); err != nil {
			if !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("follow: %w", err)
			}
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(poll):
			}
		}
	}
	defer f.Close()
	rep := &Report{Path: path}
	var prev [32]byte
	var run []byte
	var pending []byte
	buf := make([]byte, 64<<10)
	n, ended := 0, false
	for {
		k, err := f.Read(buf)
		pending = append(pending, buf[:k]...)
		for {
			i := bytes.IndexByte(pending, '\n')
			if i < 0 {
				break
			}
			b := pending[:i]
			n++
			if msg := rep.verifyLine(n, b, &prev, &run, VerifyOptions{}); msg != "" {
				return fmt.Errorf("%s line %d: %s", path, n, msg)
			}
			ev, derr := decodeLine(b)
			if derr != nil {
				return fmt.Errorf("%s line %d: %w", path, n, derr)
			}
			emit(ev)
			if ev.Type == runbook.EvRunEnd {
				ended = true
			} else if ended && ev.Type == runbook.EvCheckpoint {
				return nil
			}
			pending = pending[i+1:]
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("follow: %w", err)
		}
		if k == 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(poll):
			}
		}
	}
}
