package cli

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/hspc/marketplace/catalog"
	"github.com/hspc/marketplace/catalog/review"
)

func newCodeOwners(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "codeowners",
		Short: "Write .github/CODEOWNERS from the publishers' maintainers and the catalog owners",
		Long: `codeowners writes .github/CODEOWNERS: the catalog owners (index.toml [catalog] owners) own
everything, and each products/<publisher>/ folder belongs to that publisher's maintainers. With
GitHub's "require review from code owners", a pull request then needs the approval that
validate --base checks. validate fails while the committed file is out of date.

Nothing is written when the catalog's files do not load.`,
		Example: "  marketplace codeowners && git add .github/CODEOWNERS",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			root, err := g.catalogRoot()
			if err != nil {
				return err
			}
			c, ds := catalog.Load(os.DirFS(root))
			if ds.HasErrors() {
				ds.Write(g.stdout, "text")
				return problemsError{fmt.Sprintf("codeowners: the catalog has %s; nothing written", plural(ds.Errors(), "error"))}
			}
			want := review.CodeOwners(c)
			file := filepath.Join(root, filepath.FromSlash(review.CodeOwnersFile))
			if have, err := os.ReadFile(file); err == nil && bytes.Equal(have, want) {
				fmt.Fprintf(g.stderr, "%s is up to date\n", review.CodeOwnersFile)
				return nil
			}
			if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
				return err
			}
			// Write beside it, then rename: an interrupted run leaves the old file whole.
			tmp, err := os.CreateTemp(filepath.Dir(file), ".CODEOWNERS-*")
			if err != nil {
				return err
			}
			_, werr := tmp.Write(want)
			if cerr := tmp.Close(); werr == nil {
				werr = cerr
			}
			if werr == nil {
				werr = os.Rename(tmp.Name(), file)
			}
			if werr != nil {
				os.Remove(tmp.Name())
				return fmt.Errorf("writing %s: %w", review.CodeOwnersFile, werr)
			}
			fmt.Fprintf(g.stderr, "wrote %s: %s\n", review.CodeOwnersFile, plural(len(c.Publishers), "publisher"))
			return nil
		},
	}
}
