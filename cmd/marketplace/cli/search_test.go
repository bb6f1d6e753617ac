package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/hspc/marketplace/catalog"
	"github.com/hspc/marketplace/generator/search"
)

// runCommand runs one subcommand as Execute would, with its exit code.
func runCommand(ctx context.Context, mk func(*globals) *cobra.Command, stdout, stderr *lockedBuffer, args ...string) int {
	g := &globals{stdout: stdout, stderr: stderr}
	cmd := mk(g)
	cmd.SetArgs(args)
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.ExecuteContext(ctx)
	var pe problemsError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &pe):
		return ExitProblems
	}
	stderr.WriteString("marketplace: " + err.Error() + "\n")
	return ExitUsage
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) WriteString(s string) {
	l.Write([]byte(s))
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// searchOutput builds the search index of the example catalog into a folder laid out like the
// output of marketplace build.
func searchOutput(t *testing.T) string {
	t.Helper()
	c, ds := catalog.Check(os.DirFS("../../.."))
	if ds.HasErrors() {
		t.Fatal(ds)
	}
	out := filepath.Join(t.TempDir(), "public")
	if _, err := search.BuildIndex(context.Background(), filepath.Join(out, search.IndexDir), "", search.Input{Catalog: c}); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(out, "index.html"), []byte("<!DOCTYPE html><title>HSP Marketplace</title>"), 0o644)
	return out
}

func TestSearchCommand(t *testing.T) {
	out := searchOutput(t)
	ctx := context.Background()
	run := func(args ...string) (int, string, string) {
		var o, e lockedBuffer
		code := runCommand(ctx, newSearch, &o, &e, args...)
		return code, o.String(), e.String()
	}

	code, stdout, stderr := run("fhir", "postgres", "--index", out)
	if code != ExitOK || !regexp.MustCompile(`(?m)^\s+1\. Acme FHIR Server +\(acme/fhir 5\.1\.0\)$`).MatchString(stdout) || !strings.Contains(stdout, "facets:") {
		t.Errorf("fhir postgres: exit %d\n%s%s", code, stdout, stderr)
	}

	code, stdout, _ = run("zzqxv", "--index", out)
	if code != ExitOK || strings.TrimSpace(stdout) != "no products match" {
		t.Errorf("no match: exit %d, %q", code, stdout)
	}

	code, stdout, _ = run("+license:MIT relay", "--json", "--index", filepath.Join(out, search.IndexDir))
	var res search.Result
	if err := json.Unmarshal([]byte(stdout), &res); err != nil || code != ExitOK {
		t.Fatalf("--json: exit %d, %v\n%s", code, err, stdout)
	}
	if res.Total != 1 || res.Hits[0].ID != "openhealth/smtp-relay" || len(res.Facets) == 0 {
		t.Errorf("--json: %+v", res)
	}

	code, stdout, _ = run("server", "--facet", "license_status:evaluation", "--json", "--index", out)
	if err := json.Unmarshal([]byte(stdout), &res); err != nil || code != ExitOK {
		t.Fatalf("--facet: exit %d, %v", code, err)
	}
	for _, h := range res.Hits {
		if h.LicenseStatus != "evaluation" {
			t.Errorf("--facet license_status:evaluation shows %s", h.ID)
		}
	}

	if code, _, stderr := run("fhir", "--index", t.TempDir()); code != ExitUsage || !strings.Contains(stderr, "no search index") {
		t.Errorf("missing index: exit %d, %s", code, stderr)
	}
	if code, _, stderr := run("fhir", "--facet", "colour:red", "--index", out); code != ExitUsage || !strings.Contains(stderr, "--facet") {
		t.Errorf("bad facet: exit %d, %s", code, stderr)
	}
	if code, _, _ := run("--index", out); code != ExitUsage {
		t.Errorf("no query: exit %d", code)
	}

	// A malformed query is a usage error that says what is wrong, not "no products match".
	for _, q := range []string{`"bulk data`, `/post(gres/`, strings.Repeat("fhir ", 300)} {
		code, stdout, stderr := run(q, "--index", out)
		if code != ExitUsage || !strings.Contains(stderr, "query:") || strings.Contains(stdout, "no products match") {
			t.Errorf("search %.20q: exit %d\nstdout %s\nstderr %s", q, code, stdout, stderr)
		}
	}
}

// TestOutputFoldersFollowC: --index, -d and -o are relative to -C's folder when -C is given,
// as every other path on the command line is.
func TestOutputFoldersFollowC(t *testing.T) {
	out := searchOutput(t) // <tmp>/public
	catalogDir := filepath.Dir(out)
	if err := os.WriteFile(filepath.Join(catalogDir, catalog.IndexFile), []byte("[catalog]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := Execute(context.Background(), []string{"-C", catalogDir, "search", "fhir", "--index", "public"}, &stdout, &stderr)
	if code != ExitOK || !strings.Contains(stdout.String(), "acme/fhir") {
		t.Errorf("-C DIR search --index public: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	g := &globals{dir: catalogDir}
	for _, tt := range []struct{ in, want string }{
		{"public", filepath.Join(catalogDir, "public")},
		{"/srv/www", "/srv/www"},
	} {
		if got := g.path(tt.in); got != tt.want {
			t.Errorf("-C %s: path(%q) = %q, want %q", catalogDir, tt.in, got, tt.want)
		}
	}
	if got := (&globals{}).path("public"); got != "public" {
		t.Errorf("without -C: path(public) = %q", got)
	}
}

func TestServeCommand(t *testing.T) {
	out := searchOutput(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr lockedBuffer
	done := make(chan int, 1)
	go func() { done <- runCommand(ctx, newServe, &stdout, &stderr, "-d", out, "--addr", "127.0.0.1:0") }()

	addr := regexp.MustCompile(`on http://([0-9.:]+)/`)
	var base string
	for deadline := time.Now().Add(10 * time.Second); base == ""; time.Sleep(20 * time.Millisecond) {
		if m := addr.FindStringSubmatch(stderr.String()); m != nil {
			base = "http://" + m[1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start: %s", stderr.String())
		}
	}
	resp, err := http.Get(base + "/api/search?q=fhir+postgres")
	if err != nil {
		t.Fatal(err)
	}
	var res search.Result
	err = json.NewDecoder(resp.Body).Decode(&res)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || len(res.Hits) == 0 || res.Hits[0].ID != "acme/fhir" {
		t.Fatalf("GET /api/search: %s %v %+v", resp.Status, err, res)
	}
	cancel()
	select {
	case code := <-done:
		if code != ExitOK {
			t.Errorf("serve exited %d: %s", code, stderr.String())
		}
	case <-time.After(12 * time.Second):
		t.Fatal("serve did not stop within 10 s of its context ending")
	}
	if !strings.Contains(stdout.String(), "GET /api/search?q=fhir+postgres 200") {
		t.Errorf("request log on stdout: %q", stdout.String())
	}
}
