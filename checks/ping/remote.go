package ping

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/cutover/cutover/checks/remote"
)

// RemoteCommand is the iputils ping a remote watch runs: timestamps (-D), a line for every
// unanswered request (-O), numeric output (-n).
func RemoteCommand(target string, interval time.Duration) remote.Command {
	secs := strconv.FormatFloat(interval.Seconds(), 'f', -1, 64)
	// "--": a target is never an option (a value "-f" would flood).
	return remote.Command{Argv: []string{"ping", "-D", "-O", "-n", "-i", secs, "--", target}, Env: []string{"LC_ALL=C"}}
}

// WatchRemote runs ping on a host until ctx ends and feeds every answered or unanswered request
// to emit; onLine sees the raw lines (for the journal). A ping that dies early is an error.
func WatchRemote(ctx context.Context, r remote.Runner, target string, interval time.Duration, emit func(Sample), onLine func(remote.Line)) error {
	var u Unwrapper
	res, err := r.Run(ctx, RemoteCommand(target, interval), func(l remote.Line) {
		if onLine != nil {
			onLine(l)
		}
		if l.Stream != remote.Stdout {
			return
		}
		if s, ok := u.Feed(ParseLine(l.Text), interval); ok {
			emit(s)
		}
	})
	if ctx.Err() != nil {
		return nil // stopped, as asked
	}
	if err != nil {
		return fmt.Errorf("remote ping %s: %w", target, err)
	}
	return fmt.Errorf("remote ping %s ended on its own (exit %d)", target, res.ExitCode)
}

var defaultRoute = regexp.MustCompile(`^default via (\S+)`)

// ErrNoDefaultRoute means the host has no default route to watch.
var ErrNoDefaultRoute = errors.New("no default route")

// DefaultGateway reads a host's default gateway from `ip route show default`.
func DefaultGateway(ctx context.Context, r remote.Runner) (string, error) {
	var gw string
	res, err := r.Run(ctx, remote.Command{Argv: []string{"ip", "route", "show", "default"}, Env: []string{"LC_ALL=C"}}, func(l remote.Line) {
		if m := defaultRoute.FindStringSubmatch(l.Text); m != nil && gw == "" {
			gw = m[1]
		}
	})
	switch {
	case err != nil:
		return "", fmt.Errorf("read default route: %w", err)
	case res.ExitCode != 0:
		return "", fmt.Errorf("read default route: ip exited %d", res.ExitCode)
	case gw == "":
		return "", ErrNoDefaultRoute
	}
	return gw, nil
}
