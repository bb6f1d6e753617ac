package federate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hspc/marketplace/catalog"
	"github.com/hspc/marketplace/catalog/gitrepo"
)

// UpstreamOptions say where upstreams are cached and whether they may be fetched.
type UpstreamOptions struct {
	// CacheDir holds one bare repository per upstream URL; "" means DefaultCacheDir().
	CacheDir string
	// Offline forbids fetching: a locked commit missing from the cache is an error saying how to
	// import it.
	Offline bool
	// Now is the fetched date written to the lock; nil means time.Now.
	Now func() time.Time
	// Root is the catalog repository's folder: an upstream url that is a relative path is
	// relative to it, whatever the working directory.
	Root string
	// Sites maps an upstream's name to where its signed site is read instead of index.toml's
	// site: a folder carried in on media.
	Sites map[string]string
	// TrustTime is the reference time the signed sites' expiry is checked against; zero means
	// now. Offline, give the date from a clock you trust.
	TrustTime time.Time
}

// At returns the options with Root set to root.
func (o UpstreamOptions) At(root string) UpstreamOptions {
	o.Root = root
	return o
}

// resolve returns the location to fetch an upstream url from: relative local paths are made
// relative to the catalog root.
func (o UpstreamOptions) resolve(url string) string {
	if o.Root == "" || strings.Contains(url, "://") || filepath.IsAbs(url) {
		return url
	}
	if i := strings.Index(url, ":"); i > 0 && !strings.ContainsAny(url[:i], "/.") {
		return url // scp-like ssh syntax: host:path
	}
	return filepath.Join(o.Root, url)
}

// DefaultCacheDir is the user's cache folder for upstreams.
func DefaultCacheDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "marketplace-upstreams")
	}
	return filepath.Join(dir, "marketplace", "upstreams")
}

// cacheRepo returns the cache repository of an upstream URL, created when missing. Repositories
// are keyed by URL so that catalogs sharing an upstream share its objects.
func cacheRepo(opts UpstreamOptions, url string) (*gitrepo.Repo, string, error) {
	base := opts.CacheDir
	if base == "" {
		base = DefaultCacheDir()
	}
	sum := sha256.Sum256([]byte(url))
	dir := filepath.Join(base, hex.EncodeToString(sum[:8])+".git")
	if _, err := os.Stat(filepath.Join(dir, "HEAD")); err == nil {
		r, err := gitrepo.Open(dir)
		return r, dir, err
	}
	if err := os.MkdirAll(base, 0o755); err != nil {
		return nil, dir, err
	}
	r, err := gitrepo.InitBare(dir)
	return r, dir, err
}

func stagingFor(name string) string { return "refs/marketplace/upstreams/" + name }

// Updated is what Update did for one upstream.
type Updated struct {
	Name        string
	Old, New    string // commits; Old is "" when it was not locked
	Products    int
	Snapshot    int64 // the timestamp version of its signed site verified; 0 without a site
	Diagnostics catalog.Diagnostics
}

