// Package search makes the catalog searchable, the same way in three places:
//
//   - Hook builds the bleve index search.bleve/ in the output, incrementally: a rebuild copies
//     the previous output's index (hard-linking its immutable segment files) and re-indexes
//     only the products whose document hash changed, deleting removed ones; the hashes are kept
//     in the index's internal storage.
//   - Open and Index.Search query that index in-process, for `marketplace search` and for the
//     /api/search endpoint of `marketplace serve` (package generator/serve).
//   - Pages emits a compact, sharded copy of the same inverted index (api/v1/search.json and
//     api/v1/search/), which theme/static/search.js queries in the browser when the site is on a
//     static host with no server, downloading only the shards a query needs.
//
// One document per product holds the latest build's facts (interfaces exposed, with those
// they substitute for, and needed; the image's signature state) and every version. Text fields
// are analyzed with bleve's English analyzer (possessives, lower case, stop words, Porter
// stems) and boosted name > summary > keywords > description; keyword fields are the facets.
//
// Queries use bleve's query-string syntax (`+license:MIT fhir`, `"bulk data"`, `fhir*`,
// `postgres~1`, `-tag:demo`, `name:smart^2`). Each clause is expanded here into explicit term
// queries — a plain word into its stem, up to a few longer terms starting with it and, when
// neither exists, terms a typo or two away — and scored by bleve's TF-IDF with bleve's boolean
// semantics, plus a bonus for products that match every word. The browser follows the same
// rules over the compact index, which holds bleve's own terms, frequencies and field lengths,
// so both rank the same products first; phrases are the one approximation (the browser has no
// word positions and matches a phrase's words anywhere in a field).
//
// This package is the only one that imports bleve.
package search

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/hspc/marketplace/catalog"
	"github.com/hspc/marketplace/generator/page"
)

// Input is what the search outputs describe.
type Input struct {
	Catalog *catalog.Catalog
	Images  map[string]catalog.ImageStatus // by image digest; missing means unchecked
}

// Paths in the output.
const (
	// IndexDir is the bleve index folder in the output.
	IndexDir = "search.bleve"
	// ManifestPath is the compact index's entry point, which names its shards.
	ManifestPath = "api/v1/search.json"
	// ShardDir holds the compact index's shards, named by content hash.
	ShardDir = "api/v1/search"
)

// Text fields, searched by plain words, with their boosts.
const (
	FieldName        = "name"
	FieldSummary     = "summary"
	FieldKeywords    = "keywords" // tags, categories, publisher, interfaces, SSO, license
	FieldDescription = "description"
)

// TextFields are the analyzed fields in the order the compact index numbers them.
var TextFields = []string{FieldName, FieldSummary, FieldKeywords, FieldDescription}

// Boosts weigh a match in each text field.
var Boosts = map[string]float64{FieldName: 3, FieldSummary: 2, FieldKeywords: 1.5, FieldDescription: 1}

// Facets are the keyword fields results are counted and filtered by, in display order.
var Facets = []string{
	"category",       // the product's categories
	"tag",            // its tags
	"license",        // SPDX expression
	"license_status", // "open" or "evaluation"
	"exposes",        // interfaces the latest build provides, with those they substitute for
	"needs",          // interfaces the latest build requires
	"sso",            // single sign-on kinds: oidc, saml2
	"scim",           // "yes" or "no"
	"signature",      // state of the latest build's image: verified, unsigned, failed, unchecked
	"publisher",      // publisher ID
	"origin",         // the catalog the product comes from: "local" or an upstream's name
}

// Other fields: keyword fields searchable with field:value but not faceted, and the stored
// summary of a hit.
const (
	fieldVersion = "version" // every version of the product
	fieldLatest  = "latest"  // the newest version
	fieldHit     = "_hit"    // stored only: the JSON of Hit's product fields
)

// keywordFields are the facets and the other keyword fields.
var keywordFields = append(slices.Clone(Facets), fieldVersion, fieldLatest)

