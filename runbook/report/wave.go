package report

import (
	"fmt"

	"github.com/cutover/cutover/runbook"
)

// Wave is a wave's page: its summary first, then one row per VM.
type Wave struct {
	Step    string
	Summary string
	Rows    []WaveRow
}

// WaveRow is one VM of a wave, in words the table shows as they are.
type WaveRow struct {
	VM, Batch, Move, Loss, RTT, Verdict, Result string
	Bad                                         bool
}

func waves(s *runbook.RunState) []Wave {
	var out []Wave
	for _, w := range s.Waves {
		wv := Wave{Step: w.Step, Summary: w.Summary()}
		for _, it := range w.Items {
			row := WaveRow{VM: it.VM, Batch: fmt.Sprint(it.Batch), Move: "—", Loss: "—", RTT: "—", Verdict: orDash(it.Verdict), Result: it.Status}
			if it.Origin != "" || it.Target != "" {
				row.Move = orDash(it.Origin) + " → " + orDash(it.Target)
				if it.Target != "" && it.Host != "" && it.Host != it.Target {
					row.Move += " (now " + it.Host + ")"
				}
			}
			if st := it.Watch; st != nil {
				row.Loss = fmt.Sprintf("%d/%d", st.Lost, st.Sent)
			}
			if l := it.Latency; l != nil {
				if shift, ok := l.Shift(); ok {
					row.RTT = fmt.Sprintf("%.2f → %.2f ms (%+.2f)", float64(l.Before.P50), float64(l.After.P50), float64(shift))
				}
			}
			if it.Reason != "" {
				row.Result += ": " + it.Reason
			}
			row.Bad = it.Status != runbook.ItemMoved
			wv.Rows = append(wv.Rows, row)
		}
		out = append(out, wv)
	}
	return out
}
