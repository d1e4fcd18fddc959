package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cutover/cutover/runbook"
	"github.com/cutover/cutover/runbook/transcript"
)

func verifyCommand(s streams) *cobra.Command {
	var trust trustOptions
	cmd := &cobra.Command{
		Use:   "verify JOURNAL|BUNDLE",
		Short: "Verify a journal's hash chain and every signature against the allowed signers you name",
		Long: `Verify the hash chain line by line, every checkpoint and approval signature, and the detached
signature JOURNAL.sig, against the allowed_signers you name (--allowed-signers, or
~/.config/cutover/allowed_signers) with ssh-keygen -Y verify's rules: namespaces, valid-after,
valid-before, cert-authority, and --revoked keys.

Exit 0 and VERIFIED only when all of it holds. Exit 1 when something is wrong: a line altered,
removed or added, a signature that does not verify, a signer you do not trust (unknown, expired,
not yet valid, wrong namespace, revoked). Exit 3 when nothing is wrong but something is missing
for proof: no allowed signers named, no signatures, an unfinished run. Exit 2: not a journal.

A bundle (cutover report --bundle) is verified whole: every file against its MANIFEST, the journal
as above, and the runbook file against the hash the journal recorded. The allowed_signers inside
a bundle is informative: only the file you name is trusted.`,
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			t, err := trust.load()
			if err != nil {
				return err
			}
			if isBundle(args[0]) {
				return verifyBundle(s, args[0], t)
			}
			rep, err := transcript.Verify(args[0], transcript.VerifyOptions{Trust: t})
			if err != nil { // not a journal, or unreadable
				return withCode(exitBadInput, err)
			}
			printReport(s, rep)
			return verdictExit(rep)
		},
	}
	trust.flags(cmd.Flags())
	return cmd
}

// verdictExit is verify's exit for a report.
func verdictExit(rep *transcript.Report) error {
	switch rep.Verdict() {
	case transcript.Failed:
		return withCode(exitFailed, nil)
	case transcript.Unproven:
		return withCode(exitUnproven, nil)
	}
	return nil
}

// isBundle tells an export bundle (gzip) from a journal by its first bytes.
func isBundle(p string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	var magic [2]byte
	_, err = io.ReadFull(f, magic[:])
	return err == nil && magic == [2]byte{0x1f, 0x8b}
}

// verifyBundle verifies an export bundle whole: every file against its MANIFEST, the journal
// (chain, signatures, approvals) against the allowed signers the operator names (never the copy
// inside), and the runbook file against the hash the journal recorded.
func verifyBundle(s streams, src string, t *transcript.Trust) error {
	dir, err := os.MkdirTemp("", "cutover-bundle-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	names, err := extractBundle(src, dir)
	if err == nil {
		_, err = checkManifest(dir, names)
	}
	if err != nil {
		fmt.Fprintf(s.out, "%s: FAILED\n  bundle     %v\n", src, err)
		return withCode(exitFailed, nil)
	}
	var journal string
	for _, n := range names {
		if strings.HasSuffix(n, ".jsonl") && !strings.Contains(n, "/") {
			if journal != "" {
				fmt.Fprintf(s.out, "%s: FAILED\n  bundle     holds more than one journal\n", src)
				return withCode(exitFailed, nil)
			}
			journal = n
		}
	}
	if journal == "" {
		fmt.Fprintf(s.out, "%s: FAILED\n  bundle     holds no journal\n", src)
		return withCode(exitFailed, nil)
	}
	rep, err := transcript.Verify(filepath.Join(dir, journal), transcript.VerifyOptions{Trust: t})
	if err != nil {
		fmt.Fprintf(s.out, "%s: FAILED\n  journal    %v\n", src, err)
		return withCode(exitFailed, nil)
	}
	rep.Path = src + ":" + journal
	printReport(s, rep)
	fmt.Fprintf(s.out, "  bundle     %d files match its MANIFEST\n", len(names)-1)
	events, err := transcript.ReadEvents(filepath.Join(dir, journal))
	if err != nil {
		return withCode(exitFailed, err)
	}
	for _, ev := range events {
		d, ok := ev.Data.(runbook.RunStartData)
		if !ok {
			continue
		}
		name := "runbook/" + filepath.Base(d.File)
		switch b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name))); {
		case err != nil:
			fmt.Fprintf(s.out, "  runbook    not in the bundle (its MANIFEST says why)\n")
		case sha(b) != d.FileSHA256:
			fmt.Fprintf(s.out, "  runbook    %s is NOT the file the run ran (sha256 %s, the journal says %s)\n", name, sha(b), d.FileSHA256)
			fmt.Fprintf(s.out, "%s: FAILED (the bundle's runbook file is not the one the run ran)\n", src)
			return withCode(exitFailed, nil)
		default:
			fmt.Fprintf(s.out, "  runbook    %s is the file the run ran (sha256 %s)\n", name, d.FileSHA256)
		}
		break
	}
	if slices.Contains(names, "allowed_signers") {
		trusted := "no allowed signers named: nothing is VERIFIED on the bundle's word"
		if t != nil {
			trusted = "trust came from " + t.Source
		}
		fmt.Fprintf(s.out, "  signers    the bundle's allowed_signers is informative only; %s\n", trusted)
	}
	fmt.Fprintf(s.out, "%s: %s (the bundle: every file as its MANIFEST lists it; the journal: as above)\n", src, rep.Verdict())
	return verdictExit(rep)
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
