package gitrepo

import (
	"context"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// gitCLI runs the git program, the second client these tests check go-git's output with, in dir
// with fixed identities and dates.
func gitCLI(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"GIT_AUTHOR_NAME=Ann Author", "GIT_AUTHOR_EMAIL=ann@example.org",
		"GIT_COMMITTER_NAME=Ann Author", "GIT_COMMITTER_EMAIL=ann@example.org",
		"GIT_AUTHOR_DATE=2025-03-01T09:00:00Z", "GIT_COMMITTER_DATE=2025-03-01T09:00:00Z",
		"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// gitWorkTree makes a repository with the git program and one commit of files.
func gitWorkTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	gitCLI(t, dir, "init", "-q", "-b", "main")
	gitCommit(t, dir, "first", files)
	return dir
}

func gitCommit(t *testing.T, dir, msg string, files map[string]string) string {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gitCLI(t, dir, "add", "-A")
	gitCLI(t, dir, "commit", "-q", "-m", msg)
	return gitCLI(t, dir, "rev-parse", "HEAD")
}

func TestBundleFromGit(t *testing.T) {
	ctx := context.Background()
	src := gitWorkTree(t, map[string]string{"index.toml": "[catalog]\n", "products/acme/publisher.toml": publisherTOML})
	first := gitCLI(t, src, "rev-parse", "HEAD")
	full := filepath.Join(t.TempDir(), "full.bundle")
	gitCLI(t, src, "bundle", "create", full, "--all")
	if !IsBundle(full) {
		t.Fatalf("IsBundle(%s) = false", full)
	}

	dir := filepath.Join(t.TempDir(), "mirror.git")
	r, err := InitBare(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	f, err := r.Fetch(ctx, full, "", "refs/marketplace/staging")
	if err != nil {
		t.Fatal(err)
	}
	if f.Commit != first || f.Branch != "main" {
		t.Fatalf("Fetch = %+v, want commit %s on main", f, first)
	}

	// An incremental bundle applies on top of what the repository has.
	second := gitCommit(t, src, "second", map[string]string{"products/acme/fhir.toml": productTOML("FHIR", "x", "1.0.0")})
	inc := filepath.Join(t.TempDir(), "inc.bundle")
	gitCLI(t, src, "bundle", "create", inc, "main", "^"+first)
	if f, err = r.Fetch(ctx, inc, "main", "refs/marketplace/staging"); err != nil {
		t.Fatal(err)
	}
	if f.Commit != second {
		t.Fatalf("incremental Fetch = %s, want %s", f.Commit, second)
	}
	if ok, err := r.IsAncestor(first, second); err != nil || !ok {
		t.Fatalf("IsAncestor(first, second) = %v, %v; want true", ok, err)
	}
	if ok, err := r.IsAncestor(second, first); err != nil || ok {
		t.Fatalf("IsAncestor(second, first) = %v, %v; want false", ok, err)
	}
	if err := r.SetBranch("main", second); err != nil {
		t.Fatal(err)
	}

	// The git program clones the repository, and the bundle go-git writes.
	clone := filepath.Join(t.TempDir(), "clone")
	gitCLI(t, t.TempDir(), "clone", "-q", dir, clone)
	if got := gitCLI(t, clone, "rev-parse", "HEAD"); got != second {
		t.Fatalf("git clone of the repository: HEAD %s, want %s", got, second)
	}
	out := filepath.Join(t.TempDir(), "out.bundle")
	if err := r.WriteBundleFile(out, "main", second, ""); err != nil {
		t.Fatal(err)
	}
	gitCLI(t, clone, "bundle", "verify", out)
	fromBundle := filepath.Join(t.TempDir(), "from-bundle")
	gitCLI(t, t.TempDir(), "clone", "-q", out, fromBundle)
	if got := gitCLI(t, fromBundle, "rev-parse", "HEAD"); got != second {
		t.Fatalf("git clone of the bundle: HEAD %s, want %s", got, second)
	}
	if got := gitCLI(t, fromBundle, "show", "HEAD:products/acme/fhir.toml"); !strings.Contains(got, `name = "FHIR"`) {
		t.Fatalf("git clone of the bundle: fhir.toml = %q", got)
	}
	gitCLI(t, fromBundle, "fsck", "--full")

	// And go-git reads its own bundle into a fresh repository.
	again, err := InitBare(filepath.Join(t.TempDir(), "again.git"))
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if f, err = again.Fetch(ctx, out, "", "refs/marketplace/staging"); err != nil || f.Commit != second {
		t.Fatalf("Fetch of our own bundle = %+v, %v; want %s", f, err, second)
	}
}

func TestBundleErrors(t *testing.T) {
	ctx := context.Background()
	src := gitWorkTree(t, map[string]string{"index.toml": "[catalog]\n"})
	first := gitCLI(t, src, "rev-parse", "HEAD")
	gitCommit(t, src, "second", map[string]string{"a.txt": "a"})
	inc := filepath.Join(t.TempDir(), "inc.bundle")
	gitCLI(t, src, "bundle", "create", inc, "main", "^"+first)
	r, err := InitBare(filepath.Join(t.TempDir(), "m.git"))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	_, err = r.Fetch(ctx, inc, "", "refs/marketplace/staging")
	if err == nil || !strings.Contains(err.Error(), "needs commit "+first) {
		t.Fatalf("incremental bundle without its base: err = %v, want one naming %s", err, first)
	}
	if got, _ := r.Reference("refs/marketplace/staging"); got != "" {
		t.Fatalf("staging reference set to %s after a failed import", got)
	}
	bad := filepath.Join(t.TempDir(), "bad.bundle")
	os.WriteFile(bad, []byte("# v3 git bundle\n@object-format=sha256\n\n"), 0o644)
	if _, err := r.Fetch(ctx, bad, "", "refs/x"); err == nil || !strings.Contains(err.Error(), "sha256 is not supported") {
		t.Fatalf("sha256 bundle: err = %v", err)
	}
}

func TestFetchURL(t *testing.T) {
	ctx := context.Background()
	src := gitWorkTree(t, map[string]string{"index.toml": "[catalog]\n"})
	head := gitCLI(t, src, "rev-parse", "HEAD")
	for _, source := range []string{src, "file://" + filepath.ToSlash(src)} {
		r, err := InitBare(filepath.Join(t.TempDir(), "m.git"))
		if err != nil {
			t.Fatal(err)
		}
		f, err := r.Fetch(ctx, source, "", "refs/marketplace/staging")
		if err != nil || f.Commit != head || f.Branch != "main" {
			t.Fatalf("Fetch(%s) = %+v, %v; want %s on main", source, f, err, head)
		}
		rh, err := RemoteHead(ctx, source, "")
		if err != nil || rh.Commit != head {
			t.Fatalf("RemoteHead(%s) = %+v, %v", source, rh, err)
		}
		if _, err := r.Fetch(ctx, source, "nope", "refs/x"); err == nil || !strings.Contains(err.Error(), "no branch nope (branches: main)") {
			t.Fatalf("Fetch of a missing branch: err = %v", err)
		}
		r.Close()
	}
}

// TestFetchHTTP fetches over Git's smart HTTP protocol from git http-backend, the server the git
// program ships, behind an httptest server: the connected marketplace's case.
func TestFetchHTTP(t *testing.T) {
	ctx := context.Background()
	src := gitWorkTree(t, map[string]string{"index.toml": "[catalog]\n"})
	head := gitCLI(t, src, "rev-parse", "HEAD")
	root := t.TempDir()
	gitCLI(t, root, "clone", "-q", "--bare", src, filepath.Join(root, "catalog.git"))
	backend := filepath.Join(gitCLI(t, root, "--exec-path"), "git-http-backend")
	srv := httptest.NewServer(&cgi.Handler{Path: backend, Env: []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1"}})
	defer srv.Close()
	url := srv.URL + "/catalog.git"

	r, err := InitBare(filepath.Join(t.TempDir(), "m.git"))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	f, err := r.Fetch(ctx, url, "", "refs/marketplace/staging")
	if err != nil || f.Commit != head || f.Branch != "main" {
		t.Fatalf("Fetch(%s) = %+v, %v; want %s on main", url, f, err, head)
	}
	if rh, err := RemoteHead(ctx, url, ""); err != nil || rh.Commit != head {
		t.Fatalf("RemoteHead(%s) = %+v, %v", url, rh, err)
	}
}

func TestBundleV3(t *testing.T) {
	src := gitWorkTree(t, map[string]string{"index.toml": "[catalog]\n"})
	head := gitCLI(t, src, "rev-parse", "HEAD")
	b := filepath.Join(t.TempDir(), "v3.bundle")
	gitCLI(t, src, "bundle", "create", "-q", "--version=3", b, "--all")
	data, err := os.ReadFile(b)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(data), bundleV3+"@object-format=sha1\n") {
		t.Fatalf("git wrote %q, want a v3 bundle with a capability", data[:40])
	}
	r, err := InitBare(filepath.Join(t.TempDir(), "m.git"))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if f, err := r.Fetch(context.Background(), b, "", "refs/x"); err != nil || f.Commit != head {
		t.Fatalf("Fetch of a v3 bundle = %+v, %v", f, err)
	}
}

// TestFetchAfterKilledFetch: a fetch killed after go-git wrote the pack's index but before it
// renamed the pack into place leaves the index, truncated, without its pack. The next fetch of
// the same pack writes a whole index, and git reads the repository.
func TestFetchAfterKilledFetch(t *testing.T) {
	ctx := context.Background()
	src := gitWorkTree(t, map[string]string{"index.toml": "[catalog]\n", "products/acme/publisher.toml": publisherTOML})
	packs := func(dir string) []string {
		names, err := filepath.Glob(filepath.Join(dir, "objects", "pack", "pack-*.idx"))
		if err != nil {
			t.Fatal(err)
		}
		return names
	}
	fetch := func(dir string) {
		r, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		if _, err := r.Fetch(ctx, src, "", "refs/marketplace/staging"); err != nil {
			t.Fatal(err)
		}
	}

	whole := filepath.Join(t.TempDir(), "whole.git")
	r, err := InitBare(whole)
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	fetch(whole)
	idx := packs(whole)
	if len(idx) != 1 {
		t.Fatalf("packs after one fetch: %v", idx)
	}
	good, err := os.ReadFile(idx[0])
	if err != nil {
		t.Fatal(err)
	}

	// The same fetch, killed while it wrote the index: the first bytes of it, and no pack.
	killed := filepath.Join(t.TempDir(), "killed.git")
	if r, err = InitBare(killed); err != nil {
		t.Fatal(err)
	}
	r.Close()
	left := filepath.Join(killed, "objects", "pack", filepath.Base(idx[0]))
	if err := os.MkdirAll(filepath.Dir(left), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(left, good[:8], 0o444); err != nil {
		t.Fatal(err)
	}
	fetch(killed)
	if got := packs(killed); len(got) != 1 || filepath.Base(got[0]) != filepath.Base(idx[0]) {
		t.Fatalf("packs after the next fetch: %v, want the same pack as %v", got, idx)
	}
	if got, err := os.ReadFile(left); err != nil || string(got) != string(good) {
		t.Fatalf("the index after the next fetch: %d bytes (%v), want the whole %d", len(got), err, len(good))
	}
	gitCLI(t, killed, "fsck", "--no-progress", "refs/marketplace/staging")
}
