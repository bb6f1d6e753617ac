package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/hspc/marketplace/catalog/trust"
)

// tufSiteMirror implements the site kind of marketplace mirror: a built, signed site fetched
// over HTTP(S) (or read from a folder on media) and checked with go-tuf's updater against
// the root it was cloned with (catalog/trust).
// Expiry is checked against the clock; `marketplace trust verify --at` checks an output at
// another reference time.
type tufSiteMirror struct{}

// newSiteMirror returns the site mirror the mirror command delegates kind "site" to.
func newSiteMirror() tufSiteMirror { return tufSiteMirror{} }

// Clone mirrors the signed site at url into dir, trusting the root metadata in the file root.
func (m tufSiteMirror) Clone(ctx context.Context, url, dir, root string, stdout, stderr io.Writer) error {
	data, err := os.ReadFile(root)
	if err != nil {
		return fmt.Errorf("--root: %w", err)
	}
	res, err := trust.CloneSite(ctx, url, dir, data, trust.MirrorOptions{})
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "mirrored %s into %s: %d signed files, timestamp v%d (expires %s); serve %s/%s\n",
		res.Source, dir, res.Files, res.Timestamp, res.Expires.Format(time.RFC3339), dir, trust.MirrorSiteDir)
	return nil
}

// Sync brings the site mirror in dir up to date; a refused update leaves it as it was.
func (m tufSiteMirror) Sync(ctx context.Context, dir string, stdout, stderr io.Writer) error {
	res, err := trust.SyncSite(ctx, dir, trust.MirrorOptions{})
	if err != nil {
		return err
	}
	if res.UpToDate {
		fmt.Fprintf(stderr, "%s: up to date at timestamp v%d (%d signed files)\n", dir, res.Timestamp, res.Files)
		return nil
	}
	fmt.Fprintf(stderr, "%s: timestamp v%d (expires %s): %d signed files, %d fetched, %d unchanged\n",
		dir, res.Timestamp, res.Expires.Format(time.RFC3339), res.Files, res.Fetched, res.Reused)
	return nil
}
