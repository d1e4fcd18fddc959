// Package remote runs commands for checks: on this machine now, over SSH later, behind one Runner
// interface so that check logic never knows where its command ran.
package remote

import (
	"context"
	"strings"
	"time"
)

// Stream names which output stream a line came from.
type Stream string

// The two output streams of a command.
const (
	Stdout Stream = "stdout"
	Stderr Stream = "stderr"
)

// Line is one line of a command's output, without its newline.
type Line struct {
	Stream Stream `json:"stream"`
	Text   string `json:"text"`
	// Cut marks a piece of a line too long to read whole: the line goes on in the next piece.
	Cut bool `json:"cut,omitempty"`
}

// Command is what a Runner runs: either an argv (run directly, or quoted word by word for a remote
// shell) or a shell script (run by /bin/sh -c). Exactly one of Argv and Script is set.
type Command struct {
	Argv    []string
	Script  string
	Env     []string      // NAME=value pairs set for the command, e.g. LC_ALL=C
	Timeout time.Duration // 0: only the caller's context bounds it
	// Gather lets the command share one session with others starting on the same host at the
	// same time (a gate's checks): its output then arrives when it ends, not line by line.
	Gather bool

	shell string // a program of cutover's own for the login shell (a batch), instead of Argv or Script
}

// String is the command as an operator would type it: argv words quoted for a POSIX shell.
func (c Command) String() string {
	var env string
	for _, e := range c.Env {
		k, v, _ := strings.Cut(e, "=")
		env += k + "=" + Quote(v) + " "
	}
	if c.Argv != nil {
		return env + Join(c.Argv)
	}
	return env + c.Script
}

// AsRoot is the command run through sudo, non-interactively: where sudo would ask for a password
// it fails at once ("sudo: a password is required"). The environment is set inside sudo, which
// resets its own.
func (c Command) AsRoot() Command {
	argv := append([]string{"sudo", "-n", "--", "env"}, c.Env...)
	if c.Argv != nil {
		argv = append(argv, c.Argv...)
	} else {
		argv = append(argv, "sh", "-c", c.Script)
	}
	return Command{Argv: argv, Timeout: c.Timeout}
}

// Result is how a command ended. A command that could not be started or was cut short by its timeout
// is reported through the error of Run, not here.
type Result struct {
	ExitCode int           // -1 when killed by a signal
	Signal   string        // the signal's name when killed by one
	Duration time.Duration // wall time from start to exit
}

// Runner runs a command and streams its output line by line. onLine may be nil; a Runner calls it
// from one goroutine at a time, in the order the lines were read from each stream.
type Runner interface {
	Run(ctx context.Context, cmd Command, onLine func(Line)) (Result, error)
}

// Quote makes s one word for a POSIX shell, whatever bytes it holds. Words made only of characters
// no shell treats specially are left bare so that commands stay readable in transcripts.
func Quote(s string) string {
	if s == "" {
		return "''"
	}
	if strings.IndexFunc(s, needsQuote) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func needsQuote(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return false
	}
	return !strings.ContainsRune("-_./:=,+@%", r)
}

// Join quotes each word of argv and joins them with spaces into one shell command line.
func Join(argv []string) string {
	words := make([]string, len(argv))
	for i, a := range argv {
		words[i] = Quote(a)
	}
	return strings.Join(words, " ")
}

// after says how long a command was allowed, when its own timeout (not its caller's) cut it off.
func after(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	return " after " + d.String()
}
