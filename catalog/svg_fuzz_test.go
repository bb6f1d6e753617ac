package catalog

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// FuzzActiveSVG checks the SVG check against an independent reading: whatever ActiveSVG accepts,
// parsed by an HTML5 parser (a different tokenizer, entity decoder and tree builder, reading the
// SVG as foreign content), holds no script-like element, no event-handler attribute, no link
// that is not a fragment and no style that loads from elsewhere. ActiveSVG must also never panic.
func FuzzActiveSVG(f *testing.F) {
	seeds, _ := filepath.Glob("../products/*/*/*.svg")
	for _, s := range seeds {
		if data, err := os.ReadFile(s); err == nil {
			f.Add(data)
		}
	}
	for _, body := range []string{
		`<rect width="8" height="8" fill="url(#g)"/>`,
		`<a href="#x"><use xlink:href="#p"/></a>`,
		`<script>alert(1)</script>`,
		`<a href="javascript:alert(1)">x</a>`,
		`<a xlink:href="&#106;avascript:alert(1)">x</a>`,
		`<rect onload="alert(1)"/>`,
		`<foreignObject><div xmlns="http://www.w3.org/1999/xhtml"/></foreignObject>`,
		`<style>@import "x.css"; rect{fill:url(https://e.example/)}</style>`,
		`<style><![CDATA[rect{fill:url(#a)}]]></style>`,
		`<set attributeName="href" to="javascript:alert(1)"/>`,
		`<image href="data:image/png;base64,AAAA"/>`,
	} {
		f.Add([]byte(svgOpen + body + `</svg>`))
	}
	f.Add([]byte(`<!DOCTYPE svg [<!ENTITY x "javascript:">]><svg xmlns="http://www.w3.org/2000/svg"><a href="&x;"/></svg>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if what, _ := ActiveSVG(data); what != "" {
			return
		}
		doc, err := html.Parse(bytes.NewReader(data))
		if err != nil {
			return // not something a browser would build a document from either
		}
		for n := range doc.Descendants() {
			if n.Type != html.ElementNode {
				continue
			}
			name := localName(n.Data)
			switch name {
			case "script", "foreignobject", "handler", "listener":
				t.Fatalf("accepted an SVG with a <%s> element:\n%s", n.Data, data)
			case "style":
				if css := textOf(n); strings.Contains(strings.ToLower(css), "@import") || externalURL(css) {
					t.Fatalf("accepted an SVG whose style element loads from elsewhere:\n%s", data)
				}
			}
			for _, a := range n.Attr {
				key := localName(a.Key)
				switch {
				case strings.HasPrefix(key, "on"):
					t.Fatalf("accepted an SVG with the event handler %s on <%s>:\n%s", a.Key, n.Data, data)
				case key == "href" && !strings.HasPrefix(strings.TrimLeft(removeURLSpace(a.Val), "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f "), "#"):
					t.Fatalf("accepted an SVG linking to %q from <%s>:\n%s", a.Val, n.Data, data)
				case externalURL(a.Val):
					t.Fatalf("accepted an SVG whose %s attribute loads %q:\n%s", a.Key, a.Val, data)
				}
			}
		}
	})
}

// localName drops a namespace prefix ("xlink:href" → "href"), which the HTML parser keeps in
// the name, and folds case.
func localName(s string) string {
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		s = s[i+1:]
	}
	return strings.ToLower(s)
}

func textOf(n *html.Node) string {
	var b strings.Builder
	for c := range n.Descendants() {
		if c.Type == html.TextNode {
			b.WriteString(c.Data)
		}
	}
	return b.String()
}

// removeURLSpace drops the tabs and line breaks a URL parser removes anywhere.
func removeURLSpace(s string) string {
	return strings.NewReplacer("\t", "", "\n", "", "\r", "").Replace(s)
}

// externalURL reports whether CSS text has a url( … ) whose argument is not a fragment.
func externalURL(css string) bool {
	l := strings.ToLower(css)
	for {
		i := strings.Index(l, "url(")
		if i < 0 {
			return false
		}
		l = l[i+4:]
		arg := strings.TrimLeft(l, " \t\r\n\f\"'")
		if !strings.HasPrefix(arg, "#") {
			return true
		}
	}
}
