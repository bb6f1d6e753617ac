package cli

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/hspc/marketplace/generator"
	"github.com/hspc/marketplace/theme"
)

func newBuild(g *globals) *cobra.Command {
	var (
		out, ref, themeDir, material, cacheDir, trustedRoot string
		offline, noVerify                                   bool
		jobs                                                int
		loadCache                                           loadCacheFlag
	)
	cmd := &cobra.Command{
		Use:   "build",
		Short: "Build the static site, JSON API, feed, badges and deploy manifests",
		Long: `build validates the catalog, verifies every image and its signature, and writes the
outputs into -o DIR atomically: into a temporary folder first, which then replaces DIR, so a
failed build leaves the previous output as it was. Pages whose inputs did not change are reused
from the previous output. Dates come from Git history.

With --offline, signatures are re-verified from signature material (the catalog's signatures/
folder, or --material DIR) and no registry is contacted.`,
		Example: `  marketplace build --offline -o public
  marketplace build --ref v2026.11 -o public`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			root, err := g.catalogRoot()
			if err != nil {
				return err
			}
			opts := generator.Options{
				Root: root, Ref: ref, Out: out, Jobs: jobs, Theme: theme.FS,
				Material: material, CacheDir: cacheDir, TrustedRoot: trustedRoot,
				Log: g.stderr, Progress: g.terminal(), LoadCache: loadCache.open(root),
			}
			if themeDir != "" {
				if _, err := os.Stat(themeDir); err != nil {
					return fmt.Errorf("--theme: %w", err)
				}
				opts.Theme = os.DirFS(themeDir)
			}
			switch {
			case noVerify:
				opts.Verify = generator.VerifySkip
			case offline:
				opts.Verify = generator.VerifyOffline
			}
			res, err := generator.Build(cmd.Context(), opts)
			loadCache.save(opts.LoadCache, g.stderr)
			if res != nil && len(res.Diagnostics) > 0 {
				res.Diagnostics.Write(g.stdout, "text")
			}
			if errors.Is(err, generator.ErrInvalid) {
				return problemsError{fmt.Sprintf("build: %v; nothing written", err)}
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stderr, "built %s: %d products, %d pages (%d rendered, %d reused) in %s\n",
				out, len(res.Catalog.Products), res.Stats.Pages, res.Stats.Rendered, res.Stats.Reused, res.Elapsed.Round(1e6))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&out, "out", "o", "public", "output `DIR`, replaced atomically")
	f.StringVar(&ref, "ref", "", "build the catalog at Git revision `REV` instead of the work tree")
	f.BoolVar(&offline, "offline", false, "verify signatures from signature material only; contact no registry")
	f.BoolVar(&noVerify, "no-verify", false, "skip image verification (every image shows as unchecked)")
	f.IntVar(&jobs, "jobs", 0, "parallel workers (default: number of CPUs)")
	f.StringVar(&themeDir, "theme", "", "theme `DIR` with templates/ and static/ (default: the embedded theme)")
	f.StringVar(&material, "material", "", "signature material `DIR` (default: the catalog's signatures/ folder)")
	f.StringVar(&cacheDir, "cache", defaultCacheDir(), "verification cache `DIR`")
	f.StringVar(&trustedRoot, "trusted-root", "", "Sigstore trusted_root.json `FILE` for keyless signers")
	loadCache.register(cmd)
	cmd.MarkFlagsMutuallyExclusive("offline", "no-verify")
	return cmd
}
