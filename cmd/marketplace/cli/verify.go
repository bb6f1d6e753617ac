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
	"github.com/hspc/marketplace/catalog/federate"
	"github.com/hspc/marketplace/catalog/gitrepo"
	"github.com/hspc/marketplace/catalog/review"
	"github.com/hspc/marketplace/catalog/verify"
)

func newVerify(g *globals) *cobra.Command {
	var (
		offline                                        bool
		jobs                                           int
		format, material, cacheDir, trustedRoot, write string
		upstreams                                      federate.UpstreamOptions
		changedSince, ref                              string
	)
	cmd := &cobra.Command{
		Use:   "verify [PRODUCT...]",
		Short: "Check every build's image and its cosign signature against the declaration",
		Long: `verify checks, for every build (or those of the named products): that the image exists at
its pinned digest with a linux/amd64 or linux/386 image, that its configuration matches the
declaration (ports, VOLUME, size, HEALTHCHECK, user), and that a cosign signature over exactly
that digest verifies with one of the publisher's signers.

Results are cached by digest (digests are immutable), so a warm run sends no request. With
--offline nothing is sent: signatures are re-verified cryptographically from signature material
(the catalog's signatures/ folder by default, or the signatures/ of a built site).

--changed-since REV verifies only the products whose files differ from the merge base of REV,
as a pull request's check does; --ref REV reads the catalog from that Git revision instead of the
work tree.`,
		Example: `  marketplace verify --offline
  marketplace verify acme/fhir
  marketplace verify --write-material signatures
  marketplace verify --changed-since origin/main   # a pull request's changed products only`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !slices.Contains(catalog.Formats, format) {
				return fmt.Errorf("unknown --format %q (want %s)", format, strings.Join(catalog.Formats, ", "))
			}
			root, err := g.catalogRoot()
			if err != nil {
				return err
			}
			var fsys fs.FS = os.DirFS(root)
			if ref != "" {
				// From Git objects: a checkout's symlinks cannot lead the checks out of the catalog.
				repo, err := gitrepo.Open(root)
				if err != nil {
					return err
				}
				defer repo.Close()
				if fsys, _, err = repo.FS(ref); err != nil {
					return err
				}
			}
			c, ds := catalog.Check(fsys)
			if ds.HasErrors() {
				ds.Write(g.stdout, format)
				return problemsError{fmt.Sprintf("verify: the catalog has %s; run marketplace validate", plural(ds.Errors(), "error"))}
			}
			upstreams.Offline = offline
			fed, fds := federate.Federate(cmd.Context(), fsys, c, upstreams.At(root))
			defer fed.Close()
			if fds.HasErrors() {
				fds.Write(g.stdout, format)
				return problemsError{fmt.Sprintf("verify: the upstreams have %s; run marketplace validate", plural(fds.Errors(), "error"))}
			}
			c = fed.Catalog
			for _, id := range args {
				if c.Products[id] == nil {
					return fmt.Errorf("no product %s in the catalog", id)
				}
			}
			if changedSince != "" {
				if len(args) > 0 {
					return errors.New("--changed-since selects the products itself; it takes no PRODUCT arguments")
				}
				if args, err = changedProducts(root, changedSince, ref, c); err != nil {
					return err
				}
				if len(args) == 0 {
					fmt.Fprintf(g.stderr, "verify: no product changed since the merge base with %s; nothing to verify\n", changedSince)
					return nil
				}
			}
			if material == "" {
				material = verify.DefaultMaterial(root)
			}
			report, vds := fed.Verify(cmd.Context(), args, verify.Options{
				Jobs: jobs, Offline: offline, Material: material, CacheDir: cacheDir,
				TrustedRoot: trustedRoot, Progress: g.terminal(),
			})
			if err := vds.Write(g.stdout, format); err != nil {
				return err
			}
			if write != "" && !vds.HasErrors() {
				if err := report.WriteMaterial(write); err != nil {
					return err
				}
			}
			verified := 0
			for _, m := range report.Images {
				if m.Result != nil && m.Result.Verified {
					verified++
				}
			}
			mode := "online"
			if offline {
				mode = "offline, from " + material
			}
			summary := fmt.Sprintf("verify (%s): %d of %d images signed by a declared signer; %s, %s",
				mode, verified, len(report.Images), plural(vds.Errors(), "error"), plural(len(vds)-vds.Errors(), "warning"))
			if vds.HasErrors() {
				return problemsError{summary}
			}
			fmt.Fprintln(g.stderr, summary)
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&offline, "offline", false, "re-verify from signature material only; contact no registry")
	f.IntVar(&jobs, "jobs", 0, "images verified at once (default 8)")
	f.StringVar(&format, "format", "text", "diagnostics `FORMAT`: text, github or json")
	f.StringVar(&material, "material", "", "signature material `DIR` (default: the catalog's signatures/ folder)")
	f.StringVar(&cacheDir, "cache", defaultCacheDir(), "verification cache `DIR` (\"\" for none)")
	f.StringVar(&trustedRoot, "trusted-root", "", "Sigstore trusted_root.json `FILE` for keyless signers")
	f.StringVar(&write, "write-material", "", "write the verified material into `DIR` (e.g. signatures)")
	upstreamFlags(f, &upstreams)
	f.StringVar(&changedSince, "changed-since", "", "verify only the products whose files changed since the merge base with `REV`")
	f.StringVar(&ref, "ref", "", "verify the catalog at Git revision `REV` instead of the work tree")
	return cmd
}

// changedProducts lists the products of c whose files differ between the merge base of rev and
// ref, and ref (the work tree when ref is "").
func changedProducts(root, rev, ref string, c *catalog.Catalog) ([]string, error) {
	repo, err := gitrepo.Open(root)
	if err != nil {
		return nil, err
	}
	defer repo.Close()
	mb, err := repo.MergeBase(rev, ref)
	if err != nil {
		return nil, err
	}
	files, err := repo.ChangedFiles(mb, ref)
	if err != nil {
		return nil, err
	}
	return review.ChangedProducts(files, c), nil
}

// defaultCacheDir is where verification results are cached: digests are immutable, so entries
// never go stale.
func defaultCacheDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "marketplace", "verify")
}
