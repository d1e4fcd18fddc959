package ui

import (
	"time"

	"github.com/cutover/cutover/runbook"
)

// One message type per fact.
type (
	engineEventMsg struct{ ev runbook.Event }
	runDoneMsg     struct{}
	askMsg         struct{ ask *ask }
	tickMsg        time.Time
	noteMsg        struct{ ok bool }
)
