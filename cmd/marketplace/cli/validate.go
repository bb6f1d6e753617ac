package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hspc/marketplace/catalog"
)

func newValidate(g *globals) *cobra.Command {
	var (
		format    string
		loadCache loadCacheFlag
	)
	cmd := &cobra.Command{
		Use:   "validate [PATH...]",
		Short: "Check the catalog's TOML files and report every problem at once",
		Long: `validate loads index.toml and every publisher and product file, and reports every problem
at once as path:line:col: severity: message (rule N), sorted by file and position.

With PATH arguments (files or folders of the catalog), only problems in those files are shown;
the whole catalog is still loaded, so cross-file checks stay right. Exit status 1 if any error.`,
		Example: `  marketplace validate
  marketplace validate products/acme
  marketplace validate --format github   # annotations in a GitHub Actions job`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !slices.Contains(catalog.Formats, format) {
				return fmt.Errorf("unknown --format %q (want %s)", format, strings.Join(catalog.Formats, ", "))
			}
			root, err := g.catalogRoot()
			if err != nil {
				return err
			}
			filters, err := relPaths(root, args)
			if err != nil {
				return err
			}
			cache := loadCache.open(root)
			c, ds := catalog.CheckCached(os.DirFS(root), cache)
			loadCache.save(cache, g.stderr)
			if len(filters) > 0 {
				ds = slices.DeleteFunc(ds, func(d catalog.Diagnostic) bool { return !underAny(d.Path, filters) })
			}
			if err := ds.Write(g.stdout, format); err != nil {
				return err
			}
			errs, warns := ds.Errors(), len(ds)-ds.Errors()
			summary := fmt.Sprintf("%d products from %d publishers: %s, %s", len(c.Products), len(c.Publishers), plural(errs, "error"), plural(warns, "warning"))
			if errs > 0 {
				return problemsError{summary}
			}
			if format != "json" {
				fmt.Fprintln(g.stderr, summary)
			}
			return nil
		},
	}
	loadCache.register(cmd)
	cmd.Flags().StringVar(&format, "format", "text", "output `FORMAT`: text, github (workflow annotations) or json")
	return cmd
}

// relPaths turns PATH arguments into slash paths relative to the catalog root.
func relPaths(root string, args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		abs, err := filepath.Abs(a)
		if err != nil {
			return nil, err
		}
		if _, err := os.Stat(abs); err != nil && !filepath.IsAbs(a) {
			abs = filepath.Join(root, a) // relative to the catalog, as with -C from elsewhere
		}
		if _, err := os.Stat(abs); err != nil {
			return nil, fmt.Errorf("%s: no such file or folder", a)
		}
		rel, err := filepath.Rel(root, abs)
		if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return nil, fmt.Errorf("%s is outside the catalog %s", a, root)
		}
		out = append(out, filepath.ToSlash(rel))
	}
	return out, nil
}

// underAny reports whether path is one of dirs or inside one of them. A product file also
// covers its asset folder ("products/acme/fhir.toml" covers "products/acme/fhir/").
func underAny(path string, dirs []string) bool {
	for _, d := range dirs {
		if d == "." || path == d || strings.HasPrefix(path, d+"/") || strings.HasPrefix(path, strings.TrimSuffix(d, ".toml")+"/") {
			return true
		}
	}
	return false
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
