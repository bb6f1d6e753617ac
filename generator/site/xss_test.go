package site

import (
	"bytes"
	"path"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"golang.org/x/net/html"

	"github.com/hspc/marketplace/catalog"
)

// Hostile text for every field a catalog author controls. IDs and categories are excluded: they
// name pages, so Pages refuses invalid ones (and the validator rejects them first).
const (
	xScript = `<script>alert(1)</script>`
	xImg    = `"><img src=x onerror=alert(1)>`
	xJS     = `javascript:alert(1)`
	xAll    = xScript + xImg + `'` + "`"
)

// hostileCatalog is decoded with catalog.Load, not Check: the validator would reject most of it,
// and the site must stay safe even for a catalog nobody validated.
var hostileCatalog = fstest.MapFS{
	"index.toml": {Data: []byte(`
[catalog]
name = ` + q(xAll) + `
description = ` + q(xAll) + `
base_url = "javascript:alert(1)//"

[[interfaces]]
id = "fhir"
name = ` + q(xAll) + `
uri = "javascript:alert(1)"
version = ` + q(xAll) + `
properties = [` + q(xAll) + `]
substitutes_for = [` + q(xAll) + `]

[[interfaces]]
id = "other"
name = "Other"
uri = " JaVaScRiPt:alert(1)"
substitutes_for = ["fhir"]
`)},
	"products/evil/publisher.toml": {Data: []byte(`
name = ` + q(xAll) + `
url = "javascript:alert(1)"
contact = "data:text/html,<script>alert(1)</script>"
maintainers = [` + q(xAll) + `]

[[signers]]
key = ` + q(xAll) + `

[[signers]]
issuer = ` + q(xJS) + `
subject = ` + q(xAll) + `
subject_regexp = ` + q(xAll) + `
`)},
	"products/evil/app/logo.svg": {Data: []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`)},
	"products/evil/app/shot.png": {Data: png},
	"products/evil/app.toml": {Data: []byte(`
name = ` + q(xAll) + `
summary = ` + q(xAll) + `
homepage = "javascript:alert(1)"
support = "vbscript:msgbox(1)"
source = "	java	script:alert(1)"
license = ` + q(xAll) + `
evaluation = true
categories = ["cds"]
tags = [` + q(xAll) + `, "javascript:alert(1)"]
logo = "app/logo.svg"
screenshots = [{ file = "app/shot.png", caption = ` + q(xAll) + ` }]
description = '''
# ` + xAll + `

` + xScript + `

<img src=x onerror=alert(1)>

[click](javascript:alert(1)) [click2](JAVASCRIPT:alert(1)) [click3](java&#x09;script:alert(1))
[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==) [vb](vbscript:msgbox(1))
![img](javascript:alert(1)) ![img2](data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=) ![x](x" onerror="alert(1))
<javascript:alert(1)> [ref][r] <a href="javascript:alert(1)">raw</a>

[r]: javascript:alert(1)
'''

[identity]
sso = [` + q(xAll) + `]
tracing = ` + q(xAll) + `
phi_logging = ` + q(xAll) + `

[[builds]]
version = ` + q("1.0.0"+xAll) + `
image = ` + q(xAll) + `
notes = '''` + xScript + ` [x](javascript:alert(1)) ` + xImg + `'''
platforms = [` + q(xAll) + `]

  [[builds.tasks]]
  name = ` + q(xAll) + `
  command = [` + q(xAll) + `]
  memory = 1
  ports = [{ port = 1, protocol = ` + q(xAll) + `, health = ` + q(xAll) + ` }]

  [[builds.parameters]]
  name = ` + q(xAll) + `
  description = ` + q(xAll) + `
  default = ` + q(xAll) + `
  pattern = ` + q(xAll) + `

  [[builds.exposes]]
  interface = "fhir"
  task = ` + q(xAll) + `
  port = 1
  path = ` + q(xAll) + `

  [[builds.exposes]]
  interface = ` + q(xAll) + `
  task = "x"

  [[builds.dependencies]]
  interface = "fhir"
  bind = { X = ` + q(xAll) + ` }

  [[builds.dependencies]]
  interface = ` + q(xAll) + `

  [builds.smoke_test]
  task = ` + q(xAll) + `
  command = [` + q(xAll) + `]

[[builds]]
version = "0.9.0"
image = "ghcr.io/evil/app@sha256:6666666666666666666666666666666666666666666666666666666666666666"

  [[builds.tasks]]
  name = "web"
  memory = 1
`)},
}

// q returns s as a TOML basic string.
// searchScript is the search page's script, the theme's search.js under its hashed name.
var searchScript = regexp.MustCompile(`^\.\./static/search\.[0-9a-f]{10}\.js$`)

// builderScript is the environment builder's script, the theme's builder.js under its hashed name.
var builderScript = regexp.MustCompile(`^\.\./static/builder\.[0-9a-f]{10}\.js$`)

func q(s string) string { return strconv.Quote(s) }

func TestXSS(t *testing.T) {
	c, ds := catalog.Load(hostileCatalog)
	if len(ds) > 0 {
		t.Fatalf("the hostile catalog must decode cleanly, so that every field is exercised: %v", ds)
	}
	if c.Products["evil/app"] == nil || c.Publishers["evil"] == nil || c.Index == nil {
		t.Fatalf("the hostile catalog did not load")
	}
	h := &catalog.History{Products: map[string]*catalog.ProductHistory{"evil/app": {
		Added: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
		Log:   []catalog.Commit{{Hash: xAll, Author: xAll, Subject: xAll, Date: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}},
	}}}
	images := map[string]ImageStatus{
		"sha256:6666666666666666666666666666666666666666666666666666666666666666": {State: catalog.ImageVerified, Signer: xAll, Detail: xAll},
	}
	pages := render(t, mustPages(t, Input{Catalog: c, History: h, Images: images, Files: hostileCatalog}))

	if _, ok := pages["products/evil/app/logo.svg"]; ok {
		t.Errorf("an SVG logo with a script was published")
	}
	if _, ok := pages["products/evil/app/shot.png"]; !ok {
		t.Errorf("the harmless screenshot was not published")
	}
	seenHostile := false
	for p, data := range pages {
		if path.Ext(p) != ".html" {
			continue
		}
		if bytes.Contains(data, []byte("&lt;script&gt;alert(1)")) {
			seenHostile = true // the text is shown, escaped
		}
		for _, raw := range []string{"<script>alert", "<img src=x", "<img src=\"x\"", "<a href=\"javascript"} {
			if bytes.Contains(bytes.ToLower(data), []byte(strings.ToLower(raw))) {
				t.Errorf("%s contains %s unescaped", p, raw)
			}
		}
		checkSafeHTML(t, p, data)
	}
	if !seenHostile {
		t.Errorf("the hostile text appears nowhere, escaped or not: the test no longer exercises the templates")
	}
}

// checkSafeHTML parses a page as a browser would and fails on any script element (but the search
// and builder pages' own), event handler attribute, or URL attribute with a script or data scheme.
func checkSafeHTML(t *testing.T, p string, data []byte) {
	t.Helper()
	z := html.NewTokenizer(bytes.NewReader(data))
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			return
		}
		if tt != html.StartTagToken && tt != html.SelfClosingTagToken {
			continue
		}
		tok := z.Token()
		switch tok.Data {
		case "script":
			search := p == "search/index.html" && len(tok.Attr) == 2 && tok.Attr[0].Key == "src" && searchScript.MatchString(tok.Attr[0].Val)
			builder := p == BuilderPath && len(tok.Attr) == 2 && tok.Attr[0].Key == "src" && builderScript.MatchString(tok.Attr[0].Val)
			if !(search || builder) || tok.Attr[1].Key != "defer" {
				t.Errorf("%s: a <script> element: %s", p, tok)
			}
		case "iframe", "object", "embed", "base", "meta":
			if tok.Data != "meta" {
				t.Errorf("%s: a <%s> element", p, tok.Data)
			}
			for _, a := range tok.Attr {
				if a.Key == "http-equiv" {
					t.Errorf("%s: <meta http-equiv>", p)
				}
			}
		}
		for _, a := range tok.Attr {
			if strings.HasPrefix(a.Key, "on") {
				t.Errorf("%s: event handler attribute %s=%q on <%s>", p, a.Key, a.Val, tok.Data)
			}
			switch a.Key {
			case "href", "src", "action", "formaction", "srcset", "poster", "xlink:href":
				v := strings.ToLower(strings.Map(func(r rune) rune {
					if r <= ' ' {
						return -1
					}
					return r
				}, a.Val))
				for _, scheme := range []string{"javascript:", "vbscript:", "data:"} {
					if strings.HasPrefix(v, scheme) {
						t.Errorf("%s: <%s %s=%q>", p, tok.Data, a.Key, a.Val)
					}
				}
			}
		}
	}
}
