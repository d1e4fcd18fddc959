package transcript

import "github.com/cutover/cutover/runbook"

// Recorder journals the engine's events through a Writer, signing the chain head at each
// checkpoint event.
type Recorder struct {
	W *Writer
}

var _ runbook.Recorder = Recorder{}

// Record appends ev, filling in a checkpoint's signature first.
func (r Recorder) Record(ev *runbook.Event) error {
	if ev.Type == runbook.EvCheckpoint {
		head, key, sig, err := r.W.Checkpoint()
		cp := &runbook.CheckpointData{Head: head, Key: key, Sig: sig}
		if err != nil {
			cp.Error = err.Error()
		}
		ev.Data = cp
	}
	return r.W.Append(ev.Seq, ev.Time, string(ev.Type), ev.Step, ev.Data)
}
