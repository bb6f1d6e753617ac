package trust

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkSign signs an output of 10 000 per-product documents (a large catalog's API) and
// reports the time per signed file: signing is linear in the number of files.
func BenchmarkSign(b *testing.B) {
	const files = 10000
	keyDir, out := filepath.Join(b.TempDir(), "keys"), b.TempDir()
	if _, err := Init(keyDir, KeyOptions{Keys: 1}); err != nil {
		b.Fatal(err)
	}
	keys, err := LoadKeys(keyDir)
	if err != nil {
		b.Fatal(err)
	}
	for i := range files {
		p := filepath.Join(out, "api", "v1", "products", fmt.Sprintf("p%03d", i%100), fmt.Sprintf("product-%05d.json", i))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(p, fmt.Appendf(nil, `{"id":"p/%d","summary":"a product of a large catalog"}`, i), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		if _, err := Sign(out, out, keys, SignOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/float64(b.N*files), "µs/file")
	info, err := os.Stat(filepath.Join(out, MetadataDir, fmt.Sprintf("%d.targets.json", b.N)))
	if err == nil {
		b.ReportMetric(float64(info.Size())/files, "targets-bytes/file")
	}
}
