// Package write puts a build's pages on disk atomically and incrementally.
//
// The output folder DIR is a symbolic link to one of two trees beside it, `.DIR.a` and `.DIR.b`.
// A build brings the tree the link does not point to (the inactive one, which holds the output
// of the build before last) up to date — rendering the pages whose key changed, hard-linking
// pages the active tree already has, removing pages that are gone — checks it is whole, and
// then switches the link in one atomic rename. So the cost of publishing grows with what
// changed, not with the size of the site, and a failed or killed build leaves the published
// output untouched. Each tree's manifest lists its pages' keys; while a tree is being updated
// its manifest marks every page about to change as unknown, so a build killed half way costs the
// next one only those pages.
package write

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"maps"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/hspc/marketplace/generator/page"
)

// ManifestFile records each page's key in the output, for the next build to compare.
const ManifestFile = ".marketplace-manifest.json"

// manifestVersion 2: keys may be "" (the page is being changed; its file is not to be trusted).
// 3: the keys are one string of "KEY\tPATH" lines sorted by path ("pages"), which reads in a
// sixth of the time of a JSON object of 60 000 members: a one-product rebuild reads two
// manifests and writes one. 4: the first line is a JSON object (version, extra) and the
// "KEY\tPATH" lines follow it as they are: a JSON string of them was checked and unescaped
// whole (every line has two escapes), 80 ms for each of the two at 10 000 products.
const manifestVersion = 4

// Stats says what a write did.
type Stats struct {
	Pages    int // pages in the output
	Rendered int // pages rendered in this build
	Reused   int // pages already in the tree, linked from the published output, or linked to an equal page (page.Page.Shared)
}

// Hook writes output that is not made of pages (a search index folder) into the tree being
// built; prev is the published output folder, or "" on a first build. What a hook wrote in the
// tree's previous use is removed before it runs.
type Hook func(ctx context.Context, dir, prev string) error

// Options tune a write.
type Options struct {
	Jobs  int    // parallel renderers; default GOMAXPROCS
	Hooks []Hook // run after the pages are written, before the switch
	// Protect lists folders the output must never be or contain (the catalog repository).
	Protect []string
}

type manifest struct {
	Version int               `json:"version"`
	Keys    map[string]string `json:"keys,omitempty"`  // versions 1 and 2: page path → key ("" while changing)
	Pages   string            `json:"pages,omitempty"` // version 3: the keys as "KEY\tPATH\n" lines, sorted by path
	Extra   []string          `json:"extra,omitempty"` // files the hooks wrote, sorted
}

// decodePages reads version 3's "pages": a line per page, "KEY\tPATH", sorted by path; an
// unknown key ("") is written as "-".
func decodePages(s string) (map[string]string, bool) {
	keys := make(map[string]string, strings.Count(s, "\n"))
	for line := range strings.Lines(s) {
		k, p, ok := strings.Cut(strings.TrimSuffix(line, "\n"), "\t")
		if !ok || k == "" || p == "" {
			return nil, false
		}
		if k == "-" {
			k = ""
		}
		keys[p] = k
	}
	return keys, true
}

// Names of what a build keeps beside the output folder base.
func lockName(base string) string    { return "." + base + ".lock" }
func tmpPrefix(base string) string   { return "." + base + ".tmp-" }
func treeName(base, s string) string { return "." + base + "." + s }

// trees are the suffixes of the two trees.
var trees = [2]string{"a", "b"}

// ours reports whether dir is the link a build makes: a symbolic link to one of its trees.
func ours(dir string) (tree string, ok bool) {
	fi, err := os.Lstat(dir)
	if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		return "", false
	}
	link, err := os.Readlink(dir)
	if err != nil {
		return "", false
	}
	base := filepath.Base(dir)
	for _, s := range trees {
		if link == treeName(base, s) {
			return filepath.Join(filepath.Dir(dir), link), true
		}
	}
	return "", false
}

