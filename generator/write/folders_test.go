package write

import (
	"context"
	"os"
	"path"
	"path/filepath"
	"slices"
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
