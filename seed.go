// Package cutover holds what the binary carries of the repository itself: the seed runbook, so
// that the lab runs from any directory.
package cutover

import _ "embed"

// SeedRunbooks is runbooks.yaml as built: the stretched-VLAN vMotion runbook the lab runs when no
// runbook file is at hand (cutover lab --print-runbook writes it out).
//
//go:embed runbooks.yaml
var SeedRunbooks []byte
