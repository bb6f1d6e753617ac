package gitrepo

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
)

// upstream is a bare repository in a temporary folder and a work tree that pushes to it.
type upstream struct {
	bare string
	w    *workTree
}

func newUpstream(t *testing.T) *upstream {
	t.Helper()
	// No Git program is needed: file URLs and local paths are served in process.
	t.Setenv("PATH", "")
	bare := filepath.Join(t.TempDir(), "catalog.git")
	if _, err := git.PlainInit(bare, true); err != nil {
		t.Fatal(err)
	}
	w := newWorkTree(t)
	if _, err := w.git.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{bare}}); err != nil {
		t.Fatal(err)
	}
	u := &upstream{bare: bare, w: w}
	w.commit("Add acme/fhir", "Ann Author", day(1), day(1), map[string]string{
		"index.toml":                   "[catalog]\n",
		"products/acme/publisher.toml": publisherTOML,
		"products/acme/fhir.toml":      productTOML("FHIR", "x", "1.0.0"),
	})
	u.push(t, "master")
	return u
}

// push pushes the work tree's HEAD to branch of the bare repository.
func (u *upstream) push(t *testing.T, branch string) {
	t.Helper()
	useBuiltinFileTransport()
	head, err := u.w.git.Reference(plumbing.HEAD, false)
	if err != nil {
		t.Fatal(err)
	}
	spec := config.RefSpec("+" + head.Target() + ":" + plumbing.NewBranchReferenceName(branch))
	if err := u.w.git.Push(&git.PushOptions{RemoteName: "origin", RefSpecs: []config.RefSpec{spec}}); err != nil {
		t.Fatal(err)
	}
}

func exists(t *testing.T, name string) bool {
	t.Helper()
	_, err := os.Stat(name)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	return err == nil
}

func TestMirror(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		url  func(u *upstream) string
	}{
		{"file URL", func(u *upstream) string { return "file://" + filepath.ToSlash(u.bare) }},
		{"local path", func(u *upstream) string { return u.bare }},
		{"relative path", func(u *upstream) string {
			t.Chdir(filepath.Dir(u.bare))
			return filepath.Base(u.bare)
		}},
		{"non-bare repository", func(u *upstream) string { return u.w.dir }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := newUpstream(t)
			mirror := filepath.Join(t.TempDir(), "mirror")
			if err := Clone(ctx, tt.url(u), mirror, ""); err != nil {
				t.Fatal(err)
			}
			fhir := filepath.Join(mirror, "products", "acme", "fhir.toml")
			cds := filepath.Join(mirror, "products", "beta", "cds.toml")
			if !exists(t, fhir) {
				t.Fatalf("the clone has no %s", fhir)
			}

			next := u.w.commit("Add beta/cds, remove acme/fhir", "Bob Builder", day(2), day(2), map[string]string{
				"products/beta/publisher.toml": publisherTOML,
				"products/beta/cds.toml":       productTOML("CDS", "y", "1.0.0"),
				"products/acme/fhir.toml":      "",
			})
			u.push(t, "master")
			// A mirror's local edits of tracked files are discarded.
			if err := os.WriteFile(filepath.Join(mirror, "index.toml"), []byte("edited"), 0o644); err != nil {
				t.Fatal(err)
			}

			repo, err := Open(mirror)
			if err != nil {
				t.Fatal(err)
			}
			defer repo.Close()
			if err := repo.Sync(ctx); err != nil {
				t.Fatal(err)
			}
			if !exists(t, cds) || exists(t, fhir) {
				t.Errorf("after Sync: %s exists: %v, want true; %s exists: %v, want false", cds, exists(t, cds), fhir, exists(t, fhir))
			}
			if data, err := os.ReadFile(filepath.Join(mirror, "index.toml")); err != nil || string(data) != "[catalog]\n" {
				t.Errorf("index.toml after Sync = %q, %v; want the upstream content", data, err)
			}
			if _, commit, err := repo.FS(""); err != nil || commit != next.String() {
				t.Errorf("HEAD after Sync = %s, %v; want %s", commit, err, next)
			}
			if err := repo.Sync(ctx); err != nil {
				t.Errorf("Sync when up to date: %v", err)
			}
		})
	}
}

// TestMirrorBranch clones a branch other than the default and follows it.
func TestMirrorBranch(t *testing.T) {
	ctx := context.Background()
	u := newUpstream(t)
	u.w.commit("Stage a release", "Ann Author", day(2), day(2), map[string]string{"RELEASE": "1"})
	u.push(t, "release")
	mirror := filepath.Join(t.TempDir(), "mirror")
	if err := Clone(ctx, u.bare, mirror, "release"); err != nil {
		t.Fatal(err)
	}
	if !exists(t, filepath.Join(mirror, "RELEASE")) {
		t.Fatalf("the clone of branch release has no RELEASE file")
	}
	u.w.commit("Next release", "Ann Author", day(3), day(3), map[string]string{"RELEASE": "2"})
	u.push(t, "release")
	repo, err := Open(mirror)
	if err != nil {
		t.Fatal(err)
	}
	defer repo.Close()
	if err := repo.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(filepath.Join(mirror, "RELEASE")); string(data) != "2" {
		t.Errorf("RELEASE after Sync = %q, want 2", data)
	}
}

func TestCloneFailure(t *testing.T) {
	t.Setenv("PATH", "")
	dir := filepath.Join(t.TempDir(), "mirror")
	err := Clone(context.Background(), filepath.Join(t.TempDir(), "missing.git"), dir, "")
	if err == nil {
		t.Fatal("Clone of a missing repository succeeded")
	}
	if exists(t, dir) {
		t.Errorf("a failed Clone left %s behind", dir)
	}
}
