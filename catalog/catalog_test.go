package catalog

import (
	"bytes"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/tools/txtar"
)

var update = flag.Bool("update", false, "rewrite the want sections of testdata/invalid/*.txtar")

// overlay returns the base catalog with the files of a case laid over it. A "-delete" file of the
// case lists base files to remove; "want" is the expected output and not part of the catalog.
// A file name may end in a directive: "NAME@symlink" makes NAME a symlink to the path the file
// holds; "NAME@pad=N" pads the content with zero bytes to N bytes (oversize assets).
func overlay(t *testing.T, base, c *txtar.Archive) fstest.MapFS {
	t.Helper()
	fsys := fstest.MapFS{}
	for _, f := range base.Files {
		fsys[f.Name] = &fstest.MapFile{Data: f.Data}
	}
	for _, f := range c.Files {
		switch f.Name {
		case "want":
		case "-delete":
			for _, name := range strings.Fields(string(f.Data)) {
				if _, ok := fsys[name]; !ok {
					t.Fatalf("-delete names %s, which is not in the base catalog", name)
				}
				delete(fsys, name)
			}
		default:
			name, directive, _ := strings.Cut(f.Name, "@")
			file := &fstest.MapFile{Data: f.Data}
			switch {
			case directive == "symlink": // the file is a symlink to the path it holds
				file = &fstest.MapFile{Data: bytes.TrimSpace(f.Data), Mode: fs.ModeSymlink}
			case strings.HasPrefix(directive, "pad="): // the content, padded with zeros to a size
				n, err := strconv.Atoi(strings.TrimPrefix(directive, "pad="))
				if err != nil {
					t.Fatalf("bad directive in %s: %v", f.Name, err)
				}
				file.Data = append(bytes.Clone(f.Data), make([]byte, max(0, n-len(f.Data)))...)
			case directive != "":
				t.Fatalf("unknown directive in %s (want @symlink or @pad=N)", f.Name)
			}
			fsys[name] = file
		}
	}
	return fsys
}

func readArchive(t *testing.T, path string) *txtar.Archive {
	t.Helper()
	a, err := txtar.ParseFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestBaseCatalogIsValid(t *testing.T) {
	base := readArchive(t, "testdata/base.txtar")
	_, ds := Check(overlay(t, base, &txtar.Archive{}))
	if len(ds) > 0 {
		var b bytes.Buffer
		ds.Write(&b, "text")
		t.Fatalf("base catalog has diagnostics:\n%s", b.String())
	}
}

// TestInvalid checks the exact diagnostics for each invalid input in testdata/invalid: one case
// per check of the validator. Run with -update to rewrite the want sections after reviewing them.
func TestInvalid(t *testing.T) {
	base := readArchive(t, "testdata/base.txtar")
	files, err := filepath.Glob("testdata/invalid/*.txtar")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 40 {
		t.Errorf("only %d invalid cases; want one per check (at least 40)", len(files))
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".txtar")
		t.Run(name, func(t *testing.T) {
			a := readArchive(t, file)
			fsys := overlay(t, base, a)
			_, ds := Check(fsys)
			checkCachedAgrees(t, fsys, ds)
			var got bytes.Buffer
			if err := ds.Write(&got, "text"); err != nil {
				t.Fatal(err)
			}
			if !ds.HasErrors() && !strings.HasPrefix(name, "warn-") {
				t.Errorf("no error reported; cases named warn-* may have warnings only")
			}
			if *update {
				setWant(a, got.Bytes())
				if err := os.WriteFile(file, txtar.Format(a), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want := wantOf(a)
			if want == nil {
				t.Fatalf("no want section; run go test -run TestInvalid -update and review it")
			}
			if diff := cmp.Diff(string(want), got.String()); diff != "" {
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

// TestContributingQuotesCorpus keeps CONTRIBUTING.md honest: every diagnostic in the corpus's
// want sections appears in the guide word for word, so a changed message shows up there too.
func TestContributingQuotesCorpus(t *testing.T) {
	guide, err := os.ReadFile("../CONTRIBUTING.md")
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("testdata/invalid/*.txtar")
	for _, file := range files {
		for _, line := range strings.Split(string(wantOf(readArchive(t, file))), "\n") {
			if line != "" && !bytes.Contains(guide, []byte(line)) {
				t.Errorf("%s: CONTRIBUTING.md does not quote %q", filepath.Base(file), line)
			}
		}
	}
}
