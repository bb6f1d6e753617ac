// Package theme is the marketplace's default look: the html/template files the site generator
// renders pages with, and the static files (stylesheet, icon) it copies into the output.
//
// FS holds two folders. templates/ has base.html (the layout every page shares), partials.html
// (product cards, badges and other pieces several pages use), and one file per kind of page
// (home.html, product.html, publisher.html …), each defining "content". static/ is copied to the
// output's static/, each file under a name with its content hash (style.<hash>.css), which is
// how pages link to it, so that caches can keep the files for a year.
//
// `marketplace build --theme DIR` replaces FS with a folder laid out the same way; copy this one
// and edit it. Templates see only the data the generator hands them (see package
// generator/site), and html/template escapes all of it.
package theme

import (
	"embed"
	"io/fs"
)

//go:embed templates static
var files embed.FS

// FS is the embedded default theme: templates/ and static/.
var FS fs.FS = files
