package gitrepo

import (
	"bytes"
	"errors"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/tools/txtar"

	"github.com/hspc/marketplace/catalog"
)

func TestFSRevisions(t *testing.T) {
	s := newScenario(t, "")
	repo := s.w.open("")
	fhirV1 := productTOML("FHIR", "A FHIR server.", "1.0.0")
	fhirV2 := productTOML("FHIR", "A FHIR server.", "1.0.0", "1.1.0")
	smart := productTOML("SMART", "An app.", "0.1.0")
	tests := []struct {
		name   string
		rev    string
		commit int               // 1-based commit of the scenario
		files  map[string]string // path → content; "" means absent
	}{
		{"default is HEAD", "", 6, map[string]string{"products/acme/fhir.toml": fhirV2, "products/acme/smart.toml": "", "products/acme/fhir/logo.svg": "<svg xmlns=\"http://www.w3.org/2000/svg\"/>"}},
		{"branch", "master", 6, map[string]string{"products/acme/fhir.toml": fhirV2, "products/acme/smart.toml": ""}},
		{"HEAD~2", "HEAD~2", 4, map[string]string{"products/acme/smart.toml": smart, "products/acme/fhir/logo.svg": ""}},
		{"annotated tag", "v1.0", 1, map[string]string{"products/acme/fhir.toml": fhirV1, "products/acme/smart.toml": ""}},
		{"tag", "v2", 2, map[string]string{"products/acme/fhir.toml": fhirV1, "products/acme/smart.toml": smart}},
		{"full hash", s.commits[0].String(), 1, map[string]string{"products/acme/fhir.toml": fhirV1, "products/beta/cds.toml": ""}},
		{"short hash", s.commits[2].String()[:8], 3, map[string]string{"products/acme/fhir.toml": fhirV2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys, commit, err := repo.FS(tt.rev)
			if err != nil {
				t.Fatal(err)
			}
			if want := s.commits[tt.commit-1].String(); commit != want {
				t.Errorf("FS(%q) resolved to %s, want commit %d, %s", tt.rev, commit, tt.commit, want)
			}
			for name, want := range tt.files {
				got, err := fs.ReadFile(fsys, name)
				switch {
				case want == "" && !errors.Is(err, fs.ErrNotExist):
					t.Errorf("ReadFile(%s): got %q, %v; want fs.ErrNotExist", name, got, err)
				case want != "" && err != nil:
					t.Errorf("ReadFile(%s): %v", name, err)
				case want != "" && string(got) != want:
					t.Errorf("ReadFile(%s) = %q, want %q", name, got, want)
				}
			}
		})
	}
	if _, _, err := repo.FS("no-such-branch"); err == nil {
		t.Errorf("FS(no-such-branch) succeeded")
	}
}

func TestFSSubfolder(t *testing.T) {
	s := newScenario(t, "catalog")
	s.w.write(map[string]string{"README.md": "outside the catalog"})
	tests := []struct {
		name string
		dir  string
		want []string // the root's entries
	}{
		{"catalog folder", "catalog", []string{"index.toml", "products"}},
		{"deeper folder", "catalog/products/acme", []string{"fhir", "fhir.toml", "publisher.toml"}},
		{"repository root", "", []string{"catalog"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			repo := s.w.open(tt.dir)
			if repo.Root() != tt.dir {
				t.Errorf("Root() = %q, want %q", repo.Root(), tt.dir)
			}
			fsys, _, err := repo.FS("")
			if err != nil {
				t.Fatal(err)
			}
			entries, err := fs.ReadDir(fsys, ".")
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range entries {
				got = append(got, e.Name())
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ReadDir(.) mismatch (-want +got):\n%s", diff)
			}
		})
	}
	// Before the catalog folder existed there is nothing to read.
	w := newWorkTree(t)
	w.commit("Start", "Ann Author", day(1), day(1), map[string]string{"README.md": "soon a catalog"})
	w.commit("Add the catalog", "Ann Author", day(2), day(2), map[string]string{"catalog/index.toml": "[catalog]\n"})
	repo := w.open("catalog")
	if _, _, err := repo.FS("HEAD~1"); err == nil || !strings.Contains(err.Error(), "has no folder catalog") {
		t.Errorf("FS(HEAD~1) before the folder existed: got %v, want an error naming the folder", err)
	}
}

func TestOpenNotRepository(t *testing.T) {
	dir := t.TempDir()
	_, err := Open(dir)
	if !errors.Is(err, ErrNotRepository) {
		t.Fatalf("Open(%s) = %v, want an error wrapping ErrNotRepository", dir, err)
	}
}

