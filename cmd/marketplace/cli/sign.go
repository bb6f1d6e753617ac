package cli

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/hspc/marketplace/catalog"
	"github.com/hspc/marketplace/catalog/trust"
)

func newSign(g *globals) *cobra.Command {
	var keyDir string
	var days int
	cmd := &cobra.Command{
		Use:   "sign OUT --keys KEYDIR",
		Short: "Sign a built output with TUF metadata, or re-sign it before its timestamp expires",
		Long: `sign writes TUF metadata into OUT/tuf/ over every file a client acts on (the JSON API,
feed.json, deploy manifests, signature material), continuing the versions already there.
Re-sign at least every policy.timestamp_expiry_days (default 7): clients refuse an output whose
timestamp has expired. build --sign KEYDIR does the same as part of a build.`,
		Example: `  marketplace sign public --keys keys`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			out := args[0]
			if _, err := os.Stat(out); err != nil {
				return err
			}
			keys, err := trust.LoadKeys(keyDir)
			if err != nil {
				return err
			}
			if days == 0 {
				days = g.timestampDays()
			}
			s, err := trust.Sign(out, out, keys, trust.SignOptions{TimestampExpiry: time.Duration(days) * 24 * time.Hour})
			if err != nil {
				return err
			}
			printSigned(g.stderr, out, s)
			return nil
		},
	}
	cmd.Flags().StringVar(&keyDir, "keys", "", "key `DIR` made by marketplace trust init")
	cmd.Flags().IntVar(&days, "timestamp-days", 0, "timestamp lifetime in days (default: the catalog's policy.timestamp_expiry_days, or 7)")
	cmd.MarkFlagRequired("keys")
	return cmd
}

// timestampDays is the catalog's policy.timestamp_expiry_days when a catalog is at hand.
func (g *globals) timestampDays() int {
	if root, err := g.catalogRoot(); err == nil {
		if c, _ := catalog.Load(os.DirFS(root)); c != nil && c.Index != nil && c.Index.Policy.TimestampExpiryDays > 0 {
			return c.Index.Policy.TimestampExpiryDays
		}
	}
	return catalog.DefaultTimestampExpiryDays
}

func printSigned(w io.Writer, out string, s *trust.Signed) {
	fmt.Fprintf(w, "signed %s: %d files, targets v%d, snapshot v%d, timestamp v%d (expires %s), root v%d\n",
		out, s.Files, s.Targets, s.Snapshot, s.Timestamp, s.Expires.Format(time.RFC3339), s.Root)
}
