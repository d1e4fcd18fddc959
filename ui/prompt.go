package ui

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/cutover/cutover/runbook"
)

// prompt is the modal for one engine question: the evidence, the choices, and a reason when the
// choice needs one (it goes into the signed journal).
type prompt struct {
	a      *ask
	at     time.Time // when it was asked: the wait shows apart from the step's running time
	choice runbook.Choice
	reason textinput.Model
	typing bool
}

func newPrompt(a *ask, now time.Time, s styles) *prompt {
	ti := textinput.New()
	ti.PlaceholderStyle = s.dim
	ti.Placeholder = "why (goes into the signed journal)"
	ti.CharLimit = 300
	return &prompt{a: a, reason: ti, at: now}
}

// answers reports whether a key would answer this question if it were open.
func (p *prompt) answers(msg tea.KeyMsg) bool {
	c, ok := choiceKeys[msg.String()]
	return ok && slices.Contains(p.a.q.Options, c)
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

// view is the question at most height rows tall: the prompt and every line of evidence wrapped,
// nothing cut at the edge; what does not fit is counted, and esc leaves the question to read it.
func (p *prompt) view(width, height int, s styles) string {
	q := p.a.q
	w := max(40, min(width-8, 100)) - 4 // inside the border and padding
	head := []string{s.bad.Render(p.title()), ""}
	head = append(head, para("", "", q.Prompt, w, s.plain)...)
	var evidence []string
	for _, c := range q.Checks {
		if c.Outcome == runbook.Pass {
			continue
		}
		evidence = append(evidence, "")
		evidence = append(evidence, para(glyph(c.Outcome, s)+" ", "  ", fmt.Sprintf("%s [%s]: %s", c.Check, c.Host, c.Summary), w, s.plain)...)
		for _, e := range c.Evidence {
			evidence = append(evidence, para("    ", "    ", e, w, s.dim)...)
		}
	}
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
			opt = s.sel.Render("[" + k + "] " + label)
		}
		opts = append(opts, opt)
	}
	tail := []string{""}
	tail = append(tail, para("", "", strings.Join(opts, "   "), w, s.plain)...)
	var foot []string
	if len(q.NeedReason) > 0 {
		foot = append(foot, "(* needs a reason)")
	}
	foot = append(foot, "esc: look around first (d comes back)")
	tail = append(tail, s.dim.Render(strings.Join(foot, " · ")))
	if p.typing {
		tail = append(tail, "", string(p.choice)+" because: "+p.reason.View(), s.dim.Render("enter: send · esc: back"))
	}
	room := height - 6 - len(head) - len(tail) // border, padding, the overlay's margin
	if len(evidence) > room {
		cut := len(evidence) - max(0, room-1)
		evidence = append(evidence[:max(0, room-1)], s.dim.Render(fmt.Sprintf("… %d more lines of evidence: esc, then z on the step", cut)))
	}
	lines := append(append(head, evidence...), tail...)
	return s.modal.Width(w + 4).Render(strings.Join(lines, "\n"))
}
