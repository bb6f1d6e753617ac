// Package site renders the marketplace's HTML site (SPEC §7): the home page, a page for every
// product, publisher, interface and category, an index of each, the search page's shell, 404.html,
// sitemap.xml and robots.txt, together with the theme's static files and the products' logos and
// screenshots.
//
// Links between pages are relative and name index.html explicitly, so the output works under any
// host and path, and from file://. Two outputs cannot be relative and are documented exceptions:
//   - 404.html is served by static hosts in place of any missing path, at any depth, so its links
//     are root-relative: from the path of catalog.base_url when it has one, from "/" otherwise
//     (which assumes the site is served at that path of whatever host serves it);
//   - sitemap.xml must list absolute URLs, so it is emitted (and named in robots.txt) only when
//     catalog.base_url is set.
//
// Pages does the cheap part of the work up front: for each page it computes the data the page's
// template will see, and keys the page by that data plus the theme files the template is parsed
// from. Templating and Markdown run only when a page is written, so an incremental build re-renders only the
// pages whose inputs changed.
package site

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/hspc/marketplace/catalog"
	"github.com/hspc/marketplace/generator/page"
	"github.com/hspc/marketplace/theme"
)

// ImageStatus is what verification concluded about one image digest: State is "verified",
// "failed", "unsigned" or "unchecked", with the Signer that verified it or the Detail of why
// not. It is the catalog's type, shared with the other outputs, so one verification result
// reads the same on the site, in the API and on the badges.
type ImageStatus = catalog.ImageStatus

// Input is everything the site is made from.
type Input struct {
	Catalog *catalog.Catalog
	// History dates products and builds and gives each product's changelog. It may be nil or
	// empty: dates then come from builds' released dates, or are left out.
	History *catalog.History
	// Images holds verification results by digest "sha256:<hex>"; a missing digest is unchecked.
	Images map[string]ImageStatus
	// Theme has templates/ and static/; nil means the embedded theme.FS.
	Theme fs.FS
	// Files is the catalog repository, read for product logos and screenshots. When nil, or when
	// a file is missing, the page shows a placeholder instead of the image.
	Files fs.FS
	// Unkeyed leaves pages without a Key, and product pages are planned only when rendered. For
	// a preview, which renders the few pages a browser asks for and memoizes them by its own
	// version: planning every page's key is most of the cost of planning a large site.
	Unkeyed bool
	// AssetSum, when set, returns the content hash of an asset file (a path in Files) and
	// whether it may be published without reading it, or ok false when it must be read (see
	// catalog.Cache.AssetSum).
	AssetSum func(path string) (sum [sha256.Size]byte, publishable, ok bool)
}

// Pages returns every HTML page and static asset of the site, sorted by path, each with a Key
// that hashes exactly what its bytes depend on (the product, its publisher, the interfaces it
// names, the names and IDs of the products its dependency links point to, its history, its
// image statuses, and the theme files it uses), so that a rebuild after changing one product
// re-renders only the pages that show something of it.
func Pages(in Input) ([]page.Page, error) {
	if in.Catalog == nil || in.Catalog.Index == nil {
		return nil, errors.New("site: no catalog to render")
	}
	th := in.Theme
	if th == nil {
		th = theme.FS
	}
	t, err := loadTheme(th)
	if err != nil {
		return nil, err
	}
	g, err := newGenerator(in, t)
	if err != nil {
		return nil, err
	}
	pages := slices.Clone(t.static)
	pages = append(pages, g.assets...)
	pages = append(pages, g.htmlPages()...)
	pages = append(pages, g.crawlerFiles()...)

	sort.Slice(pages, func(i, j int) bool { return pages[i].Path < pages[j].Path })
	for i := 1; i < len(pages); i++ {
		if pages[i].Path == pages[i-1].Path {
			return nil, fmt.Errorf("site: two outputs at %s (an asset or theme file collides with a page)", pages[i].Path)
		}
	}
	return pages, nil
}

// generator holds the catalog and the indexes computed once for all pages.
type generator struct {
	in     Input
	c      *catalog.Catalog
	theme  *loadedTheme
	base   string // catalog.base_url with a trailing slash, or ""
	assets []page.Page

	products   []*catalog.Product          // sorted by ID
	builds     map[string][]*catalog.Build // product ID → builds, latest SemVer first
	cards      map[string]card             // product ID → its card
	logos      map[string]string           // product ID → logo path in the output
	shots      map[string][]screenshot     // product ID → screenshots copied to the output
	exposers   map[string]map[string]bool  // interface ID → IDs of products exposing it directly
	dependents map[string]map[string]bool  // interface ID → IDs of products depending on it
	required   map[string]map[string]bool  // interface ID → IDs of products requiring it
	categories map[string][]string         // category → product IDs
	pubProds   map[string][]string         // publisher ID → product IDs
	ifaceNames map[string]string           // interface ID → name
	providers  map[string][]providerRef    // memo of providersOf
	provides   map[string]map[string]bool  // interface ID → the IDs providersOf returned for it
	consumers  map[string][]consumerRef    // memo of consumersOf
	// providerKeys holds providerKey of each interface products depend on.
	providerKeys map[string]string

	categoryOnce sync.Once
	categoryList []categoryCount // memo of categoryCounts
	rowsOnce     sync.Once
	rows         []interfaceRow // memo of interfaceRows (two pages show it)
}

