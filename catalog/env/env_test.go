package env_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/tools/txtar"

	"github.com/hspc/marketplace/catalog"
	"github.com/hspc/marketplace/catalog/env"
)

var update = flag.Bool("update", false, "rewrite the want sections of testdata/invalid/*.txtar")

var (
	exampleOnce sync.Once
	example     *catalog.Catalog
	exampleErr  string
)

// exampleCatalog is the repository's example catalog, checked once.
func exampleCatalog(t testing.TB) *catalog.Catalog {
	t.Helper()
	exampleOnce.Do(func() {
		c, ds := catalog.Check(os.DirFS("../.."))
		if ds.HasErrors() {
			var b strings.Builder
			ds.Write(&b, "text")
			exampleErr = b.String()
		}
		example = c
	})
	if exampleErr != "" {
		t.Fatalf("the example catalog does not validate:\n%s", exampleErr)
	}
	return example
}

// resolve loads the environment file at path from data and resolves it against the example
// catalog, with lock when not nil.
func resolve(t *testing.T, path string, data []byte, lock *env.Lock, opts env.Options) (*env.Resolution, catalog.Diagnostics) {
	t.Helper()
	e, ds := env.Load(path, data)
	if e == nil {
		return nil, ds
	}
	return env.Resolve(exampleCatalog(t), e, lock, opts)
}

// TestInvalid runs the corpus testdata/invalid/*.txtar: each case holds an environment file
// (*.toml), optionally its lock (*.lock), and the diagnostics wanted, resolved against the
// example catalog. go test -update rewrites the want sections.
func TestInvalid(t *testing.T) {
	files, _ := filepath.Glob("testdata/invalid/*.txtar")
	if len(files) == 0 {
		t.Fatal("no cases")
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".txtar")
		t.Run(name, func(t *testing.T) {
			a, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var envPath string
			var envData []byte
			var lock *env.Lock
			for _, f := range a.Files {
				switch {
				case strings.HasSuffix(f.Name, ".toml"):
					envPath, envData = f.Name, f.Data
				case strings.HasSuffix(f.Name, ".lock"):
					l, ds := env.LoadLock(f.Name, f.Data)
					if ds.HasErrors() {
						t.Fatalf("the case's lock: %v", ds)
					}
					lock = l
				}
			}
			_, ds := resolve(t, envPath, envData, lock, env.Options{})
			var got bytes.Buffer
			ds.Write(&got, "text")
			if !ds.HasErrors() && !strings.HasPrefix(name, "warn-") {
				t.Errorf("no error reported; cases named warn-* may have warnings only:\n%s", got.String())
			}
			if *update {
				setWant(a, got.Bytes())
				if err := os.WriteFile(file, txtar.Format(a), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if diff := cmp.Diff(string(wantOf(a)), got.String()); diff != "" {
				t.Errorf("diagnostics mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func wantOf(a *txtar.Archive) []byte {
	for _, f := range a.Files {
		if f.Name == "want" {
			return f.Data
		}
	}
	return nil
}

func setWant(a *txtar.Archive, data []byte) {
	for i := range a.Files {
		if a.Files[i].Name == "want" {
			a.Files[i].Data = data
			return
		}
	}
	a.Files = append(a.Files, txtar.File{Name: "want", Data: data})
}

// TestContributingQuotesCorpus keeps CONTRIBUTING.md quoting every diagnostic of the corpus.
func TestContributingQuotesCorpus(t *testing.T) {
	guide, err := os.ReadFile("../../CONTRIBUTING.md")
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("testdata/invalid/*.txtar")
	for _, file := range files {
		a, err := txtar.ParseFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(wantOf(a)), "\n") {
			if line != "" && !bytes.Contains(guide, []byte(line)) {
				t.Errorf("%s: CONTRIBUTING.md does not quote %q", filepath.Base(file), line)
			}
		}
	}
}
