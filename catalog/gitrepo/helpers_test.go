package gitrepo

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// t0 is the first commit date of the test repositories; day(n) is n days later.
var t0 = time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)

func day(n int) time.Time { return t0.AddDate(0, 0, n) }

// workTree is a Git work tree in a temporary folder, committed to with fixed dates so that hashes
// and histories are the same on every run.
type workTree struct {
	t   testing.TB
	dir string
	git *git.Repository
}

func newWorkTree(t testing.TB) *workTree {
	t.Helper()
	dir := t.TempDir()
	repo, err := git.PlainInit(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	return &workTree{t: t, dir: dir, git: repo}
}

// write writes files by slash path; an empty content deletes the file. A content of the form
// "@symlink TARGET" makes a symlink.
func (w *workTree) write(files map[string]string) {
	w.t.Helper()
	for name, content := range files {
		p := filepath.Join(w.dir, filepath.FromSlash(name))
		if content == "" {
			if err := os.Remove(p); err != nil {
				w.t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			w.t.Fatal(err)
		}
		if target, ok := strings.CutPrefix(content, "@symlink "); ok {
			os.Remove(p)
			if err := os.Symlink(target, p); err != nil {
				w.t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			w.t.Fatal(err)
		}
	}
}

// commit writes files and commits everything in the work tree, authored by author at authored
// and committed at committed.
func (w *workTree) commit(msg, author string, authored, committed time.Time, files map[string]string) plumbing.Hash {
	w.t.Helper()
	w.write(files)
	wt, err := w.git.Worktree()
	if err != nil {
		w.t.Fatal(err)
	}
	if err := wt.AddWithOptions(&git.AddOptions{All: true}); err != nil {
		w.t.Fatal(err)
	}
	email := strings.ToLower(strings.Fields(author)[0]) + "@example.org"
	h, err := wt.Commit(msg, &git.CommitOptions{
		Author:            &object.Signature{Name: author, Email: email, When: authored},
		Committer:         &object.Signature{Name: "Catalog Bot", Email: "bot@example.org", When: committed},
		AllowEmptyCommits: true,
	})
	if err != nil {
		w.t.Fatal(err)
	}
	return h
}

// tag tags commit h, with an annotated tag when msg is not empty.
func (w *workTree) tag(name string, h plumbing.Hash, msg string) {
	w.t.Helper()
	var opts *git.CreateTagOptions
	if msg != "" {
		opts = &git.CreateTagOptions{Message: msg, Tagger: &object.Signature{Name: "Ann Author", Email: "ann@example.org", When: t0}}
	}
	if _, err := w.git.CreateTag(name, h, opts); err != nil {
		w.t.Fatal(err)
	}
}

// open opens the repository at the slash path sub of the work tree.
func (w *workTree) open(sub string) *Repo {
	w.t.Helper()
	r, err := Open(filepath.Join(w.dir, filepath.FromSlash(sub)))
	if err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() { r.Close() })
	return r
}

// productTOML returns a product file with a description and builds of the given versions.
func productTOML(name, description string, versions ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "name = %q\nsummary = \"A test product\"\nlicense = \"MIT\"\ndescription = %q\n", name, description)
	for _, v := range versions {
		fmt.Fprintf(&b, "\n[[builds]]\nversion = %q\nimage = \"ghcr.io/test/x:%s@sha256:%s\"\n", v, v, strings.Repeat("1", 64))
	}
	return b.String()
}

const publisherTOML = "name = \"Test publisher\"\nmaintainers = [\"bot\"]\n"
