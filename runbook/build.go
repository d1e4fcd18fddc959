package runbook

import (
	"errors"
	"fmt"
	"regexp"

	"github.com/cutover/cutover/checks"
	"github.com/cutover/cutover/checks/remote"
)

// compile renders a command spec with the run's values: script references become expansions of
// variables a prologue assigns (see renderScript), argv words are taken as they are, and pattern references match their value literally.
func (c *CommandSpec) compile(vals Values, timeout Duration) (checks.Command, error) {
	cmd := checks.Command{Cmd: remote.Command{Timeout: timeout.Std()}, Exit: c.Exit}
	if c.Run.Script != nil {
		script, err := renderScript(*c.Run.Script, vals)
		if err != nil {
			return cmd, fmt.Errorf("run: %w", err)
		}
		cmd.Cmd.Script = script
	}
	if p := argvProblems(c.Run.Argv); len(p) > 0 {
		return cmd, errors.New(p[0])
	}
	for _, w := range c.Run.Argv {
		cmd.Cmd.Argv = append(cmd.Cmd.Argv, w.Render(vals, nil))
	}
	var err error
	if cmd.Match, err = compilePattern(c.Match, vals); err != nil {
		return cmd, fmt.Errorf("match: %w", err)
	}
	if cmd.NotMatch, err = compilePattern(c.NotMatch, vals); err != nil {
		return cmd, fmt.Errorf("not_match: %w", err)
	}
	return cmd, nil
}

// compilePattern renders a pattern's references as literal text. A secret is matched in its
// redacted form: checks see output only after redaction (see redactingRunner).
func compilePattern(t Tmpl, vals Values) (*regexp.Regexp, error) {
	if t.Text == "" {
		return nil, nil
	}
	seen := Values{}
	for name, v := range vals {
		if v.Secret && v.Text != "" {
			v.Text = Redacted
		}
		seen[name] = v
	}
	return regexp.Compile(t.Render(seen, regexp.QuoteMeta))
}

func (k *commandKind) build(c *CheckSpec, vals Values) (checks.Check, error) {
	cmd, err := k.compile(vals, c.Timeout)
	if err != nil {
		return nil, err
	}
	cmd.Baseline, cmd.Record = c.Baseline, c.ID != ""
	return cmd, nil
}

// labeler is a kind whose checks are best named by their subject (a unit, a port, a URL).
type labeler interface {
	subject(vals Values) string
}

// label is how a check is named in events: its name, or its kind and command.
func (c *CheckSpec) label(vals Values) string {
	if c.Name != "" {
		return c.Name
	}
	switch k := c.Spec.(type) {
	case *commandKind:
		return k.Run.display(vals)
	case labeler:
		return c.Kind + " " + k.subject(vals)
	}
	return c.Kind
}

func (c Cmdline) display(vals Values) string {
	if c.Script != nil {
		return c.Script.Render(vals, remote.Quote)
	}
	words := make([]string, len(c.Argv))
	for i, w := range c.Argv {
		words[i] = w.Render(vals, nil)
	}
	return remote.Join(words)
}
