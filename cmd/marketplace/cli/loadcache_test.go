package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestValidateLoadCache runs validate three times over one cache folder: the first fills it, the
// second answers from it alike, the third sees an edit made in between.
func TestValidateLoadCache(t *testing.T) {
	dir, cache := t.TempDir(), t.TempDir()
	write := func(name, body string) {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("index.toml", "[catalog]\nname = \"T\"\n")
	write("products/acme/publisher.toml", "name = \"Acme\"\nmaintainers = [\"acme\"]\n[[signers]]\nissuer = \"https://issuer.example\"\nsubject = \"me\"\n")
	product := "name = \"X\"\nsummary = \"x\"\nlicense = \"MIT\"\n[identity]\nsso = []\ntracing = \"none\"\n[[builds]]\nversion = \"1.0.0\"\nimage = \"r/x:1.0.0@sha256:" + strings.Repeat("a", 64) + "\"\n  [[builds.tasks]]\n  name = \"web\"\n  memory = 5\n"
	write("products/acme/x.toml", product)

	var outs []string
	for range 2 {
		code, out, errOut := run(t, "-C", dir, "validate", "--load-cache", cache)
		if code != ExitOK {
			t.Fatalf("exit %d\n%s%s", code, out, errOut)
		}
		outs = append(outs, out+errOut)
	}
	if outs[0] != outs[1] {
		t.Errorf("the cached run says something else:\n%s\nthen:\n%s", outs[0], outs[1])
	}
	if files, _ := filepath.Glob(filepath.Join(cache, "catalog-*.cache")); len(files) != 1 {
		t.Errorf("cache folder holds %v, want one catalog-*.cache", files)
	}
	// A damaged cache file is ignored, and said: the check was slower than it needed to be.
	files, _ := filepath.Glob(filepath.Join(cache, "catalog-*.cache"))
	if len(files) == 1 {
		if err := os.WriteFile(files[0], []byte("not a cache file"), 0o600); err != nil {
			t.Fatal(err)
		}
		code, out, errOut := run(t, "-C", dir, "validate", "--load-cache", cache)
		if code != ExitOK || !strings.Contains(errOut, "note: ") || !strings.Contains(errOut, files[0]) {
			t.Errorf("with a damaged cache file: exit %d, stderr %q; want a note naming %s", code, errOut, files[0])
		}
		if out+errOut == outs[0] {
			t.Errorf("with a damaged cache file the run said nothing more than before")
		}
	}
	write("products/acme/x.toml", strings.Replace(product, "memory = 5", "memory = 0", 1))
	code, out, _ := run(t, "-C", dir, "validate", "--load-cache", cache)
	if code != ExitProblems || !strings.Contains(out, "products/acme/x.toml:12:12: error: memory is 0 MiB, want more than 0 (rule 10)") {
		t.Errorf("after the edit: exit %d\n%s", code, out)
	}
}
