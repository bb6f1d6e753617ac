package search

// Request is a search.
type Request struct {
	// Query is in bleve's query-string syntax; "" matches every product.
	Query string
	// Filters keep products that have, for each facet named, one of the values given.
	Filters map[string][]string
	// From and Size page through the hits; Size 0 means DefaultSize.
	From, Size int
	// Highlight adds Hit.Highlights.
	Highlight bool
}

// DefaultSize is the number of hits a Request without Size returns; MaxSize the most it may ask.
const (
	DefaultSize = 20
	MaxSize     = 200
)

// Result is what a search found.
type Result struct {
	Query  string  `json:"query"`
	Total  int     `json:"total"`   // products matching
	TookMS float64 `json:"took_ms"` // time spent searching
	Hits   []Hit   `json:"hits"`
	Facets []Facet `json:"facets"` // counts over every product matching, in Facets order
}

// Hit is one product found.
type Hit struct {
	ID            string   `json:"id"`
	Name          string   `json:"name"`
	Summary       string   `json:"summary"`
	Publisher     string   `json:"publisher"`
	PublisherName string   `json:"publisher_name"`
	Version       string   `json:"version,omitempty"` // the latest build's
	License       string   `json:"license"`
	LicenseStatus string   `json:"license_status"` // open or evaluation
	Signature     string   `json:"signature"`      // the latest build's image: verified, unsigned, failed, unchecked
	SSO           []string `json:"sso,omitempty"`
	SCIM          bool     `json:"scim"`
	URL           string   `json:"url"`            // the product's page, relative to the site root
	Logo          string   `json:"logo,omitempty"` // the product's logo, relative to the site root
	Score         float64  `json:"score"`
	// Highlights are HTML: the field's text, escaped, with the words that matched in <mark>;
	// description is a fragment around the first match.
	Highlights map[string]string `json:"highlights,omitempty"`
}

// Facet counts the products matching per value of a keyword field.
type Facet struct {
	Field  string       `json:"field"`
	Values []FacetValue `json:"values"`
}

// FacetValue is one value of a facet.
type FacetValue struct {
	Value string `json:"value"`
	Label string `json:"label,omitempty"` // a name for the value, where it has one
	Count int    `json:"count"`
}

// hit returns the part of a Hit that the document determines.
func (d *document) hit() Hit {
	return Hit{
		ID: d.ID, Name: d.Name, Summary: d.Summary, Publisher: d.Publisher, PublisherName: d.PublisherName,
		Version: d.Latest, License: d.License, LicenseStatus: d.LicenseStatus, Signature: d.Signature,
		SSO: d.SSO, SCIM: d.SCIM == "yes", URL: "products/" + d.ID + "/index.html", Logo: d.Logo,
	}
}
