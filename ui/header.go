package ui

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
)

// The lines around the panes: the header (who, what, the window, the state and why), the status
// bar, the help line and the key list.

func (m App) header() string {
	r := m.run
	vm := r.Vars["vm"]
	if g := r.Migration(); g != nil {
		vm = g.VM
	}
	left := fmt.Sprintf("cutover · %s · %s", orDash(r.Runbook), orDash(r.operator()))
	var marks []string
	if m.opts.Lab {
		marks = append(marks, m.s.warn.Render("LAB"))
	}
	if m.opts.Unsigned {
		marks = append(marks, m.s.bad.Render("UNSIGNED"))
	}
	if n := len(m.watchers); n > 0 {
		marks = append(marks, m.s.dim.Render(fmt.Sprintf("%d watching", n)))
	}
	if vm != "" {
		left += " · VM " + vm
	}
	state := m.statusText(m.state())
	if m.opts.Mode != "" {
		state = m.s.warn.Render(m.opts.Mode+" · read-only") + "  " + state
		if rp := m.replay; rp != nil {
			play := fmt.Sprintf("▶ %gx", rp.Speed)
			if rp.paused {
				play = "⏸"
			}
			state = fmt.Sprintf("%s event %d/%d ", play, rp.pos, len(rp.Events)) + state
		}
	}
	right := m.windowText() + "  " + state
	if len(marks) > 0 {
		right = strings.Join(marks, " ") + "  " + right
	}
	room := m.width - 2 - lipgloss.Width(right) - 1
	left = truncate(left, room)
	gap := max(1, m.width-lipgloss.Width(left)-lipgloss.Width(right)-2)
	line := m.s.header.Render(left + strings.Repeat(" ", gap) + right)
	return line + "\n" + m.subline()
}

// state is the run's state in the header: the journal's, or that it waits for someone.
func (m App) state() string {
	r := m.run
	switch {
	case r.HasEnded():
		return r.Headline()
	case m.asking():
		return "WAITING FOR YOU"
	case r.Pending != nil && m.opts.Decider == nil:
		return "WAITING FOR THE OPERATOR"
	}
	state := strings.ToUpper(r.Status)
	switch {
	case r.Paused:
		state += " (PAUSED)"
	case m.pauseWant:
		state += " (PAUSING AFTER THIS STEP)"
	}
	return state
}

// subline says what the run waits for, or why it ended (in full in the detail pane).
func (m App) subline() string {
	r := m.run
	sub := m.s.dim.Render(" run " + orDash(r.ID))
	room := m.width - lipgloss.Width(sub) - 3
	var text string
	var style lipgloss.Style
	switch q := r.Pending; {
	case m.asking() && !m.askOpen:
		text, style = "d answers: "+m.prompt.title()+" · "+fmtWait(m.now.Sub(m.prompt.at)), m.s.bad
	case q != nil && m.opts.Decider == nil:
		text, style = "operator asked "+fmtWait(m.now.Sub(q.At))+" ago: "+q.Prompt, m.s.warn
	case r.Reason != "" && (r.Rollback != nil || r.Status != "running"):
		text, style = r.Reason, m.s.warn
	case r.Rollback != nil:
		text, style = "rolling back: "+r.Rollback.Reason, m.s.bad
	default:
		return sub
	}
	if ansi.StringWidth(text) > room {
		// What waits or failed matters more than the run's name: it takes the whole line.
		sub, room = "", m.width-2
	}
	if ansi.StringWidth(text) > room {
		text = truncate(text, room-len(" (in full: detail)")) + " (in full: detail)"
	}
	if sub != "" {
		sub += " "
	}
	return sub + " " + style.Render(text)
}

// fmtWait is a wait as m:ss.
func fmtWait(d time.Duration) string {
	d = max(0, d).Round(time.Second)
	return fmt.Sprintf("%d:%02d", int(d.Minutes()), int(d.Seconds())%60)
}

// windowText counts down to the end of the change window: amber under 30 minutes.
func (m App) windowText() string {
	w := m.run.Window
	if w == nil {
		return ""
	}
	if m.run.HasEnded() { // the run is over: no countdown, only when the window ends
		return m.s.dim.Render("window ends " + w.End.UTC().Format("15:04 MST"))
	}
	left := w.End.Sub(m.now)
	estimate := w.RollbackEstimate.Std()
	switch {
	case left > 0 && estimate > 0 && left < estimate:
		return m.s.bad.Render(fmt.Sprintf("POINT OF NO RETURN: window ends in %s, a rollback takes ~%s", left.Round(time.Second), estimate))
	case left <= 0:
		return m.s.bad.Render("window CLOSED " + (-left).Round(time.Minute).String() + " ago")
	case left < 30*time.Minute:
		return m.s.warn.Render("window ends in " + left.Round(time.Second).String())
	}
	return m.s.dim.Render("window ends in " + left.Round(time.Minute).String())
}

func (m App) statusBar() string {
	r := m.run
	parts := []string{plural(r.Signed, "signed checkpoint")}
	if m.opts.Unsigned {
		parts[0] = m.s.bad.Render("journal NOT signed (no key): hash-chained only")
	}
	switch {
	case r.Paused:
		parts = append(parts, m.s.warn.Render("paused before the next step"+m.resumeHint()))
	case m.pauseWant:
		parts = append(parts, m.s.warn.Render("pausing after this step (space: don't)"))
	}
	if m.done {
		parts = append(parts, m.s.title.Render("run ended: "+r.Outcome()+" · q quits"))
	}
	if !m.follow {
		parts = append(parts, "f: follow the run")
	}
	return m.s.dim.Render(truncate(" "+strings.Join(parts, " · "), m.width))
}

func (m App) resumeHint() string {
	if m.opts.Pause != nil {
		return " (space resumes)"
	}
	return ""
}

// plural is "1 thing" or "n things".
func plural(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}

// helpLine is the bottom line: this mode's main keys, or what the last key did not do.
func (m App) helpLine() string {
	if m.flash != "" {
		return m.s.warn.Render(" " + truncate(m.flash, m.width-1))
	}
	if m.fullOpen {
		return m.s.dim.Render(truncate(" j/k scroll · pgup/pgdn half page · g/G top/bottom · esc back · ? keys", m.width))
	}
	return m.help.ShortHelpView(m.keys.ShortHelp())
}

// keysView is `?`: every key of this mode with what it does, and who watches.
func (m App) keysView() string {
	all := m.keys.All()
	kw := 0
	for _, b := range all {
		kw = max(kw, ansi.StringWidth(b.Help().Key))
	}
	w := min(m.width-8, 96)
	var lines []string
	title := "KEYS"
	if m.opts.Mode != "" {
		title += " · " + m.opts.Mode
	}
	lines = append(lines, m.s.title.Render(title), "")
	for _, b := range all {
		lines = append(lines, para(m.s.key.Render(pad(b.Help().Key, kw))+"  ", strings.Repeat(" ", kw+2), b.Help().Desc, w, m.s.plain)...)
	}
	if len(m.watchers) > 0 {
		lines = append(lines, "", m.s.title.Render(plural(len(m.watchers), "shadow")+" watching:"))
		for _, who := range m.watchers {
			lines = append(lines, "  "+truncate(who, w-2))
		}
	}
	lines = append(lines, "", m.s.dim.Render("? or esc closes"))
	if max := m.height - 4; len(lines) > max {
		lines = append(lines[:max-1], m.s.dim.Render("… (a taller terminal shows the rest)"))
	}
	return m.s.modal.Render(strings.Join(lines, "\n"))
}
