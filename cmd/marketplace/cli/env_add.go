package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hspc/marketplace/catalog"
	"github.com/hspc/marketplace/catalog/env"
)

func newEnvAdd(g *globals) *cobra.Command {
	var withDeps bool
	cmd := &cobra.Command{
		Use:   "add FILE PUBLISHER/PRODUCT[@VERSION|@CONSTRAINT] [--with-deps]",
		Short: "Add a service version to an environment",
		Long: `add appends a [[services]] entry for the product to the environment file, leaving the rest
of the file as it is. Without @VERSION it records "^MAJOR" of the newest release; a constraint
such as @^5 or @~5.0 is recorded as given.

--with-deps also adds, for every required dependency nothing in the environment provides, the one
catalog product that provides it, transitively. Where several products could, or none does, it
says so: add one yourself, or declare an [[externals]] entry for a service the site already runs.

The file is rewritten atomically; the lock is updated when the environment resolves cleanly.
Problems that remain (required parameters without a value, dependencies to bind) are printed and
make the exit status 1, with the file already updated.`,
		Example: `  marketplace env add environments/fhir.toml acme/fhir@^5 --with-deps
  marketplace env add environments/fhir.toml openhealth/postgres@17.7.0`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := args[0]
			product, version, _ := strings.Cut(args[1], "@")
			if pub, prod, ok := strings.Cut(product, "/"); !ok || !catalog.IDPattern.MatchString(pub) || !catalog.IDPattern.MatchString(prod) {
				return fmt.Errorf("%q is not PUBLISHER/PRODUCT[@VERSION]", args[1])
			}
			f, err := g.openEnv(path)
			if err != nil {
				return err
			}
			c, err := g.checkedCatalog()
			if err != nil {
				return err
			}
			added, notes, err := env.Additions(c, f.env, product, version, withDeps)
			if err != nil {
				return problemsError{fmt.Sprintf("%s: %v", args[1], err)}
			}
			data := env.AppendServices(f.data, added)
			e, _ := env.Load(f.env.Path, data)
			if e == nil {
				return fmt.Errorf("internal error: the updated %s does not parse", path)
			}
			if err := writeAtomic(path, data, 0o644); err != nil {
				return err
			}
			for _, s := range added {
				fmt.Fprintf(g.stdout, "added %s: %s@%s\n", s.Name, s.Product, s.Version)
			}
			for _, n := range notes {
				fmt.Fprintf(g.stderr, "note: %s\n", n)
			}
			f.data, f.env = data, e
			res, err := g.resolve(c, f, false)
			if err != nil {
				if pe, ok := err.(problemsError); ok {
					pe.summary = fmt.Sprintf("%s updated; %s still to resolve before export", path, strings.TrimPrefix(pe.summary, path+": "))
					return pe
				}
				return err
			}
			g.printNotes(res)
			return writeLock(f, res)
		},
	}
	cmd.Flags().BoolVar(&withDeps, "with-deps", false, "also add the catalog products that provide its missing required dependencies")
	return cmd
}