// symlinkTree is a catalog with symlinks of every kind, and an executable file. It is written
// to the object store directly: go-git's work tree rewrites absolute symlink targets.
func symlinkTree(t *testing.T) fs.FS {
	t.Helper()
	w := newWorkTree(t)
	newObjectWriter(t, w.git).commit("Symlinks", day(1), map[string]string{
		"index.toml":                    "[catalog]\n",
		"products/acme/publisher.toml":  publisherTOML,
		"products/acme/fhir.toml":       productTOML("FHIR", "x", "1.0.0"),
		"products/acme/fhir/logo.svg":   "<svg/>",
		"products/acme/fhir/icon.svg":   "@symlink logo.svg",
		"products/acme/fhir/up.svg":     "@symlink ../fhir/logo.svg",
		"products/acme/fhir/deep.svg":   "@symlink ../../alias/fhir/logo.svg",
		"products/alias":                "@symlink acme",
		"tools/build.sh":                "@exec #!/bin/sh\n",
		"products/acme/fhir/escape.svg": "@symlink ../../../../outside.svg",
		"products/acme/fhir/abs.svg":    "@symlink /etc/passwd",
		"products/acme/fhir/gone.svg":   "@symlink missing.svg",
		"products/acme/fhir/loop1.svg":  "@symlink loop2.svg",
		"products/acme/fhir/loop2.svg":  "@symlink loop1.svg",
	})
	fsys, _, err := w.open("").FS("")
	if err != nil {
		t.Fatal(err)
	}
	return fsys
}

// TestFSConformance runs testing/fstest over a tree whose symlinks all resolve inside it.
func TestFSConformance(t *testing.T) {
	s := newScenario(t, "")
	fsys, _, err := s.w.open("").FS("")
	if err != nil {
		t.Fatal(err)
	}
	if err := fstest.TestFS(fsys, "index.toml", "products/acme/publisher.toml", "products/acme/fhir.toml",
		"products/acme/fhir/logo.svg", "products/beta/cds.toml"); err != nil {
		t.Fatal(err)
	}

	w := newWorkTree(t)
	w.commit("Symlinks", "Ann Author", day(1), day(1), map[string]string{
		"products/acme/fhir/logo.svg": "<svg/>",
		"products/acme/fhir/icon.svg": "@symlink logo.svg",
		"products/alias":              "@symlink acme",
		"tools/build.sh":              "#!/bin/sh\n",
	})
	fsys, _, err = w.open("").FS("")
	if err != nil {
		t.Fatal(err)
	}
	if err := fstest.TestFS(fsys, "products/acme/fhir/logo.svg", "products/acme/fhir/icon.svg", "products/alias", "tools/build.sh"); err != nil {
		t.Fatal(err)
	}
}