// Write renders pages into the output's inactive tree and publishes it at dir. It consumes pages:
// each entry is cleared once planned, so that what the renderers hold is collected as they run.
func Write(ctx context.Context, dir string, pages []page.Page, opts Options) (Stats, error) {
	if err := checkPaths(pages); err != nil {
		return Stats{}, err
	}
	target, err := Check(dir, opts.Protect...)
	if err != nil {
		return Stats{}, err
	}
	parent, base := filepath.Dir(target), filepath.Base(target)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return Stats{}, err
	}
	unlock, err := lock(filepath.Join(parent, lockName(base)), dir)
	if err != nil {
		return Stats{}, err
	}
	defer unlock()
	// Check again under the lock: the folder may have changed before we held it.
	if again, err := Check(dir, opts.Protect...); err != nil {
		return Stats{}, err
	} else if again != target {
		return Stats{}, fmt.Errorf("%s changed while the build started (now %s)", dir, again)
	}
	// Holding the lock, every temporary name beside the output is a dead build's.
	removeStale(parent, base)

	// The published tree, and the tree to bring up to date.
	published, tree := "", filepath.Join(parent, treeName(base, trees[0]))
	legacy := false // target is a plain folder (an empty one, or an output of an older version)
	if active, ok := ours(target); ok {
		published = active
		if active == tree {
			tree = filepath.Join(parent, treeName(base, trees[1]))
		}
	} else if fi, err := os.Lstat(target); err == nil && fi.IsDir() {
		published, legacy = target, true
	}
	publishedKeys := readManifest(published)
	if publishedKeys == nil {
		published = ""
	}

	tops := pageTops(pages)
	// From here on the pages are not referenced (update drops them before the hooks run), so
	// what their renderers hold can be collected while the search index is built.
	stats, keys, err := update(ctx, tree, published, publishedKeys, pages, tops, opts)
	if err != nil {
		return stats, err
	}
	extra, err := hookFiles(tree, tops)
	if err != nil {
		return stats, err
	}
	if err := writeManifest(tree, manifest{Version: manifestVersion, Keys: keys, Extra: extra}); err != nil {
		return stats, err
	}
	if err := checkWhole(tree, keys, extra, opts.Jobs); err != nil {
		return stats, err
	}
	if err := killpoint(ctx, "swap"); err != nil {
		return stats, err
	}
	if err := ctx.Err(); err != nil {
		return stats, err
	}
	if err := publish(ctx, target, tree, legacy); err != nil {
		return stats, fmt.Errorf("publishing %s: %w", dir, err)
	}
	return stats, nil
}

// publish points the link target at tree in one rename. A plain folder at target (legacy) is
// exchanged with the link atomically and then kept as the other tree.
func publish(ctx context.Context, target, tree string, legacy bool) error {
	parent, base := filepath.Dir(target), filepath.Base(target)
	tmp := filepath.Join(parent, tmpPrefix(base)+"link-"+strconv.Itoa(os.Getpid()))
	if err := os.Symlink(filepath.Base(tree), tmp); err != nil {
		return err
	}
	if !legacy {
		if err := os.Rename(tmp, target); err != nil {
			os.Remove(tmp)
			return err
		}
		killpoint(ctx, "cleanup") // nothing to clean: the other tree stays for the next build
		return nil
	}
	if err := exchange(tmp, target); err != nil {
		// No atomic exchange here: move the folder aside, then put the link in its place.
		if err := os.Rename(target, tmp+".old"); err != nil {
			os.Remove(tmp)
			return err
		}
		if err := os.Rename(tmp, target); err != nil {
			os.Rename(tmp+".old", target)
			os.Remove(tmp)
			return err
		}
		tmp += ".old"
	}
	// tmp now holds the old folder; the interrupted cleanup is finished anyway, since the new
	// output is in place already.
	killpoint(ctx, "cleanup")
	other := filepath.Join(parent, treeName(base, trees[0]))
	if other == tree {
		other = filepath.Join(parent, treeName(base, trees[1]))
	}
	if err := os.RemoveAll(other); err != nil {
		return err
	}
	return os.Rename(tmp, other)
}

