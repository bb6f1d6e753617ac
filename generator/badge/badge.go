// Package badge draws the SVG badge of each product (badges/<publisher>/<product>.svg): its latest
// version and whether that image's signature verified, for ISVs to show in their READMEs.
package badge

import (
	"bytes"
	"fmt"
	"html"
	"path"

	"github.com/hspc/marketplace/catalog"
	"github.com/hspc/marketplace/generator/page"
)

// Path returns the output path of a product's badge.
func Path(productID string) string { return path.Join("badges", productID+".svg") }

// Pages returns one badge per product.
func Pages(c *catalog.Catalog, images map[string]catalog.ImageStatus) []page.Page {
	var pages []page.Page
	for _, id := range c.SortedProductIDs() {
		label, value, color := Facts(c.Products[id], images)
		pages = append(pages, page.Page{
			Path:   Path(id),
			Key:    page.Key("badge", 1, label, value, color),
			Render: func() ([]byte, error) { return SVG(label, value, color), nil },
			Shared: true, // the key is what the badge says
		})
	}
	return pages
}

// Colors of the right half.
const (
	green = "#2e7d32"
	grey  = "#5f6b73"
	red   = "#c62828"
	amber = "#a15c00"
)

// Facts returns what a product's badge says.
func Facts(p *catalog.Product, images map[string]catalog.ImageStatus) (label, value, color string) {
	b := p.Latest()
	if b == nil {
		return "hsp marketplace", "no builds", grey
	}
	st, ok := images[b.Digest()]
	if !ok {
		st.State = catalog.ImageUnchecked
	}
	switch st.State {
	case catalog.ImageVerified:
		return "hsp marketplace", "v" + b.Version + " ✓ signed", green
	case catalog.ImageFailed:
		return "hsp marketplace", "v" + b.Version + " ✗ failed", red
	case catalog.ImageUnsigned:
		return "hsp marketplace", "v" + b.Version + " unsigned", amber
	}
	return "hsp marketplace", "v" + b.Version, grey
}

// SVG draws a flat two-part badge. Widths come from per-character advances of Verdana 11px, the
// font shields.io badges use, so the text fits without measuring in a browser.
func SVG(label, value, color string) []byte {
	lw, vw := textWidth(label)+10, textWidth(value)+10
	w := lw + vw
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="20" role="img" aria-label="%s: %s">`, w, esc(label), esc(value))
	fmt.Fprintf(&b, `<title>%s: %s</title>`, esc(label), esc(value))
	b.WriteString(`<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>`)
	fmt.Fprintf(&b, `<clipPath id="r"><rect width="%d" height="20" rx="3" fill="#fff"/></clipPath>`, w)
	fmt.Fprintf(&b, `<g clip-path="url(#r)"><rect width="%d" height="20" fill="#0b4f6c"/><rect x="%d" width="%d" height="20" fill="%s"/><rect width="%d" height="20" fill="url(#s)"/></g>`, lw, lw, vw, color, w)
	b.WriteString(`<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="11">`)
	fmt.Fprintf(&b, `<text x="%d" y="14">%s</text>`, lw/2, esc(label))
	fmt.Fprintf(&b, `<text x="%d" y="14">%s</text>`, lw+vw/2, esc(value))
	b.WriteString("</g></svg>\n")
	return b.Bytes()
}

func esc(s string) string { return html.EscapeString(s) }

func textWidth(s string) int {
	w := 0.0
	for _, r := range s {
		switch {
		case r == ' ':
			w += 3.9
		case r == 'i' || r == 'l' || r == '.' || r == ':' || r == '|' || r == '!':
			w += 3.5
		case r == 'f' || r == 'j' || r == 'r' || r == 't' || r == '(' || r == ')' || r == '-':
			w += 4.9
		case r == 'm' || r == 'w' || r == 'M' || r == 'W':
			w += 10.7
		case r >= 'A' && r <= 'Z':
			w += 7.6
		case r >= '0' && r <= '9':
			w += 7.0
		case r > 0x7f:
			w += 9.0 // symbols such as ✓
		default:
			w += 6.8
		}
	}
	return int(w + 0.5)
}