// Update fetches the named upstreams of the catalog in root (all when names is empty) into the
// cache, checks each fetched commit on its own (load, validate, verify offline with its own
// signatures/ material), and rewrites upstreams.lock with their commits. Nothing is written when
// any upstream fails: the diagnostics say which and why.
func Update(ctx context.Context, root string, names []string, opts UpstreamOptions) ([]Updated, catalog.Diagnostics, error) {
	if opts.Root == "" {
		opts.Root = root
	}
	fsys := os.DirFS(root)
	c, ds := catalog.Load(fsys)
	if ds.HasErrors() || c.Index == nil {
		return nil, ds, nil
	}
	lock, lds := catalog.ReadLock(fsys, c.Index)
	for _, d := range lds {
		// A missing lock is what update is for; keep only problems of the lock file itself.
		if d.Path == catalog.LockFile {
			ds = append(ds, d)
		}
	}
	if lock == nil {
		lock = &catalog.Lock{}
	}
	for _, n := range names {
		if !slices.ContainsFunc(c.Index.Upstreams, func(u catalog.Upstream) bool { return u.Name == n }) {
			return nil, nil, fmt.Errorf("no upstream %q in index.toml", n)
		}
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	next := &catalog.Lock{}
	var done []Updated
	for i, u := range c.Index.Upstreams {
		old := lock.Find(u.Name)
		if len(names) > 0 && !slices.Contains(names, u.Name) {
			if old != nil {
				next.Upstreams = append(next.Upstreams, *old)
			}
			continue
		}
		repo, _, err := cacheRepo(opts, opts.resolve(u.URL))
		if err != nil {
			return nil, nil, fmt.Errorf("upstream %s: %w", u.Name, err)
		}
		f, err := repo.Fetch(ctx, opts.resolve(u.URL), u.Ref, stagingFor(u.Name))
		if err != nil {
			repo.Close()
			return nil, nil, fmt.Errorf("upstream %s: %w", u.Name, err)
		}
		uds, err := CheckCommit(ctx, repo, f.Commit, u.Name)
		products := countProducts(repo, f.Commit)
		var verified int64
		if err == nil && u.Site != "" && u.Root != "" && !uds.HasErrors() {
			// The commit is pinned only when the upstream's signed site vouches for what it carries.
			var upFS fs.FS
			if upFS, _, err = repo.FS(f.Commit); err == nil {
				var recorded int64
				if old != nil {
					recorded = int64(old.Snapshot)
				}
				var vds catalog.Diagnostics
				lockKey := fmt.Sprintf("upstreams[%d]", slices.IndexFunc(lock.Upstreams, func(x catalog.LockedUpstream) bool { return x.Name == u.Name }))
				verified, vds = verifySite(ctx, fsys, i, u, recorded, lockKey, upFS, opts)
				uds = append(uds, vds...)
			}
		}
		repo.Close()
		if err != nil {
			return nil, nil, fmt.Errorf("upstream %s: %w", u.Name, err)
		}
		ds = append(ds, uds...)
		up := Updated{Name: u.Name, New: f.Commit, Products: products, Snapshot: verified, Diagnostics: uds}
		fetched := now().UTC().Format(time.RFC3339)
		if old != nil {
			up.Old = old.Commit
			if old.Commit == f.Commit {
				fetched = old.Fetched
			}
		}
		done = append(done, up)
		next.Upstreams = append(next.Upstreams, catalog.LockedUpstream{Name: u.Name, URL: u.URL, Ref: u.Ref, Commit: f.Commit, Fetched: fetched, Snapshot: int(verified)})
	}
	if !ds.HasErrors() {
		// Merge with the new commits before pinning them: an upstream publishing outside its
		// globs, or a duplicate ID, is refused here rather than at the next build.
		c, _ := catalog.Check(fsys)
		opts.Offline = true
		fed, fds := federateWith(ctx, fsys, c, next, opts)
		fed.Close()
		ds = append(ds, fds...)
	}
	ds.Sort()
	if ds.HasErrors() {
		return done, ds, nil
	}
	if err := writeLock(root, next); err != nil {
		return nil, ds, err
	}
	return done, ds, nil
}

// writeLock writes upstreams.lock atomically.
func writeLock(root string, l *catalog.Lock) error {
	data, err := l.Marshal()
	if err != nil {
		return err
	}
	return catalog.WriteFileAtomic(filepath.Join(root, catalog.LockFile), data, 0o644)
}

// Upstream is one upstream catalog read at its locked commit.
type Upstream struct {
	Config  catalog.Upstream // from index.toml
	Index   int              // its position in index.toml's upstreams
	Origin  catalog.Origin
	FS      fs.FS // the catalog tree at the commit, from Git objects
	Catalog *catalog.Catalog
	History *catalog.History
	repo    *gitrepo.Repo
}

// Federation is the local catalog with its upstreams merged in.
type Federation struct {
	Catalog   *catalog.Catalog // merged; every product and publisher has its Origin
	Local     *catalog.Catalog
	LocalFS   fs.FS
	Upstreams []*Upstream
}

// Close releases the upstreams' repositories; their file systems must not be used afterwards.
func (f *Federation) Close() {
	for _, u := range f.Upstreams {
		if u.repo != nil {
			u.repo.Close()
		}
	}
}

// Federate reads every upstream of the valid local catalog c at the commit upstreams.lock pins —
// from the cache, fetching exactly that commit when it is missing unless offline — validates
// each on its own, and merges them with c. Diagnostics on upstream files carry the upstream's
// name before the path ("hspc:products/acme/fhir.toml"). A catalog without upstreams is returned
// as it is, with local origins.
func Federate(ctx context.Context, localFS fs.FS, c *catalog.Catalog, opts UpstreamOptions) (*Federation, catalog.Diagnostics) {
	fed := &Federation{Local: c, LocalFS: localFS}
	localOrigin := catalog.Origin{Name: catalog.LocalOrigin}
	if c.Index != nil {
		localOrigin.URL = c.Index.Catalog.BaseURL
	}
	for _, p := range c.Publishers {
		p.Origin = localOrigin
	}
	for _, p := range c.Products {
		p.Origin = localOrigin
	}
	if c.Index == nil || len(c.Index.Upstreams) == 0 {
		fed.Catalog = c
		return fed, nil
	}
	lock, ds := catalog.ReadLock(localFS, c.Index)
	if ds.HasErrors() {
		return fed, ds
	}
	fed, fds := federateWith(ctx, localFS, c, lock, opts)
	return fed, append(ds, fds...)
}

// federateWith federates c with its upstreams at the commits of lock, which names them all.
func federateWith(ctx context.Context, localFS fs.FS, c *catalog.Catalog, lock *catalog.Lock, opts UpstreamOptions) (*Federation, catalog.Diagnostics) {
	fed := &Federation{Local: c, LocalFS: localFS}
	var ds catalog.Diagnostics
	for i, cfg := range c.Index.Upstreams {
		l := lock.Find(cfg.Name)
		if l == nil {
			ds = append(ds, catalog.Diagnostic{Path: catalog.IndexFile, Key: fmt.Sprintf("upstreams[%d].name", i), Severity: catalog.Error,
				Message: fmt.Sprintf("upstream %q is not in %s: run `marketplace upstreams update %s`", cfg.Name, catalog.LockFile, cfg.Name)})
			continue
		}
		j := slices.IndexFunc(lock.Upstreams, func(x catalog.LockedUpstream) bool { return x.Name == cfg.Name })
		at := func(format string, args ...any) {
			ds = append(ds, catalog.Diagnostic{Path: catalog.LockFile, Key: fmt.Sprintf("upstreams[%d].commit", j), Severity: catalog.Error, Message: fmt.Sprintf(format, args...)})
		}
		repo, cache, err := cacheRepo(opts, opts.resolve(cfg.URL))
		if err != nil {
			at("upstream %q: cannot open its cache: %v", cfg.Name, err)
			continue
		}
		fetched := false
		if !repo.Has(l.Commit) {
			fetched = true
			if opts.Offline {
				at("upstream %q: locked commit %s is not in the cache %s and --offline forbids fetching it; import it with `marketplace upstreams update %s` while %s is readable (a mirror folder, or a bundle file given as its url)",
					cfg.Name, short(l.Commit), cache, cfg.Name, cfg.URL)
				repo.Close()
				continue
			}
			if _, err := repo.Fetch(ctx, opts.resolve(cfg.URL), cfg.Ref, stagingFor(cfg.Name)); err != nil {
				at("upstream %q: locked commit %s is not in the cache, and fetching it failed: %v", cfg.Name, short(l.Commit), err)
				repo.Close()
				continue
			}
			if !repo.Has(l.Commit) {
				at("upstream %q: locked commit %s is not on %s any more (history rewritten?): run `marketplace upstreams update %s` to lock its current commit", cfg.Name, short(l.Commit), cfg.URL, cfg.Name)
				repo.Close()
				continue
			}
		}
		fsys, _, err := repo.FS(l.Commit)
		if err != nil {
			at("upstream %q: reading commit %s: %v", cfg.Name, short(l.Commit), err)
			repo.Close()
			continue
		}
		if fetched && cfg.Site != "" && cfg.Root != "" {
			// Fetched from the network: its signed site still vouches for the locked commit, and
			// is no older than the one upstreams update verified.
			_, vds := verifySite(ctx, localFS, i, cfg, int64(l.Snapshot), fmt.Sprintf("upstreams[%d]", j), fsys, opts)
			ds = append(ds, vds...)
		}
		uc, uds := catalog.Check(fsys)
		ds = append(ds, Prefix(uds, cfg.Name)...)
		h, err := repo.History(l.Commit)
		if err != nil {
			h = &catalog.History{}
		}
		origin := catalog.Origin{Name: cfg.Name, URL: cfg.URL, Commit: l.Commit}
		for _, p := range uc.Publishers {
			p.Origin = origin
		}
		for _, p := range uc.Products {
			p.Origin = origin
		}
		fed.Upstreams = append(fed.Upstreams, &Upstream{Config: cfg, Index: i, Origin: origin, FS: fsys, Catalog: uc, History: h, repo: repo})
	}
	catalog.Locate(localFS, ds)
	if ds.HasErrors() {
		ds.Sort()
		return fed, ds
	}
	merged, mds := Merge(c, localFS, fed.Upstreams)
	fed.Catalog = merged
	ds = append(ds, mds...)
	ds.Sort()
	return fed, ds
}

// where names a file of an origin with its position, as messages quote it.
func where(fsys fs.FS, origin, path, key string) string {
	line, col := catalog.KeyPosition(fsys, path, key)
	if origin != "" {
		path = origin + ":" + path
	}
	return fmt.Sprintf("%s:%d:%d", path, line, col)
}

func originLabel(o catalog.Origin) string {
	if o.IsLocal() {
		return "the local catalog"
	}
	return fmt.Sprintf("upstream %q", o.Name)
}

// Merge merges the upstreams into the local catalog c: an upstream publishes only publishers
// its globs allow; a publisher or product ID comes from one origin only; interfaces are merged
// by ID and must be defined identically. Every error is positioned on the upstream's file and
// names every origin involved. An upstream's own upstreams are not followed: each contributes
// only the products in its own repository.
func Merge(c *catalog.Catalog, localFS fs.FS, ups []*Upstream) (*catalog.Catalog, catalog.Diagnostics) {
	var ds catalog.Diagnostics
	idx := *c.Index
	idx.Interfaces = slices.Clone(c.Index.Interfaces)
	merged := &catalog.Catalog{Index: &idx, Publishers: map[string]*catalog.Publisher{}, Products: map[string]*catalog.Product{}}
	fsOf := map[string]fs.FS{catalog.LocalOrigin: localFS}
	for id, p := range c.Publishers {
		merged.Publishers[id] = p
	}
	for id, p := range c.Products {
		merged.Products[id] = p
	}
	// Where each interface was defined: origin name and index in that origin's index.toml.
	ifaceFrom := map[string]struct {
		origin string
		i      int
	}{}
	for i, in := range c.Index.Interfaces {
		ifaceFrom[in.ID] = struct {
			origin string
			i      int
		}{catalog.LocalOrigin, i}
	}
	errAt := func(u *Upstream, path, key, format string, args ...any) {
		line, col := catalog.KeyPosition(u.FS, path, key)
		ds = append(ds, catalog.Diagnostic{Path: u.Config.Name + ":" + path, Line: line, Col: col, Key: key, Severity: catalog.Error, Message: fmt.Sprintf(format, args...)})
	}
	for _, u := range ups {
		fsOf[u.Config.Name] = u.FS
		globsAt := where(localFS, "", catalog.IndexFile, fmt.Sprintf("upstreams[%d].publishers", u.Index))
		refused := map[string]bool{}
		for _, id := range u.Catalog.SortedPublisherIDs() {
			p := u.Catalog.Publishers[id]
			switch {
			case !u.Config.MatchPublisher(id):
				errAt(u, p.Path, "", "upstream %q publishes publisher %q, outside its allowed publishers %s (%s); its products are refused",
					u.Config.Name, id, u.Config.GlobList(), globsAt)
				refused[id] = true
			case merged.Publishers[id] != nil:
				other := merged.Publishers[id]
				errAt(u, p.Path, "", "publisher %q comes from both %s (%s) and upstream %q: a publisher has one origin; remove one, or narrow the upstream's publishers (%s)",
					id, originLabel(other.Origin), where(fsOf[cmpOr(other.Origin.Name)], prefixFor(other.Origin), other.Path, ""), u.Config.Name, globsAt)
				refused[id] = true
			default:
				merged.Publishers[id] = p
			}
		}
		for _, id := range u.Catalog.SortedProductIDs() {
			p := u.Catalog.Products[id]
			switch {
			case refused[p.Publisher]:
			case !u.Config.MatchPublisher(p.Publisher):
				errAt(u, p.Path, "", "upstream %q publishes product %q of publisher %q, outside its allowed publishers %s (%s)",
					u.Config.Name, id, p.Publisher, u.Config.GlobList(), globsAt)
			case merged.Products[id] != nil:
				other := merged.Products[id]
				errAt(u, p.Path, "", "product %q comes from both %s (%s) and upstream %q: a product ID has one origin",
					id, originLabel(other.Origin), where(fsOf[cmpOr(other.Origin.Name)], prefixFor(other.Origin), other.Path, ""), u.Config.Name)
			default:
				merged.Products[id] = p
			}
		}
		for i, in := range u.Catalog.Index.Interfaces {
			key := fmt.Sprintf("interfaces[%d]", i)
			from, ok := ifaceFrom[in.ID]
			if !ok {
				idx.Interfaces = append(idx.Interfaces, in)
				ifaceFrom[in.ID] = struct {
					origin string
					i      int
				}{u.Config.Name, i}
				continue
			}
			have := *merged.Interface(in.ID)
			if diff := interfaceDiff(have, in); diff != "" {
				originPrefix := from.origin
				if originPrefix == catalog.LocalOrigin {
					originPrefix = ""
				}
				errAt(u, catalog.IndexFile, key+".id", "interface %q is defined differently by %s (%s) and upstream %q: %s; interfaces merge by ID and must agree",
					in.ID, originName(from.origin), where(fsOf[from.origin], originPrefix, catalog.IndexFile, fmt.Sprintf("interfaces[%d].id", from.i)), u.Config.Name, diff)
			}
		}
	}
	return merged, ds
}

func cmpOr(name string) string {
	if name == "" {
		return catalog.LocalOrigin
	}
	return name
}

func prefixFor(o catalog.Origin) string {
	if o.IsLocal() {
		return ""
	}
	return o.Name
}

func originName(name string) string {
	if name == catalog.LocalOrigin {
		return "the local catalog"
	}
	return fmt.Sprintf("upstream %q", name)
}

// interfaceDiff describes how two definitions of an interface differ, "" when they agree.
func interfaceDiff(a, b catalog.Interface) string {
	var d []string
	field := func(name, x, y string) {
		if x != y {
			d = append(d, fmt.Sprintf("%s %q versus %q", name, x, y))
		}
	}
	list := func(name string, x, y []string) {
		if !slices.Equal(x, y) {
			d = append(d, fmt.Sprintf("%s %q versus %q", name, x, y))
		}
	}
	field("name", a.Name, b.Name)
	field("uri", a.URI, b.URI)
	field("version", a.Version, b.Version)
	list("properties", a.Properties, b.Properties)
	list("substitutes_for", a.SubstitutesFor, b.SubstitutesFor)
	return strings.Join(d, ", ")
}
