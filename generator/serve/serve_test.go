package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hspc/marketplace/catalog"
	"github.com/hspc/marketplace/generator"
	"github.com/hspc/marketplace/generator/headers"
	"github.com/hspc/marketplace/generator/search"
)

// buildSite builds the example catalog into a new folder with the generator, and checks that
// the generator wrote the search outputs that serve needs.
func buildSite(t *testing.T, root string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "public")
	res, err := generator.Build(context.Background(), generator.Options{Root: root, Out: out, Verify: generator.VerifySkip})
	if err != nil {
		t.Fatalf("build: %v\n%v", err, res.Diagnostics)
	}
	for _, p := range []string{search.ManifestPath, search.IndexDir, headers.FileName} {
		if _, err := os.Stat(filepath.Join(out, p)); err != nil {
			t.Fatalf("the generator did not write %s: %v", p, err)
		}
	}
	return out
}

// writeIndexes writes the compact index and the bleve index of c into out.
func writeIndexes(t *testing.T, out string, c *catalog.Catalog) {
	t.Helper()
	in := search.Input{Catalog: c}
	for _, p := range search.Pages(in) {
		data, err := p.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(out, filepath.FromSlash(p.Path))
		os.MkdirAll(filepath.Dir(f), 0o755)
		if err := os.WriteFile(f, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := search.BuildIndex(context.Background(), filepath.Join(out, search.IndexDir), "", in); err != nil {
		t.Fatal(err)
	}
}

// syncBuffer is a log the server writes while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// start runs the server on a free loopback port until the test ends.
func start(t *testing.T, dir string) (base string, logs *syncBuffer, stop func() error) {
	t.Helper()
	logs = &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{Dir: dir, Addr: "127.0.0.1:0", Log: logs, Ready: func(a string) { addr <- a }})
	}()
	select {
	case a := <-addr:
		base = "http://" + a
	case err := <-done:
		t.Fatalf("serve: %v", err)
	}
	stopped := false
	stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		return <-done
	}
	t.Cleanup(func() { stop() })
	return base, logs, stop
}

func get(t *testing.T, url string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func TestSearchAPI(t *testing.T) {
	base, logs, _ := start(t, buildSite(t, "../.."))

	resp, body := get(t, base+"/api/search?q=fhir+postgres&highlight=1")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("search: %s %s\n%s", resp.Status, resp.Header.Get("Content-Type"), body)
	}
	var res search.Result
	if err := json.Unmarshal(body, &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Hits) == 0 || res.Hits[0].ID != "acme/fhir" {
		t.Fatalf("fhir postgres: hits %+v", res.Hits)
	}
	if h := res.Hits[0]; h.URL != "products/acme/fhir/index.html" || !strings.Contains(h.Highlights["name"], "<mark>FHIR</mark>") || h.Version == "" {
		t.Errorf("first hit %+v", h)
	}
	// The hit names the logo the site publishes, and an excerpt of the description.
	if h := res.Hits[0]; h.Logo != "products/acme/fhir/logo.svg" || !strings.Contains(h.Highlights["description"], "<mark>") {
		t.Errorf("first hit: logo %q, description excerpt %q", h.Logo, h.Highlights["description"])
	} else if resp, _ := get(t, base+"/"+h.Logo); resp.StatusCode != 200 {
		t.Errorf("GET the hit's logo %s: %s", h.Logo, resp.Status)
	}
	if len(res.Facets) != len(search.Facets) {
		t.Errorf("%d facets", len(res.Facets))
	}

	resp, body = get(t, base+"/api/search?q=fhir&facet=license_status:evaluation&facet=category:fhir-server&size=5")
	if err := json.Unmarshal(body, &res); err != nil || resp.StatusCode != 200 {
		t.Fatalf("filtered: %s %s", resp.Status, body)
	}
	for _, h := range res.Hits {
		if h.LicenseStatus != "evaluation" {
			t.Errorf("filter let %s (%s) through", h.ID, h.LicenseStatus)
		}
	}

	resp, body = get(t, base+"/api/search?q=zzqxv")
	if err := json.Unmarshal(body, &res); err != nil || resp.StatusCode != 200 || res.Total != 0 || res.Hits == nil {
		t.Errorf("no match: %s %s", resp.Status, body)
	}

	for _, bad := range []string{"size=100000", "size=x", "facet=nofield:x", "facet=category", "from=-1"} {
		resp, body := get(t, base+"/api/search?q=fhir&"+bad)
		if resp.StatusCode != 400 || !strings.Contains(string(body), `"error"`) {
			t.Errorf("%s: %s %s", bad, resp.Status, body)
		}
	}

	head, err := http.Head(base + "/api/search?q=")
	if err != nil {
		t.Fatal(err)
	}
	head.Body.Close()
	if head.StatusCode != 200 || !strings.Contains(head.Header.Get("Content-Type"), "json") {
		t.Errorf("HEAD: %s %s", head.Status, head.Header.Get("Content-Type"))
	}
	post, err := http.Post(base+"/api/search", "text/plain", strings.NewReader("q=fhir"))
	if err != nil {
		t.Fatal(err)
	}
	post.Body.Close()
	if post.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %s", post.Status)
	}
	if l := logs.String(); !strings.Contains(l, "GET /api/search?q=fhir+postgres&highlight=1 200") || !strings.Contains(l, "127.0.0.1 HEAD /api/search?q= 200") {
		t.Errorf("request log lacks the searches:\n%s", l)
	}
}