func TestFSSymlinks(t *testing.T) {
	fsys := symlinkTree(t)
	rl, ok := fsys.(fs.ReadLinkFS)
	if !ok {
		t.Fatalf("%T does not implement fs.ReadLinkFS", fsys)
	}
	tests := []struct {
		name     string
		link     string // the ReadLink result; "" for no symlink
		content  string // what ReadFile gives, following links
		openErr  error  // what Open, ReadFile and Stat fail with instead
		statMode fs.FileMode
	}{
		{name: "products/acme/fhir/logo.svg", content: "<svg/>", statMode: 0o644},
		{name: "tools/build.sh", content: "#!/bin/sh\n", statMode: 0o755},
		{name: "products/acme/fhir/icon.svg", link: "logo.svg", content: "<svg/>", statMode: 0o644},
		{name: "products/acme/fhir/up.svg", link: "../fhir/logo.svg", content: "<svg/>", statMode: 0o644},
		{name: "products/acme/fhir/deep.svg", link: "../../alias/fhir/logo.svg", content: "<svg/>", statMode: 0o644},
		{name: "products/alias/fhir/logo.svg", content: "<svg/>", statMode: 0o644},
		{name: "products/alias", link: "acme", openErr: errIsDir, statMode: fs.ModeDir | 0o755},
		{name: "products/acme/fhir/escape.svg", link: "../../../../outside.svg", openErr: errEscapes},
		{name: "products/acme/fhir/abs.svg", link: "/etc/passwd", openErr: errEscapes},
		{name: "products/acme/fhir/gone.svg", link: "missing.svg", openErr: fs.ErrNotExist},
		{name: "products/acme/fhir/loop1.svg", link: "loop2.svg", openErr: errLoop},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lfi, err := rl.Lstat(tt.name)
			if err != nil {
				t.Fatalf("Lstat: %v", err)
			}
			if isLink := lfi.Mode()&fs.ModeSymlink != 0; isLink != (tt.link != "") {
				t.Errorf("Lstat mode = %v, want a symlink: %v", lfi.Mode(), tt.link != "")
			}
			target, err := rl.ReadLink(tt.name)
			if tt.link == "" && err == nil || tt.link != "" && (err != nil || target != tt.link) {
				t.Errorf("ReadLink = %q, %v; want %q", target, err, tt.link)
			}
			if tt.link != "" && lfi.Size() != int64(len(tt.link)) {
				t.Errorf("Lstat size = %d, want the target's length %d", lfi.Size(), len(tt.link))
			}
			data, err := fs.ReadFile(fsys, tt.name)
			if tt.openErr != nil {
				if !errors.Is(err, tt.openErr) {
					t.Errorf("ReadFile: got %q, %v; want %v", data, err, tt.openErr)
				}
			} else if err != nil || string(data) != tt.content {
				t.Errorf("ReadFile = %q, %v; want %q", data, err, tt.content)
			}
			fi, err := fs.Stat(fsys, tt.name)
			if tt.openErr != nil && tt.openErr != errIsDir {
				if !errors.Is(err, tt.openErr) {
					t.Errorf("Stat: got %v, %v; want %v", fi, err, tt.openErr)
				}
				return
			}
			if err != nil || fi.Mode() != tt.statMode {
				t.Errorf("Stat = %v, %v; want mode %v", fi, err, tt.statMode)
			}
		})
	}

	entries, err := fs.ReadDir(fsys, "products")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]fs.FileMode{}
	for _, e := range entries {
		got[e.Name()] = e.Type()
	}
	if diff := cmp.Diff(map[string]fs.FileMode{"acme": fs.ModeDir, "alias": fs.ModeSymlink}, got); diff != "" {
		t.Errorf("ReadDir(products) types mismatch (-want +got):\n%s", diff)
	}
	if _, err := fs.ReadDir(fsys, "products/alias"); err != nil {
		t.Errorf("ReadDir through a symlinked folder: %v", err)
	}
}

// TestCheckFromGit validates each case of the catalog's own test suite — the base catalog and
// every invalid input — read from a Git repository instead of fstest.MapFS, and expects exactly
// the diagnostics the catalog package expects: the Git file system is indistinguishable to
// the validator, symlinks included.
func TestCheckFromGit(t *testing.T) {
	base, err := txtar.ParseFile("../testdata/base.txtar")
	if err != nil {
		t.Fatal(err)
	}
	cases, err := filepath.Glob("../testdata/invalid/*.txtar")
	if err != nil {
		t.Fatal(err)
	}
	cases = append([]string{"base"}, cases...)
	for _, file := range cases {
		name := strings.TrimSuffix(filepath.Base(file), ".txtar")
		t.Run(name, func(t *testing.T) {
			files := map[string]string{}
			for _, f := range base.Files {
				files[f.Name] = string(f.Data)
			}
			var want []byte
			if file != "base" {
				a, err := txtar.ParseFile(file)
				if err != nil {
					t.Fatal(err)
				}
				for _, f := range a.Files {
					n, directive, _ := strings.Cut(f.Name, "@")
					switch {
					case f.Name == "want":
						want = f.Data
					case f.Name == "-delete":
						for _, d := range strings.Fields(string(f.Data)) {
							delete(files, d)
						}
					case directive == "symlink":
						files[n] = "@symlink " + string(bytes.TrimSpace(f.Data))
					case strings.HasPrefix(directive, "pad="):
						size, err := strconv.Atoi(strings.TrimPrefix(directive, "pad="))
						if err != nil {
							t.Fatal(err)
						}
						files[n] = string(f.Data) + strings.Repeat("\x00", max(0, size-len(f.Data)))
					default:
						files[n] = string(f.Data)
					}
				}
			}
			w := newWorkTree(t)
			newObjectWriter(t, w.git).commit("Catalog", day(1), files)
			fsys, _, err := w.open("").FS("")
			if err != nil {
				t.Fatal(err)
			}
			_, ds := catalog.Check(fsys)
			var got bytes.Buffer
			if err := ds.Write(&got, "text"); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(want), got.String()); diff != "" {
				t.Errorf("diagnostics mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
