package ui

import (
	"fmt"
	"slices"
	"strings"

	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/cutover/cutover/runbook"
)

// prompt is the modal for one engine question: the evidence, the choices, and a reason when the
// choice needs one (it goes into the signed journal).
type prompt struct {
	a      *ask
	choice runbook.Choice
	reason textinput.Model
	typing bool
}

func newPrompt(a *ask) *prompt {
	ti := textinput.New()
	ti.Placeholder = "why (goes into the signed journal)"
	ti.CharLimit = 300
	return &prompt{a: a, reason: ti}
}

var choiceKeys = map[string]runbook.Choice{"p": runbook.Proceed, "r": runbook.Retry, "b": runbook.Rollback, "a": runbook.Abort}

// update handles a key; done is true when the answer was sent.
func (p *prompt) update(msg tea.KeyMsg) (tea.Cmd, bool) {
	if p.typing {
		switch msg.Type {
		case tea.KeyEsc:
			p.typing, p.choice = false, ""
			p.reason.Blur()
			return nil, false
		case tea.KeyEnter:
			if strings.TrimSpace(p.reason.Value()) == "" {
				return nil, false
			}
			return p.answer(), true
		}
		var cmd tea.Cmd
		p.reason, cmd = p.reason.Update(msg)
		return cmd, false
	}
	c, ok := choiceKeys[msg.String()]
	if !ok || !slices.Contains(p.a.q.Options, c) {
		return nil, false
	}
	p.choice = c
	if slices.Contains(p.a.q.NeedReason, c) {
		p.typing = true
		return p.reason.Focus(), false
	}
	return p.answer(), true
}

// answer sends the decision to the engine from a command, so Update never blocks.
func (p *prompt) answer() tea.Cmd {
	a := runbook.Answer{Choice: p.choice, Reason: strings.TrimSpace(p.reason.Value())}
	reply := p.a.reply
	return func() tea.Msg {
		reply <- a
		return nil
	}
}

func (p *prompt) title() string {
	q := p.a.q
	switch q.Kind {
	case runbook.AskConfirm:
		return "CONFIRM · " + q.Step
	case runbook.AskRollback:
		return "ROLLBACK STEP DID NOT HOLD · " + q.Step
	case runbook.AskWarning:
		return "vCENTER WARNS · " + q.Step
	case runbook.AskWindow:
		return "POINT OF NO RETURN · " + q.Step
	}
	if q.Verdict == runbook.Inconclusive {
		return "GATE INCONCLUSIVE · " + q.Step
	}
	return "GATE FAILED · " + q.Step
}

func (p *prompt) view(width int, s styles) string {
	q := p.a.q
	w := max(40, min(width-4, 100))
	var b strings.Builder
	b.WriteString(s.bad.Render(p.title()) + "\n\n")
	b.WriteString(wrap(q.Prompt, w-4) + "\n")
	for _, c := range q.Checks {
		if c.Outcome == runbook.Pass {
			continue
		}
		b.WriteString("\n" + glyph(c.Outcome, s) + " " + truncate(fmt.Sprintf("%s [%s]: %s", c.Check, c.Host, c.Summary), w-6))
		for _, e := range c.Evidence[:min(len(c.Evidence), 4)] {
			b.WriteString("\n    " + s.dim.Render(truncate(e, w-8)))
		}
	}
	b.WriteString("\n\n")
	var opts []string
	for _, o := range q.Options {
		k := string(o[0])
		if o == runbook.Rollback {
			k = "b"
		}
		label := string(o)
		if slices.Contains(q.NeedReason, o) {
			label += "*"
		}
		opt := s.key.Render("["+k+"]") + " " + label
		if o == p.choice {
			opt = s.sel.Render(opt)
		}
		opts = append(opts, opt)
	}
	b.WriteString(strings.Join(opts, "   "))
	if len(q.NeedReason) > 0 {
		b.WriteString(s.dim.Render("   (* needs a reason)"))
	}
	if p.typing {
		b.WriteString("\n\n" + string(p.choice) + " because: " + p.reason.View() + "\n" + s.dim.Render("enter: send · esc: back"))
	}
	content := b.String()
	return s.modal.Width(min(w, max(44, lipgloss.Width(content)+2))).Render(content)
}

func wrap(s string, n int) string {
	var lines []string
	for _, para := range strings.Split(s, "\n") {
		line := ""
		for _, word := range strings.Fields(para) {
			if line != "" && len([]rune(line))+1+len([]rune(word)) > n {
				lines = append(lines, line)
				line = ""
			}
			if line != "" {
				line += " "
			}
			line += word
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}
