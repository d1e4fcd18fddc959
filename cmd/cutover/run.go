package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/cutover/cutover/checks/netbox"
	"github.com/cutover/cutover/checks/remote"
	"github.com/cutover/cutover/checks/vsphere"
	"github.com/cutover/cutover/runbook"
	"github.com/cutover/cutover/runbook/transcript"
)

// runOptions are the flags of cutover run.
type runOptions struct {
	plain          bool
	yes            bool
	transcript     string
	signKey        string
	operator       string
	vars           []string
	forks          int
	sshConfig      string
	knownHosts     []string
	overrideWindow bool
	reason         string
	resume         *resumePlan // continue this journal instead of starting one
	serve          string      // lab --serve: keep the lab up, its variables in this file; no run
	shadowListen   string
	shadowKeys     string
	shadowHostKey  string
	sshTimings     bool
	trust          trustOptions // who may sign: approvers during the run, the journal on resume
	lab            bool         // the embedded lab: marked in the console
	unsigned       bool         // no signing key: marked in the console for the whole run
	shadows        func() []string
	siteLatency    time.Duration // the lab's inter-site delay
}

// shadowFlags adds the flags of the SSH shadow server.
func shadowFlags(f *pflag.FlagSet, o *runOptions) {
	f.StringVar(&o.shadowListen, "shadow-listen", "", "serve the read-only console of this run over SSH on this address (e.g. 127.0.0.1:2222)")
	f.StringVar(&o.shadowKeys, "shadow-authorized-keys", "", "authorized_keys of who may shadow")
	f.StringVar(&o.shadowHostKey, "shadow-host-key", "", "the shadow server's host key, created if missing (default in the user config dir)")
}

// resumePlan is a journal to continue and the state rebuilt from it.
type resumePlan struct {
	journal string
	start   runbook.RunStartData // the run's start: its runbook, file and file hash
	state   *runbook.Resume
	lock    *transcript.Lock // taken before the journal was read; the writer holds it on
}

