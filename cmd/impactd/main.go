// Command impactd turns a charity's Stripe donations into personal impact
// letters: PDF statements of each supporter's gifts beside what the charity
// achieved, emailed every period. See README.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	_ "time/tzdata" // the container image has no zoneinfo

	"impactd/internal/app"
	"impactd/internal/domain"
)

func main() {
	app.TuneGC(os.Getenv)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "impactd:", message(err))
		os.Exit(1)
	}
}

// run is impactd: main only calls it, so tests can run the real program.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	root := rootCommand(getenv, stdout, stderr)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	return root.ExecuteContext(ctx)
}

// message is how an error reads on the terminal: a domain error's code
// ("not_found: …") is for programs and logs, so a person sees its message.
func message(err error) string {
	s := err.Error()
	var e *domain.Error
	if errors.As(err, &e) {
		s = strings.Replace(s, e.Error(), e.Message, 1)
	}
	return s
}