func TestServesTheSite(t *testing.T) {
	base, _, _ := start(t, buildSite(t, "../.."))
	for _, tt := range []struct {
		path   string
		status int
		has    string
	}{
		{"/", 200, "<!DOCTYPE html>"},
		{"/products/acme/fhir/", 200, "Acme FHIR Server"},
		{"/search/", 200, `id="q"`},
		{"/api/v1/search.json", 200, `"schema":4`},
		{"/no/such/page.html", 404, "<!DOCTYPE html>"},
		{"/search.bleve/index_meta.json", 404, ""},
		{"/.marketplace-manifest.json", 404, ""},
		{"/../../etc/passwd", 404, ""},
	} {
		resp, body := get(t, base+tt.path)
		if resp.StatusCode != tt.status || !strings.Contains(string(body), tt.has) {
			t.Errorf("GET %s: %s, body has %q: %v", tt.path, resp.Status, tt.has, strings.Contains(string(body), tt.has))
		}
	}
}

// TestWithoutIndex serves a folder without search.bleve: the site still works, and the API
// says it is unavailable, so the search page searches in the browser.
func TestWithoutIndex(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "index.html"), []byte("<!DOCTYPE html><p>hi"), 0o644)
	base, _, _ := start(t, dir)
	if resp, _ := get(t, base+"/"); resp.StatusCode != 200 {
		t.Errorf("GET /: %s", resp.Status)
	}
	resp, body := get(t, base+"/api/search?q=fhir")
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "no search index") {
		t.Errorf("API without an index: %s %s", resp.Status, body)
	}
}

// TestPicksUpRebuild replaces the served folder as `marketplace build` does and expects the
// API to answer from the new index.
func TestPicksUpRebuild(t *testing.T) {
	out := buildSite(t, "../..")
	base, _, _ := start(t, out)
	if _, body := get(t, base+"/api/search?q=telepathic"); !strings.Contains(string(body), `"total":0`) {
		t.Fatalf("before: %s", body)
	}
	c, ds := catalog.Check(os.DirFS("../.."))
	if ds.HasErrors() {
		t.Fatal(ds)
	}
	p := *c.Products["acme/fhir"]
	p.Summary = "Telepathic FHIR server"
	c.Products["acme/fhir"] = &p
	next := filepath.Join(t.TempDir(), "next")
	os.MkdirAll(next, 0o755)
	writeIndexes(t, next, c)
	if err := os.Rename(out, out+".old"); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(next, out); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, body := get(t, base+"/api/search?q=telepathic")
		if strings.Contains(string(body), `"total":1`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the rebuilt index is not served: %s", body)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
