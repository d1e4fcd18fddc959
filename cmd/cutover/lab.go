package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	seed "github.com/cutover/cutover"

	"github.com/spf13/cobra"

	"github.com/cutover/cutover/checks/vsphere"
	"github.com/cutover/cutover/lab"
	"github.com/cutover/cutover/runbook"
	"github.com/cutover/cutover/runbook/transcript"
)

const seedRunbook = "stretched-vlan-vmotion"

func labCommand(s streams) *cobra.Command {
	var o runOptions
	var file string
	var faults []string
	var relocate time.Duration
	var resume, govcEnv, serve string
	var printSeed bool
	var vms int
	cmd := &cobra.Command{
		Use:   "lab [RUNBOOK]",
		Short: "Run a runbook against the embedded lab: vCenter simulator, SSH hosts, faults to practise on",
		Long: `Run a runbook (default ` + seedRunbook + `) against a lab that starts in process: govmomi's
vCenter simulator with SITE-A and SITE-B, one SSH host on 127.0.0.1 per runbook host answering
systemctl, ss, journalctl, getenforce, chronyc, getent and curl like a real one, per-lab host keys
in a lab known_hosts, and a per-lab signing key with an allowed_signers file beside the journal.

Faults (repeatable --fault): ` + fmt.Sprint(lab.FaultNames),
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if vms < 0 || vms > 200 {
				return withCode(exitBadInput, fmt.Errorf("--vms %d: the lab moves 1 to 200 VMs", vms))
			}
			if printSeed {
				text := seed.SeedRunbooks
				if vms > 0 {
					text = waveRunbook(vms)
				}
				_, err := s.out.Write(text)
				return err
			}
			name := seedRunbook
			if vms > 0 && !c.Flags().Changed("file") { // with --file: the VMs its items_from finds
				name, file = waveRunbookName, waveFile(vms)
			}
			if len(args) == 1 {
				name = args[0]
			}
			if resume != "" {
				plan, err := loadResume(resume, o.operator, o.trust)
				if err != nil {
					return err
				}
				defer plan.lock.Release()
				o.resume, name = plan, plan.start.Runbook
				if !c.Flags().Changed("file") && vms == 0 {
					file = plan.start.File
				}
			}
			var f lab.Faults
			for _, v := range faults {
				if err := lab.ParseFault(v, &f); err != nil {
					return withCode(exitBadInput, err)
				}
			}
			o.serve = serve
			return runLab(s, file, name, o, f, relocate, govcEnv, vms)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&file, "file", "f", defaultFile, "runbook file")
	fl.StringArrayVar(&faults, "fault", nil, "inject a training fault (repeatable)")
	fl.DurationVar(&relocate, "relocate-time", 3*time.Second, "how long the lab's vMotion takes")
	fl.DurationVar(&o.siteLatency, "site-latency", time.Millisecond, "the inter-site link's one-way delay: on SITE-B the VM reaches its gateway (on SITE-A) across it and back")
	fl.BoolVar(&o.plain, "plain", false, "headless: one line per event, decisions on stdin")
	fl.BoolVarP(&o.yes, "yes", "y", false, "answer proceed to every question; a failed gate still rolls back")
	fl.StringVar(&o.transcript, "transcript", "transcripts", "directory for the journal")
	fl.StringVar(&o.operator, "operator", "", "who runs this, for the journal (default user@host)")
	fl.StringArrayVar(&o.vars, "var", nil, "set a var: name=value, or secret:name=value (repeatable)")
	fl.IntVar(&o.forks, "forks", 50, "checks of one gate at once")
	shadowFlags(fl, &o)
	fl.StringVar(&resume, "resume", "", "continue this lab run's journal (the lab starts with the VM where the journal last saw it; name its signers with --allowed-signers)")
	o.trust.flags(fl)
	fl.BoolVar(&o.overrideWindow, "override-window", false, "start outside the runbook's change window (needs --reason; journaled)")
	fl.StringVar(&o.reason, "reason", "", "why, for --override-window")
	fl.StringVar(&serve, "serve", "", "start the lab and keep it up for cutover run in another shell, until interrupted: write its variables (vCenter, NetBox, SSH config, known_hosts, signing key) to this file to source")
	fl.StringVar(&govcEnv, "govc-env", "", "write the lab vCenter's GOVC_* variables to this file (source it to use govc beside the console)")
	fl.BoolVar(&printSeed, "print-runbook", false, "write the built-in seed runbook file to standard output (the start of your own: > runbooks.yaml)")
	fl.IntVar(&vms, "vms", 0, "run the built-in wave instead: this many VMs (app-01 …) moved in batches, each with its own guest, watch and rollback (faults: relocate-fails@app-07, ping-loss=3@app-12, …); with --file, the VMs the runbook's items_from finds (folder app-tier, tag tier/app, NetBox tag app-tier)")
	fl.StringVar(&o.signKey, "sign-key", "", "sign the journal with this key (or .pub of an ssh-agent key) instead of the lab's own")
	fl.BoolVar(&o.sshTimings, "ssh-timings", false, "at the end, print where SSH time went: connect, key exchange, auth, sessions, commands")
	return cmd
}

