package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/hspc/marketplace/catalog/federate"
)

// SiteMirror clones and syncs mirrors of kind "site": a built site fetched over HTTP(S) and
// checked with its TUF metadata, rather than a Git repository.
type SiteMirror interface {
	// Clone mirrors the site at url into dir, trusting the TUF root metadata in the file root.
	Clone(ctx context.Context, url, dir, root string, stdout, stderr io.Writer) error
	// Sync brings the site mirror in dir up to date.
	Sync(ctx context.Context, dir string, stdout, stderr io.Writer) error
}

// siteMirror is the site mirror implementation: TUF-checked copies of a signed site
// (mirror_site.go).
var siteMirror SiteMirror = newSiteMirror()

func newMirror(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "mirror",
		Short: "Keep a checked copy of another catalog: clone, sync, status, export",
		Long: `mirror keeps a copy of another catalog repository in a bare Git repository, for private
marketplaces: over https or ssh, from a file:// URL or a local path, or from a Git bundle file
carried on removable media (the air-gapped case).

A mirror only ever moves to a commit that loads, validates and verifies offline with the
catalog's own signatures/ material; sync fetches into a staging reference first, refuses a
rewritten history unless --allow-rewrite, and a failed or killed sync leaves the mirror on its
previous commit. The mirror is a Git repository: git clone works on it, and its folder is what
an [[upstreams]] url of index.toml names.

With --root FILE, clone mirrors a built, signed site over HTTP(S) instead (marketplace build
--sign): every file is checked with go-tuf's updater against that root, and sync refuses a
rollback, an expired timestamp, mixed or tampered files and other keys, keeping the last good copy.

mirror images copies the catalog's images, with their signatures, into a private registry.`,
	}
	cmd.AddCommand(newMirrorClone(g), newMirrorSync(g), newMirrorStatus(g), newMirrorExport(g), newMirrorImages(g))
	return cmd
}

func newMirrorClone(g *globals) *cobra.Command {
	var ref, root string
	cmd := &cobra.Command{
		Use:   "clone SOURCE DIR",
		Short: "Mirror the catalog at SOURCE into the new folder DIR",
		Example: `  marketplace mirror clone https://github.com/hspc/marketplace.git /srv/mirrors/hspc
  marketplace mirror clone /media/usb/hspc.bundle /srv/mirrors/hspc`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if root != "" {
				return siteMirror.Clone(cmd.Context(), args[0], args[1], root, g.stdout, g.stderr)
			}
			res, err := federate.Clone(cmd.Context(), args[0], args[1], federate.Options{Ref: ref})
			if err := g.mirrorProblems("mirror clone "+args[0], err); err != nil {
				return err
			}
			res.Diagnostics.Write(g.stdout, "text")
			fmt.Fprintf(g.stderr, "mirrored %s into %s: %s at %s, %d products, checked offline (%s)\n",
				res.State.Source, args[1], res.State.Branch, shortHash(res.State.Commit), res.Products, plural(len(res.Diagnostics), "warning"))
			return nil
		},
	}
	cmd.Flags().StringVar(&ref, "ref", "", "source `BRANCH` to follow (default: the source's default branch)")
	cmd.Flags().StringVar(&root, "root", "", "mirror a built site over HTTP(S), trusting the TUF root metadata `FILE`")
	return cmd
}

