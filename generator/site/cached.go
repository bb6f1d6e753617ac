package site

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"strings"
	"sync"
)

// The template function "cached" is Hugo's partialCached: {{cached NAME DATA KEY…}}
// renders the template NAME with DATA once per distinct KEY… in a build, and inserts the same
// HTML wherever it is called again with the same keys. The theme names what the output
// depends on: base.html's header depends on the page's root prefix and section, and on the
// site's name and static files, which are the same for every page of a build. Every page
// rendering its header and footer anew was about 0.45 s of CPU in a 10 000-product build.
//
// A template set is parsed with unboundCached (parsing only needs the name to exist), then
// bound to the parsed set with bindCached: the function renders from the set it is called in.
func unboundCached(string, any, ...any) (template.HTML, error) {
	return "", errors.New("cached: the template set is not bound yet")
}

// bindCached returns "cached" for tmpl, with a cache that lives as long as tmpl: one build,
// since each build parses its theme.
func bindCached(tmpl *template.Template) func(name string, data any, keys ...any) (template.HTML, error) {
	var cache sync.Map // key → template.HTML
	return func(name string, data any, keys ...any) (template.HTML, error) {
		var b strings.Builder
		b.WriteString(name)
		for _, k := range keys {
			fmt.Fprintf(&b, "\x00%T\x00%v", k, k)
		}
		key := b.String()
		if v, ok := cache.Load(key); ok {
			return v.(template.HTML), nil
		}
		var out bytes.Buffer
		if err := tmpl.ExecuteTemplate(&out, name, data); err != nil {
			return "", err
		}
		// The template is escaped as HTML text, where a page calls it: inserted as HTML.
		h := template.HTML(out.String())
		cache.Store(key, h)
		return h, nil
	}
}
