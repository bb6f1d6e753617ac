package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hspc/marketplace/catalog"
)

func newNew(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "new PUBLISHER/PRODUCT",
		Short: "Scaffold a commented product file that validates as it is",
		Long: `new writes products/PUBLISHER/PRODUCT.toml and a placeholder logo, and
products/PUBLISHER/publisher.toml when the publisher is new. It never overwrites a file.`,
		Example: "  marketplace new acme/fhir",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			root, err := g.catalogRoot()
			if err != nil {
				return err
			}
			pub, _, _ := strings.Cut(args[0], "/")
			_, statErr := os.Stat(filepath.Join(root, catalog.ProductsDir, pub, catalog.PublisherFile))
			files, err := catalog.Scaffold(args[0], errors.Is(statErr, fs.ErrNotExist))
			if err != nil {
				return err
			}
			names := slices.Sorted(maps.Keys(files))
			for _, n := range names {
				if _, err := os.Lstat(filepath.Join(root, filepath.FromSlash(n))); err == nil {
					return fmt.Errorf("%s already exists; not overwriting it", n)
				}
			}
			for _, n := range names {
				full := filepath.Join(root, filepath.FromSlash(n))
				if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
					return err
				}
				f, err := os.OpenFile(full, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
				if err != nil {
					return err
				}
				_, werr := f.Write(files[n])
				if cerr := f.Close(); werr == nil {
					werr = cerr
				}
				if werr != nil {
					return fmt.Errorf("writing %s: %w", n, werr)
				}
				fmt.Fprintf(g.stdout, "created %s\n", n)
			}
			fmt.Fprintf(g.stdout, "next: fill in %s, then run `marketplace validate %s`\n",
				path.Join(catalog.ProductsDir, args[0]+".toml"), path.Join(catalog.ProductsDir, args[0]+".toml"))
			return nil
		},
	}
}
