package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/pflag"

	"github.com/cutover/cutover/runbook/transcript"
)

// trustOptions are the flags that name whom the operator trusts to have signed a journal.
type trustOptions struct {
	allowedSigners string
	revoked        string
}

func (t *trustOptions) flags(f *pflag.FlagSet) {
	f.StringVar(&t.allowedSigners, "allowed-signers", "", "OpenSSH allowed_signers file naming who may sign (default: ~/.config/cutover/allowed_signers, if it exists); never a file beside the journal unless you name it")
	f.StringVar(&t.revoked, "revoked", "", "revoked public keys, one a line (as ssh-keygen -Y verify -r)")
}

// configuredAllowedSigners is the operator's own allowed_signers file, in their configuration.
func configuredAllowedSigners() string {
	dir := os.Getenv("XDG_CONFIG_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "cutover", "allowed_signers")
}

// load reads the trust the operator named: the flag's file, else the configured file; nil when
// there is neither. Nothing beside a journal is ever read on its own: whoever rewrites a journal
// can write that file too.
func (t *trustOptions) load() (*transcript.Trust, error) {
	file := t.allowedSigners
	if file == "" {
		file = configuredAllowedSigners()
		if _, err := os.Stat(file); file == "" || errors.Is(err, os.ErrNotExist) {
			if t.revoked != "" {
				return nil, withCode(exitBadInput, errors.New("--revoked needs allowed signers to check against (--allowed-signers)"))
			}
			return nil, nil
		}
	}
	trust, err := transcript.LoadTrust(file, t.revoked)
	if err != nil {
		return nil, withCode(exitBadInput, fmt.Errorf("trust: %w", err))
	}
	return trust, nil
}