func runLab(s streams, file, name string, o runOptions, f lab.Faults, relocate time.Duration, govcEnv string, vms int) error {
	ir := watchInterrupts() // before the lab exists: its keys go with it on every way out
	defer ir.stop()
	file, data, rb, err := loadLabRunbook(s, file, name)
	if err != nil {
		return err
	}
	if h := f.HostKeyChanged; h != "" {
		if _, ok := rb.Hosts[h]; !ok {
			return withCode(exitBadInput, fmt.Errorf("--fault host-key-changed=%s: runbook %s has no host %s (its hosts: %s)", h, rb.Name, h, strings.Join(sortedHosts(rb), ", ")))
		}
	}
	vmHost := ""
	if o.resume != nil { // read and folded once, by loadResume
		if err := sameRunbook(data, o.resume.start); err != nil {
			return err
		}
		vmHost = o.resume.state.VMHost
		if err := rb.RestoreItems(o.resume.start.Waves); err != nil { // the VMs the run found at its start
			return withCode(exitBadInput, err)
		}
	}
	if o.operator == "" {
		o.operator = defaultOperator()
	}
	o.lab = true
	opts := labOptions(rb)
	opts.Operator, opts.RelocateTime, opts.Faults, opts.VMHost, opts.SiteLatency = o.operator, relocate, f, vmHost, o.siteLatency
	if err := waveLab(rb, &opts, vms); err != nil {
		return withCode(exitBadInput, err)
	}
	if o.resume != nil { // a resumed wave: each VM starts where the journal last saw it
		for _, it := range o.resume.state.Items {
			if it.Host != "" {
				if opts.VMHosts == nil {
					opts.VMHosts = map[string]string{}
				}
				opts.VMHosts[it.VM] = it.Host
			}
		}
	}
	if err := checkFaultVMs(f, opts); err != nil {
		return withCode(exitBadInput, err)
	}
	start := time.Now()
	l, err := lab.Start(ir.ctx, opts)
	if err != nil {
		return err
	}
	defer l.Close()
	vc, nb := l.VCenter(), l.NetBox()
	fmt.Fprintf(s.out, "lab: ready in %s: vCenter https://%s (SITE-A: esx-a-01 esx-a-02, SITE-B: esx-b-01 esx-b-02), NetBox %s, %d SSH hosts on 127.0.0.1, faults: %s\n",
		time.Since(start).Round(time.Millisecond), vc.URL, nb.URL, len(opts.Hosts), f)
	// The lab's vCenter for govc beside the console. Its password is a lab secret: shown to the
	// trainee here, redacted from the journal like any other.
	env := govcEnvironment(vc)
	fmt.Fprintf(s.out, "lab: govc: %s\n", strings.Join(env, " "))
	if govcEnv != "" {
		if err := writeEnvFile(govcEnv, env); err != nil {
			return withCode(exitBadInput, fmt.Errorf("--govc-env: %w", err))
		}
		fmt.Fprintf(s.out, "lab: govc: . %s, then govc ls, govc vm.info %s\n", govcEnv, opts.VM)
	}
	if o.serve != "" {
		if o.resume != nil {
			return withCode(exitBadInput, errors.New("--serve starts a lab for runs of their own: give it no --resume"))
		}
		return serveLab(ir.ctx, s, l, o.serve, file, rb.Name, data)
	}
	tgt := target{sshConfig: l.SSHConfig, knownHosts: []string{l.KnownHosts}, vcenter: &vc, netbox: &nb,
		signKey: l.SignKey, allowedSigners: l.AllowedSigners}
	if o.signKey != "" {
		// The operator's own key signs; the allowed_signers beside the journal names it.
		signer, err := transcript.LoadSigner(o.signKey, agentSock())
		if err != nil {
			return withCode(exitBadInput, err)
		}
		allowed := filepath.Join(l.Dir(), "operator.allowed_signers")
		line := fmt.Sprintf("%s namespaces=%q %s\n", o.operator, transcript.Namespace, signer.PublicKey())
		if err := os.WriteFile(allowed, []byte(line), 0o644); err != nil {
			return err
		}
		tgt.signKey, tgt.allowedSigners = "", allowed
	}
	return execute(ir, s, file, data, rb, o, tgt)
}

