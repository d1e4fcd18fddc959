package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cutover/cutover/runbook/transcript"
)

// noteCommand adds a second engineer's handoff note to a run, signed with their own key: a running
// run journals it; after the run it stays beside the journal, in the report and the bundle.
func noteCommand(s streams) *cobra.Command {
	var key string
	cmd := &cobra.Command{
		Use:   "note JOURNAL TEXT...",
		Short: "Add a handoff note to a run, signed with your own SSH key (agent or --sign-key)",
		Args:  cobra.MinimumNArgs(2),
		RunE: func(_ *cobra.Command, args []string) error {
			signer, err := transcript.LoadSigner(key, agentSock())
			if err != nil {
				return withCode(exitBadInput, err)
			}
			path, ended, err := transcript.WriteNote(args[0], strings.Join(args[1:], " "), signer)
			if err != nil {
				return withCode(exitBadInput, err)
			}
			where := "the run journals it"
			if ended {
				where = "the run has ended: the note stays beside its journal; cutover report shows it, --bundle carries it"
			}
			fmt.Fprintf(s.out, "note signed with %s\n(%s; %s)\n", signer, path, where)
			return nil
		},
	}
	cmd.Flags().StringVar(&key, "sign-key", "", "your private key (default: the first ssh-agent key)")
	return cmd
}
