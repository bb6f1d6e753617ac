package catalog

import (
	"crypto/sha256"
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"time"
	"unsafe"
)

// Cache keeps what loading and validating each product file found — the decoded product and its
// problems — keyed by a hash of everything that result depends on: the file's path and content,
// index.toml (interfaces and licence policy), and the code of this package and of the libraries
// it validates with. A product file whose key is known is neither parsed nor validated again;
// only the checks of the files it refers to (logo, screenshots) run again, because those files
// are not part of the key.
//
// Each entry keeps its problems positioned, so that the diagnostics of an unchanged file never
// read it again. The verdicts of the content checks of logos and screenshots are kept by the
// hash of their content, and the stamps of files (see fileStamp) by path: an unchanged file
// whose stamp is known is not even read.
//
// A Cache made by NewCache lives in memory (`marketplace preview` keeps one between checks); one
// made by OpenCache is also saved to a file by Save (see cachefile.go for its layout: it is read
// lazily, entry by entry, and every part of it is checked by a CRC-32C before use). The file is
// only ever replaced whole (a temporary file renamed over it), so processes sharing it see
// either the old or the new one; a damaged or foreign file, or entry, is ignored (Note says so)
// and the check it slows down repairs it. Close releases the file.
//
// Products returned from a cache are shared between the catalogs of successive checks: treat
// a loaded catalog as read-only.
type Cache struct {
	file string

	mu sync.Mutex
	// prev holds the entries known before this check (the file's, or the previous check's);
	// next those this check used, which is what Save writes and the next check starts from.
	prev, next map[cacheKey]*cacheEntry
	// prevVerdicts and nextVerdicts hold the verdicts of the content checks of logos and
	// screenshots ("" when the content is fine), by a hash of the content (see verdictKeyOf).
	prevVerdicts, nextVerdicts map[cacheKey]string
	// prevStamps and nextStamps hold the stamps of product files, logos and screenshots with
	// the hash of their content (see fileStamp), by path.
	prevStamps, nextStamps map[string]stamped
	added                  bool // next holds entries prev did not, or entries that changed
	// newStamps counts the stamps this check recorded anew for known files (a file edited a
	// while ago): they alone do not make Save rewrite the file unless they are many (64, and
	// one in 64), because a missing stamp only costs reading that one file.
	newStamps int
	hits      int
	misses    int

	// paths holds the key of each product file's result in the last check; unchanged, when
	// set, says which files did not change since (see AssumeUnchanged).
	paths, nextPaths map[string]cacheKey
	unchanged        func(path string) bool

	src     *cacheSource // the cache file the entries' refs point into, or nil
	note    string       // why the cache file was ignored, or ""
	damaged int          // entries whose payload did not read back whole this check
}

type cacheKey [sha256.Size]byte

// cacheEntry is one product file's result: either only where it lies in the cache file (ref;
// read and decoded on first use) or decoded.
type cacheEntry struct {
	ref     fileRef // in the cache file (Cache.src), when n > 0
	dirty   bool    // changed since it was read from the cache file: Save encodes it again
	product *Product
	decoded []problem // problems of decoding
	checked []problem // problems of validation, except the checks of referenced files

	// files holds the problems of the checks of referenced files (logo, screenshots) as the
	// last check found them, when filesKnown. When the caller vouches that those files did not
	// change (AssumeUnchanged) they are not checked again; otherwise they are, and files gives
	// the positions of the findings when they are the same.
	//
	// Every problem an entry holds is positioned (line > 0 or, for the whole file, -1), so the
	// diagnostics of a file found in the cache never read it again.
	files      []problem
	filesKnown bool
}

// NewCache returns an empty cache that lives in memory only.
func NewCache() *Cache {
	return &Cache{prev: map[cacheKey]*cacheEntry{}, next: map[cacheKey]*cacheEntry{},
		prevVerdicts: map[cacheKey]string{}, nextVerdicts: map[cacheKey]string{},
		prevStamps: map[string]stamped{}, nextStamps: map[string]stamped{},
		paths: map[string]cacheKey{}, nextPaths: map[string]cacheKey{}}
}

