package site

import (
	"bytes"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hspc/marketplace/catalog"
	"github.com/hspc/marketplace/catalog/synthetic"
)

// TestPagination builds the site of a synthetic catalog large enough for every listing to need
// several pages, and checks that each listing's pages together show every entry once, that no
// page shows more than PageSize, and that every link (page numbers, letters) resolves.
func TestPagination(t *testing.T) {
	fsys := synthetic.MapFS(synthetic.Options{Products: 900, Publishers: 2, BuildsPerProduct: 1})
	c, ds := catalog.Check(fsys)
	if ds.HasErrors() {
		t.Fatalf("synthetic catalog: %d errors", ds.Errors())
	}
	in := Input{Catalog: c, Files: fsys}
	pages := render(t, mustPages(t, in))

	productLink := regexp.MustCompile(`href="(?:\.\./)+products/([a-z0-9-]+/[a-z0-9-]+)/index.html"`)
	listed := func(folder string) (perPage [][]string) {
		for n := 1; ; n++ {
			data, ok := pages[path.Join(folder, pageFile(n))]
			if !ok {
				return perPage
			}
			var ids []string
			for _, m := range productLink.FindAllSubmatch(data, -1) {
				ids = append(ids, string(m[1]))
			}
			perPage = append(perPage, slices.Compact(ids))
		}
	}
	ids := func(want []string) []string {
		out := slices.Clone(want)
		slices.Sort(out)
		return out
	}
	check := func(folder string, want []string) {
		t.Helper()
		perPage := listed(folder)
		if len(want) > PageSize && len(perPage) < 2 {
			t.Errorf("%s: %d entries on %d page(s)", folder, len(want), len(perPage))
		}
		var all []string
		for i, p := range perPage {
			if len(p) > PageSize {
				t.Errorf("%s page %d shows %d products, more than %d", folder, i+1, len(p), PageSize)
			}
			all = append(all, p...)
		}
		if diff := cmp.Diff(ids(want), ids(all)); diff != "" {
			t.Errorf("%s: the pages do not list each product once (-want +got):\n%s", folder, diff)
		}
	}

	check("products", c.SortedProductIDs())
	byPublisher := map[string][]string{}
	byCategory := map[string][]string{}
	for _, id := range c.SortedProductIDs() {
		p := c.Products[id]
		byPublisher[p.Publisher] = append(byPublisher[p.Publisher], id)
		for _, cat := range slices.Compact(slices.Sorted(slices.Values(p.Categories))) {
			byCategory[cat] = append(byCategory[cat], id)
		}
	}
	for pub, want := range byPublisher {
		check("publishers/"+pub, want)
	}
	big := 0
	for cat, want := range byCategory {
		check("categories/"+cat, want)
		if len(want) > PageSize {
			big++
		}
	}
	if big == 0 {
		t.Errorf("no category has more than %d products: the test does not test category pages", PageSize)
	}
	// The largest interface page, page by page.
	for _, in := range c.Index.Interfaces {
		folder := "interfaces/" + in.ID
		if _, ok := pages[folder+"/page-2.html"]; ok {
			if !bytes.Contains(pages[folder+"/page-2.html"], []byte(`href="index.html"`)) {
				t.Errorf("%s/page-2.html does not link back to page 1", folder)
			}
		}
	}
	// Every page is small whatever the catalog's size; 900 products make the
	// unpaginated products index ~700 KB.
	for p, data := range pages {
		if strings.HasSuffix(p, ".html") && len(data) > 250<<10 {
			t.Errorf("%s is %d KB", p, len(data)>>10)
		}
	}
	if _, ok := pages[fmt.Sprintf("products/page-%d.html", pageCount(len(c.Products)))]; !ok {
		t.Errorf("products: no page %d", pageCount(len(c.Products)))
	}
	checkLinks(t, in)
}

func TestPager(t *testing.T) {
	for _, tc := range []struct {
		n, count int
		want     string
	}{
		{1, 1, "[1]"},
		{1, 3, "[1] 2 3"},
		{5, 10, "1 … 3 4 [5] 6 7 … 10"},
		{10, 10, "1 … 8 9 [10]"},
		{2, 4, "1 [2] 3 4"},
	} {
		p := newPager(tc.n, tc.count, tc.count*PageSize)
		var parts []string
		for _, l := range p.Links {
			switch {
			case l.Gap:
				parts = append(parts, "…")
			case l.Current:
				parts = append(parts, fmt.Sprintf("[%d]", l.Number))
			default:
				parts = append(parts, fmt.Sprint(l.Number))
			}
		}
		if got := strings.Join(parts, " "); got != tc.want {
			t.Errorf("page %d of %d: %s, want %s", tc.n, tc.count, got, tc.want)
		}
		if wantPrev := tc.n > 1; (p.Prev != "") != wantPrev {
			t.Errorf("page %d of %d: prev %q", tc.n, tc.count, p.Prev)
		}
		if p.First != (tc.n-1)*PageSize+1 || p.Last != tc.n*PageSize {
			t.Errorf("page %d of %d: entries %d–%d", tc.n, tc.count, p.First, p.Last)
		}
	}
}
