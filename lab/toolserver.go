package lab

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
)

// The lab's commands run as real processes under /bin/sh on the lab hosts, so that shell syntax,
// pipes and timeouts behave as on a real host. Each command in toolNames is a link to the cutover
// executable; started under that name, it asks the lab process (over a unix socket) to answer from
// the host model, and prints the answer.

const (
	envSock = "CUTOVER_LAB_SOCK"
	envHost = "CUTOVER_LAB_HOST"
)

type toolRequest struct {
	Host string   `json:"host"`
	Argv []string `json:"argv"`
}

type toolReply struct {
	Out  *string `json:"o,omitempty"`
	Err  *string `json:"e,omitempty"`
	Exit *int    `json:"x,omitempty"`
}

// IsTool tells whether this process was started as one of the lab's commands.
func IsTool() bool {
	return slices.Contains(toolNames, filepath.Base(os.Args[0])) && os.Getenv(envSock) != ""
}

// RunTool is main() for a lab command: it forwards argv to the lab and relays the answer. It
// returns the exit code.
func RunTool() int {
	name := filepath.Base(os.Args[0])
	c, err := net.Dial("unix", os.Getenv(envSock))
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: lab is not running: %v\n", name, err)
		return 127
	}
	defer c.Close()
	// A signal ends the command; closing the socket tells the lab to stop answering.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	go func() { <-sig; c.Close(); os.Exit(143) }()
	req, _ := json.Marshal(toolRequest{Host: os.Getenv(envHost), Argv: append([]string{name}, os.Args[1:]...)})
	if _, err := c.Write(append(req, '\n')); err != nil {
		return 127
	}
	sc := bufio.NewScanner(c)
	sc.Buffer(nil, 1<<20)
	stdout, stderr := bufio.NewWriter(os.Stdout), bufio.NewWriter(os.Stderr)
	defer stdout.Flush()
	defer stderr.Flush()
	for sc.Scan() {
		var r toolReply
		if json.Unmarshal(sc.Bytes(), &r) != nil {
			continue
		}
		switch {
		case r.Out != nil:
			stdout.WriteString(*r.Out + "\n")
			if name == "ping" {
				stdout.Flush() // a watch reads ping line by line
			}
		case r.Err != nil:
			stderr.WriteString(*r.Err + "\n")
		case r.Exit != nil:
			return *r.Exit
		}
	}
	return 1
}

// toolServer answers lab commands from the host model.
type toolServer struct {
	lab  *Lab
	ln   net.Listener
	wg   sync.WaitGroup
	stop context.CancelFunc
}

func (l *Lab) serveTools(path string) (*toolServer, error) {
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("lab tools: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ts := &toolServer{lab: l, ln: ln, stop: cancel}
	ts.wg.Add(1)
	go func() {
		defer ts.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			ts.wg.Add(1)
			go func() { defer ts.wg.Done(); ts.handle(ctx, c) }()
		}
	}()
	return ts, nil
}

func (ts *toolServer) close() {
	ts.stop()
	ts.ln.Close()
	ts.wg.Wait()
}

func (ts *toolServer) handle(ctx context.Context, c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	line, err := br.ReadBytes('\n')
	if err != nil {
		return
	}
	var req toolRequest
	if err := json.Unmarshal(line, &req); err != nil {
		return
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { // the client going away (killed) cancels the command
		io.Copy(io.Discard, br)
		cancel()
	}()
	var mu sync.Mutex
	enc := json.NewEncoder(c)
	send := func(r toolReply) {
		mu.Lock()
		defer mu.Unlock()
		if enc.Encode(r) != nil {
			cancel()
		}
	}
	h := ts.lab.host(req.Host)
	code := 127
	if h == nil {
		msg := fmt.Sprintf("lab: no host %q", req.Host)
		send(toolReply{Err: &msg})
	} else {
		code = ts.lab.runTool(ctx, h, req.Argv, out{
			stdout: func(s string) { send(toolReply{Out: &s}) },
			stderr: func(s string) { send(toolReply{Err: &s}) },
		})
	}
	if !errors.Is(ctx.Err(), context.Canceled) {
		send(toolReply{Exit: &code})
	}
}
