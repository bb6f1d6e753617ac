package federate

import (
	"context"
	"io/fs"
	"path"
	"strings"

	"github.com/hspc/marketplace/catalog"
	"github.com/hspc/marketplace/catalog/gitrepo"
)

// checkSync checks commit next of repo, whose checked predecessor is prev. When the change
// touches only product files and their asset folders, only the changed products are loaded,
// validated and verified: nothing the others depend on (index.toml, publisher folders, signature
// material) changed, so their earlier verdict stands. Any other change checks the whole catalog.
// This keeps a one-commit sync of a large catalog proportional to the commit.
func checkSync(ctx context.Context, repo *gitrepo.Repo, prev, next, prefix string) (catalog.Diagnostics, error) {
	if prev == "" || !repo.Has(prev) {
		return CheckCommit(ctx, repo, next, prefix)
	}
	paths, err := repo.ChangedPaths(prev, next)
	if err != nil {
		return CheckCommit(ctx, repo, next, prefix)
	}
	products, ok := changedProducts(paths)
	if !ok {
		return CheckCommit(ctx, repo, next, prefix)
	}
	fsys, _, err := repo.FS(next)
	if err != nil {
		return nil, err
	}
	only := onlyProducts{FS: fsys, keep: products}
	c, ds := catalog.Check(only)
	if !ds.HasErrors() && len(c.Products) > 0 {
		ds = append(ds, VerifyOffline(ctx, only, c)...)
	}
	ds.Sort()
	return Prefix(ds, prefix), nil
}

// changedProducts returns the IDs of the products whose file or asset folder a change touches,
// and false when the change touches anything else.
func changedProducts(paths []string) (map[string]bool, bool) {
	ids := map[string]bool{}
	for _, p := range paths {
		parts := strings.Split(p, "/")
		if len(parts) < 3 || parts[0] != catalog.ProductsDir {
			return nil, false
		}
		switch {
		case len(parts) == 3 && strings.HasSuffix(parts[2], ".toml") && parts[2] != catalog.PublisherFile:
			ids[parts[1]+"/"+strings.TrimSuffix(parts[2], ".toml")] = true
		case len(parts) > 3:
			ids[parts[1]+"/"+parts[2]] = true // an asset of product parts[2]
		default:
			return nil, false // publisher.toml or a signer key
		}
	}
	return ids, true
}

// onlyProducts shows a catalog tree with only the kept products: other product files and asset
// folders are left out of directory listings.
type onlyProducts struct {
	fs.FS
	keep map[string]bool
}

func (o onlyProducts) ReadDir(name string) ([]fs.DirEntry, error) {
	entries, err := fs.ReadDir(o.FS, name)
	if err != nil {
		return nil, err
	}
	pub, ok := strings.CutPrefix(name, catalog.ProductsDir+"/")
	if !ok || strings.Contains(pub, "/") {
		return entries, nil
	}
	out := entries[:0:0]
	for _, e := range entries {
		id := pub + "/" + strings.TrimSuffix(e.Name(), ".toml")
		if e.Name() == catalog.PublisherFile || (!e.IsDir() && path.Ext(e.Name()) != ".toml") || o.keep[id] {
			out = append(out, e)
		}
	}
	return out, nil
}

func (o onlyProducts) ReadFile(name string) ([]byte, error) { return fs.ReadFile(o.FS, name) }

func (o onlyProducts) Stat(name string) (fs.FileInfo, error) { return fs.Stat(o.FS, name) }

func (o onlyProducts) Lstat(name string) (fs.FileInfo, error) { return fs.Lstat(o.FS, name) }

func (o onlyProducts) ReadLink(name string) (string, error) { return fs.ReadLink(o.FS, name) }

func (o onlyProducts) Sub(dir string) (fs.FS, error) { return fs.Sub(o.FS, dir) }

// countProducts counts the product files of the catalog at commit from directory listings,
// without decoding them.
func countProducts(repo *gitrepo.Repo, commit string) int {
	fsys, _, err := repo.FS(commit)
	if err != nil {
		return 0
	}
	pubs, _ := fs.ReadDir(fsys, catalog.ProductsDir)
	n := 0
	for _, p := range pubs {
		if !p.IsDir() {
			continue
		}
		files, _ := fs.ReadDir(fsys, path.Join(catalog.ProductsDir, p.Name()))
		for _, f := range files {
			if !f.IsDir() && path.Ext(f.Name()) == ".toml" && f.Name() != catalog.PublisherFile {
				n++
			}
		}
	}
	return n
}
