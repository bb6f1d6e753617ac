package cli

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestTrustSignAndMirrorSite runs what an operator does: create keys, build and sign, re-sign,
// then mirror the published site over HTTP and sync it.
func TestTrustSignAndMirrorSite(t *testing.T) {
	tmp := t.TempDir()
	keys, out := filepath.Join(tmp, "keys"), filepath.Join(tmp, "public")

	code, stdout, stderr := run(t, "trust", "init", keys, "--keys", "3", "--threshold", "2")
	if code != ExitOK {
		t.Fatalf("trust init: exit %d\n%s%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "created root v1: 2 of 3 root keys must sign") || strings.Contains(stdout, "PRIVATE") {
		t.Errorf("trust init printed:\n%s", stdout)
	}
	code, stdout, stderr = run(t, "trust", "init", keys)
	if code != ExitUsage || !strings.Contains(stderr, "not empty") {
		t.Errorf("trust init over an existing folder: exit %d\n%s", code, stderr)
	}

	code, stdout, stderr = run(t, "-C", "../../..", "build", "--offline", "-o", out, "--sign", keys)
	if code != ExitOK {
		t.Fatalf("build --sign: exit %d\n%s%s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "timestamp v1") {
		t.Errorf("build --sign printed:\n%s", stderr)
	}
	code, _, stderr = run(t, "-C", "../../..", "sign", out, "--keys", keys)
	if code != ExitOK || !strings.Contains(stderr, "timestamp v2") {
		t.Fatalf("sign: exit %d\n%s", code, stderr)
	}

	// The output checked from a folder, as from media, at reference times.
	root := filepath.Join(keys, "root.json")
	code, stdout, stderr = run(t, "trust", "verify", out, "--root", root)
	if code != ExitOK || !strings.Contains(stdout, "signed files verified") || !strings.Contains(stdout, "timestamp v2") {
		t.Fatalf("trust verify: exit %d\n%s%s", code, stdout, stderr)
	}
	code, _, stderr = run(t, "trust", "verify", out, "--root", root, "--at", time.Now().Add(30*24*time.Hour).UTC().Format(time.RFC3339))
	if code != ExitProblems || !strings.Contains(stderr, "refused (freeze)") {
		t.Fatalf("trust verify a month later: exit %d\n%s", code, stderr)
	}

	srv := httptest.NewServer(http.FileServer(http.Dir(out)))
	defer srv.Close()
	mirror := filepath.Join(tmp, "mirror")
	code, _, stderr = run(t, "mirror", "clone", srv.URL+"/", mirror, "--root", root)
	if code != ExitOK || !strings.Contains(stderr, "timestamp v2") {
		t.Fatalf("mirror clone: exit %d\n%s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(mirror, "site", "api", "v1", "catalog.json")); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = run(t, "mirror", "sync", mirror)
	if code != ExitOK || !strings.Contains(stderr, "up to date at timestamp v2") {
		t.Fatalf("mirror sync: exit %d\n%s", code, stderr)
	}

	// A root rotation is published by the next signing; the mirror follows it.
	code, stdout, stderr = run(t, "trust", "rotate", keys, "--online")
	if code != ExitOK || !strings.Contains(stdout, "rotated to root v2") {
		t.Fatalf("trust rotate: exit %d\n%s%s", code, stdout, stderr)
	}
	if code, _, stderr = run(t, "sign", out, "--keys", keys, "-C", "../../.."); code != ExitOK {
		t.Fatalf("sign after rotation: exit %d\n%s", code, stderr)
	}
	code, _, stderr = run(t, "mirror", "sync", mirror)
	if code != ExitOK || !strings.Contains(stderr, "timestamp v3") {
		t.Fatalf("mirror sync after rotation: exit %d\n%s", code, stderr)
	}
}
