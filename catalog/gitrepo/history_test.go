package gitrepo

import (
	"fmt"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/google/go-cmp/cmp"

	"github.com/hspc/marketplace/catalog"
)

// scenario is a catalog's life in six commits, one a day from day(1).
type scenario struct {
	w       *workTree
	commits []plumbing.Hash // commits[i] is commit i+1
	authors []string
	subject []string
}

func newScenario(t *testing.T, sub string) *scenario {
	t.Helper()
	s := &scenario{w: newWorkTree(t)}
	p := func(name string) string { return path.Join(sub, name) }
	add := func(n int, msg, author string, authored time.Time, files map[string]string) {
		h := s.w.commit(msg, author, authored, day(n), files)
		s.commits = append(s.commits, h)
		s.authors = append(s.authors, author)
		s.subject = append(s.subject, msg)
	}
	add(1, "Add acme/fhir", "Ann Author", day(1), map[string]string{
		p("index.toml"):                   "[catalog]\nname = \"Test\"\n",
		p("products/acme/publisher.toml"): publisherTOML,
		p("products/acme/fhir.toml"):      productTOML("FHIR", "A FHIR server.", "1.0.0"),
	})
	add(2, "Add beta/cds and acme/smart", "Bob Builder", day(2), map[string]string{
		p("products/beta/publisher.toml"): publisherTOML,
		p("products/beta/cds.toml"):       productTOML("CDS", "Decision support.", "1.0.0"),
		p("products/acme/smart.toml"):     productTOML("SMART", "An app.", "0.1.0"),
	})
	// Written a week before it was merged: dates are committer dates.
	add(3, "Publish fhir 1.1.0", "Ann Author", day(-4), map[string]string{
		p("products/acme/fhir.toml"): productTOML("FHIR", "A FHIR server.", "1.0.0", "1.1.0"),
	})
	add(4, "Describe cds better", "Bob Builder", day(4), map[string]string{
		p("index.toml"):             "[catalog]\nname = \"Test Marketplace\"\n",
		p("products/beta/cds.toml"): productTOML("CDS", "Clinical decision support.", "1.0.0"),
	})
	add(5, "Add the fhir logo", "Ann Author", day(5), map[string]string{
		p("products/acme/fhir/logo.svg"): "<svg xmlns=\"http://www.w3.org/2000/svg\"/>",
	})
	add(6, "Remove acme/smart", "Bob Builder", day(6), map[string]string{
		p("products/acme/smart.toml"): "",
	})
	s.w.tag("v2", s.commits[1], "")
	s.w.tag("v1.0", s.commits[0], "The first release")
	return s
}

// logOf returns the changelog entries of commits n..., given 1-based.
func (s *scenario) logOf(ns ...int) []catalog.Commit {
	var log []catalog.Commit
	for _, n := range ns {
		log = append(log, catalog.Commit{Hash: s.commits[n-1].String(), Date: day(n), Author: s.authors[n-1], Subject: s.subject[n-1]})
	}
	return log
}

