package transcript

import "github.com/cutover/cutover/runbook"

// Recorder journals the engine's events through a Writer and signs the chain head when the engine
// asks for a checkpoint.
type Recorder struct {
	W *Writer
}

var _ runbook.Recorder = Recorder{}

// Record writes ev; Sync makes it durable.
func (r Recorder) Record(ev *runbook.Event) error {
	return r.W.Write(ev.Seq, ev.Time, string(ev.Type), ev.Step, ev.Data)
}

// Sync returns once event seq and those before it are on disk: one fdatasync for every event
// that was written meanwhile.
func (r Recorder) Sync(seq int64) error { return r.W.Sync(seq) }

// Checkpoint signs the chain head as it stands.
func (r Recorder) Checkpoint() runbook.CheckpointData {
	head, key, sig, err := r.W.Checkpoint()
	cp := runbook.CheckpointData{Head: head, Key: key, Sig: sig}
	if err != nil {
		cp.Error = err.Error()
	}
	return cp
}
