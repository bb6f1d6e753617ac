package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hspc/marketplace/catalog/trust"
)

func newTrust(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "trust",
		Short: "Create and rotate the TUF keys that sign the published output",
		Long: `trust manages the key folder that build --sign and sign use. A published output then
carries TUF metadata (in tuf/): mirrors and agents refuse an old catalog replayed to them
(rollback), one whose timestamp expired (freeze), files of different builds, changed files and
files signed by other keys.

The folder holds root.json (hand it to clients: they trust it), roots/ (every root version),
offline/ (the root keys: move them to offline storage) and online/ (the targets, snapshot and
timestamp keys that sign each build). Key files are written 0600 and never printed.`,
	}
	cmd.AddCommand(newTrustInit(g), newTrustRotate(g), newTrustVerify(g))
	return cmd
}

func newTrustInit(g *globals) *cobra.Command {
	var ko trust.KeyOptions
	var days int
	cmd := &cobra.Command{
		Use:     "init DIR",
		Short:   "Create a root (threshold of offline ed25519 keys) and the online keys",
		Example: `  marketplace trust init keys --keys 3 --threshold 2`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ko.Expires = time.Duration(days) * 24 * time.Hour
			res, err := trust.Init(args[0], ko)
			if err != nil {
				return err
			}
			printKeyResult(g.stdout, "created", res)
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&ko.Keys, "keys", 3, "number of root keys")
	f.IntVar(&ko.Threshold, "threshold", 2, "root keys that must sign a new root")
	f.IntVar(&days, "root-expires-days", 365, "days until the root expires (rotate before)")
	return cmd
}

func newTrustRotate(g *globals) *cobra.Command {
	var ro trust.RotateOptions
	var days int
	cmd := &cobra.Command{
		Use:   "rotate DIR",
		Short: "Write root version N+1 with new root keys, signed by the current ones",
		Long: `rotate makes new root keys (and with --online new online keys) and writes the next root
version, signed by a threshold of the current root keys and by the new keys, so clients that
trust the current root follow to the new one on their next update. Sign or build again with
the key folder to publish it.`,
		Example: `  marketplace trust rotate keys
  marketplace trust rotate keys --online --offline /media/usb/offline`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ro.Expires = time.Duration(days) * 24 * time.Hour
			res, err := trust.Rotate(args[0], ro)
			if err != nil {
				return err
			}
			printKeyResult(g.stdout, "rotated to", res)
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&ro.Keys, "keys", 3, "number of new root keys")
	f.IntVar(&ro.Threshold, "threshold", 2, "new root keys that must sign the next root")
	f.IntVar(&days, "root-expires-days", 365, "days until the new root expires")
	f.BoolVar(&ro.Online, "online", false, "also replace the online targets, snapshot and timestamp keys")
	f.StringVar(&ro.OfflineDir, "offline", "", "`DIR` holding the current root keys (default: DIR/offline)")
	return cmd
}

func printKeyResult(w io.Writer, verb string, r *trust.KeyResult) {
	fmt.Fprintf(w, "%s root v%d: %d of %d root keys must sign; expires %s\n", verb, r.Version, r.Threshold, len(r.RootKeys), r.Expires.Format(time.DateOnly))
	for _, id := range r.RootKeys {
		fmt.Fprintf(w, "  root key %s\n", id)
	}
	fmt.Fprintf(w, "hand %s to mirrors and agents (--root); move %s to offline storage\n", r.RootFile, r.Offline)
}

func newTrustVerify(g *globals) *cobra.Command {
	var rootFile, stateDir, at string
	cmd := &cobra.Command{
		Use:   "verify SITE --root FILE",
		Short: "Check a signed output (URL or folder, e.g. on media) the way mirrors and agents do",
		Long: `verify reads the signed output at SITE (its base URL, or a folder such as one carried in on
removable media) through go-tuf's updater, trusting the root metadata in --root, and checks
every signed file. It refuses a rollback, an expired timestamp (freeze), mixed versions, a
changed file or other keys, and says which.

--state DIR keeps the trusted metadata between runs: only with it is an older output than one
seen before recognised as a rollback. --at TIME (RFC 3339) checks expiry at that reference time
instead of the clock: offline, give the current date from a clock you trust.`,
		Example: `  marketplace trust verify https://marketplace.example.org/ --root root.json
  marketplace trust verify /media/usb/public --root root.json --state /var/lib/hsp/tuf --at 2026-11-26T12:00:00Z`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			root, err := os.ReadFile(rootFile)
			if err != nil {
				return fmt.Errorf("--root: %w", err)
			}
			c := &trust.Client{TrustedRoot: root, LocalDir: stateDir}
			if at != "" {
				if c.RefTime, err = time.Parse(time.RFC3339, at); err != nil {
					return fmt.Errorf("--at: %w", err)
				}
			}
			src := args[0]
			if strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://") {
				c.MetadataURL = strings.TrimSuffix(src, "/") + "/" + trust.MetadataDir + "/"
			} else {
				abs, err := filepath.Abs(src)
				if err != nil {
					return err
				}
				c.MetadataURL = filepath.Join(abs, trust.MetadataDir)
			}
			if c.LocalDir == "" {
				tmp, err := os.MkdirTemp("", "marketplace-trust-")
				if err != nil {
					return err
				}
				defer os.RemoveAll(tmp)
				c.LocalDir = tmp
			}
			snap, err := c.Refresh(cmd.Context())
			if err != nil {
				return problemsError{err.Error()}
			}
			paths := snap.Paths()
			for _, p := range paths {
				if _, err := snap.Fetch(p); err != nil {
					return problemsError{err.Error()}
				}
			}
			fmt.Fprintf(g.stdout, "%s: %d signed files verified; root v%d, targets v%d, snapshot v%d, timestamp v%d (expires %s)\n",
				src, len(paths), snap.Root, snap.Targets, snap.Snapshot, snap.Timestamp, snap.Expires.Format(time.RFC3339))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&rootFile, "root", "", "the trusted root.json `FILE` of the publisher")
	f.StringVar(&stateDir, "state", "", "keep the trusted metadata in `DIR` between runs (rollback protection)")
	f.StringVar(&at, "at", "", "reference `TIME` for expiry, RFC 3339 (default: now)")
	cmd.MarkFlagRequired("root")
	return cmd
}
