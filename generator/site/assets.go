package site

import (
	"bytes"
	"io/fs"
	"path"
	"regexp"
	"strings"

	"github.com/hspc/marketplace/catalog"
	"github.com/hspc/marketplace/generator/page"
)

// screenshot is an image of a product copied into the output.
type screenshot struct {
	Src     string // path from the site root
	Caption string
}

// imageExts are the asset types the validator accepts; anything else is not copied, so an asset
// can never take the place of a page.
var imageExts = map[string]bool{".svg": true, ".png": true, ".jpg": true, ".jpeg": true, ".webp": true}

// copyAssets reads each product's logo and screenshots from in.Files and adds them to the output
// beside the product's page: "<product>/logo.svg" (relative to the publisher folder, like the
// TOML says) becomes products/<publisher>/<product>/logo.svg; a file elsewhere in the publisher
// folder, such as a shared "brand/logo.svg", goes to products/<publisher>/<product>/files/brand/logo.svg.
// Missing and unreadable files are skipped (the validator reports them), and the page shows a
// placeholder or nothing instead.
func (g *generator) copyAssets() {
	if g.in.Files == nil {
		return
	}
	for _, p := range g.products {
		taken := map[string]string{} // output path → source path
		add := func(rel string) string {
			src, out, ok := assetPaths(p, rel)
			if !ok {
				return ""
			}
			if prev, dup := taken[out]; dup {
				if prev == src {
					return out
				}
				return ""
			}
			data, err := fs.ReadFile(g.in.Files, src)
			if err != nil || len(data) == 0 {
				return ""
			}
			if path.Ext(strings.ToLower(src)) == ".svg" && activeSVG(data) {
				return ""
			}
			taken[out] = src
			if g.in.Unkeyed {
				g.assets = append(g.assets, page.Page{Path: out, Render: func() ([]byte, error) { return data, nil }})
			} else {
				g.assets = append(g.assets, page.Static(out, data))
			}
			return out
		}
		if p.Logo != "" {
			g.logos[p.ID] = add(p.Logo)
		}
		for _, s := range p.Screenshots {
			if out := add(s.File); out != "" {
				g.shots[p.ID] = append(g.shots[p.ID], screenshot{Src: out, Caption: s.Caption})
			}
		}
	}
}

// assetPaths maps an asset path from a product file (relative to the publisher folder) to its
// path in the catalog repository and in the output.
func assetPaths(p *catalog.Product, rel string) (src, out string, ok bool) {
	clean := path.Clean(rel)
	if rel == "" || path.IsAbs(rel) || strings.Contains(rel, "\\") || clean == "." || clean == ".." || strings.HasPrefix(clean, "../") {
		return "", "", false
	}
	if !imageExts[strings.ToLower(path.Ext(clean))] {
		return "", "", false
	}
	src = path.Join(catalog.ProductsDir, p.Publisher, clean)
	_, name, _ := strings.Cut(p.ID, "/")
	dir := path.Join("products", p.ID)
	if rest, under := strings.CutPrefix(clean, name+"/"); under && !strings.HasPrefix(rest, "files/") {
		return src, path.Join(dir, rest), true
	}
	return src, path.Join(dir, "files", clean), true
}

// activeSVG reports whether an SVG holds script or event handlers. An <img> never runs them, but
// a visitor who opens the file itself would run them on the marketplace's origin, so such a file
// is not published.
//
// For ASCII files it matches the regular expression svgActive by hand: the backtracking matcher
// took 40 µs a logo, a large share of planning a large site again in a preview. Other files go
// to the regular expression, whose case folding also knows non-ASCII letters (ſ, K).
// TestActiveSVG keeps the two equal.
var svgActive = regexp.MustCompile(`(?i)<\s*script|<\s*foreignobject|\son[a-z]+\s*=|javascript:|<\s*!entity`)

func activeSVG(data []byte) bool {
	for _, c := range data {
		if c >= 0x80 {
			return svgActive.Match(bytes.ToLower(data))
		}
	}
	d := bytes.ToLower(data)
	if bytes.Contains(d, []byte("javascript:")) {
		return true
	}
	for i, c := range d {
		switch {
		case c == '<':
			j := skipSpace(d, i+1)
			for _, tag := range []string{"script", "foreignobject", "!entity"} {
				if bytes.HasPrefix(d[j:], []byte(tag)) {
					return true
				}
			}
		case isSpace(c) && bytes.HasPrefix(d[i+1:], []byte("on")):
			j := i + 3
			for j < len(d) && d[j] >= 'a' && d[j] <= 'z' {
				j++
			}
			if j > i+3 {
				// Only the longest run of letters can be followed by "=": a shorter one is
				// followed by a letter.
				if k := skipSpace(d, j); k < len(d) && d[k] == '=' {
					return true
				}
			}
		}
	}
	return false
}

// isSpace is RE2's \s: tab, newline, form feed, carriage return and space.
func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r' }

func skipSpace(d []byte, i int) int {
	for i < len(d) && isSpace(d[i]) {
		i++
	}
	return i
}
