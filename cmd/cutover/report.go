package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cutover/cutover/runbook/report"
	"github.com/cutover/cutover/runbook/transcript"
)

func reportCommand(s streams) *cobra.Command {
	var out, format, allowed string
	cmd := &cobra.Command{
		Use:   "report JOURNAL",
		Short: "Write the handoff report of a run: signature status, timeline, evidence, decisions, migration, gateway graph",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			journal := args[0]
			if format == "" {
				format = "md"
				if strings.HasSuffix(out, ".html") || strings.HasSuffix(out, ".htm") {
					format = "html"
				}
			}
			if format != "md" && format != "html" {
				return withCode(exitBadInput, fmt.Errorf("--format %q: want md or html", format))
			}
			opts, err := allowedSigners(journal, allowed)
			if err != nil {
				return withCode(exitBadInput, err)
			}
			v, err := transcript.Verify(journal, opts)
			if err != nil {
				return withCode(exitBadInput, err)
			}
			events, err := transcript.ReadEvents(journal)
			if err != nil {
				return withCode(exitBadInput, err)
			}
			r := report.Build(journal, events, v)
			w := s.out
			if out != "" {
				f, err := os.Create(out)
				if err != nil {
					return withCode(exitBadInput, err)
				}
				defer f.Close()
				w = f
			}
			if format == "html" {
				return r.HTML(w)
			}
			return r.Markdown(w)
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "write to this file (default standard output)")
	cmd.Flags().StringVar(&format, "format", "", "md or html (default: from -o's extension, else md)")
	cmd.Flags().StringVar(&allowed, "allowed-signers", "", "allowed_signers to check the signatures against (default: RUN.allowed_signers beside the journal, if any)")
	return cmd
}

// allowedSigners loads the allowed signers to verify a journal with: the given file, or the one
// a lab run wrote beside the journal.
func allowedSigners(journal, file string) (transcript.VerifyOptions, error) {
	var opts transcript.VerifyOptions
	if file == "" {
		beside := strings.TrimSuffix(journal, filepath.Ext(journal)) + ".allowed_signers"
		if _, err := os.Stat(beside); err != nil {
			return opts, nil
		}
		file = beside
	}
	f, err := os.Open(file)
	if err != nil {
		return opts, err
	}
	defer f.Close()
	opts.AllowedSigners, err = transcript.ParseAllowedSigners(f)
	if err != nil {
		return opts, fmt.Errorf("%s: %w", file, err)
	}
	return opts, nil
}
