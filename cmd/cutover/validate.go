package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cutover/cutover/internal/termsafe"
	"github.com/cutover/cutover/runbook"
)

const defaultFile = "runbooks.yaml"

func validateCommand(s streams) *cobra.Command {
	return &cobra.Command{
		Use:   "validate [FILE]",
		Short: "Check a runbook file; print every error with file:line:column and field",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			file := defaultFile
			if len(args) == 1 {
				file = args[0]
			}
			doc, err := loadDocument(file)
			if err != nil {
				return err
			}
			names := make([]string, len(doc.Runbooks))
			for i, rb := range doc.Runbooks {
				names[i] = fmt.Sprintf("%s (%d steps)", rb.Name, len(rb.Steps))
			}
			fmt.Fprintf(s.out, "%s: ok: %s\n", file, termsafe.Text(strings.Join(names, ", ")))
			return nil
		},
	}
}

// loadDocument loads a runbook file, turning its errors into exit code 2 with one error a line.
func loadDocument(file string) (*runbook.Document, error) {
	doc, err := runbook.Load(file)
	if err != nil {
		return nil, withCode(exitBadInput, err)
	}
	return doc, nil
}

func schemaCommand(s streams) *cobra.Command {
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of runbook files (for yaml-language-server and editors)",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			b, err := runbook.Schema()
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(s.out, "%s\n", b)
			return err
		},
	}
}