// builtIn names the seed runbook file the binary carries, in messages and in the journal.
const builtIn = "(built in: cutover lab --print-runbook)"

// loadLabRunbook reads the lab's runbook file: the one named, else ./runbooks.yaml, else the seed
// the binary carries, so that the lab runs from any directory.
func loadLabRunbook(s streams, file, name string) (string, []byte, *runbook.Runbook, error) {
	var n int
	if _, err := fmt.Sscanf(file, "(built in: cutover lab --vms %d)", &n); err == nil && n > 0 {
		data := waveRunbook(n)
		doc, err := runbook.Parse(file, data)
		if err != nil {
			return "", nil, nil, withCode(exitBadInput, err)
		}
		rb, err := doc.Runbook(name)
		if err != nil {
			return "", nil, nil, withCode(exitBadInput, err)
		}
		return file, data, rb, nil
	}
	if file == builtIn || file == defaultFile {
		if _, err := os.Stat(defaultFile); file == builtIn || errors.Is(err, os.ErrNotExist) {
			doc, err := runbook.Parse(builtIn, seed.SeedRunbooks)
			if err != nil {
				return "", nil, nil, withCode(exitBadInput, err)
			}
			rb, err := doc.Runbook(name)
			if err != nil {
				return "", nil, nil, withCode(exitBadInput, err)
			}
			fmt.Fprintf(s.out, "lab: no ./%s here: running the built-in seed runbook (cutover lab --print-runbook > %s to make it yours)\n", defaultFile, defaultFile)
			return builtIn, seed.SeedRunbooks, rb, nil
		}
	}
	data, rb, err := loadRunbook(file, name)
	return file, data, rb, err
}

// labOptions shapes a lab after a runbook: its hosts, and the VM and address of its vm and vm_ip vars.
func labOptions(rb *runbook.Runbook) lab.Options {
	var opts lab.Options
	for _, h := range sortedHosts(rb) {
		opts.Hosts = append(opts.Hosts, lab.HostSpec{Name: h, Address: rb.Hosts[h].Address, Zone: rb.Hosts[h].Zone})
	}
	if v, ok := rb.Vars["vm"]; ok {
		opts.VM = v.Value
	}
	if v, ok := rb.Vars["vm_ip"]; ok {
		opts.VMIP = v.Value
	}
	return opts
}

func sortedHosts(rb *runbook.Runbook) []string {
	var names []string
	for n := range rb.Hosts {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// govcEnvironment is the lab vCenter as govc reads it (NAME=value, unquoted).
func govcEnvironment(vc vsphere.Config) []string {
	return []string{"GOVC_URL=https://" + vc.URL + "/sdk", "GOVC_USERNAME=" + vc.Username, "GOVC_PASSWORD=" + vc.Password,
		"GOVC_TLS_CA_CERTS=" + vc.CACerts, "GOVC_DATACENTER=" + vc.Datacenter}
}