func runCommand(s streams) *cobra.Command {
	var o runOptions
	cmd := &cobra.Command{
		Use:   "run [FILE] [RUNBOOK]",
		Short: "Run a runbook: checks, gates, actions, rollback; journal and sign everything",
		Long: `Run a runbook of FILE (default ./runbooks.yaml); RUNBOOK may be left out when the file
holds only one. Exit codes: 0 done, 1 a gate failed and the run rolled back or aborted,
2 bad input, 130 interrupted.`,
		Args: cobra.MaximumNArgs(2),
		RunE: func(_ *cobra.Command, args []string) error {
			file, name := splitRunArgs(args)
			return runRunbook(s, file, name, o)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.plain, "plain", false, "headless: one line per event, decisions on stdin")
	f.BoolVarP(&o.yes, "yes", "y", false, "answer proceed to every question; a failed gate still rolls back")
	f.StringVar(&o.transcript, "transcript", "transcripts", "directory for the journal")
	f.StringVar(&o.signKey, "sign-key", "", "private key (or .pub of an ssh-agent key) that signs the journal; default: the first ssh-agent key")
	f.StringVar(&o.operator, "operator", "", "who runs this, for the journal (default user@host)")
	f.StringArrayVar(&o.vars, "var", nil, "set a var: name=value, or secret:name=value to keep it out of the journal (repeatable)")
	f.IntVar(&o.forks, "forks", 50, "checks of one gate (and hosts dialled at start) at once")
	f.BoolVar(&o.overrideWindow, "override-window", false, "start outside the runbook's change window (needs --reason; journaled)")
	f.StringVar(&o.reason, "reason", "", "why, for --override-window")
	f.StringVar(&o.sshConfig, "ssh-config", "", "the one ssh_config file to read, as ssh -F (default ~/.ssh/config, then /etc/ssh/ssh_config)")
	f.StringArrayVar(&o.knownHosts, "known-hosts", nil, "known_hosts file for every host (default: the files ssh_config names, as ssh; repeatable); unknown or changed host keys are refused")
	f.BoolVar(&o.sshTimings, "ssh-timings", false, "at the end, print where SSH time went: connect, key exchange, auth, sessions, commands")
	shadowFlags(f, &o)
	o.trust.flags(f)
	return cmd
}

// splitRunArgs reads [FILE] [RUNBOOK]: a lone argument is the file if it exists, else a runbook of
// ./runbooks.yaml.
func splitRunArgs(args []string) (file, name string) {
	switch len(args) {
	case 0:
		return defaultFile, ""
	case 1:
		a := args[0]
		if _, err := os.Stat(a); err == nil || strings.ContainsRune(a, '/') || strings.HasSuffix(a, ".yaml") || strings.HasSuffix(a, ".yml") {
			return a, "" // a path, even a missing one: its error names it
		}
		return defaultFile, a
	}
	return args[0], args[1]
}

// target is where a run's hosts and vCenter are: the real ones, or the lab's.
type target struct {
	sshConfig      string
	knownHosts     []string
	agentSock      string
	vcenter        *vsphere.Config // nil: from GOVC_* when the runbook needs vCenter
	netbox         *netbox.Config  // nil: from NETBOX_* when the runbook needs NetBox
	signKey        string          // overrides --sign-key (the lab's key)
	allowedSigners string          // copied beside the journal (the lab's)
	timings        *remote.Timings // --ssh-timings: where SSH time goes
}

func runRunbook(s streams, file, name string, o runOptions) error {
	ir := watchInterrupts()
	defer ir.stop()
	data, rb, err := loadRunbook(file, name)
	if err != nil {
		return err
	}
	return execute(ir, s, file, data, rb, o, target{sshConfig: o.sshConfig, knownHosts: o.knownHosts, agentSock: agentSock()})
}

// loadRunbook reads a runbook file and picks one runbook of it.
func loadRunbook(file, name string) ([]byte, *runbook.Runbook, error) {
	data, err := runbook.ReadFile(file)
	if err != nil {
		return nil, nil, withCode(exitBadInput, err)
	}
	doc, err := runbook.Parse(file, data)
	if err != nil {
		return nil, nil, withCode(exitBadInput, err)
	}
	rb, err := doc.Runbook(name)
	if err != nil {
		return nil, nil, withCode(exitBadInput, err)
	}
	return data, rb, nil
}

// execute runs one runbook against a target: vars, signing key, SSH, vCenter and NetBox (all
// checked before step one), the journal, the engine, and the exit code. ir, watching since before
// anything was set up, interrupts it.
func execute(ir *interrupts, s streams, file string, data []byte, rb *runbook.Runbook, o runOptions, tgt target) error {
	if o.operator == "" {
		o.operator = defaultOperator()
	}
	override, err := windowOverride(rb, o)
	if err != nil {
		return err
	}
	runID, vals, err := resolveRun(rb, o)
	if err != nil {
		return err
	}
	signer, err := runSigner(s, o, tgt)
	if err != nil {
		return err
	}
	o.unsigned = signer == nil
	if o.sshTimings {
		tgt.timings = &remote.Timings{}
		defer func() { fmt.Fprintf(s.err, "ssh timings:\n%s", tgt.timings) }()
	}
	c, err := connect(ir.ctx, s, rb, o, tgt, vals)
	if err != nil {
		return err
	}
	defer c.close()
	approvers, err := o.trust.load()
	if err != nil {
		return err
	}
	w, allowed, err := openJournal(o, tgt, runID, signer, c.secrets)
	if err != nil {
		return err
	}
	if o.shadowListen != "" {
		sh, err := startShadowServer(o.shadowListen, o.shadowKeys, o.shadowHostKey, w.Path())
		if err != nil {
			w.Close()
			return withCode(exitBadInput, err)
		}
		defer sh.close()
		o.shadows = sh.watching
		fmt.Fprintf(s.err, "cutover: shadow this run read-only: ssh -t -p %s %s (keys in %s)\n", portOf(sh.addr), hostOf(sh.addr), o.shadowKeys)
	}
	sum := sha256.Sum256(data)
	cfg := runbook.Config{
		Runbook: rb, File: file, FileSum: hex.EncodeToString(sum[:]), Values: vals, RunID: runID, Operator: o.operator,
		Runners: c.runners, Recorder: transcript.Recorder{W: w}, Forks: o.forks, VSphere: c.vcenter, IPAM: c.ipam, Secrets: c.secrets,
		WindowOverride: override, Resume: resumeState(o.resume), Notes: c.notes, Release: c.release,
	}
	operatorKey := ""
	if signer != nil {
		operatorKey = signer.PublicKey()
	}
	cfg.Approvals = transcript.Approvals{Journal: w.Path(), Operator: operatorKey, Trust: approvers}
	printer := newPrinter(s.out, w.Path(), signer, allowed, o.operator)
	// Handoff notes a second engineer signs (cutover note) go into the journal while the run runs.
	notesCtx, stopNotes := context.WithCancel(ir.ctx)
	go transcript.FollowNotes(notesCtx, w.Path(), runID, time.Second, c.notes)
	out, runErr := runEngine(ir.ctx, s, cfg, o, printer)
	stopNotes()
	closeErr := w.Close()
	printer.summary(out, closeErr)
	switch {
	case runErr != nil:
		return withCode(exitFailed, runErr)
	case closeErr != nil:
		return withCode(exitFailed, closeErr)
	}
	if code := out.ExitCode(); code != exitOK {
		if out.Status == runbook.RunInterrupted {
			code = ir.exitCode(code)
		}
		return withCode(code, nil)
	}
	return nil
}

// windowOverride checks the change window: outside it, a run starts only with the operator's
// reason (journaled); a resumed run goes on.
func windowOverride(rb *runbook.Runbook, o runOptions) (string, error) {
	err := rb.Window.Check(time.Now())
	if err == nil || o.resume != nil {
		return "", nil
	}
	if !o.overrideWindow || strings.TrimSpace(o.reason) == "" {
		return "", withCode(exitBadInput, fmt.Errorf("runbook %s: %w; to start anyway pass --override-window --reason \"why\" (journaled)", rb.Name, err))
	}
	return fmt.Sprintf("%v; started anyway: %s", err, o.reason), nil
}

// resolveRun names the run (a resumed run keeps its id) and resolves its vars.
func resolveRun(rb *runbook.Runbook, o runOptions) (string, runbook.Values, error) {
	var overrides []runbook.Override
	for _, v := range o.vars {
		ov, err := runbook.ParseOverride(v)
		if err != nil {
			return "", nil, withCode(exitBadInput, err)
		}
		overrides = append(overrides, ov)
	}
	runID, err := newRunID(rb.Name, time.Now())
	if err != nil {
		return "", nil, err
	}
	if o.resume != nil {
		runID = o.resume.state.RunID
	}
	vals, err := rb.ResolveVars(overrides, os.LookupEnv, map[string]string{"run_id": runID, "runbook": rb.Name, "operator": o.operator, "transcript_dir": o.transcript})
	if err != nil {
		return "", nil, withCode(exitBadInput, err)
	}
	return runID, vals, nil
}

// runSigner finds the key that signs the journal; with none at all the run goes on, loudly
// unsigned.
func runSigner(s streams, o runOptions, tgt target) (*transcript.Signer, error) {
	signKey := o.signKey
	if tgt.signKey != "" {
		signKey = tgt.signKey
	}
	signer, err := transcript.LoadSigner(signKey, os.Getenv("SSH_AUTH_SOCK"))
	switch {
	case err == nil:
		return signer, nil
	case signKey == "" && errors.Is(err, transcript.ErrNoKey):
		fmt.Fprintf(s.err, "cutover: WARNING: the journal will NOT be signed (%v); it is hash-chained only\n", err)
		return nil, nil
	}
	return nil, withCode(exitBadInput, err)
}

// runEngine builds the engine once and runs it under the console or with plain lines: the
// console or the printer watches the events, the console, stdin or --yes decides.
func runEngine(ctx context.Context, s streams, cfg runbook.Config, o runOptions, printer *printer) (runbook.Outcome, error) {
	if s.console != nil || (!o.plain && isTerminal(s.out)) {
		return runConsole(ctx, s, cfg, o)
	}
	cfg.Watch = printer.print
	cfg.Decider = &stdinDecider{in: s.in, out: s.out}
	if o.yes {
		cfg.Decider = runbook.AutoDecider{}
	}
	return runbook.New(cfg).Run(ctx)
}

func defaultOperator() string {
	host, _ := os.Hostname()
	return currentUser() + "@" + host
}

func currentUser() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return os.Getenv("USER")
}

// newRunID names a run by its start time, runbook and a random suffix, so ids sort by time and never
// collide.
func newRunID(runbookName string, t time.Time) (string, error) {
	var b [3]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("run id: %w", err)
	}
	return fmt.Sprintf("%s-%s-%s", t.UTC().Format("20060102T150405Z"), runbookName, hex.EncodeToString(b[:])), nil
}

func resumeState(p *resumePlan) *runbook.Resume {
	if p == nil {
		return nil
	}
	return p.state
}

func agentSock() string { return os.Getenv("SSH_AUTH_SOCK") }

func hostOf(addr string) string { h, _, _ := net.SplitHostPort(addr); return h }
func portOf(addr string) string { _, p, _ := net.SplitHostPort(addr); return p }