func TestHistory(t *testing.T) {
	s := newScenario(t, "")
	repo := s.w.open("")
	tests := []struct {
		name string
		rev  string
		want func() *catalog.History
	}{
		{
			name: "head",
			rev:  "",
			want: func() *catalog.History {
				return &catalog.History{Commit: s.commits[5].String(), Date: day(6), Products: map[string]*catalog.ProductHistory{
					"acme/fhir": {
						Added: day(1), Changed: day(5),
						Builds: map[string]time.Time{"1.0.0": day(1), "1.1.0": day(3)},
						Log:    s.logOf(5, 3, 1),
					},
					"beta/cds": {
						Added: day(2), Changed: day(4),
						Builds: map[string]time.Time{"1.0.0": day(2)},
						Log:    s.logOf(4, 2),
					},
				}}
			},
		},
		{
			name: "two commits back, before the deletion",
			rev:  "HEAD~2",
			want: func() *catalog.History {
				return &catalog.History{Commit: s.commits[3].String(), Date: day(4), Products: map[string]*catalog.ProductHistory{
					"acme/fhir": {
						Added: day(1), Changed: day(3),
						Builds: map[string]time.Time{"1.0.0": day(1), "1.1.0": day(3)},
						Log:    s.logOf(3, 1),
					},
					"acme/smart": {
						Added: day(2), Changed: day(2),
						Builds: map[string]time.Time{"0.1.0": day(2)},
						Log:    s.logOf(2),
					},
					"beta/cds": {
						Added: day(2), Changed: day(4),
						Builds: map[string]time.Time{"1.0.0": day(2)},
						Log:    s.logOf(4, 2),
					},
				}}
			},
		},
		{
			name: "tag",
			rev:  "v2",
			want: func() *catalog.History {
				return &catalog.History{Commit: s.commits[1].String(), Date: day(2), Products: map[string]*catalog.ProductHistory{
					"acme/fhir": {
						Added: day(1), Changed: day(1),
						Builds: map[string]time.Time{"1.0.0": day(1)},
						Log:    s.logOf(1),
					},
					"acme/smart": {
						Added: day(2), Changed: day(2),
						Builds: map[string]time.Time{"0.1.0": day(2)},
						Log:    s.logOf(2),
					},
					"beta/cds": {
						Added: day(2), Changed: day(2),
						Builds: map[string]time.Time{"1.0.0": day(2)},
						Log:    s.logOf(2),
					},
				}}
			},
		},
		{
			name: "root commit by short hash",
			rev:  s.commits[0].String()[:7],
			want: func() *catalog.History {
				return &catalog.History{Commit: s.commits[0].String(), Date: day(1), Products: map[string]*catalog.ProductHistory{
					"acme/fhir": {
						Added: day(1), Changed: day(1),
						Builds: map[string]time.Time{"1.0.0": day(1)},
						Log:    s.logOf(1),
					},
				}}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := repo.History(tt.rev)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want(), got); diff != "" {
				t.Errorf("History(%q) mismatch (-want +got):\n%s", tt.rev, diff)
			}
		})
	}
}

// TestHistorySubfolder reads the history of a catalog kept in a subfolder of its repository.
func TestHistorySubfolder(t *testing.T) {
	s := newScenario(t, "catalog")
	got, err := s.w.open("catalog").History("HEAD")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]*catalog.ProductHistory{
		"acme/fhir": {Added: day(1), Changed: day(5), Builds: map[string]time.Time{"1.0.0": day(1), "1.1.0": day(3)}, Log: s.logOf(5, 3, 1)},
		"beta/cds":  {Added: day(2), Changed: day(4), Builds: map[string]time.Time{"1.0.0": day(2)}, Log: s.logOf(4, 2)},
	}
	if diff := cmp.Diff(want, got.Products); diff != "" {
		t.Errorf("History mismatch (-want +got):\n%s", diff)
	}
}

// objectWriter writes commits whose trees hold files (slash path → content; "@symlink TARGET"
// makes a symlink, "@exec CONTENT" an executable) straight into the object store, bypassing the work tree: fast enough to build
// long histories, and able to make merge commits.
type objectWriter struct {
	t    testing.TB
	repo *git.Repository
	seen map[plumbing.Hash]bool
}

func newObjectWriter(t testing.TB, repo *git.Repository) *objectWriter {
	return &objectWriter{t: t, repo: repo, seen: map[plumbing.Hash]bool{}}
}

func (o *objectWriter) store(obj plumbing.EncodedObject) plumbing.Hash {
	h := obj.Hash()
	if !o.seen[h] {
		if _, err := o.repo.Storer.SetEncodedObject(obj); err != nil {
			o.t.Fatal(err)
		}
		o.seen[h] = true
	}
	return h
}

func (o *objectWriter) blob(content string) plumbing.Hash {
	obj := o.repo.Storer.NewEncodedObject()
	obj.SetType(plumbing.BlobObject)
	w, _ := obj.Writer()
	w.Write([]byte(content))
	w.Close()
	return o.store(obj)
}

