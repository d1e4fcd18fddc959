package main

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/cutover/cutover/checks"
	"github.com/cutover/cutover/checks/netbox"
	"github.com/cutover/cutover/lab"
	"github.com/cutover/cutover/runbook"
)

// netboxOptions say which NetBox to ask: NETBOX_* from the environment, or the lab's.
type netboxOptions struct {
	lab  bool
	file string
}

func netboxCommand(s streams) *cobra.Command {
	var o netboxOptions
	cmd := &cobra.Command{
		Use:   "netbox",
		Short: "Read NetBox IPAM: export prefixes, audit the runbooks' addresses against it",
		Long: `Read NetBox (4.x) as the source of truth for which prefixes of the stretched VLANs are Active.
NETBOX_URL and NETBOX_TOKEN (a read-only token is enough) say which NetBox; NETBOX_CA_CERTS adds a
CA to trust. --lab asks the lab's NetBox instead, shaped after the runbook file's seed runbook.`,
	}
	cmd.PersistentFlags().BoolVar(&o.lab, "lab", false, "ask the embedded lab's NetBox")
	cmd.PersistentFlags().StringVarP(&o.file, "file", "f", defaultFile, "runbook file (audit: the addresses to check; --lab: the lab's shape)")
	cmd.AddCommand(netboxPrefixesCommand(s, &o), netboxAuditCommand(s, &o))
	return cmd
}

// withNetBox runs f with a client of the configured NetBox, or of the lab's (started for f and
// stopped after); the whole job gets five minutes.
func withNetBox(ctx context.Context, o *netboxOptions, f func(context.Context, *netbox.Client) error) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	client, closeFn, err := connectNetBox(ctx, o)
	if err != nil {
		return err
	}
	defer closeFn()
	return f(ctx, client)
}

// connectNetBox connects to the configured NetBox, or starts the lab's; closeFn stops what it started.
func connectNetBox(ctx context.Context, o *netboxOptions) (_ *netbox.Client, closeFn func(), err error) {
	closeFn = func() {}
	var cfg netbox.Config
	if o.lab {
		// The lab is shaped after the file's seed runbook (else its first), as `cutover lab` would be.
		opts := lab.Options{}
		if doc, err := runbook.Load(o.file); err == nil && len(doc.Runbooks) > 0 {
			rb := &doc.Runbooks[0]
			if seed, err := doc.Runbook(seedRunbook); err == nil {
				rb = seed
			}
			opts = labOptions(rb)
		} else if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, nil, withCode(exitBadInput, err)
		}
		dir, err := os.MkdirTemp("", "cutover-netbox-")
		if err != nil {
			return nil, nil, err
		}
		ipam, err := lab.StartIPAM(dir, opts)
		if err != nil {
			os.RemoveAll(dir)
			return nil, nil, err
		}
		closeFn = func() { ipam.Close(); os.RemoveAll(dir) }
		cfg = ipam.Config()
	} else if cfg, err = netbox.ConfigFromEnv(os.Getenv); err != nil {
		return nil, nil, withCode(exitBadInput, fmt.Errorf("%w (or use --lab)", err))
	}
	c, err := netbox.Connect(ctx, cfg)
	if err != nil {
		closeFn()
		return nil, nil, withCode(exitBadInput, err)
	}
	return c, closeFn, nil
}

func netboxPrefixesCommand(s streams, o *netboxOptions) *cobra.Command {
	var f netbox.Filter
	var format string
	cmd := &cobra.Command{
		Use:   "prefixes",
		Short: "Export prefixes with status, VLAN, scope, tenant and utilisation (table or RFC 4180 CSV)",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if format != "table" && format != "csv" {
				return withCode(exitBadInput, fmt.Errorf("--format %q: want csv or table", format))
			}
			return withNetBox(c.Context(), o, func(ctx context.Context, client *netbox.Client) error {
				ps, err := client.Prefixes(ctx, f)
				if err != nil {
					return err
				}
				util, err := utilisations(ctx, client, ps)
				if err != nil {
					return err
				}
				if format == "csv" {
					return writePrefixCSV(s.out, ps, util)
				}
				return writePrefixTable(s.out, ps, util)
			})
		},
	}
	fl := cmd.Flags()
	fl.StringSliceVar(&f.Status, "status", nil, "only these statuses: active, reserved, deprecated, container (comma-separated or repeated)")
	fl.IntVar(&f.VID, "vlan", 0, "only prefixes on this VLAN ID")
	fl.StringVar(&f.Site, "site", "", "only prefixes scoped to this site (slug) or its site group")
	fl.StringVar(&format, "format", "table", "csv or table")
	return cmd
}

// utilisations asks NetBox for every prefix's utilisation, a few at a time.
func utilisations(ctx context.Context, c *netbox.Client, ps []checks.IPAMPrefix) ([]float64, error) {
	out := make([]float64, len(ps))
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i, p := range ps {
		g.Go(func() error {
			u, err := c.Utilisation(ctx, p)
			out[i] = u
			return err
		})
	}
	return out, g.Wait()
}

