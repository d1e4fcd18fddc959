package runbook

import "cmp"

// The fold of a run's migrations.

// Migration is the vMotion shown now: the newest that moved something, else the newest.
func (s *RunState) Migration() *MigrationState {
	for i := len(s.Migrations) - 1; i >= 0; i-- {
		if !s.Migrations[i].Skipped {
			return s.Migrations[i]
		}
	}
	if n := len(s.Migrations); n > 0 {
		return s.Migrations[n-1]
	}
	return nil
}

// VMHost is where the journal last saw the migrated VM: its last landing (or where a move found
// it already), else where pre-flight found it; "" when nothing was migrated.
func (s *RunState) VMHost() string {
	for i := len(s.Migrations) - 1; i >= 0; i-- {
		if m := s.Migrations[i]; m.Done || m.Interrupted && m.Landed != "" {
			return cmp.Or(m.Landed, m.To)
		}
	}
	if len(s.Migrations) > 0 {
		return s.Migrations[0].From
	}
	return ""
}

// migrate follows a vMotion. A move that found the VM already in place (a rollback's no-op) is a
// migration of its own: it never hides a failed one.
func (s *RunState) migrate(ev Event, d MigrateData) {
	for _, p := range []*Placement{d.From, d.To} {
		if p != nil && p.HostRef != "" {
			s.names[p.HostRef] = p.Host
		}
	}
	to := s.HostName(d.Move.Host)
	m := s.inFlight()
	if m == nil || d.Phase == MigrateOrigin || m.Step != ev.Step || m.To != to {
		m = &MigrationState{Step: ev.Step, VM: d.Move.VM, To: to}
		s.Migrations = append(s.Migrations, m)
	}
	if d.From != nil {
		m.From = d.From.Host
	}
	switch d.Phase {
	case MigrateStart:
		m.Stage = "starting"
	case MigrateDone:
		m.Done, m.Percent = true, 100
		m.Result = "on " + to
		if d.To != nil {
			m.Cluster, m.Landed = d.To.Cluster, d.To.Host
			m.Result = "on " + d.To.Host + " (" + d.To.Cluster + ")"
		}
		m.Elapsed = d.Duration.Std()
	case MigrateInterrupted:
		m.Interrupted, m.Elapsed = true, d.Duration.Std()
		m.Result = "interrupted; where the VM is could not be read"
		if d.To != nil {
			m.Landed, m.Cluster = d.To.Host, d.To.Cluster
			m.Result = "interrupted; " + d.Move.VM + " is on " + d.To.Host
		}
		if d.Task != "" {
			m.Result += "; vCenter task " + d.Task + " " + cmp.Or(d.TaskState, "unknown")
		}
	case MigrateFailed:
		m.Failed, m.Result = true, d.Error
		m.Elapsed = d.Duration.Std()
	case MigrateSkipped:
		m.Done, m.Skipped, m.Percent, m.Result = true, true, 100, "already on "+to+": nothing to move"
	}
}

// inFlight is the migration not yet done or failed, if any.
func (s *RunState) inFlight() *MigrationState {
	if n := len(s.Migrations); n > 0 && !s.Migrations[n-1].Done && !s.Migrations[n-1].Failed && !s.Migrations[n-1].Interrupted {
		return s.Migrations[n-1]
	}
	return nil
}

// HostName is the name of a host a move named by reference (HostSystem:host-21), as the journal's
// placements give it; anything else is returned as it is.
func (s *RunState) HostName(host string) string {
	if n := s.names[host]; n != "" {
		return n
	}
	return host
}
