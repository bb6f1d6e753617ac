package generator

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"testing"
	"time"

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

	// Never past the ceiling: twice the live heap would be 128 MiB or more.
	defer func(m int64) { maxMemoryLimit = m }(maxMemoryLimit)
	maxMemoryLimit = 100 << 20
	debug.SetMemoryLimit(16 << 20)
	if got := raiseMemoryLimit(); got != 100<<20 || debug.SetMemoryLimit(-1) != 100<<20 {
		t.Errorf("with a ceiling of 100 MiB, a 16 MiB limit with 64 MiB live was raised to %d MiB (limit now %d MiB)", got>>20, debug.SetMemoryLimit(-1)>>20)
	}
	// A limit at or above the ceiling is left alone, even below twice the live heap.
	debug.SetMemoryLimit(110 << 20)
	if got := raiseMemoryLimit(); got != 0 || debug.SetMemoryLimit(-1) != 110<<20 {
		t.Errorf("a limit above the ceiling was raised to %d MiB", got>>20)
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

// TestCountingFiles checks that a hook wrapped by countingFiles runs under the limit less what
// it has written under its folder, never below half the limit, that the limit is back when it
// returns, and that without a limit nothing changes.
func TestCountingFiles(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	limit := func() int64 { return debug.SetMemoryLimit(-1) }
	write := func(dir string, size int) {
		t.Helper()
		if err := os.MkdirAll(filepath.Join(dir, "index"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "index", fmt.Sprintf("%d.zap", size)), make([]byte, size), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// during waits until the limit has been adjusted to want, or gives up after a while.
	during := func(want int64) int64 {
		deadline := time.Now().Add(5 * time.Second)
		for limit() != want && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		return limit()
	}

	const base = 64 << 20
	debug.SetMemoryLimit(base)
	var seen []int64
	hook := countingFiles(func(_ context.Context, dir, _ string) error {
		write(dir, 8<<20)
		seen = append(seen, during(base-8<<20))
		write(dir, 40<<20) // 48 MiB in all: the limit stops at half
		seen = append(seen, during(base/2))
		return nil
	}, "index")
	if err := hook(context.Background(), t.TempDir(), ""); err != nil {
		t.Fatal(err)
	}
	if want := []int64{base - 8<<20, base / 2}; !slices.Equal(seen, want) {
		t.Errorf("limits while the hook ran: %d, want %d", seen, want)
	}
	if got := limit(); got != base {
		t.Errorf("after the hook: limit %d, want %d back", got, base)
	}

	debug.SetMemoryLimit(math.MaxInt64)
	ran := false
	hook = countingFiles(func(_ context.Context, dir, _ string) error {
		write(dir, 1<<20)
		time.Sleep(250 * time.Millisecond)
		ran = limit() == math.MaxInt64
		return nil
	}, "index")
	if err := hook(context.Background(), t.TempDir(), ""); err != nil || !ran {
		t.Errorf("without a limit: err %v, limit left alone %v", err, ran)
	}
}
