package site

import (
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/hspc/marketplace/theme"
)

// TestStaticMinified checks that the theme's scripts and style sheets are published minified
// under the hash of what is published, that other files are copied as they are, and that a
// script the minifier cannot parse fails the build with its line and column. (Style sheets
// have no such errors: CSS recovers from any input, in esbuild as in browsers.) (The browser tests
// of generator/search and generator run the minified search.js and builder.js.)
func TestStaticMinified(t *testing.T) {
	th, err := loadTheme(theme.FS)
	if err != nil {
		t.Fatal(err)
	}
	published := map[string][]byte{}
	for _, p := range th.static {
		data, err := p.Render()
		if err != nil {
			t.Fatal(err)
		}
		published[p.Path] = data
	}
	for rel, hashed := range th.versions {
		src, err := fs.ReadFile(theme.FS, "static/"+rel)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := published[hashed]
		if !ok {
			t.Fatalf("%s is published as %s, which is not among the static pages", rel, hashed)
		}
		switch {
		case strings.HasSuffix(rel, ".js") || strings.HasSuffix(rel, ".css"):
			if len(got) >= len(src)*9/10 {
				t.Errorf("%s: published %d bytes of %d: not minified", rel, len(got), len(src))
			}
		default:
			if string(got) != string(src) {
				t.Errorf("%s: published bytes differ from the theme's", rel)
			}
		}
	}
	search := string(published[th.versions["search.js"]])
	if strings.Contains(search, "\n  ") || strings.Contains(search, "// ") {
		t.Errorf("search.js keeps its indentation or comments")
	}

	bad := fstest.MapFS{}
	fs.WalkDir(theme.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			data, _ := fs.ReadFile(theme.FS, p)
			bad[p] = &fstest.MapFile{Data: data}
		}
		return nil
	})
	bad["static/extra.js"] = &fstest.MapFile{Data: []byte("let a = 1;\nfunction ( {\n")}
	_, err = loadTheme(bad)
	if err == nil || !strings.Contains(err.Error(), "static/extra.js:2:10:") {
		t.Errorf("a script that does not parse: got %v, want an error at static/extra.js:2:10", err)
	}
}