// AssumeUnchanged tells the next check which files did not change since the check before it,
// as a file watcher knows: a product file for which unchanged is true is not read again (its
// previous result is used), and neither are its logo and screenshots when unchanged is true for
// them. unchanged must be true only for files that did not change: for a path, and for every
// path below a folder that changed, it must say false. It holds for one check; nil (or a cache
// that did not see the previous check) reads every file.
func (c *Cache) AssumeUnchanged(unchanged func(path string) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.unchanged = unchanged
}

// assumed returns the entry of the product file at path from the previous check when the caller
// vouched that the file did not change, or nil.
func (c *Cache) assumed(path string) (cacheKey, *cacheEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.unchanged == nil || !c.unchanged(path) {
		return cacheKey{}, nil
	}
	k, ok := c.paths[path]
	if !ok {
		return cacheKey{}, nil
	}
	e := c.next[k]
	if e == nil {
		e = c.prev[k]
	}
	if e == nil || e.product == nil {
		return cacheKey{}, nil
	}
	c.next[k] = e
	c.nextPaths[path] = k
	c.hits++
	return k, e
}

// filesUnchanged reports whether the caller vouched for every file p refers to.
func (c *Cache) filesUnchanged(p *Product) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.unchanged == nil {
		return false
	}
	dir := path.Join(ProductsDir, p.Publisher)
	if p.Logo != "" && !c.unchanged(path.Join(dir, p.Logo)) {
		return false
	}
	for _, s := range p.Screenshots {
		if !c.unchanged(path.Join(dir, s.File)) {
			return false
		}
	}
	return true
}

// OpenCache returns a cache backed by file: the entries file holds are used, and Save replaces
// it. A missing, damaged or foreign file gives an empty cache, not an error: a cache is never
// needed for a right answer.
func OpenCache(file string) *Cache {
	c := NewCache()
	c.file = file
	src, entries, verdicts, stamps, why, err := openCacheFile(file)
	switch {
	case err != nil:
		// No file yet (or unreadable): an empty cache.
	case why != "":
		c.note = fmt.Sprintf("ignored the load cache %s: %s; this check rebuilds it", file, why)
	default:
		c.src, c.prev, c.prevVerdicts, c.prevStamps = src, entries, verdicts, stamps
	}
	return c
}

// Note says why the cache file was ignored, whole (when OpenCache found it damaged or written
// by another version) or in part (entries the last check found damaged, and checked again), or
// is "" when there was nothing to ignore. Worth showing to the user: the check was slower.
func (c *Cache) Note() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.damaged > 0 {
		note := fmt.Sprintf("ignored %d damaged entries of the load cache %s (their checksums do not match); this check rebuilt them", c.damaged, c.file)
		if c.note != "" {
			note = c.note + "; " + note
		}
		return note
	}
	return c.note
}

// Close releases the cache file. The cache still works, in memory, and Save still writes.
func (c *Cache) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.detach()
}

// detach closes the cache file: the entries not read yet are forgotten, the others will be
// encoded again by Save. c.mu is held.
func (c *Cache) detach() error {
	if c.src == nil {
		return nil
	}
	for _, m := range []map[cacheKey]*cacheEntry{c.prev, c.next} {
		for k, e := range m {
			if e.product == nil {
				delete(m, k)
			} else {
				e.ref, e.dirty = fileRef{}, true
			}
		}
	}
	err := c.src.f.Close()
	c.src = nil
	return err
}

// CacheFile returns the cache file for the catalog at root inside dir: one file per catalog
// folder, so two catalogs do not evict each other's entries.
func CacheFile(dir, root string) string {
	abs, err := filepath.Abs(root)
	if err != nil {
		abs = root
	}
	sum := sha256.Sum256([]byte(abs))
	return filepath.Join(dir, fmt.Sprintf("catalog-%x.cache", sum[:8]))
}

// Stats returns how many product files the last check found in the cache, and how many it
// loaded and validated.
func (c *Cache) Stats() (hits, misses int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hits, c.misses
}

