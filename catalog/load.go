package catalog

import (
	"encoding/hex"
	"io/fs"
	"path"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"time"
)

// IDPattern is what publisher and product IDs must match (SPEC §1).
var IDPattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

const (
	// IndexFile is the catalog's settings file at the repository root.
	IndexFile = "index.toml"
	// ProductsDir holds one folder per publisher.
	ProductsDir = "products"
	// PublisherFile is the publisher's own file inside its folder.
	PublisherFile = "publisher.toml"
)

// Load reads a catalog from fsys, whose root is the catalog repository. It reports the problems
// of reading and decoding — TOML syntax, wrong types, unknown keys, misplaced files, bad IDs —
// and returns every file it could decode; Validate checks the meaning.
func Load(fsys fs.FS) (*Catalog, Diagnostics) {
	r := newReport()
	c := load(fsys, r, nil, nil, new(sync.Map))
	return c, r.diagnostics(fsys)
}

// Check loads and validates the catalog in fsys: what `marketplace validate` runs.
//
// The catalog Load and Check return is read-only: to keep a large catalog small, the lists a
// product's builds have in common are one list, equal bindings and properties are one map
// across products, and equal strings one string.
func Check(fsys fs.FS) (*Catalog, Diagnostics) {
	return CheckCached(fsys, nil)
}

// CheckCached is Check with a cache of the product files' results: files whose result cache
// holds are neither parsed nor validated again. The diagnostics are the same as Check's. A nil
// cache is no cache. Call cache.Save to keep what the check learnt.
func CheckCached(fsys fs.FS, cache *Cache) (*Catalog, Diagnostics) {
	r := newReport()
	var cached map[string]cacheSlot
	if cache != nil {
		cache.begin()
		cached = map[string]cacheSlot{}
	}
	dirs := new(sync.Map) // folders found not to be symlinks, for the whole check
	c := load(fsys, r, cache, cached, dirs)
	validate(fsys, c, r, cache, cached, dirs)
	if cache != nil {
		cache.end()
	}
	return c, r.diagnostics(fsys)
}

// cacheSlot is a product's place in the cache during a check: its key, and its entry when the
// cache had it.
type cacheSlot struct {
	key     cacheKey
	entry   *cacheEntry
	decoded []problem // the decoding problems
	index   cacheKey  // the key of index.toml, part of key
}

// load reads the catalog; dirs remembers the folders found not to be symlinks (the product
// folders and their asset folders, from listing them), so that checking the paths of files for
// symlinks looks at each folder once.
func load(fsys fs.FS, r *report, cache *Cache, cached map[string]cacheSlot, dirs *sync.Map) *Catalog {
	c := &Catalog{Publishers: map[string]*Publisher{}, Products: map[string]*Product{}}

	var indexKey cacheKey
	if data, why, err := readBounded(fsys, IndexFile, MaxIndexFileBytes); why != "" {
		r.fileProblem(IndexFile, Error, "%s", why)
		indexKey = indexKeyOf(nil, false)
	} else if err != nil {
		r.fileProblem(IndexFile, Error, "cannot read the catalog settings: %v", unwrapPathError(err))
		indexKey = indexKeyOf(nil, false)
	} else {
		var idx Index
		r.decoding(IndexFile, decodeFile(data, &idx))
		c.Index = &idx
		indexKey = indexKeyOf(data, true)
	}

	pubs, prods := listFiles(fsys, r, dirs)

	// Decode in parallel: files are independent, and a large catalog is mostly parse time.
	type job struct {
		path, publisher, id string
	}
	type result struct {
		job
		pub      *Publisher
		prod     *Product
		problems []problem
		err      error
		refused  string // why the file was not read: too large, or a symlink out of the repository
		slot     cacheSlot
	}
	jobs := make(chan job)
	results := make(chan result)
	now := time.Now()
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			strs := newInterner()
			scratch := newDecodeScratch()
			for j := range jobs {
				res := result{job: j}
				if j.id != "" && cache != nil {
					if k, e := cache.assumed(j.path); e != nil {
						res.slot.key, res.slot.entry = k, e
						res.prod, res.problems = e.product, e.decoded
						res.prod.Sum = hex.EncodeToString(k[:])
						results <- res
						continue
					}
					// A file whose stamp the cache knows is not read (see fileStamp).
					if msg, info := escapingSymlinkIn(fsys, j.path, dirs); msg == "" {
						if st, ok := stampFor(info, now); ok {
							if h, ok := cache.stampedHash(j.path, st); ok {
								k := cacheKeyOf(indexKey, j.path, h)
								if e := cache.lookup(k, j.path, false, scratch); e != nil {
									res.slot.key, res.slot.entry = k, e
									res.prod, res.problems = e.product, e.decoded
									res.prod.Sum = hex.EncodeToString(k[:])
									results <- res
									continue
								}
							}
						}
					}
				}
				limit := int64(MaxProductFileBytes)
				if j.id == "" {
					limit = MaxPublisherFileBytes
				}
				data, info, why, err := readBoundedIn(fsys, j.path, limit, dirs)
				if why != "" {
					res.refused = why
				} else if err != nil {
					res.err = err
				} else if j.id == "" {
					res.pub = &Publisher{ID: j.publisher, Path: j.path}
					res.problems = decodeFile(data, res.pub)
				} else if cache == nil {
					res.prod = &Product{ID: j.id, Publisher: j.publisher, Path: j.path}
					res.problems = decodeFileInterned(data, res.prod, strs)
					shareBuilds(res.prod)
					shareMaps(res.prod, strs)
				} else {
					h := contentHash(data)
					if st, ok := stampFor(info, now); ok {
						cache.putStamp(j.path, st, h)
					}
					res.slot.key = cacheKeyOf(indexKey, j.path, h)
					if res.slot.entry = cache.get(res.slot.key, j.path, scratch); res.slot.entry != nil {
						res.prod, res.problems = res.slot.entry.product, res.slot.entry.decoded
					} else {
						res.prod = &Product{ID: j.id, Publisher: j.publisher, Path: j.path}
						res.problems = decodeFileInterned(data, res.prod, strs)
						shareBuilds(res.prod)
						shareMaps(res.prod, strs)
					}
				}
				if res.prod != nil {
					if res.slot.entry == nil && cache == nil {
						res.slot.key = cacheKeyOf(indexKey, j.path, contentHash(data))
					}
					res.prod.Sum = hex.EncodeToString(res.slot.key[:])
				}
				results <- res
			}
		})
	}
	go func() {
		for _, p := range pubs {
			jobs <- job{path: path.Join(ProductsDir, p, PublisherFile), publisher: p}
		}
		for _, p := range prods {
			jobs <- job{path: p.path, publisher: p.publisher, id: p.id}
		}
		close(jobs)
		wg.Wait()
		close(results)
	}()
	for res := range results {
		switch {
		case res.refused != "":
			r.fileProblem(res.path, Error, "%s", res.refused)
		case res.err != nil:
			r.fileProblem(res.path, Error, "cannot read: %v", unwrapPathError(res.err))
		case res.pub != nil:
			r.decoding(res.path, res.problems)
			c.Publishers[res.publisher] = res.pub
		case res.prod != nil:
			switch {
			case cached == nil || syntaxFailed(res.problems):
				r.decoding(res.path, res.problems)
				if !syntaxFailed(res.problems) {
					c.Products[res.id] = res.prod
				}
			default:
				// With a cache, the validation worker records the decoding problems with the
				// product's own, so that it can position them all in one reading of the file.
				c.Products[res.id] = res.prod
				res.slot.decoded = res.problems
				res.slot.index = indexKey
				cached[res.id] = res.slot
			}
		}
	}
	// Everything loaded from one repository is local to it; merging catalogs (package federate)
	// gives upstream products their own origin.
	local := Origin{Name: LocalOrigin}
	if c.Index != nil {
		local.URL = c.Index.Catalog.BaseURL
	}
	for _, p := range c.Publishers {
		p.Origin = local
	}
	for _, p := range c.Products {
		p.Origin = local
	}
	return c
}