var prefixColumns = []string{"prefix", "status", "vlan_vid", "vlan_name", "scope_type", "site", "tenant", "utilisation_pct", "description"}

func prefixRow(p checks.IPAMPrefix, util float64) []string {
	vid := ""
	if p.VID != 0 {
		vid = strconv.Itoa(p.VID)
	}
	return []string{p.Prefix, p.Status, vid, p.VLAN, p.ScopeType, p.Scope, p.Tenant, strconv.FormatFloat(util, 'f', 1, 64), p.Description}
}

// writePrefixCSV writes RFC 4180 CSV: a header line, CRLF line ends, quotes where a field needs them.
func writePrefixCSV(w io.Writer, ps []checks.IPAMPrefix, util []float64) error {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	cw.Write(prefixColumns)
	for i, p := range ps {
		cw.Write(prefixRow(p, util[i]))
	}
	cw.Flush()
	return cw.Error()
}

func writePrefixTable(w io.Writer, ps []checks.IPAMPrefix, util []float64) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PREFIX\tSTATUS\tVLAN\tSCOPE\tTENANT\tUTIL\tDESCRIPTION")
	for i, p := range ps {
		r := prefixRow(p, util[i])
		vlan := "-"
		if p.VID != 0 {
			vlan = r[2] + " " + p.VLAN
		}
		scope := "-"
		if p.Scope != "" {
			scope = strings.TrimPrefix(p.ScopeType, "dcim.") + " " + p.Scope
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s%%\t%s\n", p.Prefix, p.Status, vlan, scope, dash(p.Tenant), r[7], p.Description)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "%d prefix(es)\n", len(ps))
	return err
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func netboxAuditCommand(s streams, o *netboxOptions) *cobra.Command {
	var vlans []int
	cmd := &cobra.Command{
		Use:   "audit [RUNBOOK...]",
		Short: "Hold the runbooks' addresses and gateways against NetBox's prefixes of the stretched VLANs",
		Long: `Audit the addresses the runbooks use (literal IPs in vars, ping watch targets, ipam, vm_ip and
dns checks) against NetBox: each must lie in an Active prefix on a stretched VLAN (the vlan of the
runbooks' ipam checks, or --vlan), and no Reserved or Deprecated prefix of those VLANs may hold
addresses in use. Lists every mismatch; exits 1 when there is one.`,
		RunE: func(c *cobra.Command, args []string) error {
			doc, err := loadDocument(o.file)
			if err != nil {
				return err
			}
			var uses []netbox.Use
			want := vlans
			for _, rb := range doc.Runbooks {
				if len(args) > 0 && !slices.Contains(args, rb.Name) {
					continue
				}
				vals, err := rb.ResolveVars(nil, os.LookupEnv, map[string]string{"run_id": "audit", "runbook": rb.Name, "operator": "audit", "transcript_dir": "."})
				if err != nil {
					return withCode(exitBadInput, fmt.Errorf("runbook %s: %w", rb.Name, err))
				}
				us, vs := rb.AddressUses(vals)
				for _, u := range us {
					uses = append(uses, netbox.Use{Address: u.Address, Gateway: u.Gateway, Where: rb.Name + " " + strings.Join(u.Where, ", ")})
				}
				if len(vlans) == 0 {
					for _, v := range vs {
						if !slices.Contains(want, v) {
							want = append(want, v)
						}
					}
				}
			}
			return withNetBox(c.Context(), o, func(ctx context.Context, client *netbox.Client) error {
				prefixes, findings, err := client.Audit(ctx, uses, want)
				if err != nil {
					return err
				}
				return reportAudit(s.out, client.Version, o.file, uses, want, prefixes, findings)
			})
		},
	}
	cmd.Flags().IntSliceVar(&vlans, "vlan", nil, "the stretched VLAN IDs (default: those of the runbooks' ipam checks)")
	return cmd
}

func reportAudit(w io.Writer, version, file string, uses []netbox.Use, vlans []int, prefixes []checks.IPAMPrefix, findings []netbox.Finding) error {
	fmt.Fprintf(w, "NetBox %s: %d prefix(es) on VLAN %v, %d address(es) from %s\n", version, len(prefixes), vlans, len(uses), file)
	for _, p := range prefixes {
		fmt.Fprintf(w, "  %s\n", checks.DescribePrefix(p))
	}
	if len(findings) == 0 {
		fmt.Fprintln(w, "ok: every address lies in an Active prefix of the stretched VLANs; no reserved prefix is in use")
		return nil
	}
	fmt.Fprintf(w, "%d mismatch(es):\n", len(findings))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, f := range findings {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", f.Kind, f.Subject, f.Detail)
	}
	tw.Flush()
	return withCode(exitFailed, fmt.Errorf("netbox audit: %d mismatch(es)", len(findings)))
}
