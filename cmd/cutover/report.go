package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cutover/cutover/runbook"
	"github.com/cutover/cutover/runbook/report"
	"github.com/cutover/cutover/runbook/transcript"
)

func reportCommand(s streams) *cobra.Command {
	var out, format, bundle string
	var trust trustOptions
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
			if _, err := os.Stat(journal); err != nil {
				if errors.Is(err, os.ErrNotExist) {
					return withCode(exitBadInput, fmt.Errorf("report: %s: no such journal", journal))
				}
				return withCode(exitBadInput, fmt.Errorf("report: %w", err))
			}
			t, err := trust.load()
			if err != nil {
				return err
			}
			v, err := transcript.Verify(journal, transcript.VerifyOptions{Trust: t})
			if err != nil {
				return withCode(exitBadInput, err)
			}
			if err := isJournal(journal, v); err != nil {
				return err
			}
			events, err := transcript.ReadEvents(journal)
			if err != nil {
				return withCode(exitBadInput, err)
			}
			if err := startsARun(journal, events); err != nil {
				return err
			}
			r := buildReport(journal, events, v, t)
			if bundle != "" {
				trustFile := ""
				if t != nil {
					trustFile = t.Source
				}
				if err := writeBundle(bundle, journal, events, r, trustFile); err != nil {
					return withCode(exitFailed, err)
				}
				fmt.Fprintf(s.out, "bundle: %s (journal, signature, approvals, notes, allowed signers, report.md and .html, runbook file; MANIFEST)\ncheck it: cutover verify %s --allowed-signers FILE\n", bundle, bundle)
				return nil
			}
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
	cmd.Flags().StringVar(&bundle, "bundle", "", "write the export bundle (tar.gz) for a change ticket instead: journal, .sig, approvals, notes, allowed signers, report in md and html, runbook file as run, MANIFEST")
	trust.flags(cmd.Flags())
	return cmd
}

// buildReport is the handoff of a journal: its events, what verify found, and the signed notes
// kept beside it that it does not hold.
func buildReport(journal string, events []runbook.Event, v *transcript.Report, trust *transcript.Trust) *report.Report {
	r := report.Build(journal, events, v)
	var journaled []string
	for _, ev := range events {
		if n, ok := ev.Data.(runbook.NoteData); ok && n.Sig != "" {
			journaled = append(journaled, n.Sig)
		}
	}
	notes, bad := transcript.ReadNotes(journal, r.Run)
	r.AddKeptNotes(notes, bad, journaled, trust)
	return r
}