// tree writes the tree of files, whose paths are relative to it.
func (o *objectWriter) tree(files map[string]string) plumbing.Hash {
	subs := map[string]map[string]string{}
	var t object.Tree
	for name, content := range files {
		if dir, rest, ok := cutFirst(name); ok {
			if subs[dir] == nil {
				subs[dir] = map[string]string{}
			}
			subs[dir][rest] = content
			continue
		}
		mode := filemode.Regular
		if target, ok := strings.CutPrefix(content, "@symlink "); ok {
			mode, content = filemode.Symlink, target
		} else if script, ok := strings.CutPrefix(content, "@exec "); ok {
			mode, content = filemode.Executable, script
		}
		t.Entries = append(t.Entries, object.TreeEntry{Name: name, Mode: mode, Hash: o.blob(content)})
	}
	for dir, files := range subs {
		t.Entries = append(t.Entries, object.TreeEntry{Name: dir, Mode: filemode.Dir, Hash: o.tree(files)})
	}
	sortTree(t.Entries)
	obj := o.repo.Storer.NewEncodedObject()
	if err := t.Encode(obj); err != nil {
		o.t.Fatal(err)
	}
	return o.store(obj)
}

// commit writes a commit of files and points the current branch at it. Its parents are parents,
// or the branch's commit when none are given.
func (o *objectWriter) commit(msg string, when time.Time, files map[string]string, parents ...plumbing.Hash) plumbing.Hash {
	head, err := o.repo.Reference(plumbing.HEAD, false)
	if err != nil {
		o.t.Fatal(err)
	}
	if branch, err := o.repo.Reference(head.Target(), false); err == nil && len(parents) == 0 {
		parents = []plumbing.Hash{branch.Hash()}
	}
	sig := object.Signature{Name: "Bench Bot", Email: "bot@example.org", When: when}
	c := &object.Commit{Author: sig, Committer: sig, Message: msg, TreeHash: o.tree(files), ParentHashes: parents}
	obj := o.repo.Storer.NewEncodedObject()
	if err := c.Encode(obj); err != nil {
		o.t.Fatal(err)
	}
	h := o.store(obj)
	if err := o.repo.Storer.SetReference(plumbing.NewHashReference(head.Target(), h)); err != nil {
		o.t.Fatal(err)
	}
	return h
}

func cutFirst(p string) (dir, rest string, ok bool) {
	for i := range len(p) {
		if p[i] == '/' {
			return p[:i], p[i+1:], true
		}
	}
	return "", p, false
}

// sortTree sorts entries as Git does: a folder as if its name ended in "/".
func sortTree(entries []object.TreeEntry) {
	key := func(e object.TreeEntry) string {
		if e.Mode == filemode.Dir {
			return e.Name + "/"
		}
		return e.Name
	}
	for i := 1; i < len(entries); i++ {
		for j := i; j > 0 && key(entries[j]) < key(entries[j-1]); j-- {
			entries[j], entries[j-1] = entries[j-1], entries[j]
		}
	}
}

