package generator

import (
	"context"
	"fmt"
	"io/fs"
	"strings"
	"sync"

	"github.com/hspc/marketplace/catalog"
	"github.com/hspc/marketplace/catalog/federate"
	"github.com/hspc/marketplace/catalog/verify"
	"github.com/hspc/marketplace/generator/api"
	"github.com/hspc/marketplace/generator/badge"
	"github.com/hspc/marketplace/generator/deploy"
	"github.com/hspc/marketplace/generator/feed"
	"github.com/hspc/marketplace/generator/page"
	"github.com/hspc/marketplace/generator/search"
	"github.com/hspc/marketplace/generator/site"
)

// Planner runs the stages of Build that come before Write — load and validate, verify, render
// — again and again over one work tree, keeping between runs what does not change while a
// person edits files: the Git history (read once) and the results of unchanged product files
// (a catalog.Cache). `marketplace preview` serves its plans from memory; nothing is written.
type Planner struct {
	opts    Options
	fsys    fs.FS
	history *catalog.History
	cache   *catalog.Cache
	close   func()
}

// Plan is one run of a Planner: the catalog and its diagnostics and, when the catalog has no
// errors, the pages a build would write. Pages render on demand. A plan is made for serving a
// few pages, not for writing them all: product pages have no Key (they are planned when
// rendered), and the outputs other than the site are planned on first use.
type Plan struct {
	Catalog     *catalog.Catalog
	Diagnostics catalog.Diagnostics
	// Pages are the site's pages and static files.
	Pages []page.Page
	// Later holds the other outputs by the path prefix of their files: the JSON API, feed,
	// badges, deploy files, signature material and the static search index. Each is planned on
	// the first call of its function: a page asks for one badge, not for every deploy file.
	Later map[string]func() []page.Page
}

// NewPlanner reads the history of the work tree at opts.Root. opts.Ref must be empty: a preview
// shows the files as they are being edited. opts.LoadCache, when nil, is an in-memory cache.
func NewPlanner(opts Options) (*Planner, error) {
	if opts.Ref != "" {
		return nil, fmt.Errorf("a planner reads the work tree; --ref %s is for builds", opts.Ref)
	}
	logf := func(format string, args ...any) {
		if opts.Log != nil {
			fmt.Fprintf(opts.Log, format+"\n", args...)
		}
	}
	fsys, history, closeFn, err := source(opts, logf)
	if err != nil {
		return nil, err
	}
	cache := opts.LoadCache
	if cache == nil {
		cache = catalog.NewCache()
	}
	return &Planner{opts: opts, fsys: fsys, history: history, cache: cache, close: closeFn}, nil
}

// Close releases the Git repository.
func (p *Planner) Close() { p.close() }

// Plan loads, validates, verifies and plans every page. It returns an error wrapping ErrInvalid
// when the catalog has errors; the plan then holds the diagnostics and no pages.
//
// changed lists the files (slash paths from the root; a folder stands for everything below it)
// that changed since the previous plan, as a watcher saw them; nil means unknown. When only
// product files and their assets changed, the others are not read again.
func (p *Planner) Plan(ctx context.Context, changed []string) (*Plan, error) {
	if changed != nil && onlyProducts(changed) {
		p.cache.AssumeUnchanged(func(path string) bool {
			for _, c := range changed {
				if path == c || strings.HasPrefix(path, c+"/") {
					return false
				}
			}
			return true
		})
	}
	c, ds := catalog.CheckCached(p.fsys, p.cache)
	plan := &Plan{Catalog: c, Diagnostics: ds}
	if ds.HasErrors() {
		return plan, fmt.Errorf("%w: %d errors", ErrInvalid, ds.Errors())
	}
	// Upstreams are merged as a build merges them (from the upstreams cache, at their locked
	// commits), so the preview shows what the build will publish.
	upstreams := p.opts.Upstreams
	if upstreams.Root == "" {
		upstreams.Root = p.opts.Root
	}
	fed, fds := federate.Federate(ctx, p.fsys, c, upstreams)
	defer fed.Close()
	plan.Diagnostics = append(plan.Diagnostics, fds...)
	plan.Diagnostics.Sort()
	if fds.HasErrors() {
		return plan, fmt.Errorf("%w: %d errors in the upstreams", ErrInvalid, fds.Errors())
	}
	c = fed.Catalog
	plan.Catalog = c
	history := fed.History(p.history)
	images, material, vds := verifyImages(ctx, fed, p.opts)
	plan.Diagnostics = append(plan.Diagnostics, vds...)
	plan.Diagnostics.Sort()
	if vds.HasErrors() {
		return plan, fmt.Errorf("%w: %d errors in image verification", ErrInvalid, vds.Errors())
	}
	pages, err := site.Pages(site.Input{Catalog: c, History: history, Images: images, Theme: p.opts.Theme, Files: fed.Files(), Unkeyed: true})
	if err != nil {
		return plan, fmt.Errorf("rendering the site: %w", err)
	}
	plan.Pages = pages
	searchPages := sync.OnceValue(func() []page.Page { return search.Pages(search.Input{Catalog: c, Images: images}) })
	plan.Later = map[string]func() []page.Page{
		"api/":                   sync.OnceValue(func() []page.Page { return api.Pages(api.Input{Catalog: c, History: history, Images: images}) }),
		"feed.json":              sync.OnceValue(func() []page.Page { return []page.Page{feed.Page(c, history)} }),
		"badges/":                sync.OnceValue(func() []page.Page { return badge.Pages(c, images) }),
		"deploy/":                sync.OnceValue(func() []page.Page { return deploy.Pages(c) }),
		verify.MaterialDir + "/": func() []page.Page { return material },
		// More specific than api/: the longest prefix wins.
		search.ManifestPath:   searchPages,
		search.ShardDir + "/": searchPages,
	}
	return plan, nil
}

// onlyProducts reports whether every changed path is below products/ (index.toml changes the
// result of every product file).
func onlyProducts(changed []string) bool {
	for _, c := range changed {
		if !strings.HasPrefix(c, catalog.ProductsDir+"/") {
			return false
		}
	}
	return true
}
