package gitrepo

import (
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/hspc/marketplace/catalog"
)

// History returns what the first-parent history up to rev ("" means HEAD) says about the
// products in the catalog at rev. Dates are committer dates in UTC: when a change landed on the
// branch, not when it was written.
//
// Only the first parent of each commit is followed, as `git log --first-parent` does: on a
// catalog where pull requests are merged, a merge commit is the moment its products and builds
// were published, and the commits of the pull request's branch, dated when they were written and
// possibly never published as they were, do not appear. A squash-merged or rebased history reads
// the same either way.
//
// For each product file products/<publisher>/<product>.toml present at rev:
//   - Added is the first commit that has the file;
//   - Changed is the last commit that changed the file or its asset folder
//     products/<publisher>/<product>/;
//   - Log lists those same commits, newest first, so Log[0] is Changed;
//   - Builds maps each build version in the file at rev to the first commit whose version of the
//     file lists it. Versions of files that do not decode are not counted.
//
// A product deleted and later restored keeps its history, so a revert does not publish it
// again; a renamed file is a new product. Products not present at rev are left out. In a shallow
// clone, history starts at the shallow boundary.
//
// History compares trees between consecutive commits: a commit whose catalog tree, products
// tree or publisher folder has the same hash as its parent's is skipped without reading further,
// and a product file is decoded only when its blob changed.
func (r *Repo) History(rev string) (*catalog.History, error) {
	head, err := r.resolve(rev)
	if err != nil {
		return nil, err
	}
	chain, err := r.firstParents(head)
	if err != nil {
		return nil, err
	}
	b := &historyBuilder{repo: r, publishers: map[string]publisherState{}, products: map[string]*productState{}}
	for _, c := range slices.Backward(chain) {
		if err := b.add(c); err != nil {
			return nil, fmt.Errorf("reading commit %s: %w", c.Hash, err)
		}
	}
	return b.result(head), nil
}

// firstParents returns head and its first parents, newest first.
func (r *Repo) firstParents(head *object.Commit) ([]*object.Commit, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	shallow, err := r.git.Storer.Shallow()
	if err != nil {
		return nil, fmt.Errorf("reading the shallow commits: %w", err)
	}
	chain := []*object.Commit{head}
	for c := head; c.NumParents() > 0 && !slices.Contains(shallow, c.Hash); {
		p, err := r.git.CommitObject(c.ParentHashes[0])
		if err != nil {
			return nil, fmt.Errorf("reading commit %s, parent of %s: %w", c.ParentHashes[0], c.Hash, err)
		}
		chain = append(chain, p)
		c = p
	}
	return chain, nil
}

// historyBuilder replays commits oldest first, keeping the state of the products folder at the
// last commit.
type historyBuilder struct {
	repo       *Repo
	tree       plumbing.Hash // the commit's root tree
	productsAt plumbing.Hash // its products folder; zero when it has none
	publishers map[string]publisherState
	products   map[string]*productState // by product ID, including deleted ones
}

// publisherState is a publisher folder at the last commit.
type publisherState struct {
	hash  plumbing.Hash
	items map[string]item // by product name
}

// item is what a publisher folder holds for one product name: its file and its asset folder.
// A zero hash is an absent file or folder.
type item struct {
	file   fileKey
	assets plumbing.Hash
}

// fileKey identifies a file's content and mode: a change of either is a change of the file.
type fileKey struct {
	hash plumbing.Hash
	mode filemode.FileMode
}

func (k fileKey) exists() bool { return !k.hash.IsZero() }

// productState is the history of one product ID so far.
type productState struct {
	exists  bool
	added   time.Time
	changed time.Time
	builds  map[string]time.Time // every version ever seen
	current []string             // the versions in the last version of the file that decoded
	log     []catalog.Commit     // oldest first
}

