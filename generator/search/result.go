package search

import (
	"maps"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
)

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
	// FacetSize, when not 0, keeps only that many values of each facet, the most frequent (a
	// search page shows a few; a catalog of 100 000 products has thousands of publishers).
	FacetSize int
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

// AppendJSON appends the result's JSON encoding to b: the bytes json.Marshal gives (a test
// checks it), written directly. A result counts every facet value, thousands of them at
// 100 000 products, and encoding them by reflection cost more than the search.
func (r *Result) AppendJSON(b []byte) []byte {
	b = append(b, `{"query":`...)
	b = appendJSONString(b, r.Query)
	b = append(b, `,"total":`...)
	b = strconv.AppendInt(b, int64(r.Total), 10)
	b = append(b, `,"took_ms":`...)
	b = appendJSONFloat(b, r.TookMS)
	b = append(b, `,"hits":`...)
	if r.Hits == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range r.Hits {
			if i > 0 {
				b = append(b, ',')
			}
			b = r.Hits[i].appendJSON(b)
		}
		b = append(b, ']')
	}
	b = append(b, `,"facets":`...)
	if r.Facets == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, f := range r.Facets {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"field":`...)
			b = appendJSONString(b, f.Field)
			b = append(b, `,"values":`...)
			if f.Values == nil {
				b = append(b, "null"...)
			} else {
				b = append(b, '[')
				for j, v := range f.Values {
					if j > 0 {
						b = append(b, ',')
					}
					b = append(b, `{"value":`...)
					b = appendJSONString(b, v.Value)
					if v.Label != "" {
						b = append(b, `,"label":`...)
						b = appendJSONString(b, v.Label)
					}
					b = append(b, `,"count":`...)
					b = strconv.AppendInt(b, int64(v.Count), 10)
					b = append(b, '}')
				}
				b = append(b, ']')
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

func (h *Hit) appendJSON(b []byte) []byte {
	str := func(b []byte, key, v string) []byte {
		b = append(b, `,"`...)
		b = append(b, key...)
		b = append(b, `":`...)
		return appendJSONString(b, v)
	}
	b = append(b, `{"id":`...)
	b = appendJSONString(b, h.ID)
	b = str(b, "name", h.Name)
	b = str(b, "summary", h.Summary)
	b = str(b, "publisher", h.Publisher)
	b = str(b, "publisher_name", h.PublisherName)
	if h.Version != "" {
		b = str(b, "version", h.Version)
	}
	b = str(b, "license", h.License)
	b = str(b, "license_status", h.LicenseStatus)
	b = str(b, "signature", h.Signature)
	if len(h.SSO) > 0 {
		b = append(b, `,"sso":[`...)
		for i, s := range h.SSO {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, s)
		}
		b = append(b, ']')
	}
	b = append(b, `,"scim":`...)
	b = strconv.AppendBool(b, h.SCIM)
	b = str(b, "url", h.URL)
	if h.Logo != "" {
		b = str(b, "logo", h.Logo)
	}
	b = append(b, `,"score":`...)
	b = appendJSONFloat(b, h.Score)
	if len(h.Highlights) > 0 {
		b = append(b, `,"highlights":{`...)
		for i, k := range slices.Sorted(maps.Keys(h.Highlights)) {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, k)
			b = append(b, ':')
			b = appendJSONString(b, h.Highlights[k])
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

// appendJSONFloat formats a float64 as encoding/json does (NaN and infinities, which it
// refuses, as 0: scores are never either).
func appendJSONFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		f = 0
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' { // e-09 → e-9, as encoding/json writes it
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// appendJSONString quotes s as encoding/json does, HTML characters escaped.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
