package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/ssh"
	"github.com/charmbracelet/wish"
	"github.com/charmbracelet/wish/activeterm"
	bm "github.com/charmbracelet/wish/bubbletea"

	gossh "golang.org/x/crypto/ssh"

	"github.com/cutover/cutover/internal/termsafe"
	"github.com/cutover/cutover/runbook"
	"github.com/cutover/cutover/runbook/transcript"
	"github.com/cutover/cutover/ui"
)

// shadowServer serves the read-only console of a live run over SSH: every trainee who logs in
// with a key from the authorized keys file follows the journal from its start.
type shadowServer struct {
	srv  *ssh.Server
	addr string

	mu       sync.Mutex
	sessions map[ssh.Session]string // who is watching: the key's comment in authorized_keys
}

// watching names the shadows connected now, for the operator's header and key list.
func (s *shadowServer) watching() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, who := range s.sessions {
		out = append(out, who)
	}
	slices.Sort(out)
	return out
}

// track keeps the list of who watches, while each session lasts.
func (s *shadowServer) track(comments map[string]string) wish.Middleware {
	return func(next ssh.Handler) ssh.Handler {
		return func(sess ssh.Session) {
			who := sess.User() + " from " + sess.RemoteAddr().String()
			if k := sess.PublicKey(); k != nil {
				who = gossh.FingerprintSHA256(k)
				if c := comments[string(k.Marshal())]; c != "" {
					who = c + " (" + who + ")"
				}
			}
			s.mu.Lock()
			s.sessions[sess] = termsafe.Text(who)
			s.mu.Unlock()
			defer func() {
				s.mu.Lock()
				delete(s.sessions, sess)
				s.mu.Unlock()
			}()
			next(sess)
		}
	}
}

// keyComments reads the comment of every key in an authorized_keys file, by the key's wire form.
func keyComments(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for len(bytes.TrimSpace(data)) > 0 {
		k, comment, _, rest, err := gossh.ParseAuthorizedKey(data)
		if err != nil {
			break // wish refuses the file's bad lines on its own; the names are a courtesy
		}
		out[string(k.Marshal())] = comment
		data = rest
	}
	return out, nil
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
	comments, err := keyComments(authorizedKeys)
	if err != nil {
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
	sh := &shadowServer{sessions: map[ssh.Session]string{}}
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
				return ui.New(ui.Options{Mode: "SHADOW", Events: feed.Events(), NoColor: noColor()}), []tea.ProgramOption{tea.WithAltScreen()}
			}),
			activeterm.Middleware(), // a console needs a terminal: ssh -t
			sh.track(comments),      // the last runs first: a shadow counts from login to logout
		),
	)
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("shadow server: %w", err)
	}
	go srv.Serve(ln)
	sh.srv, sh.addr = srv, ln.Addr().String()
	return sh, nil
}

func (s *shadowServer) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s.srv.Shutdown(ctx)
	s.srv.Close()
}
