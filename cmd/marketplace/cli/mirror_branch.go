package cli

// This file stands in for cli/mirror.go (the Git mirrors, on another branch) so the site
// mirror and image mirroring are testable here. At merge: delete this file, set
// `var siteMirror SiteMirror = newSiteMirror()` in mirror.go, and add newMirrorImages(g) to
// its AddCommand list.

import (
	"context"
	"errors"
	"io"

	"github.com/spf13/cobra"

	"github.com/hspc/marketplace/catalog/trust"
)

// SiteMirror clones and syncs mirrors of kind "site" (the interface mirror.go declares).
type SiteMirror interface {
	Clone(ctx context.Context, url, dir, root string, stdout, stderr io.Writer) error
	Sync(ctx context.Context, dir string, stdout, stderr io.Writer) error
}

var siteMirror SiteMirror = newSiteMirror()

func newMirror(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "mirror", Short: "Keep a checked copy of a signed site; copy images to a private registry"}
	var root string
	clone := &cobra.Command{
		Use:  "clone URL DIR --root FILE",
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if root == "" {
				return errors.New("--root FILE is required (Git mirrors are on another branch)")
			}
			return siteMirror.Clone(cmd.Context(), args[0], args[1], root, g.stdout, g.stderr)
		},
	}
	clone.Flags().StringVar(&root, "root", "", "mirror a built site over HTTP(S), trusting the TUF root metadata `FILE`")
	sync := &cobra.Command{
		Use:  "sync [DIR]",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			if _, err := trust.ReadMirrorState(dir); err != nil {
				return err
			}
			return siteMirror.Sync(cmd.Context(), dir, g.stdout, g.stderr)
		},
	}
	cmd.AddCommand(clone, sync, newMirrorImages(g))
	return cmd
}
