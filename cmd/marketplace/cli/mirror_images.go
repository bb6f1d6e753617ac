package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/spf13/cobra"

	"github.com/hspc/marketplace/catalog"
	"github.com/hspc/marketplace/catalog/verify"
)

// newMirrorImages is `marketplace mirror images`, a subcommand of mirror.
func newMirrorImages(g *globals) *cobra.Command {
	var to, mapFile, trustedRoot string
	var jobs int
	cmd := &cobra.Command{
		Use:   "images --to REGISTRY [PRODUCT...]",
		Short: "Copy every pinned image with its signatures to a private registry, and write the registry map",
		Long: `images copies the image of every build (or of the named products) to REGISTRY: the manifest or
index at its pinned digest with all its layers, its tag, its cosign signatures (the
sha256-<hex>.sig and .att tags) and its OCI referrers. Digests already in REGISTRY are skipped,
so an interrupted run resumes and a repeated run copies nothing. Each copy is then verified in
REGISTRY against the publisher's signers, as marketplace verify does.

The registry map (--map, extended if it exists) lists every verified copy; deploy --registry-map
and build --registry-map rewrite image references with it (digests unchanged), so the manifests
pull from REGISTRY. Credentials come from the Docker configuration, as for verify.`,
		Example: `  marketplace mirror images --to registry.hospital.internal/hsp
  marketplace mirror images --to registry.hospital.internal/hsp acme/fhir --map hsp-images.json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if to == "" {
				return errors.New("--to REGISTRY is required")
			}
			root, err := g.catalogRoot()
			if err != nil {
				return err
			}
			fsys := os.DirFS(root)
			c, ds := catalog.Check(fsys)
			if ds.HasErrors() {
				ds.Write(g.stdout, "text")
				return problemsError{fmt.Sprintf("mirror images: the catalog has %s; run marketplace validate", plural(ds.Errors(), "error"))}
			}
			prev, err := catalog.ReadRegistryMap(mapFile)
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			rep, vds := verify.MirrorImages(cmd.Context(), fsys, c, args, verify.MirrorOptions{
				Options: verify.Options{Jobs: jobs, TrustedRoot: trustedRoot, Progress: g.terminal()},
				To:      to, Map: prev,
			})
			vds.Write(g.stdout, "text")
			if len(rep.Map.Images) > 0 {
				data, err := rep.Map.Marshal()
				if err != nil {
					return err
				}
				if err := writeAtomic(mapFile, data, 0o644); err != nil {
					return err
				}
			}
			fmt.Fprintf(g.stderr, "mirror images: %d images to %s: %d copied, %d already there, %d verified there; %d signature tags, %d referrers; %d registry requests; map %s (%d images)\n",
				rep.Images, to, rep.Copied, rep.Present, rep.Verified, rep.Signatures, rep.Referrers, rep.Requests, mapFile, len(rep.Map.Images))
			if vds.HasErrors() {
				return problemsError{fmt.Sprintf("mirror images: %s; run again to resume", plural(vds.Errors(), "error"))}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&to, "to", "", "private `REGISTRY` and optional path prefix (host[:port][/prefix])")
	f.StringVar(&mapFile, "map", "registry-map.json", "registry map `FILE` to write (extended when it exists)")
	f.IntVar(&jobs, "jobs", 0, "images copied at once (default 8)")
	f.StringVar(&trustedRoot, "trusted-root", "", "Sigstore trusted_root.json `FILE` for keyless signers")
	return cmd
}
