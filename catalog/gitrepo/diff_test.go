package gitrepo

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/google/go-cmp/cmp"
)

// branch creates branch name at h and checks it out.
func (w *workTree) branch(name string, h plumbing.Hash) {
	w.t.Helper()
	wt, err := w.git.Worktree()
	if err != nil {
		w.t.Fatal(err)
	}
	if err := wt.Checkout(&git.CheckoutOptions{Hash: h, Branch: plumbing.NewBranchReferenceName(name), Create: true}); err != nil {
		w.t.Fatal(err)
	}
}

func TestChangedFilesAndMergeBase(t *testing.T) {
	w := newWorkTree(t)
	base := w.commit("base", "Ann Author", day(0), day(0), map[string]string{
		"index.toml":                   "[catalog]\nname = \"T\"\n",
		".gitignore":                   "public/\n*.log\n",
		"products/acme/publisher.toml": publisherTOML,
		"products/acme/fhir.toml":      productTOML("FHIR", "one", "1.0.0"),
		"products/acme/fhir/logo.svg":  "<svg/>",
		"products/acme/old.toml":       productTOML("Old", "old", "1.0.0"),
	})
	// main moves on after the branch point: its changes are not the pull request's.
	w.branch("main2", base)
	mainTip := w.commit("main moves on", "Ann Author", day(1), day(1), map[string]string{"index.toml": "[catalog]\nname = \"T2\"\n"})
	w.branch("pr", base)
	prTip := w.commit("pull request", "Bob", day(2), day(2), map[string]string{
		"products/acme/fhir.toml":     productTOML("FHIR", "one", "1.0.0", "1.1.0"),
		"products/acme/fhir/logo.svg": "@symlink ../cosign.pub",
		"products/acme/old.toml":      "",
		"products/acme/new.toml":      productTOML("New", "new", "1.0.0"),
	})
	r := w.open("")

	mb, err := r.MergeBase("main2", "pr")
	if err != nil || mb != base.String() {
		t.Fatalf("MergeBase = %s, %v; want %s", mb, err, base)
	}
	if mb, err := r.MergeBase("main2", ""); err != nil || mb != base.String() {
		t.Errorf("MergeBase with HEAD = %s, %v", mb, err)
	}
	want := []string{"products/acme/fhir.toml", "products/acme/fhir/logo.svg", "products/acme/new.toml", "products/acme/old.toml"}
	got, err := r.ChangedFiles(mb, "pr")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ChangedFiles(base, pr) (-want +got):\n%s", diff)
	}
	// Without the merge base, main's own change shows too.
	if got, _ := r.ChangedFiles(mainTip.String(), prTip.String()); !cmp.Equal(got, append([]string{"index.toml"}, want...)) {
		t.Errorf("ChangedFiles(main, pr) = %v", got)
	}

	// The work tree: committed changes, an edit, an untracked file and a deletion count; ignored
	// files do not, nor does a mode change.
	if got, _ := r.ChangedFiles(prTip.String(), ""); len(got) != 0 {
		t.Errorf("clean work tree: %v", got)
	}
	w.write(map[string]string{
		"products/acme/new.toml":       productTOML("New", "edited", "1.0.0"),
		"products/acme/extra.toml":     productTOML("Extra", "x", "1.0.0"),
		"public/index.html":            "<html>",
		"products/acme/build.log":      "log",
		"products/acme/publisher.toml": "",
	})
	os.Chmod(filepath.Join(w.dir, "products/acme/fhir.toml"), 0o755)
	got, err = r.ChangedFiles(prTip.String(), "")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"products/acme/extra.toml", "products/acme/new.toml", "products/acme/publisher.toml"}, got); diff != "" {
		t.Errorf("work tree (-want +got):\n%s", diff)
	}
	if _, err := r.ChangedFiles("no-such-branch", ""); err == nil {
		t.Error("an unknown revision is not an error")
	}
}

func TestChangedFilesInCatalogSubfolder(t *testing.T) {
	w := newWorkTree(t)
	base := w.commit("base", "Ann Author", day(0), day(0), map[string]string{
		"README.md":                       "outside the catalog",
		"catalog/index.toml":              "[catalog]\nname = \"T\"\n",
		"catalog/products/acme/fhir.toml": productTOML("FHIR", "one", "1.0.0"),
	})
	w.write(map[string]string{"README.md": "changed", "catalog/products/acme/fhir.toml": productTOML("FHIR", "two", "1.0.0")})
	r := w.open("catalog")
	got, err := r.ChangedFiles(base.String(), "")
	if err != nil || !cmp.Equal(got, []string{"products/acme/fhir.toml"}) {
		t.Errorf("ChangedFiles = %v, %v; want only the catalog's file, relative to it", got, err)
	}
}
