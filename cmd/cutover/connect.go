package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/cutover/cutover/checks"
	"github.com/cutover/cutover/checks/netbox"
	"github.com/cutover/cutover/checks/remote"
	"github.com/cutover/cutover/checks/vsphere"
	"github.com/cutover/cutover/internal/termsafe"
	"github.com/cutover/cutover/runbook"
	"github.com/cutover/cutover/runbook/transcript"
)

// connections are what a run talks to, all connected before step one.
type connections struct {
	ssh     *remote.SSH
	runners *hostRunners
	vcenter checks.Migrator
	vclient *vsphere.Client // the same, to log out of
	ipam    checks.IPAM
	secrets []string              // every value to redact: secret vars, the environment's, the clients'
	notes   chan runbook.NoteData // what the clients report mid-run, for the journal
}

func (c *connections) close() {
	c.logout()
	c.ssh.Close()
}

// release ends the vCenter session when the run ends, however it ends, and says so in the journal
// (through the notes, which the engine journals before the run's end).
func (c *connections) release() {
	if c.vclient == nil {
		return
	}
	text := "logged out: the run's vCenter session is ended"
	if err := c.logout(); err != nil {
		text = "logging out failed; the session stays until vCenter's idle timeout ends it: " + err.Error()
	}
	select {
	case c.notes <- runbook.NoteData{Source: "vcenter", Text: text}:
	default:
	}
}

// logout ends the vCenter session (once; bounded: a vCenter that does not answer costs seconds).
func (c *connections) logout() error {
	if c.vclient == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return c.vclient.Logout(ctx)
}

// connect dials every host the runbook uses and logs in to vCenter and NetBox where it needs them.
func connect(ctx context.Context, s streams, rb *runbook.Runbook, o runOptions, tgt target, vals runbook.Values) (*connections, error) {
	pool, err := remote.NewSSH(remote.SSHOptions{Config: tgt.sshConfig, KnownHosts: tgt.knownHosts, AgentSock: tgt.agentSock, User: currentUser(), Timings: tgt.timings})
	if err != nil {
		return nil, withCode(exitBadInput, err)
	}
	c := &connections{ssh: pool, runners: &hostRunners{hosts: rb.Hosts, ssh: pool}, secrets: append(vals.Secrets(), envSecrets(os.Getenv)...), notes: make(chan runbook.NoteData, 16)}
	fail := func(err error) (*connections, error) {
		c.close()
		return nil, withCode(exitBadInput, err)
	}
	if err := c.runners.connectAll(ctx, rb.HostsUsed(), nil, o.forks, s.err); err != nil {
		return fail(err)
	}
	if rb.NeedsVCenter() {
		cfg := tgt.vcenter
		if cfg == nil {
			env, err := vsphere.ConfigFromEnv(os.Getenv)
			if err != nil {
				return fail(fmt.Errorf("runbook %s talks to vCenter: %w", rb.Name, err))
			}
			cfg = &env
		}
		if cfg.Password != "" {
			c.secrets = append(c.secrets, cfg.Password)
		}
		withNote := *cfg
		withNote.OnRelogin = func(err error) {
			text := "the session expired (idle timeout or ended by an admin); logged in again"
			if err != nil {
				text = "the session expired and logging in again failed: " + err.Error()
			}
			select {
			case c.notes <- runbook.NoteData{Source: "vcenter", Text: text}:
			default: // sixteen unjournaled re-logins: the rest say nothing new
			}
		}
		client, err := vsphere.Connect(ctx, withNote)
		if err != nil {
			return fail(err)
		}
		c.vcenter, c.vclient = client, client
	}
	if rb.NeedsNetBox() {
		cfg := tgt.netbox
		if cfg == nil {
			env, err := netbox.ConfigFromEnv(os.Getenv)
			if err != nil {
				return fail(fmt.Errorf("runbook %s reads NetBox: %w", rb.Name, err))
			}
			cfg = &env
		}
		c.secrets = append(c.secrets, cfg.Token)
		client, err := netbox.Connect(ctx, *cfg)
		if err != nil {
			return fail(err)
		}
		c.ipam = client
	}
	if err := waveItems(ctx, s, rb, o, c); err != nil {
		return fail(err)
	}
	// A wave's guests once its items are known: found in vCenter or NetBox, or the journal's.
	if err := c.runners.connectAll(ctx, nil, rb.Guests(), o.forks, s.err); err != nil {
		return fail(err)
	}
	return c, nil
}

// waveItems gives every wave found by items_from its VMs: those the run started with when it is
// resumed (its journal's start), else what vCenter or NetBox lists now, said on stderr before
// anything moves.
func waveItems(ctx context.Context, s streams, rb *runbook.Runbook, o runOptions, c *connections) error {
	if o.resume != nil {
		return rb.RestoreItems(o.resume.start.Waves)
	}
	var src runbook.ItemSources
	if c.vclient != nil {
		src.VCenter = c.vclient
	}
	if f, ok := c.ipam.(checks.IPAMVMFinder); ok {
		src.NetBox = f
	}
	if err := rb.ResolveItems(ctx, src); err != nil {
		return err
	}
	for _, st := range rb.Steps {
		if w := st.Wave; w != nil && w.ItemsFrom != nil {
			keys := make([]string, len(w.Items))
			for i, it := range w.Items {
				keys[i] = it.Key
			}
			fmt.Fprintf(s.err, "cutover: %s\n", termsafe.Text(fmt.Sprintf("wave %s: %d VMs from %s: %s", st.Name, len(keys), w.ItemsFrom, strings.Join(keys, " "))))
		}
	}
	return nil
}

// openJournal starts the run's journal, or reopens the resumed one, and for the lab lays its
// allowed_signers beside it (a resumed run may sign with another key: the file lists each).
func openJournal(o runOptions, tgt target, runID string, signer *transcript.Signer, secrets []string) (*transcript.Writer, string, error) {
	var w *transcript.Writer
	var err error
	if o.resume != nil {
		var dropped int64
		if w, dropped, err = transcript.Reopen(o.resume.journal, o.resume.lock, signer, secrets); err != nil {
			return nil, "", withCode(exitBadInput, err)
		}
		o.resume.state.Dropped = dropped
	} else if w, err = transcript.Create(o.transcript, runID, o.operator, signer, secrets); err != nil {
		return nil, "", err
	}
	allowed := ""
	if tgt.allowedSigners != "" {
		allowed = strings.TrimSuffix(w.Path(), ".jsonl") + ".allowed_signers"
		if b, err := os.ReadFile(tgt.allowedSigners); err == nil {
			if f, err := os.OpenFile(allowed, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644); err == nil {
				f.Write(b)
				f.Close()
			}
		}
	}
	return w, allowed, nil
}
