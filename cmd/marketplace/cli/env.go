package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hspc/marketplace/catalog"
	"github.com/hspc/marketplace/catalog/env"
)

func newEnv(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "env",
		Short: "Build an environment of services, resolve its dependencies, export and deploy it",
		Long: `env works on an environment file (TOML; environments/<name>.toml by convention): the services
to deploy from the catalog, the services the site already runs (externals), and bindings where a
dependency could be served by more than one of them. See DEPLOYING.md.

The lock beside the file (fhir.toml → fhir.lock) records the build each service resolved to;
export keeps it until --update.`,
	}
	cmd.AddCommand(
		newEnvInit(g),
		newEnvAdd(g),
		newEnvDeps(g),
		newEnvExport(g),
		newEnvApply(g),
	)
	return cmd
}

// checkedCatalog loads and validates the catalog; an invalid catalog is an input problem.
func (g *globals) checkedCatalog() (*catalog.Catalog, error) {
	root, err := g.catalogRoot()
	if err != nil {
		return nil, err
	}
	c, ds := catalog.Check(os.DirFS(root))
	if ds.HasErrors() {
		errs := slices.DeleteFunc(slices.Clone(ds), func(d catalog.Diagnostic) bool { return d.Severity != catalog.Error })
		if err := errs.Write(g.stderr, "text"); err != nil {
			return nil, err
		}
		return nil, problemsError{fmt.Sprintf("the catalog has %s: fix the catalog (marketplace validate) first", plural(len(errs), "error"))}
	}
	return c, nil
}

// envFile is an environment file as read from disk.
type envFile struct {
	path string
	data []byte
	env  *env.Environment
	lock *env.Lock
}

// openEnv reads and loads the environment file at path and its lock. A file that is not TOML is
// an input problem, printed; other problems are left for Resolve, which reports them with its own.
func (g *globals) openEnv(path string) (*envFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("no environment file %s (create one with marketplace env init %s)", path, path)
		}
		return nil, err
	}
	e, ds := env.Load(filepath.ToSlash(path), data)
	if e == nil {
		if err := ds.Write(g.stderr, "text"); err != nil {
			return nil, err
		}
		return nil, problemsError{fmt.Sprintf("%s is not TOML", path)}
	}
	f := &envFile{path: path, data: data, env: e}
	lockPath := env.LockPath(path)
	if lockData, err := os.ReadFile(lockPath); err == nil {
		lock, ds := env.LoadLock(filepath.ToSlash(lockPath), lockData)
		if ds.HasErrors() {
			if err := ds.Write(g.stderr, "text"); err != nil {
				return nil, err
			}
			return nil, problemsError{fmt.Sprintf("the lock %s has problems: fix or delete it", lockPath)}
		}
		f.lock = lock
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	return f, nil
}

// resolve resolves the environment against c and prints its diagnostics; errors make it an input
// problem. The Resolution is returned either way, for commands that show it.
func (g *globals) resolve(c *catalog.Catalog, f *envFile, update bool) (*env.Resolution, error) {
	res, ds := env.Resolve(c, f.env, f.lock, env.Options{Update: update})
	if len(ds) > 0 {
		if err := ds.Write(g.stderr, "text"); err != nil {
			return nil, err
		}
	}
	if n := ds.Errors(); n > 0 {
		return res, problemsError{fmt.Sprintf("%s: %s", f.path, plural(n, "error"))}
	}
	return res, nil
}

// writeLock writes the resolution's lock beside the environment file, when it changed.
func writeLock(f *envFile, res *env.Resolution) error {
	data, err := res.Lock.Marshal()
	if err != nil {
		return err
	}
	path := env.LockPath(f.path)
	if old, err := os.ReadFile(path); err == nil && string(old) == string(data) {
		return nil
	}
	return writeAtomic(path, data, 0o644)
}

// printNotes prints the resolution's notes, one per line.
func (g *globals) printNotes(res *env.Resolution) {
	for _, n := range res.Notes {
		fmt.Fprintf(g.stderr, "note: %s\n", n)
	}
}

// outputDir returns the folder an environment is exported to: -o, or the environment file's
// path without .toml (environments/fhir.toml → environments/fhir/), like a product's asset folder.
func outputDir(envPath, flag string) string {
	if flag != "" {
		return flag
	}
	return strings.TrimSuffix(envPath, filepath.Ext(envPath))
}
