package generator

import (
	"context"
	"math"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/hspc/marketplace/generator/page"
	"github.com/hspc/marketplace/generator/write"
)

// TestRaiseMemoryLimit checks that a soft memory limit below twice the live heap is raised to it,
// and that no limit, or a limit above it, is left as it is.
func TestRaiseMemoryLimit(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	held := make([]byte, 64<<20) // live: what a loaded catalog would hold
	for i := range held {
		held[i] = byte(i)
	}
	runtime.GC()

	debug.SetMemoryLimit(math.MaxInt64)
	if got := raiseMemoryLimit(); got != 0 || debug.SetMemoryLimit(-1) != math.MaxInt64 {
		t.Errorf("without a limit: raised to %d, limit now %d", got, debug.SetMemoryLimit(-1))
	}

	debug.SetMemoryLimit(1 << 40)
	if got := raiseMemoryLimit(); got != 0 || debug.SetMemoryLimit(-1) != 1<<40 {
		t.Errorf("with a limit far above the heap: raised to %d, limit now %d", got, debug.SetMemoryLimit(-1))
	}

	debug.SetMemoryLimit(16 << 20)
	got := raiseMemoryLimit()
	if got < 2*int64(len(held)) || debug.SetMemoryLimit(-1) != got {
		t.Errorf("a 16 MiB limit with 64 MiB live was raised to %d MiB (limit now %d MiB), want at least 128 MiB", got>>20, debug.SetMemoryLimit(-1)>>20)
	}
	runtime.KeepAlive(held)
}

// TestSetMemoryPolicy checks the limit and the collector's target a build runs under: both for
// a full build, no limit and Go's default target for a rebuild, and nothing changed that
// GOMEMLIMIT or GOGC set.
func TestSetMemoryPolicy(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	percent := func() int { p := debug.SetGCPercent(-1); debug.SetGCPercent(p); return p }
	t.Setenv("GOMEMLIMIT", "")
	t.Setenv("GOGC", "")

	fresh := filepath.Join(t.TempDir(), "public")
	SetMemoryPolicy(fresh)
	if l, p := debug.SetMemoryLimit(-1), percent(); l != MemoryLimit || p != GCPercent {
		t.Errorf("full build: limit %d, GC percent %d; want %d, %d", l, p, MemoryLimit, GCPercent)
	}

	out := filepath.Join(t.TempDir(), "public")
	if _, err := write.Write(context.Background(), out, []page.Page{page.Static("index.html", []byte("hi"))}, write.Options{}); err != nil {
		t.Fatal(err)
	}
	SetMemoryPolicy(out)
	if l, p := debug.SetMemoryLimit(-1), percent(); l != math.MaxInt64 || p != 100 {
		t.Errorf("rebuild: limit %d, GC percent %d; want none, 100", l, p)
	}

	t.Setenv("GOMEMLIMIT", "1GiB")
	t.Setenv("GOGC", "150")
	debug.SetMemoryLimit(1 << 30)
	debug.SetGCPercent(150)
	SetMemoryPolicy(fresh)
	if l, p := debug.SetMemoryLimit(-1), percent(); l != 1<<30 || p != 150 {
		t.Errorf("with GOMEMLIMIT and GOGC set: limit %d, GC percent %d; want theirs", l, p)
	}
}
