package write

import (
	"context"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/hspc/marketplace/generator/page"
)

// TestFolders checks the writers' units of work: the runs of consecutive pages in one folder,
// whole, in order, sharing the pages' array (a batch's entries are cleared as they are written).
func TestFolders(t *testing.T) {
	paths := []string{"404.html", "index.html", "a/1.html", "a/2.html", "a/b/1.html", "a/c.html", "b/1.html", "b/2.html", "b/3.html", "top.html"}
	var pages []page.Page
	for _, p := range paths {
		pages = append(pages, page.Page{Path: p})
	}
	var got [][]string
	for batch := range folders(pages) {
		var names []string
		for _, p := range batch {
			names = append(names, p.Path)
		}
		got = append(got, names)
		if &batch[0] != &pages[slices.IndexFunc(pages, func(p page.Page) bool { return p.Path == batch[0].Path })] {
			t.Errorf("batch %v is a copy, not part of the pages' array", names)
		}
		if cap(batch) != len(batch) {
			t.Errorf("batch %v has room beyond its folder's pages (cap %d)", names, cap(batch))
		}
	}
	want := [][]string{{"404.html", "index.html"}, {"a/1.html", "a/2.html"}, {"a/b/1.html"}, {"a/c.html"}, {"b/1.html", "b/2.html", "b/3.html"}, {"top.html"}}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("folders = %v, want %v", got, want)
	}
	for range folders(nil) {
		t.Error("folders(nil) yielded a batch")
	}
	n := 0
	for range folders(pages) {
		n++
		break
	}
	if n != 1 {
		t.Errorf("folders went on after the loop stopped")
	}
}

// TestWritersShareNoFolder writes a site of many small folders with several writers and
// checks, from inside the renderers, that no two writers are ever in one folder at once.
func TestWritersShareNoFolder(t *testing.T) {
	var mu sync.Mutex
	busy := map[string]int{} // folder → pages being rendered in it
	var clash string
	var pages []page.Page
	for i := range 40 {
		dir := "products/p" + strings.Repeat("x", i%7) + string(rune('a'+i))
		for _, name := range []string{"index.html", "logo.svg", "z.json"} {
			pg := path.Join(dir, name)
			pages = append(pages, page.Page{Path: pg, Key: pg, Render: func() ([]byte, error) {
				mu.Lock()
				busy[dir]++
				if busy[dir] > 1 && clash == "" {
					clash = pg
				}
				mu.Unlock()
				for range 2000 { // long enough for the other writers to be rendering too
					_ = strings.Repeat("x", 64)
				}
				mu.Lock()
				busy[dir]--
				mu.Unlock()
				return []byte(pg), nil
			}})
		}
	}
	out := filepath.Join(t.TempDir(), "public")
	if _, err := Write(context.Background(), out, pages, Options{Jobs: 4}); err != nil {
		t.Fatal(err)
	}
	if clash != "" {
		t.Errorf("two writers were in the folder of %s at once", clash)
	}
	data, err := os.ReadFile(filepath.Join(out, "products", "pa", "z.json"))
	if err != nil || string(data) != "products/pa/z.json" {
		t.Errorf("products/pa/z.json = %q, %v", data, err)
	}
}

// TestSharedPagesShareAFile checks page.Page.Shared: pages of one key are one file (hard links),
// rendered once, in the first build and in a rebuild that renames some; pages that are not
// shared, or whose keys differ, are files of their own.
func TestSharedPagesShareAFile(t *testing.T) {
	var renders sync.Map // path → times rendered
	pageOf := func(path, key string, shared bool) page.Page {
		return page.Page{Path: path, Key: key, Shared: shared, Render: func() ([]byte, error) {
			n, _ := renders.LoadOrStore(path, new(int))
			*n.(*int)++
			return []byte("badge " + key), nil
		}}
	}
	site := func(names ...string) []page.Page {
		var pages []page.Page
		for i, n := range names {
			pages = append(pages, pageOf("badges/"+n+".svg", "k"+strconv.Itoa(i%2), true))
		}
		return append(pages, pageOf("other.svg", "k0", false))
	}
	out := filepath.Join(t.TempDir(), "public")
	stats, err := Write(context.Background(), out, site("a", "b", "c", "d"), Options{Jobs: 1})
	if err != nil {
		t.Fatal(err)
	}
	same := func(a, b string) bool {
		ia, err1 := os.Stat(filepath.Join(out, a))
		ib, err2 := os.Stat(filepath.Join(out, b))
		if err1 != nil || err2 != nil {
			t.Fatalf("%v, %v", err1, err2)
		}
		return os.SameFile(ia, ib)
	}
	if !same("badges/a.svg", "badges/c.svg") || !same("badges/b.svg", "badges/d.svg") {
		t.Error("pages of one key are not one file")
	}
	if same("badges/a.svg", "badges/b.svg") || same("badges/a.svg", "other.svg") {
		t.Error("pages of other keys, or not shared, are linked")
	}
	if stats.Rendered != 3 || stats.Reused != 2 {
		t.Errorf("rendered %d, reused %d; want 3 and 2", stats.Rendered, stats.Reused)
	}
	for _, p := range []string{"badges/a.svg", "badges/d.svg", "other.svg"} {
		if data, err := os.ReadFile(filepath.Join(out, p)); err != nil || !strings.HasPrefix(string(data), "badge k") {
			t.Errorf("%s = %q, %v", p, data, err)
		}
	}

	// A rebuild renames c to e: e links to the file of its key in the tree being built (a page
	// of that key linked from the published output, or rendered), so it is not rendered.
	renders.Clear()
	if _, err := Write(context.Background(), out, site("a", "b", "e", "d"), Options{Jobs: 1}); err != nil {
		t.Fatal(err)
	}
	if !same("badges/a.svg", "badges/e.svg") {
		t.Error("after a rebuild, the renamed page is not linked to its key's file")
	}
	renders.Range(func(k, v any) bool {
		t.Errorf("the rebuild rendered %s", k) // every page is linked: from the published output, or to its key's file
		return true
	})
}
