package cli

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The hidden profiling flags of build write profiles in pprof's format (gzip-compressed
// protocol buffers), the allocation profile naming alloc_space among its sample types; a
// profile that cannot be written is reported without failing the build.
func TestBuildProfiles(t *testing.T) {
	dir := t.TempDir()
	cpu, mem := filepath.Join(dir, "cpu.prof"), filepath.Join(dir, "mem.prof")
	code, _, stderr := run(t, "-C", "../../..", "build", "--offline", "--cache", "", "-o", filepath.Join(dir, "site"),
		"--cpuprofile", cpu, "--memprofile", mem)
	if code != ExitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	for file, want := range map[string]string{cpu: "", mem: "alloc_space"} {
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(f)
		if err != nil {
			f.Close()
			t.Fatalf("%s is not a pprof profile: %v", file, err)
		}
		data, err := io.ReadAll(zr)
		f.Close()
		if err != nil || len(data) == 0 {
			t.Fatalf("%s: %d bytes, %v", file, len(data), err)
		}
		if want != "" && !bytes.Contains(data, []byte(want)) {
			t.Errorf("%s does not name %s", file, want)
		}
	}

	missing := filepath.Join(dir, "missing", "mem.prof")
	code, _, stderr = run(t, "-C", "../../..", "build", "--offline", "--cache", "", "-o", filepath.Join(dir, "site"), "--memprofile", missing)
	if code != ExitOK || !strings.Contains(stderr, "--memprofile: ") {
		t.Errorf("a profile that cannot be written: exit %d, stderr %q; want the build to succeed and say so", code, stderr)
	}
}
