package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cutover/cutover/runbook"
	"github.com/cutover/cutover/runbook/transcript"
)

func resumeCommand(s streams) *cobra.Command {
	var o runOptions
	var file string
	cmd := &cobra.Command{
		Use:   "resume JOURNAL",
		Short: "Continue a run that was interrupted (crash, kill, lost terminal) from its journal",
		Long: `Verify the journal (a torn last line is dropped and noted), rebuild the run's state — completed
steps, baselines, the VM's origin, a rollback under way — and continue from the first step not
completed, appending to the same journal. A finished action is not run again; a migration that
was under way finds the VM where vCenter says it is.`,
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			ir := watchInterrupts()
			defer ir.stop()
			plan, err := loadResume(args[0], o.operator, o.trust)
			if err != nil {
				return err
			}
			defer plan.lock.Release()
			if file == "" {
				file = plan.start.File
			}
			data, rb, err := loadRunbook(file, plan.start.Runbook)
			if err != nil {
				return err
			}
			if err := sameRunbook(data, plan.start); err != nil {
				return err
			}
			o.resume = plan
			return execute(ir, s, file, data, rb, o, target{sshConfig: o.sshConfig, knownHosts: o.knownHosts, agentSock: agentSock()})
		},
	}
	f := cmd.Flags()
	f.StringVarP(&file, "file", "f", "", "the runbook file (default: the one the run started from)")
	f.BoolVar(&o.plain, "plain", false, "headless: one line per event, decisions on stdin")
	f.BoolVarP(&o.yes, "yes", "y", false, "answer proceed to every question; a failed gate still rolls back")
	f.StringVar(&o.signKey, "sign-key", "", "key that signs what the resumed run appends")
	f.StringVar(&o.operator, "operator", "", "who resumes (default user@host)")
	f.StringArrayVar(&o.vars, "var", nil, "set a var again (secrets are not in the journal)")
	f.IntVar(&o.forks, "forks", 50, "checks of one gate at once")
	f.StringVar(&o.sshConfig, "ssh-config", "", "the one ssh_config file to read, as ssh -F (default ~/.ssh/config, then /etc/ssh/ssh_config)")
	f.StringArrayVar(&o.knownHosts, "known-hosts", nil, "known_hosts file for every host (default: the files ssh_config names, as ssh; repeatable)")
	o.trust.flags(f)
	return cmd
}

// loadResume takes the journal's write lock, verifies the journal against the operator's trust and
// rebuilds the state to continue it from. The caller releases the plan's lock (the writer does,
// once it has it).
func loadResume(journal, operator string, trust trustOptions) (_ *resumePlan, err error) {
	t, err := trust.load()
	if err != nil {
		return nil, err
	}
	if operator == "" {
		operator = defaultOperator()
	}
	if _, err := os.Stat(journal); err != nil {
		return nil, withCode(exitBadInput, fmt.Errorf("no journal %s: %w", journal, errors.Unwrap(err)))
	}
	lock, err := transcript.LockJournal(journal, operator)
	if err != nil {
		return nil, withCode(exitBadInput, err)
	}
	defer func() {
		if err != nil {
			lock.Release()
		}
	}()
	v, err := transcript.Verify(journal, transcript.VerifyOptions{Trust: t})
	if err != nil {
		return nil, withCode(exitBadInput, err)
	}
	if err := resumable(v); err != nil {
		hint := ""
		if beside := strings.TrimSuffix(journal, ".jsonl") + ".allowed_signers"; v.Trust == "" {
			if _, serr := os.Stat(beside); serr == nil {
				hint = fmt.Sprintf(" (the run wrote %s; name it only if you trust it)", beside)
			}
		}
		return nil, withCode(exitBadInput, fmt.Errorf("%s: %w%s", journal, err, hint))
	}
	events, err := transcript.ReadEvents(journal)
	if err != nil {
		return nil, withCode(exitBadInput, err)
	}
	rs, err := runbook.RebuildResume(events)
	if errors.Is(err, runbook.ErrRunEnded) {
		return nil, withCode(exitBadInput, fmt.Errorf("%s: nothing to resume: the run already ended", journal))
	}
	if err != nil {
		return nil, withCode(exitBadInput, fmt.Errorf("%s: %w", journal, err))
	}
	start, _ := events[0].Data.(runbook.RunStartData)
	return &resumePlan{journal: journal, start: start, state: rs, lock: lock}, nil
}

// sameRunbook refuses to resume with a runbook file that changed since the run started.
func sameRunbook(data []byte, start runbook.RunStartData) error {
	sum := sha256.Sum256(data)
	if start.FileSHA256 != "" && hex.EncodeToString(sum[:]) != start.FileSHA256 {
		return withCode(exitBadInput, fmt.Errorf("%s changed since the run started (SHA-256 %.12s…, journal says %.12s…): resume with the file the run used", start.File, hex.EncodeToString(sum[:]), start.FileSHA256))
	}
	return nil
}

// resumable decides whether a journal may be continued: its chain intact and every signature in it
// made by a signer the operator trusts. What an interruption leaves unproven (no detached
// signature yet, lines after the last checkpoint, a torn last line) is expected; a journal with
// no trusted signature at all is not resumed, since its baselines and origin could be forged.
func resumable(v *transcript.Report) error {
	switch {
	case v.Problem != nil:
		return fmt.Errorf("does not verify at line %d (%s): a broken chain is not resumed", v.Problem.Line, v.Problem.Msg)
	case len(v.Untrusted) > 0:
		return fmt.Errorf("signed by a key you do not trust (%s): a journal is resumed only on your trust", v.Untrusted[0])
	case len(v.NotAllowed) > 0:
		return fmt.Errorf("holds an approval by a signer your allowed signers do not allow to approve (%s): list the approver for namespace %s, or do not resume it", v.NotAllowed[0], transcript.ApprovalNamespace)
	case v.Trust == "" && len(v.Keys) > 0:
		return fmt.Errorf("signed by %s, but no allowed signers are named: pass --allowed-signers FILE (or keep one at %s) so the journal's baselines and origin can be trusted", strings.Join(v.Keys, ", "), configuredAllowedSigners())
	case v.Checkpoints == 0:
		return errors.New("no signed checkpoint: an unsigned journal cannot be told from a forgery, so it is not resumed")
	case v.Unsigned > 0:
		return fmt.Errorf("%d checkpoints are not signed: every checkpoint of a resumed journal must be", v.Unsigned)
	}
	return nil
}