func newMirrorSync(g *globals) *cobra.Command {
	var from string
	var allowRewrite bool
	cmd := &cobra.Command{
		Use:   "sync [DIR]",
		Short: "Fetch, check and move the mirror in DIR (default .) to its source's newest commit",
		Example: `  marketplace mirror sync /srv/mirrors/hspc
  marketplace mirror sync /srv/mirrors/hspc --from /media/usb/hspc.bundle`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := dirArg(args)
			st, err := federate.ReadState(dir)
			if err != nil {
				return err
			}
			if st.Kind == federate.KindSite {
				return siteMirror.Sync(cmd.Context(), dir, g.stdout, g.stderr)
			}
			res, err := federate.Sync(cmd.Context(), dir, federate.Options{From: from, AllowRewrite: allowRewrite})
			if err := g.mirrorProblems("mirror sync "+dir, err); err != nil {
				return err
			}
			res.Diagnostics.Write(g.stdout, "text")
			switch {
			case res.Behind != "":
				fmt.Fprintf(g.stderr, "%s: the source is at %s, behind the mirror: nothing to do, staying at %s\n", dir, shortHash(res.Behind), shortHash(res.State.Commit))
			case res.Old == res.State.Commit:
				fmt.Fprintf(g.stderr, "%s: up to date at %s (%d products)\n", dir, shortHash(res.State.Commit), res.Products)
			case res.Rewritten:
				fmt.Fprintf(g.stderr, "%s: followed a rewritten history from %s to %s (%d products, checked offline)\n", dir, shortHash(res.Old), shortHash(res.State.Commit), res.Products)
			default:
				fmt.Fprintf(g.stderr, "%s: %s..%s (%d products, checked offline)\n", dir, shortHash(res.Old), shortHash(res.State.Commit), res.Products)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "fetch from `SOURCE` this time (say this week's bundle file) instead of the recorded source")
	cmd.Flags().BoolVar(&allowRewrite, "allow-rewrite", false, "follow the source even when its history was rewritten")
	return cmd
}

func newMirrorStatus(g *globals) *cobra.Command {
	var asJSON bool
	var from string
	cmd := &cobra.Command{
		Use:   "status [DIR]",
		Short: "Show the mirror's source, commit, last sync and whether the source has newer commits",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
			defer cancel()
			s, err := federate.MirrorStatus(ctx, dirArg(args), federate.Options{From: from})
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(g.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(s)
			}
			w := g.stdout
			fmt.Fprintf(w, "kind:       %s\n", s.State.Kind)
			fmt.Fprintf(w, "source:     %s\n", s.State.Source)
			if s.Commit != nil {
				fmt.Fprintf(w, "commit:     %s (%s) %s\n", s.Commit.Hash, s.Commit.Date.Format(time.RFC3339), s.Commit.Subject)
				fmt.Fprintf(w, "branch:     %s\n", s.State.Branch)
			}
			fmt.Fprintf(w, "last sync:  %s (%s ago)\n", s.State.Synced.Format(time.RFC3339), s.AgeText)
			switch {
			case s.SourceErr != "":
				fmt.Fprintf(w, "source:     unreachable: %s\n", s.SourceErr)
			case s.Newer != nil && *s.Newer:
				fmt.Fprintf(w, "up to date: no, the source is at %s: run marketplace mirror sync\n", s.Source)
			case s.Newer != nil && s.Source != s.State.Commit:
				fmt.Fprintf(w, "up to date: yes (the source, at %s, has nothing newer)\n", shortHash(s.Source))
			case s.Newer != nil:
				fmt.Fprintf(w, "up to date: yes\n")
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().StringVar(&from, "from", "", "compare with `SOURCE` (say a bundle file) instead of the recorded source")
	return cmd
}

func newMirrorExport(g *globals) *cobra.Command {
	var since string
	cmd := &cobra.Command{
		Use:   "export DIR FILE",
		Short: "Write a Git bundle of the mirror (or catalog repository) in DIR to FILE, for removable media",
		Long: `export writes a Git bundle of the mirror's commit and its history, naming it as its branch
and HEAD. With --since COMMIT (the commit the receiving mirror is at, which its mirror status
shows), the bundle holds only what came after it, as git bundle create FILE main ^COMMIT writes.`,
		Example: `  marketplace mirror export /srv/mirrors/hspc /media/usb/hspc.bundle
  marketplace mirror export /srv/mirrors/hspc /media/usb/hspc.bundle --since 95c6ee1c8a85
  git clone /media/usb/hspc.bundle hspc   # any Git reads a full bundle`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			info, err := federate.Export(args[0], args[1], since)
			if err != nil {
				return err
			}
			what := "and its history"
			if since != "" {
				what = "since " + since
			}
			fmt.Fprintf(g.stderr, "wrote %s: %s (%s) %s\n", args[1], shortHash(info.Hash), info.Date.Format(time.DateOnly), what)
			return nil
		},
	}
	cmd.Flags().StringVar(&since, "since", "", "write an incremental bundle of what came after `COMMIT`")
	return cmd
}

// mirrorProblems prints a failed check's diagnostics and turns input problems into exit 1.
func (g *globals) mirrorProblems(what string, err error) error {
	var ce *federate.CheckError
	var re *federate.RewriteError
	switch {
	case errors.As(err, &ce):
		ce.Diagnostics.Write(g.stdout, "text")
		return problemsError{fmt.Sprintf("%s: %v", what, err)}
	case errors.As(err, &re):
		return problemsError{fmt.Sprintf("%s: %v", what, err)}
	}
	return err
}

func dirArg(args []string) string {
	if len(args) > 0 {
		return args[0]
	}
	return "."
}

func shortHash(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}
