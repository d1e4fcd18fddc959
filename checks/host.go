package checks

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"

	"github.com/cutover/cutover/checks/remote"
)

// maxOutput bounds the lines a host check keeps for parsing; past it the check is inconclusive
// rather than judged on part of the output.
const maxOutput = 50_000

// output is one command's result as the parsers see it.
type output struct {
	cmd      remote.Command
	stdout   []string
	stderr   []string
	exit     int
	signal   string
	err      error // could not run, timed out, connection lost
	overflow bool
}

// c builds a command run with LC_ALL=C, so that parsers read the same words on every host.
func c(argv ...string) remote.Command {
	return remote.Command{Argv: argv, Env: []string{"LC_ALL=C"}}
}

// sh builds a script run with LC_ALL=C.
func sh(script string) remote.Command {
	return remote.Command{Script: script, Env: []string{"LC_ALL=C"}}
}

// run runs cmd on host through runner, announcing it and streaming its lines.
func run(ctx context.Context, env Env, host string, runner remote.Runner, cmd remote.Command) output {
	o := output{cmd: cmd}
	if env.OnCommand != nil {
		env.OnCommand(host, cmd)
	}
	res, err := runner.Run(ctx, cmd, func(l remote.Line) {
		if env.OnLine != nil {
			env.OnLine(host, l)
		}
		if len(o.stdout)+len(o.stderr) >= maxOutput {
			o.overflow = true
			return
		}
		if l.Stream == remote.Stderr {
			o.stderr = append(o.stderr, l.Text)
		} else {
			o.stdout = append(o.stdout, l.Text)
		}
	})
	o.exit, o.signal, o.err = res.ExitCode, res.Signal, err
	return o
}

// runHere runs cmd on the check's own host (through sudo when the check says so; the journal
// shows the command as it ran).
func runHere(ctx context.Context, env Env, cmd remote.Command) output {
	if env.AsRoot {
		cmd = cmd.AsRoot()
	}
	return run(ctx, env, env.Host, env.Runner, cmd)
}

// unusable says why an output cannot be judged at all: the command did not run, is missing, was
// denied, or systemd is not running. Such a check is inconclusive, never a silent pass.
func (o output) unusable() (string, bool) {
	name, sudo := programOf(o.cmd)
	// Only stderr speaks for the tool: stdout is what the host holds (log lines, unit
	// descriptions), and a log line saying "Permission denied" must not turn a verdict into
	// "could not tell".
	all := strings.Join(o.stderr, "\n")
	if sudo && o.exit == 127 && (strings.Contains(all, "sudo: not found") || strings.Contains(all, "sudo: command not found")) {
		return "sudo is not installed on this host (the check says sudo: true)", true
	}
	if sudo && o.exit == 1 {
		switch {
		case strings.Contains(all, "a password is required"):
			return "sudo asks for a password on this host: sudo: true needs a NOPASSWD sudoers rule for the check's commands (" + firstLine(all, "sudo:") + ")", true
		case strings.Contains(all, "not in the sudoers file"), strings.Contains(all, "is not allowed to"), strings.Contains(all, "may not run sudo"):
			return "sudo refuses: " + firstLine(all, "sudo"), true
		}
	}
	switch {
	case o.err != nil && errors.Is(o.err, exec.ErrNotFound):
		return name + " is not installed on this host", true
	case o.err != nil && errors.Is(o.err, remote.ErrTimeout):
		return "timed out: " + o.err.Error(), true
	case o.err != nil:
		return "could not run: " + o.err.Error(), true
	case o.overflow:
		return fmt.Sprintf("output over %d lines: not judged on a part of it", maxOutput), true
	case o.signal != "":
		return fmt.Sprintf("%s killed by %s", name, o.signal), true
	case strings.Contains(all, "System has not been booted with systemd"),
		strings.Contains(all, "Failed to connect to bus"),
		strings.Contains(all, "Failed to connect to system scope bus"):
		return "systemd is not running on this host: " + firstLine(all, "booted with systemd", "Failed to connect"), true
	case o.exit == 127 || strings.Contains(all, ": command not found") || strings.Contains(all, "executable file not found"):
		return name + " is not installed on this host", true
	case o.exit == 126 || strings.Contains(all, "Permission denied") || strings.Contains(all, "Access denied") ||
		strings.Contains(all, "Interactive authentication required") || strings.Contains(all, "Operation not permitted"):
		return "permission denied: " + firstLine(all, "denied", "not permitted", "authentication required"), true
	}
	return "", false
}

// programOf names the program a command runs (inside sudo's env, for a command run as root), or
// "command" for a script.
func programOf(cmd remote.Command) (string, bool) {
	argv := cmd.Argv
	sudo := len(argv) > 4 && argv[0] == "sudo" && argv[3] == "env"
	if sudo {
		argv = argv[4:]
		for len(argv) > 0 && strings.Contains(argv[0], "=") {
			argv = argv[1:]
		}
		if len(argv) > 0 && argv[0] == "sh" {
			argv = nil
		}
	}
	if len(argv) == 0 {
		return "command", sudo
	}
	return argv[0], sudo
}

// firstLine returns the first line of text holding one of the needles, or the first line.
func firstLine(text string, needles ...string) string {
	lines := strings.Split(text, "\n")
	for _, l := range lines {
		for _, n := range needles {
			if strings.Contains(l, n) {
				return strings.TrimSpace(l)
			}
		}
	}
	return strings.TrimSpace(lines[0])
}

func inconclusive(summary string, evidence ...string) Result {
	return Result{Outcome: Inconclusive, Summary: summary, Evidence: evidence}
}

func fail(summary string, evidence ...string) Result {
	return Result{Outcome: Fail, Summary: summary, Evidence: evidence}
}

func pass(summary string, evidence ...string) Result {
	return Result{Outcome: Pass, Summary: summary, Evidence: evidence}
}

// tail returns the last n lines.
func tail(lines []string, n int) []string {
	if len(lines) > n {
		return lines[len(lines)-n:]
	}
	return lines
}
