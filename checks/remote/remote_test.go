package remote

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestQuoteRoundTripsThroughShell(t *testing.T) {
	words := []string{"", "plain", "with space", "it's", `"dq"`, "$(touch /tmp/pwned)", "`id`", "a;b|c&d", "*", "~", "new\nline", "tab\there", `back\slash`, "ünïcode", "-n", "x=1"}
	for _, w := range words {
		out, err := exec.Command("/bin/sh", "-c", "printf %s "+Quote(w)).Output()
		if err != nil {
			t.Fatalf("sh rejected %q quoted as %s: %v", w, Quote(w), err)
		}
		if string(out) != w {
			t.Errorf("Quote(%q) = %s: shell printed %q", w, Quote(w), out)
		}
	}
}

func TestQuoteLeavesSafeWordsBare(t *testing.T) {
	for in, want := range map[string]string{
		"nginx.service": "nginx.service",
		"10.20.0.1":     "10.20.0.1",
		"a b":           "'a b'",
		"":              "''",
		"it's":          `'it'\''s'`,
	} {
		if got := Quote(in); got != want {
			t.Errorf("Quote(%q) = %s, want %s", in, got, want)
		}
	}
	if got := Join([]string{"systemctl", "is-active", "my unit"}); got != "systemctl is-active 'my unit'" {
		t.Errorf("Join = %s", got)
	}
}

func run(t *testing.T, cmd Command) (Result, []Line, error) {
	t.Helper()
	var lines []Line
	res, err := Local{}.Run(context.Background(), cmd, func(l Line) { lines = append(lines, l) })
	return res, lines, err
}

func TestLocalStreamsBothStreamsAndExitCode(t *testing.T) {
	res, lines, err := run(t, Command{Script: "echo one; echo two >&2; printf 'no newline'; exit 3"})
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 3 {
		t.Errorf("exit = %d, want 3", res.ExitCode)
	}
	var out, errs []string
	for _, l := range lines {
		if l.Stream == Stdout {
			out = append(out, l.Text)
		} else {
			errs = append(errs, l.Text)
		}
	}
	if strings.Join(out, "|") != "one|no newline" || strings.Join(errs, "|") != "two" {
		t.Errorf("stdout %q stderr %q", out, errs)
	}
}

func TestLocalArgvIsNotParsedByAShell(t *testing.T) {
	_, lines, err := run(t, Command{Argv: []string{"printf", "%s", "$(id) ; echo pwned"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 1 || lines[0].Text != "$(id) ; echo pwned" {
		t.Errorf("lines = %+v", lines)
	}
}

func TestLocalTimeoutKillsTheProcessGroup(t *testing.T) {
	start := time.Now()
	// The background sleep would hold stdout open for 30 s if only the shell were killed.
	_, _, err := run(t, Command{Script: "sleep 30 & sleep 30", Timeout: 200 * time.Millisecond})
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s: process group was not killed", d)
	}
}

func TestLocalCancelledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	started := make(chan struct{})
	go func() {
		_, err := Local{}.Run(ctx, Command{Script: "echo ready; sleep 30"}, func(Line) { close(started) })
		done <- err
	}()
	<-started
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestLocalMissingExecutable(t *testing.T) {
	_, _, err := run(t, Command{Argv: []string{"/nonexistent/cutover-test"}})
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/cutover-test") {
		t.Errorf("err = %v", err)
	}
}

func TestLocalSplitsOverlongLines(t *testing.T) {
	_, lines, err := run(t, Command{Script: "head -c 150000 /dev/zero | tr '\\0' x"})
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, l := range lines {
		if len(l.Text) > maxLine {
			t.Fatalf("line of %d bytes exceeds %d", len(l.Text), maxLine)
		}
		total += len(l.Text)
	}
	if total != 150000 || len(lines) != 3 {
		t.Errorf("got %d bytes in %d lines", total, len(lines))
	}
}
