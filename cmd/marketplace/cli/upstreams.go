package cli

import (
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/hspc/marketplace/catalog/federate"
)

func newUpstreams(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "upstreams",
		Short: "Federation: fetch the [[upstreams]] of index.toml and pin them in upstreams.lock",
	}
	cmd.AddCommand(newUpstreamsUpdate(g))
	return cmd
}

func newUpstreamsUpdate(g *globals) *cobra.Command {
	var cache string
	cmd := &cobra.Command{
		Use:   "update [NAME...]",
		Short: "Fetch upstreams (all, or those named), check them and write upstreams.lock",
		Long: `update fetches each upstream's ref from its url (a Git URL, a local path such as a mirror's
folder, or a bundle file) into the upstreams cache, checks the fetched commit on its own (load,
validate, verify offline with the upstream's own signatures/ material), and writes the commits to
upstreams.lock, which is committed with the catalog: validate, verify and build then read every
upstream at exactly that commit. Nothing is written when an upstream has errors.`,
		Example: `  marketplace upstreams update
  marketplace upstreams update hspc`,
		RunE: func(cmd *cobra.Command, args []string) error {
			root, err := g.catalogRoot()
			if err != nil {
				return err
			}
			done, ds, err := federate.Update(cmd.Context(), root, args, federate.UpstreamOptions{CacheDir: cache})
			if err != nil {
				return err
			}
			ds.Write(g.stdout, "text")
			if ds.HasErrors() {
				return problemsError{fmt.Sprintf("upstreams update: %s; upstreams.lock not written", plural(ds.Errors(), "error"))}
			}
			for _, u := range done {
				switch {
				case u.Old == u.New:
					fmt.Fprintf(g.stderr, "%s: unchanged at %s (%d products)\n", u.Name, shortHash(u.New), u.Products)
				case u.Old == "":
					fmt.Fprintf(g.stderr, "%s: locked at %s (%d products)\n", u.Name, shortHash(u.New), u.Products)
				default:
					fmt.Fprintf(g.stderr, "%s: %s..%s (%d products)\n", u.Name, shortHash(u.Old), shortHash(u.New), u.Products)
				}
			}
			fmt.Fprintf(g.stderr, "wrote upstreams.lock: commit it with the catalog\n")
			return nil
		},
	}
	cmd.Flags().StringVar(&cache, "upstreams-cache", federate.DefaultCacheDir(), "upstreams cache `DIR`")
	return cmd
}

// upstreamFlags adds the flags every command that reads upstreams shares.
func upstreamFlags(f *pflag.FlagSet, o *federate.UpstreamOptions) {
	f.StringVar(&o.CacheDir, "upstreams-cache", federate.DefaultCacheDir(), "upstreams cache `DIR` (the commits of upstreams.lock are read from it)")
}
