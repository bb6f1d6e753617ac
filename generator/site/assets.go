package site

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"path"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/hspc/marketplace/catalog"
	"github.com/hspc/marketplace/generator/page"
)

// screenshot is an image of a product copied into the output.
type screenshot struct {
	Src     string // path from the site root
	Caption string
}

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
	// Each product's files are looked up (a stat, or a read and a hash) on every core, then
	// added in product order.
	type found struct {
		logo   string
		shots  []screenshot
		assets []page.Page
	}
	all := make([]found, len(g.products))
	eachIndex(len(g.products), func(i int) {
		p, f := g.products[i], &all[i]
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
			sum, ok := g.assetSum(src)
			if !ok {
				return ""
			}
			taken[out] = src
			f.assets = append(f.assets, assetPage(g.in.Files, src, out, sum))
			return out
		}
		if p.Logo != "" {
			f.logo = add(p.Logo)
		}
		for _, s := range p.Screenshots {
			if out := add(s.File); out != "" {
				f.shots = append(f.shots, screenshot{Src: out, Caption: s.Caption})
			}
		}
	})
	for i, p := range g.products {
		f := all[i]
		if p.Logo != "" {
			g.logos[p.ID] = f.logo
		}
		if f.shots != nil {
			g.shots[p.ID] = f.shots
		}
		g.assets = append(g.assets, f.assets...)
	}
}

// eachIndex calls f(0) … f(n-1) on every core and returns when all have returned. The calls
// may only read what they share, and each writes only its own index's results.
func eachIndex(n int, f func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), n) {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				f(i)
			}
		})
	}
	wg.Wait()
}

// assetPaths maps an asset path from a product file (relative to the publisher folder) to its
// path in the catalog repository and in the output.
func assetPaths(p *catalog.Product, rel string) (src, out string, ok bool) {
	out, clean, ok := page.AssetPath(p.ID, rel)
	if !ok {
		return "", "", false
	}
	return path.Join(catalog.ProductsDir, p.Publisher, clean), out, true
}

// assetSum returns the SHA-256 of the asset file src, and false when it is missing, empty, or an
// SVG that must not be published. A preview (Unkeyed) plans the same files at every save: there,
// a file whose size and modification time are unchanged since an earlier plan is not read again.
func (g *generator) assetSum(src string) (sum [sha256.Size]byte, ok bool) {
	if g.in.AssetSum != nil {
		if sum, publishable, known := g.in.AssetSum(src); known {
			return sum, publishable
		}
	}
	var stamp assetStamp
	if g.in.Unkeyed {
		if info, err := fs.Stat(g.in.Files, src); err == nil && !info.ModTime().IsZero() {
			stamp = assetStamp{src, info.Size(), info.ModTime().UnixNano()}
			if v, hit := assetSums.Load(stamp); hit {
				r := v.(assetResult)
				return r.sum, r.ok
			}
		}
	}
	data, err := fs.ReadFile(g.in.Files, src)
	if err == nil && len(data) > 0 {
		sum = sha256.Sum256(data)
		ok = !(path.Ext(strings.ToLower(src)) == ".svg" && activeSVG(sum, data))
	}
	if stamp.path != "" && err == nil {
		assetSums.Store(stamp, assetResult{sum, ok})
	}
	return sum, ok
}

// assetStamp names a file's content by its path, size and modification time (ns).
type assetStamp struct {
	path  string
	size  int64
	mtime int64
}

type assetResult struct {
	sum [sha256.Size]byte
	ok  bool
}

// assetSums maps the stamps of asset files previews planned to their hash and verdict.
var assetSums sync.Map

// assetPage is the output page of the asset file src, whose content hashed to sum when it was
// planned. The content is read again when the page is written rather than held from planning to
// writing: screenshots of a large catalog are more than a build should keep in memory. A file
// that changed in between is an error, not a page whose bytes differ from its key.
func assetPage(files fs.FS, src, out string, sum [sha256.Size]byte) page.Page {
	return page.Page{
		Path: out,
		Key:  "asset " + hex.EncodeToString(sum[:]),
		Render: func() ([]byte, error) {
			data, err := fs.ReadFile(files, src)
			if err != nil {
				return nil, err
			}
			if sha256.Sum256(data) != sum {
				return nil, fmt.Errorf("%s changed during the build", src)
			}
			return data, nil
		},
	}
}

// activeSVG reports whether an SVG holds script, event handlers or links outside itself (see
// catalog.ActiveSVG, the check validate runs). An <img> never runs them, but a visitor who opens
// the file itself would run them on the marketplace's origin, so such a file is not published
// even when a build goes ahead without validation. Verdicts are remembered by content hash for
// the life of the process: a preview plans the same logos at every save.
func activeSVG(sum [sha256.Size]byte, data []byte) bool {
	if v, ok := svgVerdicts.Load(sum); ok {
		return v.(bool)
	}
	what, _ := catalog.ActiveSVG(data)
	svgVerdicts.Store(sum, what != "")
	return what != ""
}

// svgVerdicts maps the SHA-256 of an SVG file to activeSVG's verdict: 33 bytes per distinct file.
var svgVerdicts sync.Map
