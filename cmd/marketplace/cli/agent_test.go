package cli

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestAgentOnceFromABuiltSite runs `marketplace agent --once` the way an operator would: against
// the output of `marketplace build` on disk, publishing into a folder, then again with nothing to
// do; and checks the usage errors.
func TestAgentOnceFromABuiltSite(t *testing.T) {
	tmp := t.TempDir()
	site := filepath.Join(tmp, "public")
	if code, _, stderr := run(t, "-C", "../../..", "build", "--offline", "--cache", "", "-o", site); code != 0 {
		t.Fatalf("build: exit %d\n%s", code, stderr)
	}
	out := filepath.Join(tmp, "deploy")
	args := []string{"agent", "--catalog", site, "--env", "../../../environments/fhir.toml", "--out", out,
		"--state", filepath.Join(tmp, "agent.json"), "--once"}
	code, stdout, stderr := run(t, args...)
	if code != 0 || !strings.Contains(stdout, "agent: published: fhir acme/fhir 5.1.0 (new); db openhealth/postgres 17.7.0 (new)") {
		t.Fatalf("first run: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	for _, f := range []string{"kustomization.yaml", "fhir.yaml", "db.yaml", "environment.lock"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	code, stdout, _ = run(t, args...)
	if code != 0 || !strings.Contains(stdout, "agent: unchanged: ") {
		t.Fatalf("second run: exit %d\n%s", code, stdout)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"agent", "--env", "x.toml", "--out", out, "--once"}, "agent needs --catalog and --env"},
		{[]string{"agent", "--catalog", site, "--env", "../../../environments/fhir.toml", "--once"}, "exactly one of --out DIR and --git REPO"},
		{[]string{"agent", "--catalog", tmp, "--env", "../../../environments/fhir.toml", "--out", out, "--once"}, "no built catalog there"},
	} {
		code, _, stderr := run(t, tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
}

// TestAgentThroughTUF runs the agent on a signed output served over HTTP: it publishes from the
// current snapshot, and when the server replays the previous build's output (an older, still
// validly signed snapshot), the agent refuses it as a rollback and keeps its last good state.
// Checking expiry at a time past the timestamp's refuses the catalog as frozen.
func TestAgentThroughTUF(t *testing.T) {
	tmp := t.TempDir()
	keys := filepath.Join(tmp, "keys")
	if code, _, stderr := run(t, "trust", "init", keys); code != 0 {
		t.Fatalf("trust init: %s", stderr)
	}
	out := filepath.Join(tmp, "public")
	if code, _, stderr := run(t, "-C", "../../..", "build", "--offline", "--cache", "", "-o", out, "--sign", keys); code != 0 {
		t.Fatalf("build --sign: %s", stderr)
	}
	old := filepath.Join(tmp, "old")
	if err := os.CopyFS(old, os.DirFS(out)); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := run(t, "-C", "../../..", "sign", out, "--keys", keys); code != 0 {
		t.Fatalf("sign again: %s", stderr)
	}
	var served atomic.Value
	served.Store(out)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.FileServer(http.Dir(served.Load().(string))).ServeHTTP(w, r)
	}))
	defer srv.Close()

	deployDir := filepath.Join(tmp, "deploy")
	args := []string{"agent", "--catalog", srv.URL + "/", "--root", filepath.Join(keys, "root.json"),
		"--env", "../../../environments/fhir.toml", "--out", deployDir, "--state", filepath.Join(tmp, "agent.json"), "--once"}
	if code, stdout, stderr := run(t, args...); code != 0 || !strings.Contains(stdout, "agent: published: ") {
		t.Fatalf("first step: exit %d\n%s%s", code, stdout, stderr)
	}
	served.Store(old)
	code, stdout, _ := run(t, args...)
	if code != 1 || !strings.Contains(stdout, "agent: refused: catalog refused: ") || !strings.Contains(stdout, "rollback") {
		t.Fatalf("replayed older snapshot: exit %d\n%s", code, stdout)
	}
	served.Store(out)
	late := time.Now().Add(60 * 24 * time.Hour).UTC().Format(time.RFC3339)
	code, stdout, _ = run(t, append(args, "--at", late)...)
	if code != 1 || !strings.Contains(stdout, "freeze") {
		t.Fatalf("expired timestamp: exit %d\n%s", code, stdout)
	}
	if _, err := os.Stat(filepath.Join(deployDir, "kustomization.yaml")); err != nil {
		t.Errorf("the last good manifests are gone: %v", err)
	}
}