// Expansion of plain words: the weights and limits both engines (this package and
// static/search.js) use; the compact index's manifest carries them to the browser.
const (
	prefixMin      = 4    // shortest stem that is also matched as a prefix
	prefixWeight   = 0.5  // weight of a longer term that starts with the stem
	maxPrefix      = 5    // most frequent prefix expansions kept
	fuzzyMin       = 4    // shortest stem corrected for typos
	fuzzyMin2      = 8    // shortest stem corrected by two edits
	fuzzyWeight1   = 0.5  // weight of a term one edit away
	fuzzyWeight2   = 0.35 // weight of a term two edits away
	maxFuzzy       = 5    // closest (then most frequent) corrections kept
	maxExpansions  = 64   // most terms an explicit wildcard, regexp or fuzzy clause expands to
	indexVersion   = 2    // bump when documents or the mapping change meaning: forces a full reindex
	manifestSchema = 4    // version of the compact index's format (4: x-*.json named in the directories)
)

// document is one product as both indexes see it.
type document struct {
	ID            string   `json:"id"`
	Name          string   `json:"name"`
	Summary       string   `json:"summary"`
	Description   string   `json:"description"`
	Keywords      []string `json:"keywords"`
	Publisher     string   `json:"publisher"`
	PublisherName string   `json:"publisher_name"`
	Category      []string `json:"category"`
	Tag           []string `json:"tag"`
	License       string   `json:"license"`
	LicenseStatus string   `json:"license_status"`
	Exposes       []string `json:"exposes"`
	Needs         []string `json:"needs"`
	SSO           []string `json:"sso"`
	SCIM          string   `json:"scim"`
	Signature     string   `json:"signature"`
	Latest        string   `json:"latest"`
	Versions      []string `json:"version"`
	Logo          string   `json:"logo,omitempty"` // its path in the output
	Origin        string   `json:"origin"`
}

// text returns the values of a text field.
func (d *document) text(field string) []string {
	switch field {
	case FieldName:
		return []string{d.Name}
	case FieldSummary:
		return []string{d.Summary}
	case FieldKeywords:
		return d.Keywords
	case FieldDescription:
		return []string{d.Description}
	}
	return nil
}

// facet returns the values of a keyword field.
func (d *document) facet(field string) []string {
	one := func(s string) []string {
		if s == "" {
			return nil
		}
		return []string{s}
	}
	switch field {
	case "category":
		return d.Category
	case "tag":
		return d.Tag
	case "license":
		return one(d.License)
	case "license_status":
		return one(d.LicenseStatus)
	case "exposes":
		return d.Exposes
	case "needs":
		return d.Needs
	case "sso":
		return d.SSO
	case "scim":
		return one(d.SCIM)
	case "signature":
		return one(d.Signature)
	case "publisher":
		return one(d.Publisher)
	case "origin":
		return one(d.Origin)
	case fieldVersion:
		return d.Versions
	case fieldLatest:
		return one(d.Latest)
	}
	return nil
}

// hash identifies the document's content, so a rebuild re-indexes only what changed.
func (d *document) hash() string {
	data, _ := json.Marshal(d)
	return hashBytes(data)
}

// documents returns one document per product, sorted by product ID: the order that numbers
// documents in the compact index and breaks ties between equal scores in both engines.
func documents(in Input) []*document {
	c := in.Catalog
	ids := c.SortedProductIDs()
	docs := make([]*document, len(ids))
	// On every core: the static search needs them all before it can start. They are not kept
	// for the index, which makes its own as it goes (see source): at 100 000 products they are
	// 85 MB, held beside every page being written.
	const chunk = 256
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), (len(ids)+chunk-1)/chunk) {
		wg.Go(func() {
			for start := int(next.Add(chunk)) - chunk; start < len(ids); start = int(next.Add(chunk)) - chunk {
				for i := start; i < min(start+chunk, len(ids)); i++ {
					docs[i] = newDocument(c, c.Products[ids[i]], in.Images)
				}
			}
		})
	}
	wg.Wait()
	return docs
}

