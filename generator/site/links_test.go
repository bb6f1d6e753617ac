package site

import (
	"bytes"
	"net/url"
	"os"
	"path"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/hspc/marketplace/catalog"
)

// elsewhere are outputs other stages of `marketplace build` write; pages may link to them.
var elsewhere = []string{"deploy/", "api/", "badges/", "feed.json"}

// TestLinks checks that every relative href, src and form action of every page resolves to an
// emitted page or asset (or to one of the other stages' outputs), that fragments name an id on
// the target page, and that no page links outside the site. It runs over the test catalog with
// and without base_url, and over the example catalog of this repository.
func TestLinks(t *testing.T) {
	in := testInput(t, testFS(t))
	t.Run("test catalog", func(t *testing.T) { checkLinks(t, in) })
	t.Run("no base_url", func(t *testing.T) {
		in.Catalog.Index.Catalog.BaseURL = ""
		checkLinks(t, in)
	})
	t.Run("example catalog", func(t *testing.T) {
		fsys := os.DirFS("../..")
		c, ds := catalog.Check(fsys)
		if ds.HasErrors() {
			t.Skipf("the example catalog has errors (%d); `marketplace validate` reports them", ds.Errors())
		}
		checkLinks(t, Input{Catalog: c, Files: fsys})
	})
}

func checkLinks(t *testing.T, in Input) {
	pages := render(t, mustPages(t, in))
	base := in.Catalog.Index.Catalog.BaseURL
	ids := map[string]map[string]bool{}
	type ref struct{ from, to string }
	var refs []ref
	for p, data := range pages {
		if path.Ext(p) != ".html" {
			continue
		}
		ids[p] = map[string]bool{}
		z := html.NewTokenizer(bytes.NewReader(data))
		for {
			tt := z.Next()
			if tt == html.ErrorToken {
				break
			}
			if tt != html.StartTagToken && tt != html.SelfClosingTagToken {
				continue
			}
			tok := z.Token()
			for _, a := range tok.Attr {
				switch a.Key {
				case "id":
					if ids[p][a.Val] {
						t.Errorf("%s: duplicate id %q", p, a.Val)
					}
					ids[p][a.Val] = true
				case "href", "src", "action":
					refs = append(refs, ref{p, a.Val})
				}
			}
		}
	}
	if len(refs) < len(ids)*10 {
		t.Fatalf("only %d links in %d pages: the link extraction is broken", len(refs), len(ids))
	}
	for _, r := range refs {
		target, frag, ok := resolve(t, r.from, r.to, base)
		if !ok {
			continue
		}
		if target == "" {
			target = r.from
		} else if _, emitted := pages[target]; !emitted {
			if !hasAnyPrefix(target, elsewhere) {
				t.Errorf("%s: link %q leads to %s, which is not emitted", r.from, r.to, target)
			}
			continue
		}
		if frag != "" && ids[target] != nil && !ids[target][frag] {
			t.Errorf("%s: link %q names #%s, which %s does not have", r.from, r.to, frag, target)
		}
	}
}

// resolve returns the output path and fragment a link on page from points to, or ok = false
// for links that leave the site (http, https, mailto).
func resolve(t *testing.T, from, ref, base string) (target, frag string, ok bool) {
	u, err := url.Parse(ref)
	if err != nil {
		t.Errorf("%s: unparsable link %q: %v", from, ref, err)
		return "", "", false
	}
	if from == "404.html" {
		// The documented exception: 404.html links root-relative, from base_url's path.
		root := "/"
		if b, err := url.Parse(base); err == nil && b.Path != "" {
			root = strings.TrimSuffix(b.Path, "/") + "/"
		}
		switch {
		case strings.HasPrefix(ref, root) && !strings.HasPrefix(ref, "//"):
			u, _ = url.Parse(strings.TrimPrefix(ref, root))
		case strings.HasPrefix(ref, "#"):
		default:
			t.Errorf("404.html: link %q does not start from base_url's path %s", ref, root)
			return "", "", false
		}
	} else if u.Scheme == "" && (strings.HasPrefix(ref, "/") || u.Host != "") {
		t.Errorf("%s: link %q is not relative", from, ref)
		return "", "", false
	}
	if u.Scheme != "" {
		return "", "", false
	}
	if u.Path == "" {
		return "", u.Fragment, true
	}
	dir := path.Dir(from)
	if from == "404.html" {
		dir = "."
	}
	joined := path.Join(dir, u.Path)
	if joined == ".." || strings.HasPrefix(joined, "../") {
		t.Errorf("%s: link %q leaves the site", from, ref)
		return "", "", false
	}
	if strings.HasSuffix(u.Path, "/") {
		t.Errorf("%s: link %q names a folder, which file:// does not open as index.html", from, ref)
	}
	return joined, u.Fragment, true
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
