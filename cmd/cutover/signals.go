package main

import (
	"context"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// interruptSignals end a run: Ctrl-C, a kill, a lost terminal, Ctrl-\. Each is journaled as the
// interruption it is and the journal is signed before cutover exits with 128+signal.
var interruptSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT}

// signalCause is why a run's context ended: "hangup signal received".
type signalCause struct{ sig syscall.Signal }

func (c signalCause) Error() string { return c.sig.String() + " signal received" }

// interrupts turns the first interrupting signal into the cancellation of a context, the signal as
// its cause. Later signals are absorbed while the run journals its end: dying then would leave an
// unsigned journal and the lab's keys on disk.
type interrupts struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	ch     chan os.Signal
	done   chan struct{}
	mu     sync.Mutex
	got    syscall.Signal
}

func watchInterrupts() *interrupts {
	ctx, cancel := context.WithCancelCause(context.Background())
	i := &interrupts{ctx: ctx, cancel: cancel, ch: make(chan os.Signal, 4), done: make(chan struct{})}
	signal.Notify(i.ch, interruptSignals...)
	go func() {
		for {
			select {
			case s := <-i.ch:
				sig, _ := s.(syscall.Signal)
				i.mu.Lock()
				if i.got == 0 {
					i.got = sig
					i.cancel(signalCause{sig})
				}
				i.mu.Unlock()
			case <-i.done:
				return
			}
		}
	}()
	return i
}

// signal is the signal that interrupted the run, or 0.
func (i *interrupts) signal() syscall.Signal {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.got
}

// exitCode is 128+signal after an interrupting signal, else code.
func (i *interrupts) exitCode(code int) int {
	if s := i.signal(); s != 0 {
		return 128 + int(s)
	}
	return code
}

func (i *interrupts) stop() {
	signal.Stop(i.ch)
	close(i.done)
	i.cancel(nil)
}
