package cli

import (
	"fmt"
	"time"

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
	var (
		cache string
		sites map[string]string
		at    string
	)
	cmd := &cobra.Command{
		Use:   "update [NAME...]",
		Short: "Fetch upstreams (all, or those named), check them and write upstreams.lock",
		Long: `update fetches each upstream's ref from its url (a Git URL, a local path such as a mirror's
folder, or a bundle file) into the upstreams cache, checks the fetched commit on its own (load,
validate, verify offline with the upstream's own signatures/ material), and writes the commits to
upstreams.lock, which is committed with the catalog: validate, verify and build then read every
upstream at exactly that commit. Nothing is written when an upstream has errors.

An upstream with site and root in index.toml publishes a signed output: update verifies it
through TUF (rollback, freeze, tampering and other keys are refused) and pins only a commit whose
products and image digests it signed; upstreams.lock records the timestamp version verified, and
a later update refuses an older one. Offline, --site NAME=FOLDER reads the output carried in on
media and --at TIME (RFC 3339) checks expiry at that time instead of the clock.`,
		Example: `  marketplace upstreams update
  marketplace upstreams update hspc
  marketplace upstreams update partner --site partner=/media/usb/partner --at 2026-11-26T12:00:00Z`,
		RunE: func(cmd *cobra.Command, args []string) error {
			root, err := g.catalogRoot()
			if err != nil {
				return err
			}
			opts := federate.UpstreamOptions{CacheDir: cache, Sites: sites}
			if at != "" {
				if opts.TrustTime, err = time.Parse(time.RFC3339, at); err != nil {
					return fmt.Errorf("--at: %w", err)
				}
			}
			done, ds, err := federate.Update(cmd.Context(), root, args, opts)
			if err != nil {
				return err
			}
			ds.Write(g.stdout, "text")
			if ds.HasErrors() {
				return problemsError{fmt.Sprintf("upstreams update: %s; upstreams.lock not written", plural(ds.Errors(), "error"))}
			}
			for _, u := range done {
				if u.Snapshot > 0 {
					fmt.Fprintf(g.stderr, "%s: verified against its signed site (timestamp v%d)\n", u.Name, u.Snapshot)
				}
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
	cmd.Flags().StringToStringVar(&sites, "site", nil, "read upstream NAME's signed site from `NAME=FOLDER` (its output carried in on media) instead of index.toml's site")
	cmd.Flags().StringVar(&at, "at", "", "check the signed sites' expiry at `TIME` (RFC 3339) instead of the clock")
	return cmd
}

// upstreamFlags adds the flags every command that reads upstreams shares.
func upstreamFlags(f *pflag.FlagSet, o *federate.UpstreamOptions) {
	f.StringVar(&o.CacheDir, "upstreams-cache", federate.DefaultCacheDir(), "upstreams cache `DIR` (the commits of upstreams.lock are read from it)")
}