// TestHistoryFirstParent shows that a merged branch's work is dated by the merge: the branch's
// own commit, written earlier, is not in the log.
func TestHistoryFirstParent(t *testing.T) {
	w := newWorkTree(t)
	o := newObjectWriter(t, w.git)
	base := map[string]string{
		"index.toml":                   "",
		"products/acme/publisher.toml": publisherTOML,
		"products/acme/fhir.toml":      productTOML("FHIR", "v1", "1.0.0"),
	}
	c1 := o.commit("Add fhir", day(1), base)
	branch := clone(base)
	branch["products/acme/fhir.toml"] = productTOML("FHIR", "v2", "1.0.0", "2.0.0")
	side := o.commit("fhir 2.0.0", day(2), branch, c1)
	main := clone(base)
	main["index.toml"] = "# settings\n"
	c2 := o.commit("Tune settings", day(3), main, c1)
	merged := clone(branch)
	merged["index.toml"] = main["index.toml"]
	m := o.commit("Merge pull request #7 from acme/fhir-2\n\nfhir 2.0.0", day(4), merged, c2, side)

	got, err := w.open("").History("")
	if err != nil {
		t.Fatal(err)
	}
	commit := func(h plumbing.Hash, n int, subject string) catalog.Commit {
		return catalog.Commit{Hash: h.String(), Date: day(n), Author: "Bench Bot", Subject: subject}
	}
	want := &catalog.History{Commit: m.String(), Date: day(4), Products: map[string]*catalog.ProductHistory{
		"acme/fhir": {
			Added: day(1), Changed: day(4),
			Builds: map[string]time.Time{"1.0.0": day(1), "2.0.0": day(4)},
			Log:    []catalog.Commit{commit(m, 4, "Merge pull request #7 from acme/fhir-2"), commit(c1, 1, "Add fhir")},
		},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("History mismatch (-want +got):\n%s", diff)
	}
}

// TestHistoryEdgeCases covers restoring a deleted product, files that do not decode, and files
// that are not products.
func TestHistoryEdgeCases(t *testing.T) {
	w := newWorkTree(t)
	o := newObjectWriter(t, w.git)
	files := map[string]string{
		"products/acme/publisher.toml": publisherTOML,
		"products/acme/fhir.toml":      productTOML("FHIR", "v1", "1.0.0"),
		"products/acme/Bad_Name.toml":  productTOML("Bad", "not a product ID", "1.0.0"),
		"products/acme/notes.txt":      "not a product",
		"products/acme/orphan/a.png":   "an asset folder without a product",
		"products/README.md":           "not a publisher",
	}
	c1 := o.commit("Add fhir", day(1), files)
	delete(files, "products/acme/fhir.toml")
	c2 := o.commit("Remove fhir by mistake", day(2), files)
	files["products/acme/fhir.toml"] = productTOML("FHIR", "v1", "1.0.0")
	c3 := o.commit("Restore fhir", day(3), files)
	files["products/acme/fhir.toml"] = "[[builds]\nversion = \"2.0.0\"" // a syntax error
	c4 := o.commit("Break fhir", day(4), files)
	files["products/acme/fhir.toml"] = productTOML("FHIR", "v1", "1.0.0", "2.0.0")
	c5 := o.commit("Fix fhir", day(5), files)
	files["products/acme/orphan/a.png"] = "changed"
	o.commit("Change the orphan folder", day(6), files)

	got, err := w.open("").History("")
	if err != nil {
		t.Fatal(err)
	}
	commit := func(h plumbing.Hash, n int, subject string) catalog.Commit {
		return catalog.Commit{Hash: h.String(), Date: day(n), Author: "Bench Bot", Subject: subject}
	}
	want := map[string]*catalog.ProductHistory{
		"acme/fhir": {
			Added: day(1), Changed: day(5),
			Builds: map[string]time.Time{"1.0.0": day(1), "2.0.0": day(5)},
			Log: []catalog.Commit{
				commit(c5, 5, "Fix fhir"), commit(c4, 4, "Break fhir"), commit(c3, 3, "Restore fhir"),
				commit(c2, 2, "Remove fhir by mistake"), commit(c1, 1, "Add fhir"),
			},
		},
	}
	if diff := cmp.Diff(want, got.Products); diff != "" {
		t.Errorf("History mismatch (-want +got):\n%s", diff)
	}
}

// TestHistorySkipsOversizedRevisions checks that a product file revision over the size limit is
// not read: a build it adds is dated from the first revision that could be read.
func TestHistorySkipsOversizedRevisions(t *testing.T) {
	w := newWorkTree(t)
	o := newObjectWriter(t, w.git)
	files := map[string]string{
		"products/acme/publisher.toml": publisherTOML,
		"products/acme/fhir.toml":      productTOML("FHIR", "v1", "1.0.0"),
	}
	o.commit("Add fhir", day(1), files)
	huge := productTOML("FHIR", "v1", "1.0.0", "2.0.0") + "# " + strings.Repeat("x", catalog.MaxProductFileBytes) + "\n"
	files["products/acme/fhir.toml"] = huge
	o.commit("Bloat fhir", day(2), files)
	files["products/acme/fhir.toml"] = productTOML("FHIR", "v1", "1.0.0", "2.0.0")
	o.commit("Fix fhir", day(3), files)

	got, err := w.open("").History("")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]time.Time{"1.0.0": day(1), "2.0.0": day(3)}
	if diff := cmp.Diff(want, got.Product("acme/fhir").Builds); diff != "" {
		t.Errorf("builds (-want +got):\n%s", diff)
	}
}

