// Package headers says which HTTP response headers the built site needs, in one place for the
// two that send them: `marketplace serve` (package generator/serve) sets them itself, and
// `marketplace build` writes them into the output as _headers, the file Netlify and Cloudflare
// Pages read, for static hosts. CONTRIBUTING shows the same rules for nginx.
//
// Every response gets the security headers: a Content-Security-Policy that allows only the
// site's own scripts, styles, images and fetches and no framing, X-Content-Type-Options:
// nosniff, Referrer-Policy and X-Frame-Options. An SVG image gets a policy with `sandbox` as
// well, so that script in a published logo cannot run even when the SVG is opened on its own.
// Files whose names carry a hash of their content (the theme's static files and the search
// shards) may be cached for a year; everything else is revalidated on each use.
package headers

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"path"
	"strings"
)

// ContentSecurityPolicy is the policy of every page. Style attributes are allowed (product
// cards set a colour with style="--hue: …"); style and script elements must come from the site.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; " +
	"img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// SVGPolicy is added to SVG responses: nothing in the image may load or run.
const SVGPolicy = "default-src 'none'; style-src 'unsafe-inline'; sandbox"

// Security are the headers every response carries, in the order they are written.
var Security = [][2]string{
	{"Content-Security-Policy", ContentSecurityPolicy},
	{"X-Content-Type-Options", "nosniff"},
	{"Referrer-Policy", "strict-origin-when-cross-origin"},
	{"X-Frame-Options", "DENY"},
}

// Cache-Control values.
const (
	Immutable   = "public, max-age=31536000, immutable" // a name that changes with the content
	Revalidate  = "no-cache"                            // HTML, JSON and the rest: ask each time (ETag → 304)
	FileName    = "_headers"                            // what build writes
	searchShard = "api/v1/search/"
)

// immutableDirs hold only files named by a hash of their content.
var immutableDirs = []string{"static/", searchShard}

// CacheControl returns the Cache-Control of the file at p (a slash-separated path from the site
// root, without a leading slash).
func CacheControl(p string) string {
	for _, d := range immutableDirs {
		if strings.HasPrefix(p, d) {
			return Immutable
		}
	}
	return Revalidate
}

// IsSVG reports whether the file at p is an SVG image.
func IsSVG(p string) bool { return strings.EqualFold(path.Ext(p), ".svg") }

// File returns the _headers file for static hosts that read one (Netlify, Cloudflare Pages),
// for a site whose SVG images are at svgs (paths from the site root). Cache-Control is set only
// on the content-hashed folders: those hosts join the values of every rule that matches, and
// revalidating the rest is already their default. SVG images are named one by one, as not
// every host matches patterns by file extension.
func File(svgs []string) []byte {
	var b bytes.Buffer
	Write(&b, svgs) // a bytes.Buffer does not fail
	return b.Bytes()
}

// Write writes File(svgs) to w: a site of 100 000 products names 200 000 SVG images, 28 MB.
func Write(w io.Writer, svgs []string) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("# Response headers for static hosts that read _headers (Netlify, Cloudflare Pages).\n")
	bw.WriteString("# Written by marketplace build; marketplace serve sends the same.\n/*\n")
	for _, h := range Security {
		fmt.Fprintf(bw, "  %s: %s\n", h[0], h[1])
	}
	for _, d := range immutableDirs {
		fmt.Fprintf(bw, "/%s*\n  Cache-Control: %s\n", d, Immutable)
	}
	for _, p := range svgs {
		bw.WriteString("/")
		bw.WriteString(strings.TrimPrefix(p, "/"))
		bw.WriteString("\n  Content-Security-Policy: ")
		bw.WriteString(SVGPolicy)
		bw.WriteString("\n")
	}
	return bw.Flush()
}
