package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/ssh"
	"github.com/charmbracelet/wish"
	"github.com/charmbracelet/wish/activeterm"
	bm "github.com/charmbracelet/wish/bubbletea"

	"github.com/cutover/cutover/runbook"
	"github.com/cutover/cutover/runbook/transcript"
	"github.com/cutover/cutover/ui"
)

// shadowServer serves the read-only console of a live run over SSH: every trainee who logs in
// with a key from the authorized keys file follows the journal from its start.
type shadowServer struct {
	srv  *ssh.Server
	addr string
}

// defaultShadowHostKey is where the shadow server keeps its host key, so trainees' known_hosts
// stay valid from one run to the next.
func defaultShadowHostKey() string {
	dir, err := os.UserConfigDir()
	if err != nil {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "cutover", "shadow_host_key")
}

func startShadowServer(addr, authorizedKeys, hostKey, journal string) (*shadowServer, error) {
	if authorizedKeys == "" {
		return nil, errors.New("--shadow-listen needs --shadow-authorized-keys: shadows log in with their own keys")
	}
	if _, err := os.Stat(authorizedKeys); err != nil {
		return nil, fmt.Errorf("--shadow-authorized-keys: %w", err)
	}
	if hostKey == "" {
		hostKey = defaultShadowHostKey()
	}
	if err := os.MkdirAll(filepath.Dir(hostKey), 0o700); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--shadow-listen %s: %w", addr, err)
	}
	srv, err := wish.NewServer(
		wish.WithHostKeyPath(hostKey),
		wish.WithAuthorizedKeys(authorizedKeys),
		wish.WithIdleTimeout(12*time.Hour),
		wish.WithMiddleware(
			bm.Middleware(func(sess ssh.Session) (tea.Model, []tea.ProgramOption) {
				feed := ui.NewFeed(4096)
				ctx := sess.Context()
				go func() {
					send := func(ev runbook.Event) {
						select {
						case feed.Send() <- ev:
						case <-ctx.Done():
						}
					}
					transcript.Follow(ctx, journal, 100*time.Millisecond, send)
					feed.Close()
				}()
				return ui.New(ui.Options{Mode: "SHADOW", Events: feed.Events()}), []tea.ProgramOption{tea.WithAltScreen()}
			}),
			activeterm.Middleware(), // a console needs a terminal: ssh -t
		),
	)
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("shadow server: %w", err)
	}
	go srv.Serve(ln)
	return &shadowServer{srv: srv, addr: ln.Addr().String()}, nil
}

func (s *shadowServer) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s.srv.Shutdown(ctx)
	s.srv.Close()
}
