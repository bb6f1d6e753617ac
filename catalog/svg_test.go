package catalog

import (
	"strings"
	"testing"
)

const svgOpen = `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" viewBox="0 0 8 8">`

// TestActiveSVG lists the ways an SVG can run script or reach outside itself, each spelt the
// ways a regular expression would miss, and the constructs real logos use that must pass.
func TestActiveSVG(t *testing.T) {
	tests := []struct {
		name string
		body string // between svgOpen and </svg>, unless whole is set
		doc  string // the whole document
		want string // fragment of the problem; "" for an accepted file
	}{
		{name: "plain shapes", body: `<rect width="8" height="8" fill="#336"/><circle cx="4" cy="4" r="2" style="fill:url(#g)"/>`},
		{name: "gradient and use by fragment", body: `<defs><linearGradient id="g"><stop offset="0" stop-color="red"/></linearGradient><path id="p" d="M0 0h8"/></defs><use href="#p"/><use xlink:href=" #p "/><rect fill="url( '#g' )"/>`},
		{name: "style element with fragment urls", body: `<style>.a{fill:url(#g)} /* comment */ .b{stroke:red}</style><rect class="a"/>`},
		{name: "xml declaration and comments", doc: `<?xml version="1.0" encoding="UTF-8"?>` + "\n<!-- made with a tool -->\n" + svgOpen + `<rect/></svg>`},
		{name: "editor metadata in other namespaces", body: `<metadata><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/></metadata><sodipodi:namedview xmlns:sodipodi="http://sodipodi.sourceforge.net/DTD/sodipodi-0.dtd" pagecolor="#fff"/>`},
		{name: "animation of geometry", body: `<rect width="1"><animate attributeName="width" from="1" to="8" dur="1s"/></rect>`},
		{name: "text that mentions script", body: `<text>&lt;script&gt;alert(1)&lt;/script&gt; onload=x javascript:y</text>`},

		{name: "script", body: `<script>alert(1)</script>`, want: "has a <script> element"},
		{name: "script upper case", body: `<SCRIPT>alert(1)</SCRIPT>`, want: "has a <SCRIPT> element"},
		{name: "script in another namespace", body: `<x:script xmlns:x="http://example.org/x">alert(1)</x:script>`, want: "has a <script> element"},
		{name: "script with prefix for the SVG namespace", body: `<s:script xmlns:s="http://www.w3.org/2000/svg">alert(1)</s:script>`, want: "has a <script> element"},
		{name: "foreignObject", body: `<foreignObject><div xmlns="http://www.w3.org/1999/xhtml">x</div></foreignObject>`, want: "has a <foreignObject> element"},
		{name: "foreignObject prefixed", body: `<q:foreignObject xmlns:q="http://www.w3.org/2000/svg"/>`, want: "has a <foreignObject> element"},
		{name: "xhtml element", body: `<h:iframe xmlns:h="http://www.w3.org/1999/xhtml" src="https://evil.example/"/>`, want: "in the http://www.w3.org/1999/xhtml namespace"},
		{name: "svg tiny handler", body: `<handler type="application/ecmascript">alert(1)</handler>`, want: "has a <handler> element"},
		{name: "xml events listener", body: `<ev:listener xmlns:ev="http://www.w3.org/2001/xml-events" event="click"/>`, want: "has a <listener> element"},
		{name: "onload on root", doc: `<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>`, want: "event-handler attribute onload on <svg>"},
		{name: "onclick mixed case", body: `<rect OnClick="alert(1)"/>`, want: "event-handler attribute OnClick"},
		{name: "event handler in a namespace", body: `<rect x:onmouseover="alert(1)" xmlns:x="http://www.w3.org/2000/svg"/>`, want: "event-handler attribute onmouseover"},
		{name: "event handler with spaces around =", body: `<rect onfocus = "alert(1)" />`, want: "event-handler attribute onfocus"},
		{name: "javascript link", body: `<a href="javascript:alert(1)"><rect/></a>`, want: `links to "javascript:alert(1)" from <a>`},
		// Names encoding/xml cannot split into prefix and local part (found by FuzzActiveSVG).
		{name: "href with an empty prefix", doc: `<A :href=""/>`, want: `links to "" from <A>`},
		{name: "link with an empty prefix", body: `<a :href="https://evil.example/"><rect/></a>`, want: `links to "https://evil.example/"`},
		{name: "event handler with an empty prefix", body: `<rect :onload="alert(1)"/>`, want: "event-handler attribute :onload"},
		{name: "script with an empty prefix", body: `<:script>alert(1)</:script>`, want: "has a <:script> element"},
		{name: "style with an empty prefix", body: `<:style>rect{fill:url(https://evil.example/)}</:style>`, want: "has a style element with"},
		{name: "names with two prefixes", body: `<rect a:b:onload="alert(1)"/>`, want: "is not well-formed XML"},
		{name: "javascript link with entities", body: `<a href="&#106;&#x61;vascript:alert(1)"><rect/></a>`, want: `links to "javascript:alert(1)"`},
		{name: "javascript link with tab and newline", body: "<a xlink:href=\"jav&#9;a\nscript:alert(1)\"><rect/></a>", want: "from <a>"},
		{name: "javascript link with leading space", body: `<a href="  javascript:alert(1)"><rect/></a>`, want: "from <a>"},
		{name: "link in another namespace prefix", body: `<a xmlns:l="http://www.w3.org/1999/xlink" l:href="JaVaScRiPt:alert(1)"><rect/></a>`, want: "from <a>"},
		{name: "data url image", body: `<image href="data:image/svg+xml;base64,PHN2Zy8+"/>`, want: `links to "data:image/svg+xml;base64,PHN2Zy8+" from <image>`},
		{name: "external use", body: `<use href="https://evil.example/sprite.svg#a"/>`, want: "from <use>"},
		{name: "relative image", body: `<image xlink:href="other.png"/>`, want: "from <image>"},
		{name: "feImage", body: `<filter id="f"><feImage href="https://evil.example/x.png"/></filter>`, want: "from <feImage>"},
		{name: "xml:base under a fragment link", doc: `<svg xmlns="http://www.w3.org/2000/svg" xml:base="javascript:alert(1)//"><a href="#x"><rect id="x"/></a></svg>`, want: "has an xml:base attribute on <svg>"},
		{name: "set href", body: `<a><set attributeName="href" to="javascript:alert(1)"/><rect/></a>`, want: "has <set> changing the href attribute"},
		{name: "animate xlink:href", body: `<a><animate attributeName=" xlink:href " values="javascript:alert(1)"/><rect/></a>`, want: "changing the xlink:href attribute"},
		{name: "set an event handler", body: `<rect><set attributeName="onclick" to="alert(1)"/></rect>`, want: "changing the onclick attribute"},
		{name: "animate style", body: `<rect><set attributeName="style" to="fill:url(https://evil.example/)"/></rect>`, want: "changing the style attribute"},
		{name: "style element import", body: `<style>@import url(https://evil.example/x.css);</style>`, want: "has a style element with @import"},
		{name: "style element import in CDATA upper case", body: `<style><![CDATA[@IMPORT "https://evil.example/x.css";]]></style>`, want: "has a style element with @import"},
		{name: "style element external url", body: `<style>rect{fill:url("https://evil.example/x.svg#g")}</style>`, want: `url(https://evil.example/x.svg#g)`},
		{name: "style element with escapes", body: `<style>rect{fill:u\72l(https://evil.example/)}</style>`, want: "CSS escape"},
		{name: "style element url behind a comment", body: `<style>rect{fill:url(/**/https://evil.example/)}</style>`, want: "only url(#id)"},
		{name: "style attribute external url", body: `<rect style="background:URL( https://evil.example/ )"/>`, want: "has a style attribute on <rect> with url(https://evil.example/)"},
		{name: "presentation attribute external url", body: `<rect fill="url(https://evil.example/p.svg#g)"/>`, want: "has a fill attribute on <rect>"},
		{name: "image-set", body: `<rect style="fill:image-set('https://evil.example/a.png' 1x)"/>`, want: "image-set"},
		{name: "doctype with entity", doc: `<!DOCTYPE svg [<!ENTITY x "javascript:alert(1)">]>` + svgOpen + `<a href="&x;"/></svg>`, want: "has a <!DOCTYPE> declaration"},
		{name: "external doctype", doc: `<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">` + svgOpen + `</svg>`, want: "has a <!DOCTYPE> declaration"},
		{name: "xml-stylesheet", doc: `<?xml version="1.0"?><?xml-stylesheet href="https://evil.example/x.css"?>` + svgOpen + `</svg>`, want: "processing instruction <?xml-stylesheet?>"},
		{name: "utf-16 declared", doc: `<?xml version="1.0" encoding="UTF-16"?>` + svgOpen + `</svg>`, want: "not well-formed XML"},
		{name: "undefined entity", body: `<text>&nbsp;</text>`, want: "not well-formed XML"},
		{name: "unclosed", doc: svgOpen + `<script>alert(1)`, want: "has a <script> element"},
		{name: "truncated", doc: svgOpen + `<rect`, want: "not well-formed XML"},
		{name: "comment with double dash", doc: svgOpen + `<!-- a -- b --><rect/></svg>`, want: "not well-formed XML"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := tt.doc
			if doc == "" {
				doc = svgOpen + tt.body + `</svg>`
			}
			got, line := ActiveSVG([]byte(doc))
			switch {
			case tt.want == "" && got != "":
				t.Errorf("refused (line %d): %s", line, got)
			case tt.want != "" && got == "":
				t.Errorf("accepted, want a problem containing %q", tt.want)
			case !strings.Contains(got, tt.want):
				t.Errorf("problem %q, want it to contain %q", got, tt.want)
			case tt.want != "" && line < 1:
				t.Errorf("problem %q has line %d, want a line", got, line)
			}
		})
	}
}
