package main

import (
	"net/url"

	"github.com/cutover/cutover/runbook"
)

// envSecrets are the secrets the environment holds for cutover's clients, whether or not this run
// uses them: a command may print its environment, and an error may echo a URL.
func envSecrets(getenv func(string) string) []string {
	var out []string
	for _, name := range []string{"GOVC_PASSWORD", "NETBOX_TOKEN"} {
		if v := getenv(name); v != "" {
			out = append(out, v)
		}
	}
	for _, name := range []string{"GOVC_URL", "NETBOX_URL"} {
		if u, err := url.Parse(getenv(name)); err == nil && u.User != nil {
			if pw, ok := u.User.Password(); ok && pw != "" {
				out = append(out, pw)
			}
		}
	}
	return out
}

// redactEnv removes the environment's secrets from text cutover prints outside a run's events.
func redactEnv(getenv func(string) string, text string) string {
	return runbook.Redactor(envSecrets(getenv))(text)
}
