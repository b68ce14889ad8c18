package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// errInterrupted is returned by a command that stopped early, cleanly,
// because of SIGINT or SIGTERM; the process exits with status 130.
var errInterrupted = errors.New("interrupted")

// exitInterrupted is the exit status after SIGINT (128 + 2), as shells use.
const exitInterrupted = 130

// interruptible returns a context canceled at the first SIGINT or SIGTERM,
// so the command can finish what it is doing, leave its outputs whole and
// return an error wrapping errInterrupted. A second signal exits the process
// at once with status 130. stop restores the default handling.
func interruptible(stderr io.Writer) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case s := <-sig:
			fmt.Fprintf(stderr, "\nloom: %v: stopping cleanly (press Ctrl-C again to quit at once)\n", s)
			cancel()
		case <-done:
			return
		}
		select {
		case <-sig:
			fmt.Fprintln(stderr, "loom: second interrupt: quitting at once")
			os.Exit(exitInterrupted)
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(sig)
		close(done)
		cancel()
	}
}
