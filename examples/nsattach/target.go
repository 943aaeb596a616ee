package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"nucleus/state"
	"nucleus/state/engine"
)

// lookupTimeout bounds the search of every engine for a name.
const lookupTimeout = 15 * time.Second

// containerArg takes CONTAINER, the first argument, when it is not "--".
func containerArg(args []string) (string, []string) {
	if len(args) == 0 || args[0] == "--" {
		return "", args
	}
	return args[0], args[1:]
}

// resolveTarget finds the container named name (a name, ID or unique ID
// prefix) in every engine engine.Find searches.
func resolveTarget(name string) (*state.ContainerState, error) {
	ctx, cancel := context.WithTimeout(context.Background(), lookupTimeout)
	defer cancel()
	return engine.Find(ctx, name)
}

// listContainers prints what engine.List sees, one container a line, and
// returns the exit code: 255 when an engine failed (what it saw is printed
// all the same).
func listContainers(w io.Writer) int {
	ctx, cancel := context.WithTimeout(context.Background(), lookupTimeout)
	defer cancel()
	list, err := engine.List(ctx)
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "ENGINE\tNAME\tID\tPID\tSTATUS")
	for _, c := range list {
		id := c.ID
		if len(id) > 12 && !strings.ContainsRune(id, '-') {
			id = id[:12]
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", c.Engine, printable(c.Name), printable(id), c.PID, printable(c.Status))
	}
	tw.Flush()
	if err != nil {
		return fail(err)
	}
	return 0
}

// printable quotes a value an engine reported when it holds anything but
// printable characters, so that a name cannot rewrite the terminal.
func printable(s string) string {
	for _, r := range s {
		if !unicode.IsPrint(r) || r == '\t' {
			return strconv.Quote(s)
		}
	}
	return s
}
