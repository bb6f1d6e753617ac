package search

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"

	"github.com/hspc/marketplace/generator/write"
)

// Keys of the index's internal storage.
var (
	keyMeta   = []byte("marketplace:meta")   // JSON meta: what wrote the index
	keyHashes = []byte("marketplace:hashes") // JSON object: product ID → document hash
	keyLabels = []byte("marketplace:labels") // JSON object: facet → value → label
)

// meta identifies the code that wrote an index: an index written with another version or
// mapping is rebuilt from scratch instead of updated.
type meta struct {
	Version int    `json:"version"`
	Mapping string `json:"mapping"` // hash of the mapping's JSON
}

func currentMeta() meta {
	data, err := json.Marshal(newMapping())
	if err != nil {
		panic(fmt.Sprintf("search: encoding the mapping: %v", err))
	}
	return meta{Version: indexVersion, Mapping: hashBytes(data)}
}

// batchSize bounds the documents analyzed into one in-memory segment; batchWorkers batches
// are built at a time.
const (
	batchSize    = 500
	batchWorkers = 2
)

// IndexStats says what building the index did.
type IndexStats struct {
	Documents int  // documents in the index
	Indexed   int  // documents (re-)indexed in this build
	Deleted   int  // documents of removed products deleted
	Reused    bool // whether the previous output's index was updated rather than rebuilt
}

// Hook returns the write hook that builds search.bleve/ in the temporary output folder. With a
// previous output it copies that index (hard-linking the immutable segment files) and applies
// only the difference: products whose document hash changed are re-indexed, removed products
// deleted. The hashes live in the index's internal storage next to the documents they describe,
// so the index is never out of step with them.
func Hook(in Input) write.Hook {
	return func(ctx context.Context, dir, prev string) error {
		prevIndex := ""
		if prev != "" {
			prevIndex = filepath.Join(prev, IndexDir)
		}
		_, err := BuildIndex(ctx, filepath.Join(dir, IndexDir), prevIndex, in)
		return err
	}
}

// BuildIndex writes the index of in's products into dir (which must not exist), starting from a
// copy of the index in prev when prev is not "" and holds a usable index.
func BuildIndex(ctx context.Context, dir, prev string, in Input) (IndexStats, error) {
	stats, err := buildIndex(ctx, dir, prev, in)
	if err == nil {
		// Bleve keeps its files to the user; the rest of the output is world-readable.
		err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			mode := fs.FileMode(0o644)
			if d.IsDir() {
				mode = 0o755
			}
			return os.Chmod(p, mode)
		})
	}
	return stats, err
}

func buildIndex(ctx context.Context, dir, prev string, in Input) (IndexStats, error) {
	docs := newSource(in)
	labels, err := json.Marshal(facetLabels(in))
	if err != nil {
		return IndexStats{}, err
	}
	want := currentMeta()
	if prev != "" {
		if err := copyIndex(prev, dir); err == nil {
			stats, err := updateIndex(ctx, dir, docs, want, labels)
			if err == nil {
				return stats, nil
			}
			if ctx.Err() != nil {
				return stats, err
			}
		}
		// No usable previous index: build a new one.
		if err := os.RemoveAll(dir); err != nil {
			return IndexStats{}, err
		}
	}
	return createIndex(ctx, dir, docs, want, labels)
}

// source makes the documents of a catalog's products as the index needs them, so that a build
// holds those of the batches being indexed rather than all of them (85 MB at 100 000
// products, held while the index grew).
type source struct {
	in  Input
	ids []string // sorted: document i is product ids[i]'s
}

func newSource(in Input) source { return source{in: in, ids: in.Catalog.SortedProductIDs()} }

func (s source) doc(i int) *document {
	return newDocument(s.in.Catalog, s.in.Catalog.Products[s.ids[i]], s.in.Images)
}

var errStale = errors.New("index written by another version")

// updateIndex applies the difference between the index in dir and docs.
func updateIndex(ctx context.Context, dir string, docs source, want meta, labels []byte) (IndexStats, error) {
	idx, err := bleve.OpenUsing(dir, nil)
	if err != nil {
		return IndexStats{}, err
	}
	var got meta
	if data, err := idx.GetInternal(keyMeta); err != nil || json.Unmarshal(data, &got) != nil || got != want {
		idx.Close()
		return IndexStats{}, errStale
	}
	old := map[string]string{}
	if data, err := idx.GetInternal(keyHashes); err != nil || json.Unmarshal(data, &old) != nil {
		idx.Close()
		return IndexStats{}, errStale
	}
	stats, err := apply(ctx, idx, docs, old, want, labels)
	stats.Reused = true
	if cerr := idx.Close(); err == nil {
		err = cerr
	}
	return stats, err
}

