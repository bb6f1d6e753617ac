package site

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/hspc/marketplace/generator/page"
)

// crawlerFiles returns robots.txt and, when catalog.base_url is set, sitemap.xml: the sitemap
// protocol wants absolute URLs, and without a base URL the site cannot know its own.
func (g *generator) crawlerFiles() []page.Page {
	robots := "User-agent: *\nAllow: /\n"
	if g.base == "" {
		return []page.Page{page.Static("robots.txt", []byte(robots))}
	}
	robots += "\nSitemap: " + g.base + "sitemap.xml\n"

	var entries []sitemapEntry
	add := func(p string, mod time.Time) {
		e := sitemapEntry{Loc: g.base + strings.TrimSuffix(p, "index.html")}
		if !mod.IsZero() {
			e.LastMod = mod.UTC().Format("2006-01-02")
		}
		entries = append(entries, e)
	}
	for _, p := range []string{"index.html", "products/index.html", "categories/index.html", "publishers/index.html", "interfaces/index.html"} {
		add(p, time.Time{})
	}
	for _, p := range g.products {
		_, changed := g.dates(p)
		add(productPath(p.ID), changed)
	}
	for _, id := range g.c.SortedPublisherIDs() {
		add(path.Join("publishers", id, "index.html"), time.Time{})
	}
	for _, in := range g.c.Index.Interfaces {
		add(path.Join("interfaces", in.ID, "index.html"), time.Time{})
	}
	for _, c := range slices.Sorted(maps.Keys(g.categories)) {
		add(path.Join("categories", c, "index.html"), time.Time{})
	}
	pages := []page.Page{page.Static("robots.txt", []byte(robots))}
	if len(entries) <= sitemapURLs {
		return append(pages, g.sitemapPage("sitemap.xml", entries))
	}
	// Past the protocol's 50 000 URLs a file, sitemap.xml is an index of numbered sitemaps.
	var files []string
	for i := 0; i < len(entries); i += sitemapURLs {
		name := fmt.Sprintf("sitemap-%d.xml", len(files)+1)
		files = append(files, name)
		pages = append(pages, g.sitemapPage(name, entries[i:min(i+sitemapURLs, len(entries))]))
	}
	index := page.Page{
		Path: "sitemap.xml",
		Key:  page.Key(keyVersion, "sitemapindex", g.base, files),
		Render: func() ([]byte, error) {
			var buf bytes.Buffer
			buf.WriteString(xml.Header)
			buf.WriteString(`<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">` + "\n")
			for _, f := range files {
				buf.WriteString("  <sitemap>\n    <loc>")
				xml.EscapeText(&buf, []byte(g.base+f))
				buf.WriteString("</loc>\n  </sitemap>\n")
			}
			buf.WriteString("</sitemapindex>\n")
			return buf.Bytes(), nil
		},
	}
	return append(pages, index)
}

// sitemapURLs is the sitemap protocol's limit of URLs in one file (sitemaps.org); a variable so
// that tests can reach it with a small catalog.
var sitemapURLs = 50000

type sitemapEntry struct {
	Loc     string `xml:"loc"`
	LastMod string `xml:"lastmod,omitempty"`
}

// sitemapPage is a sitemap (urlset) of entries at p.
func (g *generator) sitemapPage(p string, entries []sitemapEntry) page.Page {
	return page.Page{
		Path: p,
		Key:  page.Key(keyVersion, "sitemap", entries),
		Render: func() ([]byte, error) {
			var buf bytes.Buffer
			buf.WriteString(xml.Header)
			buf.WriteString(`<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">` + "\n")
			enc := xml.NewEncoder(&buf)
			enc.Indent("  ", "  ")
			for _, e := range entries {
				if err := enc.EncodeElement(e, xml.StartElement{Name: xml.Name{Local: "url"}}); err != nil {
					return nil, err
				}
			}
			if err := enc.Flush(); err != nil {
				return nil, err
			}
			buf.WriteString("\n</urlset>\n")
			return buf.Bytes(), nil
		},
	}
}