// add replays commit c.
func (b *historyBuilder) add(c *object.Commit) error {
	if c.TreeHash == b.tree {
		return nil
	}
	b.tree = c.TreeHash
	products, err := b.repo.treePath(c.TreeHash, path.Join(b.repo.sub, catalog.ProductsDir))
	if err != nil {
		return err
	}
	if products == b.productsAt {
		return nil
	}
	b.productsAt = products

	pubs := map[string]plumbing.Hash{}
	if !products.IsZero() {
		t, err := b.repo.tree(products)
		if err != nil {
			return err
		}
		for _, e := range t.Entries {
			if e.Mode == filemode.Dir && catalog.IDPattern.MatchString(e.Name) {
				pubs[e.Name] = e.Hash
			}
		}
	}
	for _, name := range union(b.publishers, pubs) {
		old, hash := b.publishers[name], pubs[name]
		if old.hash == hash {
			continue // the folder did not change: nothing in it did
		}
		var items map[string]item
		if !hash.IsZero() {
			if items, err = b.readPublisher(hash); err != nil {
				return err
			}
		}
		if err := b.diff(c, name, old.items, items); err != nil {
			return err
		}
		if hash.IsZero() {
			delete(b.publishers, name)
		} else {
			b.publishers[name] = publisherState{hash: hash, items: items}
		}
	}
	return nil
}

// readPublisher lists the product files and asset folders of a publisher folder.
func (b *historyBuilder) readPublisher(h plumbing.Hash) (map[string]item, error) {
	t, err := b.repo.tree(h)
	if err != nil {
		return nil, err
	}
	items := map[string]item{}
	for _, e := range t.Entries {
		switch {
		case e.Mode == filemode.Dir:
			if catalog.IDPattern.MatchString(e.Name) {
				it := items[e.Name]
				it.assets = e.Hash
				items[e.Name] = it
			}
		case e.Mode == filemode.Submodule || e.Name == catalog.PublisherFile:
		default:
			name, ok := strings.CutSuffix(e.Name, ".toml")
			if ok && catalog.IDPattern.MatchString(name) {
				it := items[name]
				it.file = fileKey{hash: e.Hash, mode: e.Mode}
				items[name] = it
			}
		}
	}
	return items, nil
}

// diff records what commit c changed in publisher folder pub, from old to cur.
func (b *historyBuilder) diff(c *object.Commit, pub string, old, cur map[string]item) error {
	when := c.Committer.When.UTC()
	for _, name := range union(old, cur) {
		o, n := old[name], cur[name]
		fileChanged := o.file != n.file
		if !fileChanged && o.assets == n.assets {
			continue
		}
		if !o.file.exists() && !n.file.exists() {
			continue // an asset folder without a product
		}
		id := pub + "/" + name
		p := b.products[id]
		if p == nil {
			p = &productState{builds: map[string]time.Time{}}
			b.products[id] = p
		}
		p.exists = n.file.exists()
		if p.exists && p.added.IsZero() {
			p.added = when
		}
		p.changed = when
		p.log = append(p.log, catalog.Commit{Hash: c.Hash.String(), Date: when, Author: c.Author.Name, Subject: subject(c.Message)})
		if !fileChanged || !p.exists {
			continue
		}
		// A revision over the size limit is never read: validation refuses such a file, and
		// an old one must not cost the build its memory either.
		if size, err := b.repo.blobSize(n.file.hash); err == nil && size > catalog.MaxProductFileBytes {
			continue
		}
		data, err := b.repo.blob(n.file.hash)
		if err != nil {
			return fmt.Errorf("reading %s: %w", path.Join(catalog.ProductsDir, pub, name+".toml"), err)
		}
		versions, ok := catalog.BuildVersions(data)
		if !ok {
			continue
		}
		for _, v := range versions {
			if _, seen := p.builds[v]; !seen {
				p.builds[v] = when
			}
		}
		p.current = versions
	}
	return nil
}

// result returns the History of the products present at head.
func (b *historyBuilder) result(head *object.Commit) *catalog.History {
	h := &catalog.History{
		Commit:   head.Hash.String(),
		Date:     head.Committer.When.UTC(),
		Products: map[string]*catalog.ProductHistory{},
	}
	for id, p := range b.products {
		if !p.exists {
			continue
		}
		ph := &catalog.ProductHistory{Added: p.added, Changed: p.changed, Log: slices.Clone(p.log)}
		slices.Reverse(ph.Log)
		for _, v := range p.current {
			if ph.Builds == nil {
				ph.Builds = map[string]time.Time{}
			}
			ph.Builds[v] = p.builds[v]
		}
		h.Products[id] = ph
	}
	return h
}

// subject returns the first line of a commit message.
func subject(msg string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(msg), "\n")
	return strings.TrimSpace(line)
}

// union returns the keys of a and b, sorted.
func union[V, W any](a map[string]V, b map[string]W) []string {
	keys := make([]string, 0, len(a)+len(b))
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}
