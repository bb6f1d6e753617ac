package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/hspc/marketplace/generator/serve"
)

func newServe(g *globals) *cobra.Command {
	var dir, addr string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve a built site and its search API",
		Long: `serve serves the output of marketplace build over HTTP: the static site, and
GET /api/search?q=QUERY&facet=FIELD:VALUE&size=N&from=N&highlight=1 answered from its bleve
index as JSON (hits with highlights, and facet counts). The site's search page uses the API
when it is there, and searches in the browser when the folder is on a static host instead.

Every response carries security headers (Content-Security-Policy, X-Content-Type-Options,
Referrer-Policy, X-Frame-Options; SVG images are sandboxed), text is compressed, files have
ETags, and content-hashed files may be cached for a year; the build writes the same rules to
DIR/_headers for static hosts. Folders are never listed, and nothing that resolves outside DIR
is served. A search gets 5 seconds; a malformed or oversized query is a 400 saying why.

It listens on the loopback interface unless --addr says otherwise, logs one line per request
to standard output, and picks up a rebuild of DIR without a restart. On SIGTERM or Ctrl-C it
stops accepting connections and lets requests in flight finish, for at most 10 seconds.
DIR is relative to -C's folder when -C is given.`,
		Example: `  marketplace build -o public && marketplace serve -d public
  marketplace serve -d public --addr 0.0.0.0:8080   # reachable from other machines`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := g.path(dir)
			return serve.Run(cmd.Context(), serve.Options{
				Dir: dir, Addr: addr, Log: g.stdout,
				Ready: func(a string) {
					fmt.Fprintf(g.stderr, "serving %s on http://%s/ (search: http://%s/search/index.html); Ctrl-C to stop\n", dir, a, a)
				},
			})
		},
	}
	cmd.Flags().StringVarP(&dir, "dir", "d", "public", "output `DIR` of marketplace build")
	cmd.Flags().StringVar(&addr, "addr", serve.DefaultAddr, "`HOST:PORT` to listen on")
	return cmd
}