// begin starts a check: what the previous check used becomes what this one may find.
func (c *Cache) begin() {
	c.mu.Lock()
	defer c.mu.Unlock()
	// The next check mostly uses what the previous one did: the maps start at that size.
	if len(c.next) > 0 {
		c.prev = c.next
	}
	if len(c.nextVerdicts) > 0 {
		c.prevVerdicts = c.nextVerdicts
	}
	if len(c.nextStamps) > 0 {
		c.prevStamps = c.nextStamps
	}
	c.next = make(map[cacheKey]*cacheEntry, len(c.prev))
	c.nextVerdicts = make(map[cacheKey]string, len(c.prevVerdicts))
	c.nextStamps = make(map[string]stamped, len(c.prevStamps))
	c.paths, c.nextPaths = c.nextPaths, make(map[string]cacheKey, len(c.nextPaths))
	c.added, c.newStamps, c.hits, c.misses, c.damaged = false, 0, 0, 0, 0
}

// end finishes a check: what the caller vouched for held for this check only.
func (c *Cache) end() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.unchanged = nil
}

// stampedHash returns the content hash recorded for the file at path with stamp st.
func (c *Cache) stampedHash(path string, st fileStamp) ([sha256.Size]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.nextStamps[path]
	if !ok {
		if s, ok = c.prevStamps[path]; ok {
			c.nextStamps[path] = s
		}
	}
	if !ok || s.stamp != st {
		return [sha256.Size]byte{}, false
	}
	return s.hash, true
}

// putStamp records that the file at path, with stamp st, had the content of hash h.
func (c *Cache) putStamp(path string, st fileStamp, h [sha256.Size]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := stamped{stamp: st, hash: h}
	if old, ok := c.nextStamps[path]; !ok || old != s {
		c.nextStamps[path] = s
		c.newStamps++
	}
}

// decodeScratch is what one loading worker keeps between the entries it decodes: a buffer to
// read them into (nothing decoded keeps it), and the maps decoded so far (equal maps are one).
type decodeScratch struct {
	buf  []byte
	maps map[string]map[string]string
}

func newDecodeScratch() *decodeScratch {
	return &decodeScratch{maps: map[string]map[string]string{}}
}

// get returns the entry of key, decoded, or nil. scratch may be nil.
func (c *Cache) get(k cacheKey, path string, scratch *decodeScratch) *cacheEntry {
	return c.lookup(k, path, true, scratch)
}

// lookup is get; countMiss false does not count a miss (the caller will try again).
func (c *Cache) lookup(k cacheKey, path string, countMiss bool, scratch *decodeScratch) *cacheEntry {
	c.mu.Lock()
	e := c.next[k]
	if e == nil {
		e = c.prev[k]
	}
	src := c.src
	var tab []string
	if src != nil {
		tab = src.tab.list
	}
	c.mu.Unlock()
	if e == nil {
		if countMiss {
			c.miss()
		}
		return nil
	}
	if e.product == nil {
		// Read and decoded outside the lock, by the loading worker that asked; a copy, because
		// another check sharing the cache may ask for the same key at the same time.
		var buf []byte
		if scratch != nil && tab != nil { // with a table, decoded strings do not point into data
			buf = scratch.buf
		}
		data, err := src.readInto(e.ref, buf)
		if scratch != nil && tab != nil && cap(data) > cap(scratch.buf) {
			scratch.buf = data
		}
		var d *cacheEntry
		if err == nil {
			// The strings are the table's: nothing keeps data.
			var maps map[string]map[string]string
			if scratch != nil {
				maps = scratch.maps
			}
			d, err = decodeEntry(unsafe.String(unsafe.SliceData(data), len(data)), tab, maps)
		}
		if err != nil {
			c.mu.Lock()
			c.damaged++
			c.misses++
			c.mu.Unlock()
			return nil
		}
		d.ref = e.ref
		e = d
	}
	c.mu.Lock()
	c.next[k] = e
	c.nextPaths[path] = k
	c.hits++
	c.mu.Unlock()
	return e
}

