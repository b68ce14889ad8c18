// Command loom builds, trains, compresses, analyses and serves transformer
// models in pure Go. Run `loom help` for the verbs.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strings"

	"github.com/loomml/loom/internal/registry"
)

// verb is one `loom VERB` command.
type verb struct {
	summary string
	run     func(args []string, stdout, stderr io.Writer) error
}

// verbs is filled by the init functions of the files named after each verb.
var verbs = registry.New[verb]("command")

func register(name, summary string, run func(args []string, stdout, stderr io.Writer) error) {
	verbs.Register(name, verb{summary: summary, run: run})
}

func main() {
	// LOOM_CPUPROFILE=FILE profiles any command (for performance work).
	if path := os.Getenv("LOOM_CPUPROFILE"); path != "" {
		if f, err := os.Create(path); err == nil {
			pprof.StartCPUProfile(f)
			code := run(os.Args[1:], os.Stdout, os.Stderr)
			pprof.StopCPUProfile()
			f.Close()
			os.Exit(code)
		}
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches to a verb and returns the process exit code: 0 on success,
// 2 for usage errors, 130 after a clean stop on SIGINT or SIGTERM, 1 for
// failures.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		if len(args) > 1 {
			v, ok := verbs.Lookup(args[1])
			if !ok {
				fmt.Fprintf(stderr, "loom help: unknown command %q\n\n", args[1])
				usage(stderr)
				return 2
			}
			return exitCode(v.run([]string{"--help"}, stdout, stderr), stderr)
		}
		usage(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	v, ok := verbs.Lookup(args[0])
	if !ok {
		fmt.Fprintf(stderr, "loom: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	return exitCode(v.run(args[1:], stdout, stderr), stderr)
}

func exitCode(err error, stderr io.Writer) int {
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	case errors.Is(err, errInterrupted):
		fmt.Fprintln(stderr, "loom:", err)
		return exitInterrupted
	}
	fmt.Fprintln(stderr, "loom:", err)
	return 1
}

// errUsage marks errors already reported by a flag set.
var errUsage = errors.New("usage")

// newFlags returns a flag set for a verb ("eval") or a verb's subcommand
// ("forecast train") whose usage lists the defaults.
func newFlags(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	v, _ := verbs.Lookup(strings.Fields(name)[0])
	return newFlagsSummary(name, synopsis, v.summary, stderr)
}

// flagSetHook, when set (by tests), sees every flag set a command defines
// as it is parsed, so tests can enumerate each command's flags.
var flagSetHook func(*flag.FlagSet)

// newFlagsSummary is newFlags with a summary of its own (a subcommand's).
func newFlagsSummary(name, synopsis, summary string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("loom "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: loom %s %s\n\n%s\n\nflags (defaults in parentheses):\n", name, synopsis, summary)
		printDefaults(fs)
	}
	return fs
}

// givenFlags is the set of flags given on the command line (as opposed to
// left at their defaults).
func givenFlags(fs *flag.FlagSet) map[string]bool {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	return given
}

// parse parses args, mapping flag errors to errUsage (already printed).
//
// A bad flag prints the flag package's message (which names the flag and,
// for numeric flags, the valid range) and a pointer to --help, not the
// whole usage, so the message is not buried.
func parse(fs *flag.FlagSet, args []string) error {
	if flagSetHook != nil {
		flagSetHook(fs)
	}
	full := fs.Usage
	fs.Usage = func() {}
	err := fs.Parse(args)
	fs.Usage = full
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			full()
			return err
		}
		fmt.Fprintf(fs.Output(), "(%s --help lists the flags)\n", fs.Name())
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "%s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		fs.Usage()
		return errUsage
	}
	return nil
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "loom: build, train, compress, analyse and serve transformer models in pure Go.")
	fmt.Fprintln(w, "\nusage: loom COMMAND [flags]   (loom help COMMAND for its flags)")
	fmt.Fprintln(w, "\ncommands:")
	for _, n := range verbs.Names() {
		v, _ := verbs.Lookup(n)
		fmt.Fprintf(w, "  %-12s %s\n", n, strings.SplitN(v.summary, "\n", 2)[0])
	}
}
