package federate

import (
	"context"
	"io/fs"
	"maps"
	"slices"
	"strings"

	"github.com/hspc/marketplace/catalog"
	"github.com/hspc/marketplace/catalog/verify"
)

// Verify verifies the images of the merged catalog: the local products as opts say (online, or
// offline from opts' material), and each upstream's products always offline, against the
// upstream publishers' signers with the upstream's own signatures/ material, under the local
// catalog's policy. An image several origins use is reported once, by the first origin. ids
// restricts the check to those products; empty means all.
func (f *Federation) Verify(ctx context.Context, ids []string, opts verify.Options) (*verify.Report, catalog.Diagnostics) {
	want := func(id string) bool { return len(ids) == 0 || slices.Contains(ids, id) }
	report := &verify.Report{}
	var ds catalog.Diagnostics
	seen := map[string]bool{}
	add := func(r *verify.Report) {
		for _, m := range r.Images {
			if !seen[m.Digest] {
				seen[m.Digest] = true
				report.Images = append(report.Images, m)
			}
		}
		report.Cached += r.Cached
		report.Requests += r.Requests
	}
	var localIDs []string
	for id := range f.Local.Products {
		if want(id) {
			localIDs = append(localIDs, id)
		}
	}
	if len(localIDs) > 0 || (len(ids) == 0 && len(f.Upstreams) == 0) {
		r, lds := verify.Verify(ctx, f.LocalFS, f.Local, localIDs, opts)
		add(r)
		ds = append(ds, lds...)
	}
	for _, u := range f.Upstreams {
		sub := &catalog.Catalog{Index: f.Catalog.Index, Publishers: map[string]*catalog.Publisher{}, Products: map[string]*catalog.Product{}}
		for id, p := range u.Catalog.Products {
			if f.Catalog.Products[id] == p && want(id) {
				sub.Products[id] = p
			}
		}
		for id, p := range u.Catalog.Publishers {
			if f.Catalog.Publishers[id] == p {
				sub.Publishers[id] = p
			}
		}
		if len(sub.Products) == 0 {
			continue
		}
		uopts := opts
		uopts.Offline, uopts.Material, uopts.MaterialFS = true, u.Config.Name+":"+verify.MaterialDir, materialFS(u.FS)
		uopts.CacheDir = ""
		r, uds := verify.Verify(ctx, u.FS, sub, nil, uopts)
		add(r)
		ds = append(ds, Prefix(uds, u.Config.Name)...)
	}
	ds.Sort()
	return report, ds
}

// History returns the local history with each upstream's product histories added.
func (f *Federation) History(local *catalog.History) *catalog.History {
	if len(f.Upstreams) == 0 {
		return local
	}
	h := *local
	h.Products = maps.Clone(local.Products)
	if h.Products == nil {
		h.Products = map[string]*catalog.ProductHistory{}
	}
	for _, u := range f.Upstreams {
		for id, ph := range u.History.Products {
			if p := f.Catalog.Products[id]; p != nil && p.Origin.Name == u.Config.Name {
				h.Products[id] = ph
			}
		}
	}
	return &h
}

// Files returns the catalog files behind the merged catalog: a publisher's folder is read from
// the origin of that publisher, everything else from the local catalog. The site reads product
// logos and screenshots through it.
func (f *Federation) Files() fs.FS {
	if len(f.Upstreams) == 0 {
		return f.LocalFS
	}
	byPublisher := map[string]fs.FS{}
	for _, u := range f.Upstreams {
		for id, p := range u.Catalog.Publishers {
			if f.Catalog.Publishers[id] == p {
				byPublisher[id] = u.FS
			}
		}
	}
	return routedFS{local: f.LocalFS, byPublisher: byPublisher}
}

type routedFS struct {
	local       fs.FS
	byPublisher map[string]fs.FS
}

func (r routedFS) route(name string) fs.FS {
	rest, ok := strings.CutPrefix(name, catalog.ProductsDir+"/")
	if !ok {
		return r.local
	}
	pub, _, _ := strings.Cut(rest, "/")
	if u, ok := r.byPublisher[pub]; ok {
		return u
	}
	return r.local
}

func (r routedFS) Open(name string) (fs.File, error) { return r.route(name).Open(name) }

func (r routedFS) ReadFile(name string) ([]byte, error) { return fs.ReadFile(r.route(name), name) }

func (r routedFS) Stat(name string) (fs.FileInfo, error) { return fs.Stat(r.route(name), name) }
