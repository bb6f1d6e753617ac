// Package write puts a build's pages on disk atomically and incrementally: everything is
// written into a temporary sibling of the output folder, which then replaces the output in one
// rename, so a failed or killed build leaves the previous output untouched. Pages whose key is
// unchanged since the previous build are hard-linked from it instead of rendered again.
package write

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/hspc/marketplace/generator/page"
)

// ManifestFile records each page's key in the output, for the next build to compare.
const ManifestFile = ".marketplace-manifest.json"

// Stats says what a write did.
type Stats struct {
	Pages    int // pages in the output
	Rendered int // pages rendered in this build
	Reused   int // pages linked or copied from the previous output
}

// Hook writes output that is not made of pages (a search index folder) into the temporary
// output dir; prev is the previous output folder, or "" on a first build.
type Hook func(ctx context.Context, dir, prev string) error

// Options tune a write.
type Options struct {
	Jobs  int    // parallel renderers; default GOMAXPROCS
	Hooks []Hook // run after the pages are written, before the swap
	// Protect lists folders the output must never be or contain (the catalog repository).
	Protect []string
}

type manifest struct {
	Version int               `json:"version"`
	Keys    map[string]string `json:"keys"`            // page path → key
	Extra   []string          `json:"extra,omitempty"` // files the hooks wrote, sorted
}

// LockName and tmpPrefix name the files a build keeps beside the output folder base.
func lockName(base string) string  { return "." + base + ".lock" }
func tmpPrefix(base string) string { return "." + base + ".tmp-" }

// Write renders pages into a new folder and swaps it into place at dir.
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
	// Check again under the lock: the folder may have changed while we waited for nothing.
	if again, err := Check(dir, opts.Protect...); err != nil {
		return Stats{}, err
	} else if again != target {
		return Stats{}, fmt.Errorf("%s changed while the build started (now %s)", dir, again)
	}
	// Holding the lock, every temporary folder beside the output is a dead build's.
	removeStale(parent, base)
	tmp, err := os.MkdirTemp(parent, tmpPrefix(base))
	if err != nil {
		return Stats{}, err
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(tmp)
		}
	}()
	if err := os.Chmod(tmp, 0o755); err != nil {
		return Stats{}, err
	}

	prevDir, prev := readManifest(target)
	stats, keys, err := writePages(ctx, tmp, prevDir, prev, pages, opts.Jobs)
	if err != nil {
		return stats, err
	}
	for _, h := range opts.Hooks {
		if err := h(ctx, tmp, prevDir); err != nil {
			return stats, err
		}
	}
	extra, err := hookFiles(tmp, pages)
	if err != nil {
		return stats, err
	}
	data, err := json.MarshalIndent(manifest{Version: 1, Keys: keys, Extra: extra}, "", " ")
	if err != nil {
		return stats, err
	}
	if err := os.WriteFile(filepath.Join(tmp, ManifestFile), append(data, '\n'), 0o644); err != nil {
		return stats, err
	}
	if err := checkWhole(tmp, keys, extra); err != nil {
		return stats, err
	}
	if err := killpoint(ctx, "swap"); err != nil {
		return stats, err
	}
	if err := ctx.Err(); err != nil {
		return stats, err
	}
	if err := swap(tmp, target); err != nil {
		return stats, fmt.Errorf("replacing %s: %w", dir, err)
	}
	ok = true
	// The old output now sits in tmp; it is removed even when the build is being interrupted,
	// since the new output is in place already.
	killpoint(ctx, "cleanup")
	if err := os.RemoveAll(tmp); err != nil {
		return stats, fmt.Errorf("removing the previous output: %w", err)
	}
	return stats, nil
}

