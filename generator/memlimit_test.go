package generator

import (
	"math"
	"runtime"
	"runtime/debug"
	"testing"
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