func syntaxFailed(ps []problem) bool { return len(ps) > 0 && ps[0].syntax }

type productFile struct {
	path, publisher, id string
}

// listFiles finds the publisher folders and product files under products/, reporting files that
// are misplaced or badly named.
func listFiles(fsys fs.FS, r *report, dirs *sync.Map) (publishers []string, products []productFile) {
	top, err := fs.ReadDir(fsys, ProductsDir)
	if err != nil {
		r.fileProblem(ProductsDir, Error, "cannot read the products folder: %v", unwrapPathError(err))
		return nil, nil
	}
	for _, e := range top {
		name := e.Name()
		p := path.Join(ProductsDir, name)
		if strings.HasPrefix(name, ".") {
			continue
		}
		if !e.IsDir() {
			r.fileProblem(p, Error, "misplaced file: products/ holds only publisher folders; move it to products/<publisher>/%s", name)
			continue
		}
		dirs.Store(p, true) // a folder, not a symlink to one (its entry says so)
		if !IDPattern.MatchString(name) {
			r.fileProblem(p, Error, "publisher ID %q must match %s (lowercase letters, digits and inner hyphens, at most 63)", name, IDPattern)
			continue
		}
		entries, err := fs.ReadDir(fsys, p)
		if err != nil {
			r.fileProblem(p, Error, "cannot read: %v", unwrapPathError(err))
			continue
		}
		hasPublisher := false
		var folders []string
		tomls := map[string]bool{}
		for _, f := range entries {
			fname := f.Name()
			fp := path.Join(p, fname)
			switch {
			case strings.HasPrefix(fname, "."):
			case f.IsDir():
				folders = append(folders, fname)
				dirs.Store(fp, true)
			case fname == PublisherFile:
				hasPublisher = true
			case strings.HasSuffix(fname, ".toml"):
				id := strings.TrimSuffix(fname, ".toml")
				if !IDPattern.MatchString(id) {
					r.fileProblem(fp, Error, "product ID %q must match %s (lowercase letters, digits and inner hyphens, at most 63)", id, IDPattern)
					continue
				}
				tomls[id] = true
				products = append(products, productFile{path: fp, publisher: name, id: name + "/" + id})
			}
		}
		if !hasPublisher {
			if len(tomls) > 0 {
				r.fileProblem(path.Join(p, PublisherFile), Error, "missing: every publisher folder needs a publisher.toml (run `marketplace new %s/<product>` to create one)", name)
			} else {
				r.fileProblem(path.Join(p, PublisherFile), Error, "missing: publisher folder %s has no publisher.toml", name)
			}
			// Products of an unknown publisher are still loaded, so their own problems show too.
		} else {
			publishers = append(publishers, name)
		}
		for _, d := range folders {
			if !tomls[d] {
				r.fileProblem(path.Join(p, d), Warning, "asset folder %s/ belongs to no product (no %s.toml beside it)", d, d)
			}
		}
	}
	return publishers, products
}

// unwrapPathError drops the path from an fs error: the diagnostic already names the file.
func unwrapPathError(err error) error {
	if pe, ok := err.(*fs.PathError); ok {
		return pe.Err
	}
	return err
}