func newGenerator(in Input, t *loadedTheme) (*generator, error) {
	c := in.Catalog
	g := &generator{
		in: in, c: c, theme: t,
		builds: map[string][]*catalog.Build{}, cards: map[string]card{}, logos: map[string]string{},
		shots: map[string][]screenshot{}, exposers: map[string]map[string]bool{},
		dependents: map[string]map[string]bool{}, required: map[string]map[string]bool{},
		categories: map[string][]string{}, pubProds: map[string][]string{},
		ifaceNames: map[string]string{}, providers: map[string][]providerRef{}, provides: map[string]map[string]bool{},
		consumers: map[string][]consumerRef{},
	}
	if b := c.Index.Catalog.BaseURL; safeURL(b) != "" && isExternal(b) {
		g.base = strings.TrimSuffix(b, "/") + "/"
	}
	for i := range c.Index.Interfaces {
		in := &c.Index.Interfaces[i]
		if !catalog.IDPattern.MatchString(in.ID) {
			return nil, fmt.Errorf("site: interface ID %q cannot name a page; validate the catalog first", in.ID)
		}
		g.ifaceNames[in.ID] = in.Name
	}
	for _, id := range c.SortedPublisherIDs() {
		if !catalog.IDPattern.MatchString(id) {
			return nil, fmt.Errorf("site: publisher ID %q cannot name a page; validate the catalog first", id)
		}
	}
	for _, id := range c.SortedProductIDs() {
		p := c.Products[id]
		pub, name, ok := strings.Cut(id, "/")
		if !ok || !catalog.IDPattern.MatchString(pub) || !catalog.IDPattern.MatchString(name) || p.Publisher != pub {
			return nil, fmt.Errorf("site: product ID %q cannot name a page; validate the catalog first", id)
		}
		if c.Publishers[pub] == nil {
			return nil, fmt.Errorf("site: product %s has no publisher.toml; validate the catalog first", id)
		}
		for _, cat := range p.Categories {
			if !slugPattern.MatchString(cat) {
				return nil, fmt.Errorf("site: category %q of %s cannot name a page; validate the catalog first", cat, id)
			}
		}
		g.products = append(g.products, p)
		g.pubProds[pub] = append(g.pubProds[pub], id)
		for _, cat := range uniq(p.Categories) {
			g.categories[cat] = append(g.categories[cat], id)
		}
		for i := range p.Builds {
			b := &p.Builds[i]
			for _, e := range b.Exposes {
				addTo(g.exposers, e.Interface, id)
			}
			for _, d := range b.Dependencies {
				addTo(g.dependents, d.Interface, id)
				if d.IsRequired() {
					addTo(g.required, d.Interface, id)
				}
			}
		}
	}
	sorted := make([][]*catalog.Build, len(g.products))
	eachIndex(len(sorted), func(i int) { sorted[i] = sortBuilds(g.products[i].Builds) })
	for i, p := range g.products {
		g.builds[p.ID] = sorted[i]
	}
	g.copyAssets()
	cards := make([]card, len(g.products))
	eachIndex(len(cards), func(i int) { cards[i] = g.cardOf(g.products[i]) })
	for i, p := range g.products {
		g.cards[p.ID] = cards[i]
	}
	// Fill the memos the pages read: pages are planned concurrently and only read the generator.
	g.providerKeys = map[string]string{}
	for _, want := range slices.Sorted(maps.Keys(g.dependents)) {
		if all := g.providersOf(want); !in.Unkeyed {
			g.providerKeys[want] = providerKey(all)
		}
	}
	for i := range c.Index.Interfaces {
		g.providersOf(c.Index.Interfaces[i].ID)
		g.consumersOf(c.Index.Interfaces[i].ID)
	}
	return g, nil
}

func addTo(m map[string]map[string]bool, k, v string) {
	if m[k] == nil {
		m[k] = map[string]bool{}
	}
	m[k][v] = true
}

func uniq(list []string) []string {
	out := slices.Clone(list)
	slices.Sort(out)
	return slices.Compact(out)
}

