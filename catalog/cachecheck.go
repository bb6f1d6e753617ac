package catalog

import (
	"io/fs"
	"slices"
)

// checkCached validates product p with the load cache: a product whose entry the cache had gets
// the problems the entry keeps, already positioned, and only its referenced files are checked
// again; a new product is validated, and its problems are positioned with one reading of its
// file and kept in a new entry. Either way the report gets positioned problems, so producing the
// diagnostics reads no product file again.
func (v *validator) checkCached(p *Product, slot cacheSlot, cache *Cache) {
	if e := slot.entry; e != nil {
		v.r.decoding(p.Path, e.decoded)
		f := v.r.file(p.Path)
		f.problems = append(f.problems, e.checked...)
		if e.filesKnown && cache.filesUnchanged(p) {
			f.problems = append(f.problems, e.files...)
			return
		}
		before := len(f.problems)
		v.productFiles(p)
		files := f.problems[before:]
		if e.filesKnown && sameFindings(files, e.files) {
			copy(files, e.files)
			return
		}
		// The referenced files' findings changed: position them, and keep them in the entry
		// when the file read is still the one the entry is for.
		if same := v.position(p.Path, slot, files); same {
			// Only this worker holds this product's entry during the check.
			cache.update(slot.key, e, slices.Clone(files))
		}
		return
	}
	v.r.decoding(p.Path, slot.decoded)
	f := v.r.file(p.Path)
	start := len(f.problems) - len(slot.decoded)
	v.product(p)
	checked := len(f.problems)
	v.productFiles(p)
	if !v.position(p.Path, slot, f.problems[start:]) {
		return
	}
	cache.put(slot.key, p.Path, &cacheEntry{product: p,
		decoded:    slices.Clone(f.problems[start : start+len(slot.decoded)]),
		checked:    slices.Clone(f.problems[start+len(slot.decoded) : checked]),
		files:      slices.Clone(f.problems[checked:]),
		filesKnown: true})
}

// position fills in the line and column of the problems that have none, reading the file at
// path once, as report.diagnostics would. It reports whether the file read is the one slot's key
// was made from (a file may change during a check): only then may the positions be cached.
func (v *validator) position(path string, slot cacheSlot, ps []problem) bool {
	if !slices.ContainsFunc(ps, func(p problem) bool { return p.line == 0 }) {
		return true
	}
	data, err := fs.ReadFile(v.fsys, path)
	if err != nil {
		data = nil
	}
	var keys []string
	for _, p := range ps {
		if p.line == 0 {
			keys = append(keys, p.key)
		}
	}
	ix := newKeyIndexFor(data, keys)
	for i := range ps {
		if ps[i].line == 0 {
			ps[i].line, ps[i].col = ix.position(ps[i].key, !ps[i].atKey)
		}
	}
	return err == nil && cacheKeyOf(slot.index, path, contentHash(data)) == slot.key
}

// sameFindings reports whether a and b say the same things at the same keys, positions aside.
func sameFindings(a, b []problem) bool {
	return slices.EqualFunc(a, b, func(x, y problem) bool {
		return x.key == y.key && x.severity == y.severity && x.rule == y.rule && x.msg == y.msg &&
			x.atKey == y.atKey && x.suggested == y.suggested && x.syntax == y.syntax
	})
}
