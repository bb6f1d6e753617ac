// Package cli implements the marketplace command line: one file per subcommand, each built by a
// constructor that writes to the writers it is given, so tests run commands in-process.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/hspc/marketplace/catalog"
)

// Exit codes shared by every subcommand.
const (
	ExitOK       = 0 // all good
	ExitProblems = 1 // the input has problems
	ExitUsage    = 2 // usage or environment error
)

// problemsError reports that the command ran and found problems in the input (exit 1); it has
// already printed them.
type problemsError struct{ summary string }

func (e problemsError) Error() string { return e.summary }

// Execute runs the marketplace command line with args and returns the exit code.
func Execute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	var pe problemsError
	if errors.As(err, &pe) {
		if pe.summary != "" {
			fmt.Fprintln(stderr, pe.summary)
		}
		return ExitProblems
	}
	fmt.Fprintf(stderr, "marketplace: %v\n", err)
	return ExitUsage
}

// globals are the flags every subcommand shares.
type globals struct {
	dir            string // -C: the catalog repository, found upwards from the working directory by default
	stdout, stderr io.Writer
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	g := &globals{stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:   "marketplace",
		Short: "Validate, verify and publish an HSP Marketplace catalog",
		Long: `marketplace turns a Git repository of TOML files describing health services (FHIR
servers, SMART apps, CDS Hooks services, identity providers …) into a checked catalog.

Exit status: 0 ok, 1 the input has problems, 2 usage or environment error.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().StringVarP(&g.dir, "catalog", "C", "", "catalog repository `DIR` (default: the nearest folder upwards holding index.toml)")
	root.AddCommand(
		newValidate(g),
		newNew(g),
		newVerify(g),
		newBuild(g),
		newSearch(g),
		newServe(g),
		newDeploy(g),
		newCodeOwners(g),
		newList(g),
		newEnv(g),
		newAgent(g),
		newTrust(g),
		newSign(g),
		newMirror(g),
		newUpstreams(g),
		newPreview(g),
	)
	return root
}

// terminal returns stderr when it is a terminal, for progress redrawn in place; nil otherwise,
// where commands print one summary line instead.
func (g *globals) terminal() io.Writer {
	if f, ok := g.stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return f
	}
	return nil
}

// path resolves a path given on the command line (an output or index folder): a relative
// path is relative to -C's folder when -C is given, as with git -C and make -C, and to the
// working directory otherwise.
func (g *globals) path(p string) string {
	if g.dir == "" || p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(g.dir, p)
}

// catalogRoot returns the catalog repository to work on: -C, or the nearest directory upwards
// from the working directory that holds index.toml.
func (g *globals) catalogRoot() (string, error) {
	if g.dir != "" {
		abs, err := filepath.Abs(g.dir)
		if err != nil {
			return "", err
		}
		if _, err := os.Stat(filepath.Join(abs, catalog.IndexFile)); err != nil {
			return "", fmt.Errorf("%s is not a catalog repository: no %s", g.dir, catalog.IndexFile)
		}
		return abs, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, catalog.IndexFile)); err == nil {
			return dir, nil
		}
		if filepath.Dir(dir) == dir {
			return "", fmt.Errorf("no %s in %s or any parent folder; run inside a catalog repository or pass -C DIR", catalog.IndexFile, wd)
		}
	}
}
