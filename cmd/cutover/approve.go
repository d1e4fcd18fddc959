package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cutover/cutover/runbook/transcript"
)

func approveCommand(s streams) *cobra.Command {
	var step, key string
	cmd := &cobra.Command{
		Use:   "approve JOURNAL --step NAME",
		Short: "Sign off a step that waits for a second engineer, with your own SSH key (agent or --sign-key)",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			if step == "" {
				return withCode(exitBadInput, fmt.Errorf("approve: --step is required"))
			}
			signer, err := transcript.LoadSigner(key, agentSock())
			if err != nil {
				return withCode(exitBadInput, err)
			}
			path, err := transcript.Approve(args[0], step, signer)
			if err != nil {
				return withCode(exitBadInput, err)
			}
			fmt.Fprintf(s.out, "approved step %s of %s with %s\n(%s; the run journals it and goes on)\n", step, args[0], signer, path)
			return nil
		},
	}
	cmd.Flags().StringVar(&step, "step", "", "the step waiting for approval")
	cmd.Flags().StringVar(&key, "sign-key", "", "your private key (default: the first ssh-agent key)")
	return cmd
}
