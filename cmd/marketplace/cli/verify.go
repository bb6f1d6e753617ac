package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hspc/marketplace/catalog"
	"github.com/hspc/marketplace/catalog/federate"
	"github.com/hspc/marketplace/catalog/verify"
)

func newVerify(g *globals) *cobra.Command {
	var (
		offline                                        bool
		jobs                                           int
		format, material, cacheDir, trustedRoot, write string
		upstreams                                      federate.UpstreamOptions
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
(the catalog's signatures/ folder by default, or the signatures/ of a built site).`,
		Example: `  marketplace verify --offline
  marketplace verify acme/fhir
  marketplace verify --write-material signatures`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !slices.Contains(catalog.Formats, format) {
				return fmt.Errorf("unknown --format %q (want %s)", format, strings.Join(catalog.Formats, ", "))
			}
			root, err := g.catalogRoot()
			if err != nil {
				return err
			}
			fsys := os.DirFS(root)
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
	return cmd
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