func (c *Cache) miss() {
	c.mu.Lock()
	c.misses++
	c.mu.Unlock()
}

func (c *Cache) put(k cacheKey, path string, e *cacheEntry) {
	c.mu.Lock()
	c.next[k] = e
	c.nextPaths[path] = k
	c.added = true
	c.mu.Unlock()
}

// update replaces the findings of the referenced files of entry e (of key k), which the caller
// alone holds during the check.
func (c *Cache) update(k cacheKey, e *cacheEntry, files []problem) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e.files, e.filesKnown, e.dirty = files, true, true
	if c.next[k] == e {
		c.added = true
	}
}

// verdict returns the verdict of the content checks kept for key k.
func (c *Cache) verdict(k cacheKey) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	msg, ok := c.nextVerdicts[k]
	if !ok {
		if msg, ok = c.prevVerdicts[k]; ok {
			c.nextVerdicts[k] = msg
		}
	}
	return msg, ok
}

// AssetSum returns the content hash of the logo or screenshot at path (a slash path in fsys from
// the catalog root) and whether its content may be published (the validator found nothing wrong
// with it), without reading it: ok is true only when the cache holds a stamp the file still
// matches (size, times, inode; see fileStamp) and the validator's verdict on that content. A
// build then need not read ten thousand logos again to name and check them.
func (c *Cache) AssetSum(fsys fs.FS, path string) (sum [sha256.Size]byte, publishable, ok bool) {
	if c == nil {
		return sum, false, false
	}
	info, err := fs.Stat(fsys, path)
	if err != nil {
		return sum, false, false
	}
	st, stamped := stampFor(info, time.Now())
	if !stamped {
		return sum, false, false
	}
	h, known := c.stampedHash(path, st)
	if !known {
		return sum, false, false
	}
	for _, kind := range []assetKind{assetLogo, assetScreenshot} {
		if msg, found := c.verdict(verdictKeyOf(kind.what, path, h)); found {
			return h, msg == "", true
		}
	}
	return sum, false, false
}

func (c *Cache) putVerdict(k cacheKey, msg string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.nextVerdicts[k] = msg
	c.added = true
}

// verdictKeyOf is the key of the verdict of the content checks of a logo or screenshot: the
// code, what the file is (the messages name it), its path and its content.
func verdictKeyOf(what, full string, content [sha256.Size]byte) cacheKey {
	h := sha256.New()
	h.Write(codeVersion[:])
	h.Write([]byte(what))
	h.Write([]byte{0})
	h.Write([]byte(full))
	h.Write([]byte{0})
	h.Write(content[:])
	var k cacheKey
	h.Sum(k[:0])
	return k
}

// Save writes the entries the last check used to the cache file, when they differ from what
// the file held. A cache made by NewCache has no file: Save does nothing.
func (c *Cache) Save() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.file == "" || (!c.added && len(c.next) == len(c.prev) && len(c.nextVerdicts) == len(c.prevVerdicts) &&
		len(c.nextStamps) == len(c.prevStamps) && c.newStamps < max(64, len(c.nextStamps)/64)) {
		return nil
	}
	dir := filepath.Dir(c.file)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("saving the load cache: %w", err)
	}
	removeStaleTemps(dir)
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("saving the load cache: %w", err)
	}
	refs, out, err := writeCacheFile(f, c.src, c.next, c.nextVerdicts, c.nextStamps)
	if err == nil {
		// The old file is closed before the new one replaces it (some systems refuse to
		// replace an open file); what was copied from it is in the new one.
		c.detach()
		err = os.Rename(f.Name(), c.file)
	}
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return fmt.Errorf("saving the load cache: %w", err)
	}
	// The new file is the source from now on: f stays open to read it.
	for k, e := range c.next {
		if ref, ok := refs[k]; ok {
			e.ref, e.dirty = ref, false
		} else {
			delete(c.next, k)
		}
	}
	c.src = out
	c.prev, c.prevVerdicts, c.prevStamps, c.added, c.newStamps = c.next, c.nextVerdicts, c.nextStamps, false, 0
	return nil
}

