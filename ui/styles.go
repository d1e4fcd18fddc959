// Package ui is cutover's console: a bubbletea program that renders the engine's event stream and
// sends the operator's decisions back. It holds view state only; every rule lives in runbook.
package ui

import (
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

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
		return lipgloss.NewStyle().Foreground(resolve(c))
	}
	border := func(b lipgloss.Border, c lipgloss.AdaptiveColor) lipgloss.Style {
		s := lipgloss.NewStyle().Border(b)
		if color {
			s = s.BorderForeground(resolve(c))
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

// resolve picks an adaptive colour for the terminal's background and profile once. Left to
// lipgloss, a 256-colour terminal (tmux) converts the hex colour to its palette, by distance in
// HSLuv, in every Render: a fifth of the console's CPU in a wave's busy run.
func resolve(c lipgloss.AdaptiveColor) lipgloss.TerminalColor {
	hex := c.Light
	if lipgloss.HasDarkBackground() {
		hex = c.Dark
	}
	switch p := lipgloss.ColorProfile(); p {
	case termenv.TrueColor:
		return lipgloss.Color(hex)
	case termenv.Ascii:
		return lipgloss.NoColor{}
	default:
		switch v := p.Color(hex).(type) {
		case termenv.ANSI256Color:
			return lipgloss.ANSIColor(v)
		case termenv.ANSIColor:
			return lipgloss.ANSIColor(v)
		}
		return lipgloss.Color(hex)
	}
}
