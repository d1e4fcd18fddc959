package main

import (
	"net/url"
	"strings"

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
		out = append(out, urlPasswords(getenv(name))...)
	}
	return out
}

// urlPasswords is the password a URL's userinfo holds, as written and decoded. It reads the URL by
// hand: a malformed URL (a bad %-escape in the password, say) is exactly the one an error echoes.
func urlPasswords(raw string) []string {
	rest := raw
	if i := strings.Index(rest, "://"); i >= 0 {
		rest = rest[i+3:]
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		return nil
	}
	_, pw, ok := strings.Cut(rest[:at], ":")
	if !ok || pw == "" {
		return nil
	}
	out := []string{pw}
	if dec, err := url.PathUnescape(pw); err == nil && dec != pw {
		out = append(out, dec)
	}
	return out
}

// redactEnv removes the environment's secrets from text cutover prints outside a run's events.
func redactEnv(getenv func(string) string, text string) string {
	return runbook.Redactor(envSecrets(getenv))(text)
}
