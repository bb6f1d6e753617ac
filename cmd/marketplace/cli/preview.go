package cli

import (
	"fmt"
	"net"
	"os"

	"github.com/spf13/cobra"

	"github.com/hspc/marketplace/generator"
	"github.com/hspc/marketplace/generator/preview"
	"github.com/hspc/marketplace/theme"
)

func newPreview(g *globals) *cobra.Command {
	var (
		addr, themeDir, material string
		offline                  bool
	)
	cmd := &cobra.Command{
		Use:   "preview",
		Short: "Serve a live-reloading preview of the site while you edit the catalog",
		Long: `preview serves the site marketplace build would make from the catalog's work tree,
from memory (nothing is written), and keeps it up to date: when a file under products/, index.toml
or signatures/ is saved, only what changed is loaded, validated and rendered again, and open pages
reload by themselves. When the saved files have errors, every page shows them in an overlay
(path:line:col: message, as marketplace validate prints them) over the last version without
errors, until they are fixed.

Images are not verified (pages show them as not checked) unless --offline verifies them from the
signature material. It listens on the loopback interface unless --addr says otherwise.`,
		Example: `  marketplace preview                      # then open http://127.0.0.1:8080/
  marketplace preview --addr 127.0.0.1:9000 --offline`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			root, err := g.catalogRoot()
			if err != nil {
				return err
			}
			opts := generator.Options{Root: root, Theme: theme.FS, Verify: generator.VerifySkip, Material: material}
			if offline {
				opts.Verify = generator.VerifyOffline
			}
			if themeDir != "" {
				if _, err := os.Stat(themeDir); err != nil {
					return fmt.Errorf("--theme: %w", err)
				}
				opts.Theme = os.DirFS(themeDir)
			}
			l, err := net.Listen("tcp", addr)
			if err != nil {
				return err
			}
			s, err := preview.New(cmd.Context(), preview.Options{Build: opts, Log: g.stderr})
			if err != nil {
				l.Close()
				return err
			}
			defer s.Close()
			fmt.Fprintf(g.stderr, "previewing %s on http://%s/ (reloads on save); Ctrl-C to stop\n", root, l.Addr())
			return s.Serve(cmd.Context(), l)
		},
	}
	f := cmd.Flags()
	f.StringVar(&addr, "addr", preview.DefaultAddr, "`HOST:PORT` to listen on")
	f.BoolVar(&offline, "offline", false, "verify signatures from signature material (contacts no registry)")
	f.StringVar(&material, "material", "", "signature material `DIR` for --offline (default: the catalog's signatures/ folder)")
	f.StringVar(&themeDir, "theme", "", "theme `DIR` with templates/ and static/ (default: the embedded theme)")
	return cmd
}