// update brings tree up to date with pages and runs the hooks in it. It returns the keys of
// the pages now in the tree.
func update(ctx context.Context, tree, published string, publishedKeys map[string]string, pages []page.Page, tops map[string]bool, opts Options) (Stats, map[string]string, error) {
	old, trusted := readTreeManifest(tree)
	if !trusted {
		// Not a tree a build finished or recorded: start it afresh.
		if err := os.RemoveAll(tree); err != nil {
			return Stats{}, nil, err
		}
		old = &manifest{Keys: map[string]string{}}
	}
	if err := os.MkdirAll(tree, 0o755); err != nil {
		return Stats{}, nil, err
	}
	if err := os.Chmod(tree, 0o755); err != nil {
		return Stats{}, nil, err
	}

	// Plan: the pages to write, and the pages to remove. The pages to write take the place of
	// the caller's in its array (a 100 000-product site has 660 000 pages: a second array
	// was 37 MB), and what is left of it is cleared, so that what the renderers hold goes as
	// they run.
	keys := make(map[string]string, len(pages))
	todo := pages[:0]
	var dirty []string // paths about to change
	for _, p := range pages {
		keys[p.Path] = p.Key
		if k, ok := old.Keys[p.Path]; ok && k == p.Key && k != "" {
			continue
		}
		if trusted {
			dirty = append(dirty, p.Path)
		}
		todo = append(todo, p)
	}
	clear(pages[len(todo):])
	var gone []string
	for p := range old.Keys {
		if _, ok := keys[p]; !ok {
			dirty = append(dirty, p)
			gone = append(gone, p)
		}
	}
	// Record what is about to change before changing it, so a killed build leaves a tree
	// whose manifest trusts none of it. A tree that was not trusted was emptied above and has
	// no manifest until this build writes one: a killed build leaves nothing to trust in it,
	// and the next empties it again (a journal of every page was 40 MB at 100 000 products).
	if trusted {
		if err := writeJournal(tree, dirty); err != nil {
			return Stats{}, nil, err
		}
	}
	// What the hooks wrote in the tree's previous use (and anything else at the top that is not
	// a page's) goes: the hooks write their output afresh.
	entries, err := os.ReadDir(tree)
	if err != nil {
		return Stats{}, nil, err
	}
	for _, e := range entries {
		if !tops[e.Name()] {
			if err := os.RemoveAll(filepath.Join(tree, e.Name())); err != nil {
				return Stats{}, nil, err
			}
		}
	}
	slices.Sort(gone)
	for _, p := range slices.Backward(gone) {
		if err := removeFile(tree, p); err != nil {
			return Stats{}, nil, err
		}
	}

	n := len(pages) // pages and todo are not used after this: Go's liveness lets them go
	stats, err := writePages(ctx, tree, published, publishedKeys, old.Keys, todo, opts.Jobs)
	stats.Pages = n
	stats.Reused = n - stats.Rendered
	if err != nil {
		return stats, nil, err
	}
	for _, h := range opts.Hooks {
		if err := h(ctx, tree, published); err != nil {
			return stats, nil, err
		}
	}
	return stats, keys, nil
}

// removeFile removes the page file p from tree and the folders it leaves empty.
func removeFile(tree, p string) error {
	if err := os.Remove(filepath.Join(tree, filepath.FromSlash(p))); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	for d := path.Dir(p); d != "."; d = path.Dir(d) {
		if os.Remove(filepath.Join(tree, filepath.FromSlash(d))) != nil {
			break // not empty
		}
	}
	return nil
}

// pageTops returns the top-level names of page paths, and of the tree's own files.
func pageTops(pages []page.Page) map[string]bool {
	tops := map[string]bool{ManifestFile: true, journalFile: true}
	for _, p := range pages {
		top, _, _ := strings.Cut(p.Path, "/")
		tops[top] = true
	}
	return tops
}

// hookFiles lists the files the hooks wrote into tree: everything under top-level entries that
// no page path starts with (tops).
func hookFiles(tree string, tops map[string]bool) ([]string, error) {
	entries, err := os.ReadDir(tree)
	if err != nil {
		return nil, err
	}
	var files []string
	for _, e := range entries {
		if tops[e.Name()] {
			continue
		}
		err := filepath.WalkDir(filepath.Join(tree, e.Name()), func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, err := filepath.Rel(tree, p)
			files = append(files, filepath.ToSlash(rel))
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	slices.Sort(files)
	return files, nil
}

// checkWhole makes sure every file of the manifest is in the tree before it is published.
func checkWhole(tree string, keys map[string]string, extra []string, jobs int) error {
	if jobs <= 0 {
		jobs = runtime.GOMAXPROCS(0)
	}
	// Each folder is listed once (getdents) rather than each file looked up (a stat each): a
	// large site has six files a folder, and a stat cost tens of microseconds here.
	byDir := map[string][]string{}
	for rel := range mapKeys(keys) {
		d, f := path.Split(rel)
		byDir[d] = append(byDir[d], f)
	}
	for _, rel := range extra {
		d, f := path.Split(rel)
		byDir[d] = append(byDir[d], f)
	}
	dirs := slices.Collect(maps.Keys(byDir))
	var mu sync.Mutex
	var missing []string
	var next atomic.Int64
	var wg sync.WaitGroup
	for range jobs {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < len(dirs); i = int(next.Add(1)) - 1 {
				d := dirs[i]
				have := map[string]bool{}
				if f, err := os.Open(filepath.Join(tree, filepath.FromSlash(d))); err == nil {
					names, _ := f.Readdirnames(-1)
					f.Close()
					for _, n := range names {
						have[n] = true
					}
				}
				for _, f := range byDir[d] {
					if !have[f] {
						mu.Lock()
						missing = append(missing, d+f)
						mu.Unlock()
					}
				}
			}
		})
	}
	wg.Wait()
	if len(missing) > 0 {
		slices.Sort(missing)
		return fmt.Errorf("the new output is incomplete (%d files missing, first %s); nothing published", len(missing), missing[0])
	}
	return nil
}

func mapKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// validPath reports whether p may name a file of a tree: relative, clean, inside it, and not
// one of the tree's own files.
func validPath(p string) bool {
	return p != "" && !strings.ContainsAny(p, "\n\r") && path.Clean(p) == p && !path.IsAbs(p) &&
		p != ".." && !strings.HasPrefix(p, "../") && p != ManifestFile && p != journalFile
}

// checkPaths rejects page paths that would escape the output or collide.
func checkPaths(pages []page.Page) error {
	seen := make(map[string]bool, len(pages))
	for _, p := range pages {
		if !validPath(p.Path) {
			return fmt.Errorf("invalid output path %q", p.Path)
		}
		if strings.ContainsAny(p.Key, "\t\n\r") || p.Key == "-" {
			return fmt.Errorf("page %s: invalid key %q", p.Path, p.Key)
		}
		if seen[p.Path] {
			return fmt.Errorf("two pages write %s", p.Path)
		}
		seen[p.Path] = true
	}
	return nil
}

// Keys returns the page keys the manifest of an output folder (or one of its trees) records,
// by page path; false when it has no manifest this version reads.
func Keys(dir string) (map[string]string, bool) {
	m, ok := readTreeManifest(dir)
	if !ok {
		return nil, false
	}
	return m.Keys, true
}

// readManifest returns the page keys of a finished output folder (every key known), or nil.
func readManifest(dir string) map[string]string {
	if dir == "" {
		return nil
	}
	m, ok := readTreeManifest(dir)
	if !ok {
		return nil
	}
	return m.Keys
}

// journalFile lists, while a tree is being updated, the page paths about to change there.
const journalFile = ".marketplace-journal.json"

// readTreeManifest reads a tree's manifest; pages its journal lists (a build was stopped while
// changing them) get the key "", which matches no page.
func readTreeManifest(dir string) (*manifest, bool) {
	data, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return nil, false
	}
	// Version 4's first line, or an earlier version's whole JSON document (version 3's is one
	// line; versions 1 and 2 may span several).
	head, lines, _ := bytes.Cut(data, []byte("\n"))
	var m manifest
	if json.Unmarshal(head, &m) != nil {
		m, lines = manifest{}, nil
		if json.Unmarshal(data, &m) != nil {
			return nil, false
		}
	}
	if m.Version != manifestVersion && len(bytes.TrimSpace(lines)) > 0 {
		return nil, false // only version 4 has lines after its first
	}
	switch m.Version {
	case 1, 2:
		if m.Keys == nil {
			return nil, false
		}
	case 3:
		keys, ok := decodePages(m.Pages)
		if !ok || m.Keys != nil {
			return nil, false
		}
		m.Keys, m.Pages = keys, ""
	case manifestVersion:
		keys, ok := decodePages(string(lines))
		if !ok || m.Keys != nil || m.Pages != "" {
			return nil, false
		}
		m.Keys = keys
	default:
		return nil, false
	}
	// A manifest names the files a build removes from its tree: one naming anything outside
	// it is not one a build wrote, and is not trusted.
	for p := range m.Keys {
		if !validPath(p) {
			return nil, false
		}
	}
	for _, p := range m.Extra {
		if !validPath(p) {
			return nil, false
		}
	}
	data, err = os.ReadFile(filepath.Join(dir, journalFile))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return &m, true
	case err != nil:
		return nil, false
	}
	var dirty []string
	if json.Unmarshal(data, &dirty) != nil {
		return nil, false
	}
	for _, p := range dirty {
		if !validPath(p) {
			return nil, false
		}
		m.Keys[p] = ""
	}
	return &m, true
}

