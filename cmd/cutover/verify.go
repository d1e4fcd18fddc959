package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cutover/cutover/runbook/transcript"
)

func verifyCommand(s streams) *cobra.Command {
	var allowedFile string
	cmd := &cobra.Command{
		Use:   "verify TRANSCRIPT",
		Short: "Verify a journal's hash chain, checkpoint signatures and detached signature",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			var opts transcript.VerifyOptions
			if allowedFile != "" {
				f, err := os.Open(allowedFile)
				if err != nil {
					return withCode(exitBadInput, err)
				}
				defer f.Close()
				if opts.AllowedSigners, err = transcript.ParseAllowedSigners(f); err != nil {
					return withCode(exitBadInput, fmt.Errorf("%s: %w", allowedFile, err))
				}
			}
			rep, err := transcript.Verify(args[0], opts)
			if err != nil {
				return withCode(exitBadInput, err)
			}
			printReport(s, rep)
			if !rep.OK() {
				return withCode(exitFailed, nil)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&allowedFile, "allowed-signers", "", "OpenSSH allowed_signers file every signing key must be listed in")
	return cmd
}

func printReport(s streams, r *transcript.Report) {
	status := "VERIFIED"
	if !r.OK() {
		status = "NOT VERIFIED"
	}
	fmt.Fprintf(s.out, "%s: %s\n", r.Path, status)
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
		who := "identity not checked (pass --allowed-signers)"
		if len(r.Principals) > 0 {
			who = "allowed for " + strings.Join(r.Principals, ", ")
		}
		fmt.Fprintf(s.out, "  signed by  %s, %s\n", strings.Join(r.Keys, ", "), who)
	}
	if len(r.Approvals) > 0 {
		fmt.Fprintf(s.out, "  approvals  %d verified: %s\n", len(r.Approvals), strings.Join(r.Approvals, ", "))
	}
	fmt.Fprintf(s.out, "  signature  %s (%s.sig)\n", r.Detached, r.Path)
	if !r.Ended && r.Problem == nil {
		fmt.Fprintf(s.out, "  run.end    missing: the run did not finish (crash, kill, or still running)\n")
	}
}