// htmlPages returns the site's HTML pages.
func (g *generator) htmlPages() []page.Page {
	// The listing pages are planned concurrently with the others (by kind, each in order).
	var listings [3][]page.Page
	var lw sync.WaitGroup
	for i, plan := range []func() []page.Page{g.publisherListings, g.interfaceListings, g.categoryListings} {
		lw.Go(func() { listings[i] = plan() })
	}
	listingPages := func() []page.Page {
		lw.Wait()
		return slices.Concat(listings[:]...)
	}
	var out []page.Page
	out = append(out, g.homePage(), g.interfacesPage(), g.categoriesPage(), g.searchPage(), g.notFoundPage(), g.builderPage())
	out = append(out, g.productsPages()...)
	out = append(out, g.publishersPages()...)
	// Product pages are most of the site and independent of each other: plan them in parallel.
	// They only read the generator; its memos are filled before (see newGenerator).
	products := make([]page.Page, len(g.products))
	if g.in.Unkeyed {
		for i, p := range g.products {
			products[i] = page.Page{Path: productPath(p.ID), Stream: func(w io.Writer) error {
				return g.streamProductPage(p, w)
			}}
		}
		out = append(out, products...)
		return append(out, listingPages()...)
	}
	eachIndex(len(products), func(i int) {
		// The key comes from the view's inputs; the view is made when the page is rendered, so a
		// large catalog does not hold every product page's view at once.
		p := g.products[i]
		products[i] = page.Page{Path: productPath(p.ID), Key: g.productKey(p), Stream: func(w io.Writer) error {
			return g.streamProductPage(p, w)
		}}
	})
	out = append(out, products...)
	return append(out, listingPages()...)
}

// publisherListings, interfaceListings and categoryListings return the publisher, interface and
// category pages, each kind in order.
func (g *generator) publisherListings() []page.Page {
	var out []page.Page
	for _, id := range g.c.SortedPublisherIDs() {
		out = append(out, g.publisherPages(g.c.Publishers[id])...)
	}
	return out
}

func (g *generator) interfaceListings() []page.Page {
	var out []page.Page
	for i := range g.c.Index.Interfaces {
		out = append(out, g.interfacePages(&g.c.Index.Interfaces[i])...)
	}
	return out
}

func (g *generator) categoryListings() []page.Page {
	var out []page.Page
	for _, cat := range slices.Sorted(maps.Keys(g.categories)) {
		out = append(out, g.categoryPages(cat)...)
	}
	return out
}

// newPage wraps a page's own view in the data every template receives.
func (g *generator) newPage(p, kind, title, description, section string, body any) page.Page {
	// See Input.Unkeyed: keys cost JSON encoding and hashing of every view.
	return g.theme.page(p, kind, g.pageData(p, title, description, section, body), !g.in.Unkeyed)
}

// pageData is the data every template receives for the page at p, with its own view in body.
func (g *generator) pageData(p, title, description, section string, body any) *pageData {
	return &pageData{
		Root:        rootOf(p),
		Site:        g.site(),
		Static:      g.theme.versions,
		Title:       title,
		Description: description,
		Section:     section,
		Body:        body,
	}
}

// lazyPage returns a listing page whose data mk makes. The key comes from the data when the page
// is planned, and the data is made again when the page is rendered: the listings of a large
// catalog would otherwise hold every card they show from planning to writing (a tenth of the
// heap of a 100 000-product build).
func (g *generator) lazyPage(p, kind, title, description, section string, body func() any) page.Page {
	data := func() *pageData { return g.pageData(p, title, description, section, body()) }
	key := ""
	if !g.in.Unkeyed {
		key = g.theme.viewKey(kind, data())
	}
	return page.Page{Path: p, Key: key, Stream: func(w io.Writer) error {
		return g.theme.pageKeyed(p, kind, data(), key).Stream(w)
	}}
}

// cardList returns the cards of ids, in that order.
func (g *generator) cardList(ids []string) []card {
	out := make([]card, len(ids))
	for i, id := range ids {
		out[i] = g.cards[id]
	}
	return out
}

func (g *generator) site() siteInfo {
	return siteInfo{Name: g.c.Index.Catalog.Name, Description: g.c.Index.Catalog.Description}
}

// slugPattern is what the validator accepts as a category, and what the site accepts as a
// folder name for one.
var slugPattern = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// productPath returns the path of a product's page.
func productPath(id string) string { return pagePath("products", id) }

// pagePath returns the path of the page of the publisher, product, category or interface id
// in folder (IDs and slugs are validated: no "." or ".." steps to clean).
func pagePath(folder, id string) string { return folder + "/" + id + "/index.html" }