// writeJournal records the paths about to change in tree, adding to what an earlier stopped
// build recorded there.
func writeJournal(tree string, dirty []string) error {
	if data, err := os.ReadFile(filepath.Join(tree, journalFile)); err == nil {
		var earlier []string
		if json.Unmarshal(data, &earlier) == nil {
			dirty = append(dirty, earlier...)
		}
	}
	slices.Sort(dirty)
	data, err := json.Marshal(slices.Compact(dirty))
	if err != nil {
		return err
	}
	return replaceFile(filepath.Join(tree, journalFile), func(w io.Writer) error {
		_, err := w.Write(append(data, '\n'))
		return err
	})
}

// writeManifest replaces the tree's manifest in one rename, then drops the journal: every
// page the journal named now has its key recorded. The manifest streams into its file: a
// 10 000-product site's is 8.5 MB (a 100 000-product one about ten times that), and encoding
// it whole (its lines, then their JSON, then a copy with the last newline) made the largest
// transient heap at the end of a 100 000-product build.
func writeManifest(tree string, m manifest) error {
	if err := replaceFile(filepath.Join(tree, ManifestFile), func(w io.Writer) error { return encodeManifest(w, m) }); err != nil {
		return err
	}
	if err := os.Remove(filepath.Join(tree, journalFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// encodeManifest writes m as version 4: a line of JSON, then a "KEY\tPATH" line for each page,
// sorted by path ("-" for an unknown key; see decodePages), one line at a time.
func encodeManifest(w io.Writer, m manifest) error {
	head, err := json.Marshal(manifest{Version: manifestVersion, Extra: m.Extra})
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 256<<10)
	bw.Write(head)
	bw.WriteByte('\n')
	for _, p := range slices.Sorted(maps.Keys(m.Keys)) {
		k := cmp.Or(m.Keys[p], "-")
		// A line holds a key without a tab and a path; neither holds a line break.
		if strings.ContainsAny(k, "\t\n\r") || strings.ContainsAny(p, "\n\r") {
			return fmt.Errorf("page %q: its key %q cannot be recorded", p, k)
		}
		bw.WriteString(k)
		bw.WriteByte('\t')
		bw.WriteString(p)
		bw.WriteByte('\n')
	}
	return bw.Flush()
}

// replaceFile writes name through a temporary file beside it and one rename, so that a reader
// never sees half of it; on failure the temporary file is removed and name is as it was.
func replaceFile(name string, write func(io.Writer) error) error {
	tmp := name + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	err = write(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, name)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// writePages writes todo into tree: each page is hard-linked from the published output when it
// has the same key there, and rendered otherwise. A file is always created anew (never written
// in place), since the two trees share files through hard links.
func writePages(ctx context.Context, tree, published string, publishedKeys, old map[string]string, todo []page.Page, jobs int) (Stats, error) {
	if jobs <= 0 {
		jobs = runtime.GOMAXPROCS(0)
	}
	var made sync.Map
	ensureDir := func(rel string) error {
		if rel == "." {
			return nil
		}
		if _, ok := made.Load(rel); ok {
			return nil
		}
		if err := os.MkdirAll(filepath.Join(tree, filepath.FromSlash(rel)), 0o755); err != nil {
			return err
		}
		made.Store(rel, true)
		return nil
	}

	var rendered atomic.Int64
	var firstErr error
	var once sync.Once
	fail := func(err error) { once.Do(func() { firstErr = err }) }
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// shared holds, by key, a file written for a page.Page.Shared: the pages of the same key link
	// to it (a site's 10 000 badges say a few hundred things), which creates no inode.
	var shared sync.Map // key → file
	// writeOne puts p at dst: a link to the published output's file when its key is the same
	// there, a link to this build's file of its key when it is shared, or a rendered file.
	writeOne := func(p page.Page) error {
		dst := filepath.Join(tree, filepath.FromSlash(p.Path))
		if _, ok := old[p.Path]; ok {
			if err := os.Remove(dst); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
		if err := ensureDir(path.Dir(p.Path)); err != nil {
			return err
		}
		share := p.Shared && p.Key != ""
		if published != "" && p.Key != "" && publishedKeys[p.Path] == p.Key {
			if os.Link(filepath.Join(published, filepath.FromSlash(p.Path)), dst) == nil {
				if share {
					shared.LoadOrStore(p.Key, dst)
				}
				return nil
			}
		}
		if share {
			if src, ok := shared.Load(p.Key); ok && os.Link(src.(string), dst) == nil {
				return nil
			}
		}
		var prev *os.File
		if p.Update != nil && published != "" && publishedKeys != nil {
			prev = openPublished(filepath.Join(published, filepath.FromSlash(p.Path)))
		}
		err := writePage(dst, p, prev, publishedKeys)
		if prev != nil {
			prev.Close()
		}
		if err != nil {
			return fmt.Errorf("rendering %s: %w", p.Path, err)
		}
		rendered.Add(1)
		if share {
			shared.LoadOrStore(p.Key, dst)
		}
		return nil
	}
	// The pages go to the workers a folder at a time (see folders).
	work := make(chan []page.Page)
	var wg sync.WaitGroup
	for range jobs {
		wg.Go(func() {
			for batch := range work {
				for i, p := range batch {
					batch[i] = page.Page{} // what its renderer holds may go once it is written
					if ctx.Err() != nil {
						continue
					}
					if err := writeOne(p); err != nil {
						fail(err)
						cancel()
					}
				}
			}
		})
	}
	sent, half := 0, len(todo)/2
	for batch := range folders(todo) {
		if sent <= half && half < sent+len(batch) && killpoint(ctx, "render") != nil {
			break
		}
		sent += len(batch)
		select {
		case work <- batch:
		case <-ctx.Done():
		}
	}
	close(work)
	wg.Wait()
	stats := Stats{Rendered: int(rendered.Load())}
	if firstErr != nil {
		return stats, firstErr
	}
	return stats, ctx.Err()
}

// folders yields the runs of consecutive pages that are in one folder, in order. The writers
// take a folder at a time: creating a file locks its folder, and two writers creating files in
// one folder took turns at that lock, the waiting one spinning (on ext4, a tenth of the CPU of a
// full build). The pages are sorted by path, so a folder's pages are consecutive.
func folders(pages []page.Page) iter.Seq[[]page.Page] {
	return func(yield func([]page.Page) bool) {
		for start := 0; start < len(pages); {
			dir, end := path.Dir(pages[start].Path), start+1
			for end < len(pages) && path.Dir(pages[end].Path) == dir {
				end++
			}
			if !yield(pages[start:end:end]) {
				return
			}
			start = end
		}
	}
}

// openPublished opens the published file name for a page's Update, or returns nil: only a
// regular file (a build writes no other kind) is read.
func openPublished(name string) *os.File {
	if fi, err := os.Lstat(name); err != nil || !fi.Mode().IsRegular() {
		return nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil
	}
	return f
}

// writers are the buffered writers streamed pages are written through: most of a site's pages
// stream (its HTML), and a fresh 64 KiB buffer for each was a large part of a build's allocation.
var writers = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 1<<16) }}

// writePage renders p into the new file dst, streaming pages that stream (updating from prev,
// the published file, when there is one and the page can). prev is an *os.File, not an
// io.Reader: a nil file in an interface is not a nil reader. An existing file at dst (which may be shared with
// the published tree) is unlinked, never overwritten.
func writePage(dst string, p page.Page, prev *os.File, prevKeys map[string]string) error {
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		if err := os.Remove(dst); err != nil {
			return err
		}
		f, err = os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	}
	if err != nil {
		return err
	}
	if p.Stream == nil {
		data, err := p.Render()
		if err == nil {
			_, err = f.Write(data)
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return err
	}
	w := writers.Get().(*bufio.Writer)
	w.Reset(f)
	defer func() { w.Reset(nil); writers.Put(w) }()
	if prev != nil && p.Update != nil {
		err = p.Update(w, prev, prevKeys)
	} else {
		err = p.Stream(w)
	}
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// removeStale deletes temporary names that killed builds left beside the output. It runs under
// the output's lock, so their owners are gone.
func removeStale(parent, base string) {
	entries, err := os.ReadDir(parent)
	if err != nil {
		return
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), tmpPrefix(base)) || strings.HasPrefix(e.Name(), "."+base+".old-") {
			os.RemoveAll(filepath.Join(parent, e.Name()))
		}
	}
}
