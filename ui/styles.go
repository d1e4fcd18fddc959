// Package ui is cutover's console: a bubbletea program that renders the engine's event stream and
// sends the operator's decisions back. It holds view state only; every rule lives in runbook.
package ui

import "github.com/charmbracelet/lipgloss"

// styles are the console's colours: adaptive, so light and dark terminals both read well. Without
// colour (NO_COLOR) every state still shows: by its glyph, by weight, and the focused pane by a
// heavier border, never by colour alone.
type styles struct {
	color                                                     bool
	title, dim, ok, bad, warn, run, sel, box, boxFocus, modal lipgloss.Style
	key, header, lost, plain, match, barOn, barOff            lipgloss.Style
}

func newStyles(color bool) styles {
	green := lipgloss.AdaptiveColor{Light: "#1a7f37", Dark: "#3fb950"}
	red := lipgloss.AdaptiveColor{Light: "#cf222e", Dark: "#f85149"}
	amber := lipgloss.AdaptiveColor{Light: "#9a6700", Dark: "#d29922"}
	blue := lipgloss.AdaptiveColor{Light: "#0969da", Dark: "#58a6ff"}
	grey := lipgloss.AdaptiveColor{Light: "#6e7781", Dark: "#8b949e"}
	fg := func(c lipgloss.AdaptiveColor) lipgloss.Style {
		if !color {
			return lipgloss.NewStyle()
		}
		return lipgloss.NewStyle().Foreground(c)
	}
	border := func(b lipgloss.Border, c lipgloss.AdaptiveColor) lipgloss.Style {
		s := lipgloss.NewStyle().Border(b)
		if color {
			s = s.BorderForeground(c)
		}
		return s
	}
	s := styles{
		color:    color,
		title:    lipgloss.NewStyle().Bold(true),
		dim:      fg(grey),
		ok:       fg(green),
		bad:      fg(red).Bold(true),
		warn:     fg(amber),
		run:      fg(blue),
		sel:      lipgloss.NewStyle().Reverse(true),
		box:      border(lipgloss.RoundedBorder(), grey),
		boxFocus: border(lipgloss.ThickBorder(), blue),
		modal:    border(lipgloss.DoubleBorder(), amber).Padding(0, 1),
		key:      lipgloss.NewStyle().Bold(true),
		header:   lipgloss.NewStyle().Bold(true).Padding(0, 1),
		lost:     fg(red).Bold(true),
		plain:    lipgloss.NewStyle(),
		match:    lipgloss.NewStyle().Reverse(true).Bold(true),
		barOn:    fg(green),
		barOff:   fg(grey),
	}
	if !color {
		s.sel = lipgloss.NewStyle().Bold(true).Underline(true)
		s.match = lipgloss.NewStyle().Bold(true).Underline(true)
	}
	return s
}