// removeStaleTemps removes temporary files that a killed process left behind in the cache
// folder; files younger than an hour may belong to a save under way.
func removeStaleTemps(dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), ".tmp-") {
			continue
		}
		if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > time.Hour {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// cacheKeyOf is the key of a product file's result: the code, index.toml, the path and the
// content's hash (contentHash).
func cacheKeyOf(index cacheKey, path string, content [sha256.Size]byte) cacheKey {
	h := sha256.New()
	h.Write(codeVersion[:])
	h.Write(index[:])
	h.Write([]byte(path))
	h.Write([]byte{0})
	h.Write(content[:])
	var k cacheKey
	h.Sum(k[:0])
	return k
}

// contentHash is the hash of a file's content that cache keys and stamps hold.
func contentHash(data []byte) [sha256.Size]byte { return sha256.Sum256(data) }

// indexKeyOf hashes index.toml as the per-product checks see it; ok is false when it could not
// be read (then the checks differ again).
func indexKeyOf(data []byte, ok bool) cacheKey {
	if !ok {
		return sha256.Sum256([]byte("no index.toml"))
	}
	return sha256.Sum256(append([]byte("index.toml\x00"), data...))
}

func encodeEntry(e *encoder, ce *cacheEntry) {
	productCodec.enc(e, unsafe.Pointer(ce.product))
	encodeProblems(e, ce.decoded)
	encodeProblems(e, ce.checked)
	if ce.filesKnown {
		e.buf = append(e.buf, 1)
		encodeProblems(e, ce.files)
	} else {
		e.buf = append(e.buf, 0)
	}
}

func decodeEntry(raw string, tab []string, maps map[string]map[string]string) (*cacheEntry, error) {
	d := &decoderState{data: raw, tab: tab, maps: maps}
	ce := &cacheEntry{product: &Product{}}
	productCodec.dec(d, unsafe.Pointer(ce.product))
	ce.decoded = decodeProblems(d)
	ce.checked = decodeProblems(d)
	if ce.filesKnown = d.byte() == 1; ce.filesKnown {
		ce.files = decodeProblems(d)
	}
	if d.err == nil && d.off != len(d.data) {
		d.fail()
	}
	return ce, d.err
}

func encodeProblems(e *encoder, ps []problem) {
	e.uint(uint64(len(ps)))
	for _, p := range ps {
		e.str(p.key)
		e.int(int64(p.severity))
		e.int(int64(p.rule))
		e.str(p.msg)
		e.int(int64(p.line))
		e.int(int64(p.col))
		flags := byte(0)
		if p.atKey {
			flags |= 1
		}
		if p.syntax {
			flags |= 2
		}
		e.buf = append(e.buf, flags)
		e.str(p.suggested)
	}
}

func decodeProblems(d *decoderState) []problem {
	n := d.length()
	if n == 0 {
		return nil
	}
	ps := make([]problem, n)
	for i := range ps {
		ps[i] = problem{key: d.str(), severity: Severity(d.int()), rule: int(d.int()), msg: d.str(),
			line: int(d.int()), col: int(d.int())}
		flags := d.byte()
		ps[i].atKey, ps[i].syntax = flags&1 != 0, flags&2 != 0
		ps[i].suggested = d.str()
	}
	return ps
}

// source holds this package's Go files: their hash is part of every cache key, so any change to
// how products are decoded or validated makes old entries unreachable without anyone having to
// remember to bump a version.
//
//go:embed *.go
var source embed.FS

// codeVersion identifies the code that produced a cache entry: this package's source, the Go
// version and the versions of the modules validation uses.
var codeVersion = func() [sha256.Size]byte {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n", runtime.Version())
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, m := range bi.Deps {
			fmt.Fprintf(h, "%s %s %s\n", m.Path, m.Version, m.Sum)
		}
	}
	files, _ := fs.Glob(source, "*.go")
	for _, name := range files {
		data, _ := source.ReadFile(name)
		fmt.Fprintf(h, "%s %d\n", name, len(data))
		h.Write(data)
	}
	var v [sha256.Size]byte
	h.Sum(v[:0])
	return v
}()
