// Package feed emits feed.json, a JSON Feed 1.1 (https://jsonfeed.org/version/1.1) of catalog
// events — a product added, a build published — newest first and dated from Git, so platform
// agents and mirrors learn of new builds by polling one small file.
package feed

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"net/url"
	"path"
	"slices"
	"time"

	"github.com/hspc/marketplace/catalog"
	"github.com/hspc/marketplace/generator/page"
)

// Path is the feed's place in the output.
const Path = "feed.json"

// MaxItems bounds the feed: agents poll it for news, and catalog.json holds the full state.
const MaxItems = 500

// Feed is a JSON Feed 1.1 document.
type Feed struct {
	Version     string `json:"version"`
	Title       string `json:"title"`
	HomePageURL string `json:"home_page_url,omitempty"`
	FeedURL     string `json:"feed_url,omitempty"`
	Description string `json:"description,omitempty"`
	Language    string `json:"language"`
	Items       []Item `json:"items"`
}

// Item is one event. Its ID is stable across builds: "product:<id>" or "build:<id>@<version>".
type Item struct {
	ID            string    `json:"id"`
	URL           string    `json:"url,omitempty"`
	Title         string    `json:"title"`
	ContentText   string    `json:"content_text"`
	Summary       string    `json:"summary,omitempty"`
	DatePublished time.Time `json:"date_published"`
	Tags          []string  `json:"tags,omitempty"`
	// Marketplace is this catalog's extension (JSON Feed allows keys starting with "_"):
	// what an agent needs to act on the item without another request.
	Marketplace *Extension `json:"_hsp_marketplace,omitempty"`
}

// Extension carries machine-readable facts of an item.
type Extension struct {
	Event   string         `json:"event"` // "product_added" or "build_published"
	Product string         `json:"product"`
	Origin  catalog.Origin `json:"origin"` // the catalog the product comes from
	Version string         `json:"version,omitempty"`
	Image   string         `json:"image,omitempty"`
	Digest  string         `json:"digest,omitempty"`
	API     string         `json:"api"` // the product's JSON, relative to the output root
}

// Page returns feed.json for the catalog. Items without a date (no Git history and no released
// date) are left out: a feed item must have one.
func Page(c *catalog.Catalog, h *catalog.History) page.Page {
	f := Build(c, h)
	return page.Page{Path: Path, Key: page.Key("feed", f), Render: func() ([]byte, error) {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		err := enc.Encode(f)
		return b.Bytes(), err
	}}
}

// Build computes the feed document.
func Build(c *catalog.Catalog, h *catalog.History) Feed {
	f := Feed{Version: "https://jsonfeed.org/version/1.1", Language: "en", Items: []Item{}}
	base := ""
	if c.Index != nil {
		f.Title = c.Index.Catalog.Name
		f.Description = c.Index.Catalog.Description
		base = c.Index.Catalog.BaseURL
	}
	if base != "" {
		f.HomePageURL = base
		f.FeedURL = resolve(base, Path)
	}
	// Rank small records of every event, newest first (ties by item ID, so the order never
	// depends on map iteration), and make items of the MaxItems the feed keeps.
	type event struct {
		id   string // the item's ID
		when time.Time
		p    *catalog.Product
		b    *catalog.Build // nil: the product was added
	}
	var events []event
	for _, id := range c.SortedProductIDs() {
		p := c.Products[id]
		if ph := h.Product(id); ph != nil && !ph.Added.IsZero() {
			events = append(events, event{id: "product:" + id, when: ph.Added.UTC(), p: p})
		}
		for i := range p.Builds {
			b := &p.Builds[i]
			if when := h.Published(p, b); !when.IsZero() {
				events = append(events, event{id: "build:" + id + "@" + b.Version, when: when.UTC(), p: p, b: b})
			}
		}
	}
	slices.SortFunc(events, func(a, b event) int {
		return cmp.Or(b.when.Compare(a.when), cmp.Compare(a.id, b.id))
	})
	for _, e := range events[:min(len(events), MaxItems)] {
		p, b, id := e.p, e.b, e.p.ID
		link := path.Join("products", id) + "/"
		api := path.Join("api/v1/products", id+".json")
		if b == nil {
			f.Items = append(f.Items, Item{
				ID:            e.id,
				URL:           resolve(base, link),
				Title:         fmt.Sprintf("New product: %s", p.Name),
				ContentText:   p.Summary,
				Summary:       p.Summary,
				DatePublished: e.when,
				Tags:          p.Categories,
				Marketplace:   &Extension{Event: "product_added", Product: id, Origin: p.Origin, API: api},
			})
			continue
		}
		text := fmt.Sprintf("%s %s is published: %s", p.Name, b.Version, b.Image)
		if b.Notes != "" {
			text += "\n\n" + b.Notes
		}
		f.Items = append(f.Items, Item{
			ID:            e.id,
			URL:           resolve(base, link+"#v"+b.Version),
			Title:         fmt.Sprintf("%s %s", p.Name, b.Version),
			ContentText:   text,
			Summary:       p.Summary,
			DatePublished: e.when,
			Tags:          p.Categories,
			Marketplace: &Extension{Event: "build_published", Product: id, Origin: p.Origin, Version: b.Version,
				Image: b.Image, Digest: b.Digest(), API: api},
		})
	}
	return f
}

// resolve makes an absolute URL when the catalog has a base_url; JSON Feed URLs are absolute, so
// without one the item carries no url and clients use _hsp_marketplace.api.
func resolve(base, rel string) string {
	if base == "" {
		return ""
	}
	u, err := url.Parse(base)
	if err != nil {
		return ""
	}
	r, err := url.Parse(rel)
	if err != nil {
		return ""
	}
	return u.ResolveReference(r).String()
}