// createIndex builds a new index in dir.
func createIndex(ctx context.Context, dir string, docs source, want meta, labels []byte) (IndexStats, error) {
	idx, err := bleve.NewUsing(dir, newMapping(), scorch.Name, scorch.Name, nil)
	if err != nil {
		return IndexStats{}, fmt.Errorf("creating the search index: %w", err)
	}
	stats, err := apply(ctx, idx, docs, map[string]string{}, want, labels)
	if cerr := idx.Close(); err == nil {
		err = cerr
	}
	return stats, err
}

// apply indexes the documents whose hash differs from old, deletes those not in docs, and
// records the new hashes. batchWorkers workers take batchSize products at a time: each makes
// their documents, hashes them, and adds those that changed to its batch, which goes into the
// index once it holds batchSize documents (scorch builds a batch's segment in the calling
// goroutine, so the workers' batches use every core). A document is held from when it is made
// until its batch is in the index; in a rebuild, the unchanged ones only until they are hashed.
func apply(ctx context.Context, idx bleve.Index, docs source, old map[string]string, m meta, labels []byte) (IndexStats, error) {
	n := len(docs.ids)
	stats := IndexStats{Documents: n}
	hashes := make([]string, n) // by document
	var indexed atomic.Int64
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, batchWorkers)
	fail := func(err error) {
		errs <- err
		cancel()
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range batchWorkers {
		wg.Go(func() {
			b, held := idx.NewBatch(), 0
			flush := func() bool {
				if held == 0 {
					return true
				}
				if err := idx.Batch(b); err != nil {
					fail(fmt.Errorf("indexing: %w", err))
					return false
				}
				indexed.Add(int64(held))
				b, held = idx.NewBatch(), 0
				return true
			}
			for start := int(next.Add(batchSize)) - batchSize; start < n && ctx.Err() == nil; start = int(next.Add(batchSize)) - batchSize {
				for i := start; i < min(start+batchSize, n); i++ {
					d := docs.doc(i)
					hashes[i] = d.hash()
					if old[d.ID] == hashes[i] {
						continue
					}
					if err := b.IndexAdvanced(d.bleveDocument()); err != nil {
						fail(fmt.Errorf("indexing %s: %w", d.ID, err))
						return
					}
					held++
				}
				if held >= batchSize && !flush() {
					return
				}
			}
			if ctx.Err() == nil {
				flush()
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return stats, err
	}
	if err := ctx.Err(); err != nil {
		return stats, err
	}
	stats.Indexed = int(indexed.Load())

	// Deletions and the new hashes go in last, in one batch: if the build stops before, the
	// copy is discarded with the rest of the temporary output.
	byID := make(map[string]string, n)
	for i, id := range docs.ids {
		byID[id] = hashes[i]
	}
	b := idx.NewBatch()
	for id := range old {
		if _, ok := byID[id]; !ok {
			b.Delete(id)
			stats.Deleted++
		}
	}
	hdata, err := json.Marshal(byID)
	if err != nil {
		return stats, err
	}
	mdata, err := json.Marshal(m)
	if err != nil {
		return stats, err
	}
	b.SetInternal(keyHashes, hdata)
	b.SetInternal(keyMeta, mdata)
	b.SetInternal(keyLabels, labels)
	if err := idx.Batch(b); err != nil {
		return stats, fmt.Errorf("indexing: %w", err)
	}
	return stats, nil
}

// copyIndex copies the index folder src to dst. Segment files (*.zap) are immutable once
// written, so they are hard-linked when possible; everything else (the bolt root) is copied.
func copyIndex(src, dst string) error {
	info, err := os.Stat(src)
	if err != nil {
		return err
	}
	if !info.IsDir() {
		return fmt.Errorf("%s is not a folder", src)
	}
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		if strings.HasSuffix(p, ".zap") && os.Link(p, target) == nil {
			return nil
		}
		return copyFile(p, target)
	})
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
