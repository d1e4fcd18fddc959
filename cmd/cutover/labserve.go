package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/cutover/cutover/checks/remote"
	"github.com/cutover/cutover/lab"
)

// serveLab keeps a started lab up for runs of another process until the operator interrupts it:
// trainees practise the real cutover run, and the lab's cost stays out of the run's figures. The
// file it writes (0600: it holds the lab's passwords) is what to source first.
func serveLab(ctx context.Context, s streams, l *lab.Lab, file, book, name string, data []byte) error {
	if strings.HasPrefix(book, "(built in") { // cutover run reads files: the built-in one goes beside the lab
		book = filepath.Join(l.Dir(), "runbooks.yaml")
		if err := os.WriteFile(book, data, 0o644); err != nil {
			return err
		}
	}
	vc, nb := l.VCenter(), l.NetBox()
	env := append(govcEnvironment(vc),
		"NETBOX_URL="+nb.URL, "NETBOX_TOKEN="+nb.Token, "NETBOX_CA_CERTS="+nb.CACerts,
		"CUTOVER_LAB_SSH_CONFIG="+l.SSHConfig, "CUTOVER_LAB_KNOWN_HOSTS="+l.KnownHosts,
		"CUTOVER_LAB_SIGN_KEY="+l.SignKey, "CUTOVER_LAB_ALLOWED_SIGNERS="+l.AllowedSigners)
	if err := writeEnvFile(file, env); err != nil {
		return withCode(exitBadInput, fmt.Errorf("--serve: %w", err))
	}
	fmt.Fprintf(s.out, "lab: serving until interrupted; in another shell:\n  . %s\n  cutover run %s %s --ssh-config \"$CUTOVER_LAB_SSH_CONFIG\" --known-hosts \"$CUTOVER_LAB_KNOWN_HOSTS\" --sign-key \"$CUTOVER_LAB_SIGN_KEY\"\n",
		remote.Quote(file), remote.Quote(book), remote.Quote(name))
	<-ctx.Done()
	os.Remove(file) // its passwords die with the lab
	fmt.Fprintln(s.out, "lab: stopped")
	return nil
}

// writeEnvFile writes NAME=value pairs as shell exports to source, 0600 (they hold the lab's
// passwords) also when the file was there before (WriteFile keeps an existing file's mode).
func writeEnvFile(file string, env []string) error {
	var b strings.Builder
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		fmt.Fprintf(&b, "export %s=%s\n", k, remote.Quote(v))
	}
	if err := os.WriteFile(file, []byte(b.String()), 0o600); err != nil {
		return err
	}
	return os.Chmod(file, 0o600)
}
