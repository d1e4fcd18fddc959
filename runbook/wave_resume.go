package runbook

// How a resumed run takes up a wave: from what its journal says of each item.

// resumeItem takes up what a resumed run's journal says of an item: one that had ended keeps its
// end (its completed steps stay for the run's rollback); one that had not runs on from there.
func (e *Engine) resumeItem(r *itemRun) {
	rs := r.eng.cfg.Resume
	if rs == nil || e.cfg.Resume == nil {
		return
	}
	ir := e.cfg.Resume.Items[r.wave+"["+r.item.Key+"]"]
	if ir == nil || (ir.Status == "" && ir.Failed == "") {
		return
	}
	r.status = ir.Status
	if ir.Status == "" { // it failed and its rollback had not ended: it is rolled back, not run again
		r.status, r.reason, r.undo = ItemFailed, "step "+ir.Failed+" failed before the run stopped", true
	}
	for i, s := range r.eng.cfg.Runbook.Steps {
		if rs.Completed[s.Name] && (r.status == ItemMoved || r.status == ItemFailed) {
			r.completed = append(r.completed, i)
		}
	}
}

func countBad(runs []*itemRun) int {
	n := 0
	for _, r := range runs {
		if r.status != ItemMoved {
			n++
		}
	}
	return n
}

// itemResumes gathers, for each wave item the journal holds, what it had done.
func itemResumes(s *RunState) map[string]*ItemResume {
	out := map[string]*ItemResume{}
	for _, w := range s.Waves {
		for _, it := range w.Items {
			ir := &ItemResume{VM: it.VM, Host: it.Host, Completed: map[string]bool{}, ActionDone: map[string]bool{}, ActionBegan: map[string]bool{}, Runtime: Values{}}
			switch it.Status {
			case ItemMoved, ItemRolledBack, ItemFailed, ItemRollbackFailed:
				ir.Status = it.Status
			}
			for k, v := range it.Runtime {
				ir.Runtime[k] = Value{Text: v}
			}
			out[w.Step+"["+it.VM+"]"] = ir
		}
	}
	for _, st := range s.Steps {
		wave, vm, step, ok := SplitItemStep(st.Name)
		ir := out[wave+"["+vm+"]"]
		if !ok || ir == nil || step == "" || st.Phase != PhaseRun {
			continue
		}
		switch {
		case st.Done():
			ir.Completed[step] = true
		case st.Status == "running" || st.Status == string(StepInterrupted):
			ir.InFlight = step
		case st.Status == string(StepFailed) || st.Status == string(StepAborted):
			ir.Failed = step
		}
		if st.ActionBegan {
			ir.ActionBegan[step] = true
		}
		if st.ActionDone {
			ir.ActionDone[step] = true
		}
	}
	return out
}
