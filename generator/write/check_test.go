package write

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckWhole checks that the last check before a switch finds every missing page and hook
// file: in a folder that holds others, in a folder that is gone, and at the top.
func TestCheckWhole(t *testing.T) {
	tree := t.TempDir()
	for _, f := range []string{"index.html", "products/a/index.html", "products/a/logo.svg", "search.bleve/store/root.bolt"} {
		p := filepath.Join(tree, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	keys := map[string]string{"index.html": "k", "products/a/index.html": "k", "products/a/logo.svg": "k"}
	extra := []string{"search.bleve/store/root.bolt"}
	if err := checkWhole(tree, keys, extra, 2); err != nil {
		t.Fatalf("a whole tree: %v", err)
	}
	keys["products/a/missing.html"] = "k"
	keys["products/b/index.html"] = "k"
	keys["feed.json"] = "k"
	extra = append(extra, "search.bleve/store/000001.zap")
	err := checkWhole(tree, keys, extra, 2)
	if err == nil || !strings.Contains(err.Error(), "4 files missing, first feed.json") {
		t.Errorf("four files missing: got %v", err)
	}
}