// hookFiles lists the files the hooks wrote into tmp: everything under top-level entries that
// no page path starts with.
func hookFiles(tmp string, pages []page.Page) ([]string, error) {
	tops := map[string]bool{ManifestFile: true}
	for _, p := range pages {
		top, _, _ := strings.Cut(p.Path, "/")
		tops[top] = true
	}
	entries, err := os.ReadDir(tmp)
	if err != nil {
		return nil, err
	}
	var files []string
	for _, e := range entries {
		if tops[e.Name()] {
			continue
		}
		err := filepath.WalkDir(filepath.Join(tmp, e.Name()), func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, err := filepath.Rel(tmp, p)
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
func checkWhole(tree string, keys map[string]string, extra []string) error {
	var missing []string
	check := func(rel string) {
		if _, err := os.Lstat(filepath.Join(tree, filepath.FromSlash(rel))); err != nil {
			missing = append(missing, rel)
		}
	}
	for p := range keys {
		check(p)
	}
	for _, p := range extra {
		check(p)
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return fmt.Errorf("the new output is incomplete (%d files missing, first %s); nothing published", len(missing), missing[0])
	}
	return nil
}

// checkPaths rejects page paths that would escape the output or collide.
func checkPaths(pages []page.Page) error {
	seen := make(map[string]bool, len(pages))
	for _, p := range pages {
		if p.Path == "" || path.Clean(p.Path) != p.Path || path.IsAbs(p.Path) || p.Path == ".." || strings.HasPrefix(p.Path, "../") || p.Path == ManifestFile {
			return fmt.Errorf("invalid output path %q", p.Path)
		}
		if seen[p.Path] {
			return fmt.Errorf("two pages write %s", p.Path)
		}
		seen[p.Path] = true
	}
	return nil
}

// readManifest returns the previous output folder and its page keys, or "" and nil.
func readManifest(dir string) (string, map[string]string) {
	data, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return "", nil
	}
	var m manifest
	if json.Unmarshal(data, &m) != nil || m.Version != 1 {
		return "", nil
	}
	return dir, m.Keys
}

func writePages(ctx context.Context, tmp, prevDir string, prev map[string]string, pages []page.Page, jobs int) (Stats, map[string]string, error) {
	if jobs <= 0 {
		jobs = runtime.GOMAXPROCS(0)
	}
	// Folders are made by the workers as files need them, so their system calls run in
	// parallel too; made remembers them.
	var made sync.Map
	ensureDir := func(rel string) error {
		if rel == "." {
			return nil
		}
		if _, ok := made.Load(rel); ok {
			return nil
		}
		if err := os.MkdirAll(filepath.Join(tmp, filepath.FromSlash(rel)), 0o755); err != nil {
			return err
		}
		made.Store(rel, true)
		return nil
	}

	var rendered, reused atomic.Int64
	var firstErr error
	var once sync.Once
	fail := func(err error) { once.Do(func() { firstErr = err }) }
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	work := make(chan page.Page)
	var wg sync.WaitGroup
	for range jobs {
		wg.Go(func() {
			for p := range work {
				if ctx.Err() != nil {
					continue
				}
				dst := filepath.Join(tmp, filepath.FromSlash(p.Path))
				if err := ensureDir(path.Dir(p.Path)); err != nil {
					fail(err)
					cancel()
					continue
				}
				if prevDir != "" && prev[p.Path] == p.Key && p.Key != "" {
					if reuse(filepath.Join(prevDir, filepath.FromSlash(p.Path)), dst) == nil {
						reused.Add(1)
						continue
					}
				}
				if err := writePage(dst, p); err != nil {
					fail(fmt.Errorf("rendering %s: %w", p.Path, err))
					cancel()
					continue
				}
				rendered.Add(1)
			}
		})
	}
	keys := make(map[string]string, len(pages))
	for i, p := range pages {
		if i == len(pages)/2 && killpoint(ctx, "render") != nil {
			break
		}
		keys[p.Path] = p.Key
		select {
		case work <- p:
		case <-ctx.Done():
		}
	}
	close(work)
	wg.Wait()
	stats := Stats{Pages: len(pages), Rendered: int(rendered.Load()), Reused: int(reused.Load())}
	if firstErr != nil {
		return stats, nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return stats, nil, err
	}
	return stats, keys, nil
}

// writePage renders p into the file dst, streaming pages that stream.
func writePage(dst string, p page.Page) error {
	if p.Stream == nil {
		data, err := p.Render()
		if err != nil {
			return err
		}
		return os.WriteFile(dst, data, 0o644)
	}
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<16)
	err = p.Stream(w)
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// reuse hard-links the previous file into the new output (both live in the same parent folder,
// so on the same file system), or copies it where links are not possible.
func reuse(src, dst string) error {
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, data, 0o644)
}

// removeStale deletes temporary folders that killed builds left beside the output. It runs
// under the output's lock, so their owners are gone.
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