func clone(m map[string]string) map[string]string {
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// largeCatalog writes a history of commits commits over a catalog of publishers × perPublisher
// products: every tenth commit changes only index.toml, the others add the products one by one
// and then publish builds of them in turn.
func largeCatalog(t testing.TB, commits, publishers, perPublisher int) *workTree {
	w := newWorkTree(t)
	o := newObjectWriter(t, w.git)
	files := map[string]string{"index.toml": "[catalog]\nname = \"Large\"\n"}
	for p := range publishers {
		files[fmt.Sprintf("products/pub-%02d/publisher.toml", p)] = publisherTOML
	}
	products := publishers * perPublisher
	versions := make([][]string, products)
	k := 0 // product commits so far
	for i := range commits {
		if i%10 == 9 {
			files["index.toml"] = fmt.Sprintf("[catalog]\nname = \"Large %d\"\n", i)
		} else {
			n := k % products
			k++
			name := fmt.Sprintf("products/pub-%02d/product-%02d.toml", n%publishers, n/publishers)
			versions[n] = append(versions[n], fmt.Sprintf("1.%d.0", len(versions[n])))
			files[name] = productTOML(name, "A product of the large catalog.", versions[n]...)
		}
		o.commit(fmt.Sprintf("Commit %d", i), t0.Add(time.Duration(i)*time.Hour), files)
	}
	return w
}

// pack moves a repository's loose objects into one pack, as git gc does and as a clone arrives.
func pack(t testing.TB, repo *git.Repository) {
	t.Helper()
	if err := repo.RepackObjects(&git.RepackConfig{}); err != nil {
		t.Fatal(err)
	}
	loose := repo.Storer.(storer.LooseObjectStorer)
	var hashes []plumbing.Hash
	if err := loose.ForEachObjectHash(func(h plumbing.Hash) error { hashes = append(hashes, h); return nil }); err != nil {
		t.Fatal(err)
	}
	for _, h := range hashes {
		if err := loose.DeleteLooseObject(h); err != nil {
			t.Fatal(err)
		}
	}
}

// BenchmarkHistory measures History over 200 commits of a 50-product catalog, its objects packed
// (a clone, or a repository after git gc) and loose (fresh local commits).
func BenchmarkHistory(b *testing.B) {
	for _, packed := range []bool{true, false} {
		name := map[bool]string{true: "packed", false: "loose"}[packed]
		b.Run(name, func(b *testing.B) {
			w := largeCatalog(b, 200, 10, 5)
			if packed {
				pack(b, w.git)
			}
			repo := w.open("")
			h, err := repo.History("")
			if err != nil {
				b.Fatal(err)
			}
			if len(h.Products) != 50 {
				b.Fatalf("got %d products, want 50", len(h.Products))
			}
			for b.Loop() {
				if _, err := repo.History(""); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestHistoryLarge checks the large history's result and that it stays fast.
func TestHistoryLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 200-commit repository")
	}
	w := largeCatalog(t, 200, 10, 5)
	pack(t, w.git)
	repo := w.open("")
	start := time.Now()
	h, err := repo.History("")
	elapsed := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("History over 200 commits × 50 products: %v", elapsed)
	if len(h.Products) != 50 {
		t.Fatalf("got %d products, want 50", len(h.Products))
	}
	// 180 product commits over 50 products: product 0 gets four builds, in four commits.
	p := h.Product("pub-00/product-00")
	if p == nil || len(p.Builds) != 4 || len(p.Log) != 4 || !p.Added.Equal(t0) {
		t.Errorf("pub-00/product-00: got %+v", p)
	}
}
