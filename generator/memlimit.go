package generator

import (
	"context"
	"io/fs"
	"math"
	"path/filepath"
	"runtime/debug"
	"time"

	"github.com/hspc/marketplace/generator/write"
)

// countingFiles runs the hook h with the soft memory limit lowered by the size of the files h
// writes under sub of the output tree, as they grow, and puts the limit back when h returns.
// The search index maps its segment files into the process (226 MB at 100 000 products): the
// limit counts only the memory of Go's runtime, so beside a heap held at the limit they raised
// the build's resident size by 117–145 MiB above the rest of the build (100 000 products under
// MaxMemoryLimit: 1391 MiB, then 1508 MiB sampled and 1536 MiB at most), its peak. A limit
// GOMEMLIMIT set is lowered the same way: the files are part of what it bounds. The limit
// never goes below half of what it was; without a limit (a rebuild) h runs as it is.
func countingFiles(h write.Hook, sub string) write.Hook {
	return func(ctx context.Context, dir, prev string) error {
		limit := debug.SetMemoryLimit(-1)
		if limit == math.MaxInt64 {
			return h(ctx, dir, prev)
		}
		stop, done := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(done)
			tick := time.NewTicker(100 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				debug.SetMemoryLimit(max(limit-treeBytes(filepath.Join(dir, sub)), limit/2))
			}
		}()
		err := h(ctx, dir, prev)
		close(stop)
		<-done
		debug.SetMemoryLimit(limit)
		return err
	}
}

// treeBytes is the size of the regular files under root (0 when it cannot be read).
func treeBytes(root string) int64 {
	var n int64
	filepath.WalkDir(root, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}
