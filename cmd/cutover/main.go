// Command cutover is a terminal runbook console for change windows: it runs YAML runbooks through
// health gates and rollback triggers and keeps a signed, hash-chained journal of everything.
package main

import (
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/spf13/cobra"

	"github.com/cutover/cutover/internal/termsafe"
	"github.com/cutover/cutover/lab"
)

// Exit codes, as documented in the README.
const (
	exitOK          = 0
	exitFailed      = 1 // a gate failed and the run rolled back or aborted; verify failed
	exitBadInput    = 2
	exitUnproven    = 3 // verify: the journal is intact but not proven (no trust named, unsigned, unfinished)
	exitInterrupted = 130
)

// exitError carries an exit code up to main, the only place that exits.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func withCode(code int, err error) error { return &exitError{code: code, err: err} }

// streams are the command's standard streams, passed down instead of using os.Std* directly.
type streams struct {
	in       io.Reader
	out, err io.Writer
	// console, when set, runs the full-screen console in place of a terminal (tests drive it
	// with teatest).
	console func(tea.Model) error
}

func main() {
	if lab.IsTool() { // started by a lab host as systemctl, ss, journalctl...
		os.Exit(lab.RunTool())
	}
	// A reader that went away (a pager quit, a lost ssh session) must not kill a run mid-change:
	// writes then fail, and the run goes on journaling.
	signal.Ignore(syscall.SIGPIPE)
	// Only the embedded vCenter simulator writes to the standard logger (its own request errors,
	// such as a collector of an ended session): not the run's, and they would tear the console.
	// Set once, here, for the process; cutover itself never logs through it.
	log.SetOutput(io.Discard)
	stop := profile(os.Getenv("CUTOVER_CPUPROFILE"))
	code := run(os.Args[1:], streams{in: os.Stdin, out: os.Stdout, err: os.Stderr})
	stop()
	os.Exit(code)
}

// profile writes a CPU profile of the whole command to file (CUTOVER_CPUPROFILE; for the bench
// scripts and a bug report: go tool pprof cutover FILE); "" profiles nothing.
func profile(file string) func() {
	if file == "" {
		return func() {}
	}
	f, err := os.Create(file)
	if err != nil {
		fmt.Fprintf(os.Stderr, "cutover: CUTOVER_CPUPROFILE: %v\n", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintf(os.Stderr, "cutover: CUTOVER_CPUPROFILE: %v\n", err)
		f.Close()
		return func() {}
	}
	return func() { pprof.StopCPUProfile(); f.Close() }
}

// rootCommand is every command and flag cutover has.
func rootCommand(s streams) *cobra.Command {
	root := &cobra.Command{
		Use:           "cutover",
		Short:         "Runbook console for change windows: gates, rollback, signed journal",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(s.in)
	root.SetOut(s.out)
	root.SetErr(s.err)
	root.AddCommand(runCommand(s), labCommand(s), validateCommand(s), verifyCommand(s), reportCommand(s), replayCommand(s), shadowCommand(s), resumeCommand(s), approveCommand(s),
		noteCommand(s), netboxCommand(s), schemaCommand(s), versionCommand(s))
	root.Version = version()
	root.SetVersionTemplate("{{.Version}}\n")
	return root
}

func run(args []string, s streams) int {
	root := rootCommand(s)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil && ee.err.Error() != "" {
			fmt.Fprintln(s.err, "cutover:", safeLines(redactEnv(os.Getenv, ee.err.Error())))
		}
		return ee.code
	}
	// Anything cobra itself rejects (unknown flag, wrong argument count) is bad input.
	fmt.Fprintln(s.err, "cutover:", safeLines(redactEnv(os.Getenv, err.Error())))
	return exitBadInput
}

// safeLines makes each line of a message terminal-safe: errors carry text from hosts, vCenter,
// NetBox, lock files and runbooks (YAML's "\e" is an escape character).
func safeLines(msg string) string {
	lines := strings.Split(msg, "\n")
	for i, l := range lines {
		lines[i] = termsafe.Text(l)
	}
	return strings.Join(lines, "\n")
}
