package main

import (
	"fmt"
	"io"
)

// command is a verb's or a subcommand's entry point.
type command = func(args []string, stdout, stderr io.Writer) error

// withSubcommands returns the entry point of a verb made of subcommands (loom
// graph train|eval): it runs args[0]'s, prints usage for help (to stdout)
// or for no subcommand (to stderr, a usage error), and names an unknown
// one.
func withSubcommands(name, usage string, subs map[string]command) command {
	return func(args []string, stdout, stderr io.Writer) error {
		if len(args) == 0 {
			fmt.Fprintln(stderr, usage)
			return errUsage
		}
		if run, ok := subs[args[0]]; ok {
			return run(args[1:], stdout, stderr)
		}
		switch args[0] {
		case "-h", "--help", "help":
			fmt.Fprintln(stdout, usage)
			return nil
		}
		fmt.Fprintf(stderr, "loom %s: unknown command %q\n%s\n", name, args[0], usage)
		return errUsage
	}
}
