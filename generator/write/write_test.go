package write

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hspc/marketplace/generator/page"
)

func pages(version string, n int) []page.Page {
	var ps []page.Page
	for i := range n {
		body := fmt.Sprintf("page %d of %s", i, version)
		if i%2 == 0 { // even pages do not change between versions
			body = fmt.Sprintf("page %d", i)
		}
		ps = append(ps, page.Static(fmt.Sprintf("p/%03d/index.html", i), []byte(body)))
	}
	return ps
}

func readAll(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		if !d.IsDir() && d.Name() != ManifestFile {
			data, _ := os.ReadFile(p)
			rel, _ := filepath.Rel(dir, p)
			out[filepath.ToSlash(rel)] = string(data)
		}
		return nil
	})
	return out
}

func TestWriteIsIncremental(t *testing.T) {
	out := filepath.Join(t.TempDir(), "public")
	st, err := Write(context.Background(), out, pages("v1", 10), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Rendered != 10 || st.Reused != 0 {
		t.Errorf("first build: %+v, want 10 rendered", st)
	}
	st, err = Write(context.Background(), out, pages("v2", 10), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Rendered != 5 || st.Reused != 5 {
		t.Errorf("second build: %+v, want 5 rendered and 5 reused", st)
	}
	got := readAll(t, out)
	if len(got) != 10 || got["p/001/index.html"] != "page 1 of v2" || got["p/000/index.html"] != "page 0" {
		t.Errorf("output after second build = %v", got)
	}
	// A page that disappears from the build disappears from the output.
	if _, err := Write(context.Background(), out, pages("v2", 3), Options{}); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, out); len(got) != 3 {
		t.Errorf("output has %d files, want 3", len(got))
	}
	entries, _ := os.ReadDir(filepath.Dir(out))
	if len(entries) != 1 {
		t.Errorf("leftovers beside the output: %v", entries)
	}
}

func TestFailedWriteLeavesOutputUntouched(t *testing.T) {
	out := filepath.Join(t.TempDir(), "public")
	if _, err := Write(context.Background(), out, pages("v1", 10), Options{}); err != nil {
		t.Fatal(err)
	}
	before := readAll(t, out)
	bad := append(pages("v2", 10), page.Page{Path: "broken.html", Key: "x", Render: func() ([]byte, error) {
		return nil, errors.New("template exploded")
	}})
	if _, err := Write(context.Background(), out, bad, Options{}); err == nil || !strings.Contains(err.Error(), "template exploded") {
		t.Fatalf("Write error = %v, want the render error", err)
	}
	if after := readAll(t, out); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("output changed by a failed build")
	}
	entries, _ := os.ReadDir(filepath.Dir(out))
	if len(entries) != 1 {
		t.Errorf("leftovers beside the output: %v", entries)
	}
}

func TestRejectsBadPaths(t *testing.T) {
	for _, p := range []string{"../escape", "/abs", "a/../b", "", ManifestFile} {
		_, err := Write(context.Background(), filepath.Join(t.TempDir(), "o"), []page.Page{page.Static(p, nil)}, Options{})
		if err == nil {
			t.Errorf("path %q accepted", p)
		}
	}
	dup := []page.Page{page.Static("a", nil), page.Static("a", nil)}
	if _, err := Write(context.Background(), filepath.Join(t.TempDir(), "o"), dup, Options{}); err == nil {
		t.Error("duplicate path accepted")
	}
}
