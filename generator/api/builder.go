package api

import (
	"encoding/json"

	"github.com/hspc/marketplace/catalog"
	"github.com/hspc/marketplace/generator/page"
)

// BuilderPath is the compact document the site's environment builder starts from.
const BuilderPath = "api/v1/builder.json"

// Builder is the document at BuilderPath: what the environment builder (theme/static/builder.js)
// needs to offer products and to find the catalog's candidates for an unmet dependency, and no
// more. A product's builds (exposures, dependencies, parameters) are read from its own document
// at ProductPath only when it is added to an environment, so the page stays small for a large
// catalog (about 150 bytes per product here, against several kilobytes in catalog.json).
type Builder struct {
	Schema     int                `json:"schema"`
	Interfaces []BuilderInterface `json:"interfaces"`
	Products   []BuilderProduct   `json:"products"`
}

// BuilderInterface is an interface with what resolution reads of it.
type BuilderInterface struct {
	ID             string   `json:"id"`
	Name           string   `json:"name,omitempty"`
	Properties     []string `json:"properties,omitempty"`
	SubstitutesFor []string `json:"substitutes_for,omitempty"`
}

// BuilderProduct is a product with its versions (newest first) and, of its newest build (the
// build a candidate is described by), the interfaces it exposes and the ones it requires.
type BuilderProduct struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	Versions []string `json:"versions"`
	Exposes  []string `json:"exposes,omitempty"`
	Requires []string `json:"requires,omitempty"`
}

// BuilderPage returns the page at BuilderPath.
func BuilderPage(c *catalog.Catalog) page.Page {
	doc := builderDoc(c)
	return page.Page{
		Path: BuilderPath,
		Key:  page.Key("api/builder", Schema, doc),
		Render: func() ([]byte, error) {
			return json.Marshal(doc) // compact: only the builder reads it
		},
	}
}

func builderDoc(c *catalog.Catalog) Builder {
	doc := Builder{Schema: Schema, Interfaces: []BuilderInterface{}, Products: []BuilderProduct{}}
	if c.Index != nil {
		for _, in := range c.Index.Interfaces {
			doc.Interfaces = append(doc.Interfaces, BuilderInterface{ID: in.ID, Name: in.Name, Properties: in.Properties, SubstitutesFor: in.SubstitutesFor})
		}
	}
	for _, id := range c.SortedProductIDs() {
		p := c.Products[id]
		bp := BuilderProduct{ID: id, Name: p.Name, Versions: []string{}}
		for i, b := range p.BuildsNewestFirst() {
			bp.Versions = append(bp.Versions, b.Version)
			if i > 0 {
				continue
			}
			for _, e := range b.Exposes {
				bp.Exposes = append(bp.Exposes, e.Interface)
			}
			for _, d := range b.Dependencies {
				if d.IsRequired() {
					bp.Requires = append(bp.Requires, d.Interface)
				}
			}
		}
		doc.Products = append(doc.Products, bp)
	}
	return doc
}
