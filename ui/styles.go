// Package ui is cutover's console: a bubbletea program that renders the engine's event stream and
// sends the operator's decisions back. It holds view state only; every rule lives in runbook.
package ui

import "github.com/charmbracelet/lipgloss"

// styles are the console's colours: adaptive, so light and dark terminals both read well, and
// plain under NO_COLOR (lipgloss drops colour on its own).
type styles struct {
	title, dim, ok, bad, warn, run, sel, box, boxFocus, modal, key, header, lost lipgloss.Style
}

func newStyles() styles {
	green := lipgloss.AdaptiveColor{Light: "#1a7f37", Dark: "#3fb950"}
	red := lipgloss.AdaptiveColor{Light: "#cf222e", Dark: "#f85149"}
	amber := lipgloss.AdaptiveColor{Light: "#9a6700", Dark: "#d29922"}
	blue := lipgloss.AdaptiveColor{Light: "#0969da", Dark: "#58a6ff"}
	grey := lipgloss.AdaptiveColor{Light: "#6e7781", Dark: "#8b949e"}
	return styles{
		title:    lipgloss.NewStyle().Bold(true),
		dim:      lipgloss.NewStyle().Foreground(grey),
		ok:       lipgloss.NewStyle().Foreground(green),
		bad:      lipgloss.NewStyle().Foreground(red).Bold(true),
		warn:     lipgloss.NewStyle().Foreground(amber),
		run:      lipgloss.NewStyle().Foreground(blue),
		sel:      lipgloss.NewStyle().Reverse(true),
		box:      lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).BorderForeground(grey),
		boxFocus: lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).BorderForeground(blue),
		modal:    lipgloss.NewStyle().Border(lipgloss.DoubleBorder()).BorderForeground(amber).Padding(0, 1),
		key:      lipgloss.NewStyle().Bold(true),
		header:   lipgloss.NewStyle().Bold(true).Padding(0, 1),
		lost:     lipgloss.NewStyle().Foreground(red).Bold(true),
	}
}
