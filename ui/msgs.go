package ui

import (
	"time"

	"github.com/cutover/cutover/runbook"
)

// One message type per fact.
type (
	engineEventMsg struct{ evs []runbook.Event }
	runDoneMsg     struct{}
	askMsg         struct{ ask *ask }
	tickMsg        time.Time
	noteMsg        struct{ ok bool }
)
