package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cutover/cutover/runbook/transcript"
)

func verifyCommand(s streams) *cobra.Command {
	var trust trustOptions
	cmd := &cobra.Command{
		Use:   "verify JOURNAL",
		Short: "Verify a journal's hash chain and every signature against the allowed signers you name",
		Long: `Verify the hash chain line by line, every checkpoint and approval signature, and the detached
signature JOURNAL.sig, against the allowed_signers you name (--allowed-signers, or
~/.config/cutover/allowed_signers) with ssh-keygen -Y verify's rules: namespaces, valid-after,
valid-before, cert-authority, and --revoked keys.

Exit 0 and VERIFIED only when all of it holds. Exit 1 when something is wrong: a line altered,
removed or added, a signature that does not verify, a signer you do not trust (unknown, expired,
not yet valid, wrong namespace, revoked). Exit 3 when nothing is wrong but something is missing
for proof: no allowed signers named, no signatures, an unfinished run. Exit 2: not a journal.`,
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			t, err := trust.load()
			if err != nil {
				return err
			}
			rep, err := transcript.Verify(args[0], transcript.VerifyOptions{Trust: t})
			if err != nil { // not a journal, or unreadable
				return withCode(exitBadInput, err)
			}
			printReport(s, rep)
			switch rep.Verdict() {
			case transcript.Failed:
				return withCode(exitFailed, nil)
			case transcript.Unproven:
				return withCode(exitUnproven, nil)
			}
			return nil
		},
	}
	trust.flags(cmd.Flags())
	return cmd
}

func printReport(s streams, r *transcript.Report) {
	fmt.Fprintf(s.out, "%s: %s\n", r.Path, r.Verdict())
	fmt.Fprintf(s.out, "  run        %s\n", r.Run)
	switch {
	case r.Problem != nil:
		fmt.Fprintf(s.out, "  chain      BROKEN at line %d: %s\n", r.Problem.Line, r.Problem.Msg)
		if r.Lines > 0 {
			fmt.Fprintf(s.out, "             lines 1-%d verify; nothing from line %d on can be trusted\n", r.Lines, r.Problem.Line)
		} else {
			fmt.Fprintf(s.out, "             no line can be trusted\n")
		}
	case r.Truncated:
		fmt.Fprintf(s.out, "  chain      intact through line %d, then truncated after line %d (a torn write: the run was killed mid-line)\n", r.Lines, r.Lines)
	default:
		fmt.Fprintf(s.out, "  chain      intact, %d lines\n", r.Lines)
	}
	signed := fmt.Sprintf("%d signed", r.Checkpoints)
	if r.LastSigned > 0 {
		signed += fmt.Sprintf(", last at line %d", r.LastSigned)
	}
	if r.Unsigned > 0 {
		signed += fmt.Sprintf(", %d unsigned", r.Unsigned)
	}
	fmt.Fprintf(s.out, "  checkpoints %s\n", signed)
	if len(r.Keys) > 0 {
		who := "trust not checked (no allowed signers named)"
		switch {
		case r.Trust != "" && len(r.Principals) > 0:
			who = "trusted as " + strings.Join(r.Principals, ", ") + " by " + r.Trust
		case r.Trust != "":
			who = "NOT trusted by " + r.Trust
		}
		fmt.Fprintf(s.out, "  signed by  %s, %s\n", strings.Join(r.Keys, ", "), who)
	}
	for _, u := range r.Untrusted {
		fmt.Fprintf(s.out, "  untrusted  %s\n", u)
	}
	if len(r.Approvals) > 0 {
		fmt.Fprintf(s.out, "  approvals  %d verified: %s\n", len(r.Approvals), strings.Join(r.Approvals, ", "))
	}
	for _, n := range r.NotAllowed {
		fmt.Fprintf(s.out, "  approval   NOT ALLOWED: %s (the signature holds; its signer may not approve)\n", n)
	}
	fmt.Fprintf(s.out, "  signature  %s (%s.sig)\n", r.Detached, r.Path)
	if !r.Ended && r.Problem == nil {
		fmt.Fprintf(s.out, "  run.end    missing: the run did not finish (crash, kill, or still running)\n")
	}
	for _, g := range r.Gaps() {
		fmt.Fprintf(s.out, "  unproven   %s\n", g)
	}
}