func newDocument(c *catalog.Catalog, p *catalog.Product, images map[string]catalog.ImageStatus) *document {
	d := &document{
		ID: p.ID, Name: p.Name, Summary: p.Summary, Description: p.Description,
		Publisher: p.Publisher, PublisherName: p.Publisher,
		Category: sortedSet(p.Categories), Tag: sortedSet(p.Tags), License: p.License,
		LicenseStatus: "evaluation", SSO: sortedSet(p.Identity.SSO), SCIM: "no",
		Signature: catalog.ImageUnchecked, Origin: cmp.Or(p.Origin.Name, catalog.LocalOrigin),
	}
	if pub := c.Publishers[p.Publisher]; pub != nil && pub.Name != "" {
		d.PublisherName = pub.Name
	}
	if out, _, ok := page.AssetPath(p.ID, p.Logo); ok {
		d.Logo = out
	}
	if c.IsOpen(p) {
		d.LicenseStatus = "open"
	}
	if p.Identity.SCIM {
		d.SCIM = "yes"
	}
	builds := p.BuildsNewestFirst()
	for _, b := range builds {
		d.Versions = append(d.Versions, b.Version)
	}
	var exposed, needed, mentioned []string
	if len(builds) > 0 {
		b := builds[0]
		d.Latest = b.Version
		if st, ok := images[b.Digest()]; ok && st.State != "" {
			d.Signature = st.State
		}
		for _, e := range b.Exposes {
			exposed = append(exposed, e.Interface)
		}
		for _, dep := range b.Dependencies {
			mentioned = append(mentioned, dep.Interface)
			if dep.IsRequired() {
				needed = append(needed, dep.Interface)
			}
		}
	}
	// A build that exposes an interface also provides every interface it substitutes for,
	// as the site's interface pages count it.
	provides := slices.Clone(exposed)
	if c.Index != nil {
		for _, in := range c.Index.Interfaces {
			for _, have := range exposed {
				if have != in.ID && c.Satisfies(have, in.ID) {
					provides = append(provides, in.ID)
					break
				}
			}
		}
	}
	d.Exposes = sortedSet(provides)
	d.Needs = sortedSet(needed)

	// Keywords: what a person might type that the prose may not say.
	kw := slices.Clone(d.Tag)
	kw = append(kw, d.Category...)
	kw = append(kw, d.PublisherName)
	for _, id := range sortedSet(append(slices.Clone(exposed), mentioned...)) {
		if in := c.Interface(id); in != nil && in.Name != "" {
			kw = append(kw, in.Name)
		} else {
			kw = append(kw, id)
		}
	}
	if len(d.SSO) > 0 {
		kw = append(kw, "SSO single sign-on")
		kw = append(kw, d.SSO...)
	}
	if p.Identity.SCIM {
		kw = append(kw, "SCIM provisioning")
	}
	kw = append(kw, p.License)
	d.Keywords = slices.DeleteFunc(kw, func(s string) bool { return strings.TrimSpace(s) == "" })
	return d
}

// sortedSet returns the distinct non-empty values of s, sorted.
func sortedSet(s []string) []string {
	out := slices.DeleteFunc(slices.Clone(s), func(v string) bool { return v == "" })
	slices.Sort(out)
	return slices.Compact(out)
}

// hashBytes returns a short hex digest of data.
func hashBytes(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:16])
}

// facetLabels names the values of the facets whose values are IDs: interfaces and publishers.
func facetLabels(in Input) map[string]map[string]string {
	c := in.Catalog
	ifaces := map[string]string{}
	if c.Index != nil {
		for _, i := range c.Index.Interfaces {
			if i.Name != "" {
				ifaces[i.ID] = i.Name
			}
		}
	}
	pubs := map[string]string{}
	for id, p := range c.Publishers {
		if p.Name != "" {
			pubs[id] = p.Name
		}
	}
	origins := map[string]string{catalog.LocalOrigin: "This catalog"}
	for _, p := range c.Publishers {
		if !p.Origin.IsLocal() {
			origins[p.Origin.Name] = "Upstream " + p.Origin.Name
		}
	}
	return map[string]map[string]string{"exposes": ifaces, "needs": ifaces, "publisher": pubs, "origin": origins}
}
