package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/hspc/marketplace/catalog"
)

// loadCacheFlag is the --load-cache flag of the commands that load the catalog: a folder
// keeping each product file's load and validation result between runs, keyed by a hash of its
// content and of everything its checks depend on.
type loadCacheFlag struct{ dir string }

func (l *loadCacheFlag) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&l.dir, "load-cache", defaultLoadCacheDir(), "`DIR` keeping parsed and validated product files between runs, keyed by content (\"\" for none)")
}

// open returns the cache of the catalog at root, or nil when caching is off.
func (l *loadCacheFlag) open(root string) *catalog.Cache {
	if l.dir == "" {
		return nil
	}
	return catalog.OpenCache(catalog.CacheFile(l.dir, root))
}

// save keeps what the run learnt. A cache that cannot be written slows the next run down and
// breaks nothing, so it is a note, not an error.
func (l *loadCacheFlag) save(cache *catalog.Cache, stderr io.Writer) {
	if cache == nil {
		return
	}
	if note := cache.Note(); note != "" { // the check read more than it needed to: say why
		fmt.Fprintf(stderr, "note: %s\n", note)
	}
	if err := cache.Save(); err != nil {
		fmt.Fprintf(stderr, "note: %v\n", err)
	}
}

func defaultLoadCacheDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "marketplace", "load")
}
