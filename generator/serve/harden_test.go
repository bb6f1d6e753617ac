package serve

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hspc/marketplace/generator"
	"github.com/hspc/marketplace/generator/headers"
	"github.com/hspc/marketplace/generator/search"
)

var built struct {
	once sync.Once
	tmp  string // removed by TestMain
	dir  string
	err  error
}

// sharedSite is the example catalog built once for the tests that only read it.
func sharedSite(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		if built.tmp, built.err = os.MkdirTemp("", "serve-test-"); built.err != nil {
			return
		}
		built.dir = filepath.Join(built.tmp, "public")
		_, built.err = generator.Build(context.Background(), generator.Options{Root: "../..", Out: built.dir, Verify: generator.VerifySkip})
	})
	if built.err != nil {
		t.Fatalf("building the example site: %v", built.err)
	}
	return built.dir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.tmp != "" {
		os.RemoveAll(built.tmp)
	}
	os.Exit(code)
}

// newTestServer serves dir with httptest; change tweaks the server before it starts.
func newTestServer(t *testing.T, dir string, change func(*Server)) (*Server, *httptest.Server) {
	t.Helper()
	s, err := New(dir, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if change != nil {
		change(s)
	}
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(hs.Close)
	return s, hs
}

// blockOn makes the query "slow" a search that ignores its context and returns only once
// release is closed, as a pathological query in a search engine would.
func blockOn(release <-chan struct{}, started chan<- struct{}) func(*Server) {
	return func(s *Server) {
		real := s.run
		s.run = func(ctx context.Context, idx *search.Index, req search.Request) (*search.Result, error) {
			if req.Query == "slow" {
				started <- struct{}{}
				<-release
			}
			return real(ctx, idx, req)
		}
	}
}

// TestSlowSearchDoesNotStallOthers: while one search runs long, past the moment the server
// checks the folder for a rebuild, other searches are answered at once. (The check used to
// take the index's write lock, which waits for the slow search, and every search after it
// waited for the lock.)
func TestSlowSearchDoesNotStallOthers(t *testing.T) {
	release, started := make(chan struct{}), make(chan struct{}, 1)
	defer close(release)
	_, hs := newTestServer(t, sharedSite(t), func(s *Server) {
		s.checkEvery = 10 * time.Millisecond
		s.searchTimeout = time.Minute
		blockOn(release, started)(s)
	})
	go http.Get(hs.URL + "/api/search?q=slow")
	<-started
	time.Sleep(50 * time.Millisecond) // past checkEvery: the next search checks the folder
	for range 3 {
		done := make(chan int, 1)
		go func() {
			resp, err := http.Get(hs.URL + "/api/search?q=fhir")
			if err != nil {
				done <- 0
				return
			}
			resp.Body.Close()
			done <- resp.StatusCode
		}()
		select {
		case code := <-done:
			if code != 200 {
				t.Fatalf("search beside a slow one: status %d", code)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a search waited for another, slow one")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSearchTimeoutIsEnforced: a search that does not finish within the timeout is answered
// 503 at the timeout, whether or not the search itself stops.
func TestSearchTimeoutIsEnforced(t *testing.T) {
	release, started := make(chan struct{}), make(chan struct{}, 1)
	defer close(release)
	_, hs := newTestServer(t, sharedSite(t), func(s *Server) {
		s.searchTimeout = 200 * time.Millisecond
		blockOn(release, started)(s)
	})
	start := time.Now()
	resp, body := get(t, hs.URL+"/api/search?q=slow")
	took := time.Since(start)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "took longer than 200ms") {
		t.Errorf("slow search: %s %s", resp.Status, body)
	}
	if took > 3*time.Second {
		t.Errorf("slow search answered after %s, want about 200ms", took)
	}
}

// TestQueryProblemsAre400: a malformed or oversized query is a 400 that says what is wrong.
func TestQueryProblemsAre400(t *testing.T) {
	_, hs := newTestServer(t, sharedSite(t), nil)
	for _, tt := range []struct{ q, want string }{
		{`fhir "bulk data`, "unterminated phrase"},
		{`/post(gres/`, "invalid regular expression"},
		{strings.Repeat("fhir ", 300), "the most is 1024"},
		{strings.Repeat("a ", 40), "more than 32 clauses"},
	} {
		resp, body := get(t, hs.URL+"/api/search?q="+url.QueryEscape(tt.q))
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), tt.want) {
			t.Errorf("q=%.30q: %s %s, want 400 with %q", tt.q, resp.Status, body, tt.want)
		}
	}
}

// TestServesOnlyTheFolder: no folder listings, and nothing that resolves outside the folder,
// through a symbolic link to a file or to a folder.
func TestServesOnlyTheFolder(t *testing.T) {
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "secret.txt"), []byte("top secret"), 0o644)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "index.html"), []byte("<!DOCTYPE html><p>home"), 0o644)
	os.WriteFile(filepath.Join(dir, "404.html"), []byte("<!DOCTYPE html><p>not here"), 0o644)
	os.MkdirAll(filepath.Join(dir, "files", "sub"), 0o755)
	os.WriteFile(filepath.Join(dir, "files", "a.txt"), []byte("inside"), 0o644)
	for link, target := range map[string]string{
		"files/leak.txt": filepath.Join(outside, "secret.txt"),
		"files/out":      outside,
		"files/up.txt":   "../../" + filepath.Base(outside) + "/secret.txt",
		"files/ok.txt":   "a.txt",
	} {
		if err := os.Symlink(target, filepath.Join(dir, filepath.FromSlash(link))); err != nil {
			t.Fatal(err)
		}
	}
	_, hs := newTestServer(t, dir, nil)
	for _, tt := range []struct {
		path   string
		status int
		want   string
	}{
		{"/", 200, "home"},
		{"/files/a.txt", 200, "inside"},
		{"/files/ok.txt", 200, "inside"}, // a link that stays inside
		{"/files/", 404, "not here"},     // a folder without index.html: no listing
		{"/files/sub/", 404, "not here"},
		{"/files/leak.txt", 404, "not here"},
		{"/files/out/secret.txt", 404, "not here"},
		{"/files/out/", 404, "not here"},
		{"/files/up.txt", 404, "not here"},
		{"/_headers", 404, "not here"},
	} {
		resp, body := get(t, hs.URL+tt.path)
		if resp.StatusCode != tt.status || !strings.Contains(string(body), tt.want) || strings.Contains(string(body), "secret") {
			t.Errorf("GET %s: %s %q, want %d with %q", tt.path, resp.Status, body, tt.status, tt.want)
		}
	}
}

// TestResponseHeaders: security headers on every response, a sandbox for SVG, compression of
// text, long caching of content-hashed files only, and ETags that revalidate to 304, with and
// without compression.
func TestResponseHeaders(t *testing.T) {
	dir := sharedSite(t)
	_, hs := newTestServer(t, dir, nil)
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	fetch := func(p string, hdr ...string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest("GET", hs.URL+p, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, body
	}
	css := firstFile(t, dir, "static", ".css")
	// The example catalog is small enough for its compact index to have no shards.
	if got := headers.CacheControl(search.ShardDir + "/t-0123abcd-0.json"); got != headers.Immutable {
		t.Errorf("a search shard: Cache-Control %q", got)
	}
	logo := firstFile(t, dir, "products", ".svg")
	for _, tt := range []struct {
		path, cache string
		status      int
	}{
		{"/", headers.Revalidate, 200},
		{"/products/acme/fhir/index.html", headers.Revalidate, 200},
		{"/api/v1/catalog.json", headers.Revalidate, 200},
		{"/" + css, headers.Immutable, 200},
		{"/" + logo, headers.Revalidate, 200},
		{"/no/such/page", "no-cache", 404},
		{"/api/search?q=fhir", "no-store", 200},
	} {
		resp, _ := fetch(tt.path)
		if resp.StatusCode != tt.status {
			t.Errorf("GET %s: %s", tt.path, resp.Status)
		}
		if got := resp.Header.Get("Cache-Control"); got != tt.cache {
			t.Errorf("GET %s: Cache-Control %q, want %q", tt.path, got, tt.cache)
		}
		for _, h := range headers.Security {
			if got := resp.Header.Values(h[0]); len(got) == 0 || got[0] != h[1] {
				t.Errorf("GET %s: %s %q, want %q", tt.path, h[0], got, h[1])
			}
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("GET %s: CSP %q", tt.path, csp)
		}
		sandboxed := strings.Contains(strings.Join(resp.Header.Values("Content-Security-Policy"), ","), "sandbox")
		if sandboxed != strings.HasSuffix(tt.path, ".svg") {
			t.Errorf("GET %s: CSP sandbox %v", tt.path, sandboxed)
		}
	}

	// Compression, and revalidation of both variants.
	plain, plainBody := fetch("/index.html")
	zipped, zippedBody := fetch("/index.html", "Accept-Encoding", "gzip")
	if zipped.Header.Get("Content-Encoding") != "gzip" || len(zippedBody) >= len(plainBody) {
		t.Fatalf("gzip: Content-Encoding %q, %d bytes for %d", zipped.Header.Get("Content-Encoding"), len(zippedBody), len(plainBody))
	}
	zr, err := gzip.NewReader(bytes.NewReader(zippedBody))
	if err != nil {
		t.Fatal(err)
	}
	if unzipped, _ := io.ReadAll(zr); !bytes.Equal(unzipped, plainBody) {
		t.Error("the gzipped page differs from the page")
	}
	if plain.Header.Get("ETag") == "" || plain.Header.Get("ETag") == zipped.Header.Get("ETag") {
		t.Errorf("ETags: plain %q, gzip %q", plain.Header.Get("ETag"), zipped.Header.Get("ETag"))
	}
	for _, tt := range []struct {
		etag string
		hdr  []string
	}{
		{plain.Header.Get("ETag"), nil},
		{zipped.Header.Get("ETag"), []string{"Accept-Encoding", "gzip"}},
	} {
		resp, body := fetch("/index.html", append([]string{"If-None-Match", tt.etag}, tt.hdr...)...)
		if resp.StatusCode != http.StatusNotModified || len(body) != 0 {
			t.Errorf("If-None-Match %s: %s, %d bytes", tt.etag, resp.Status, len(body))
		}
	}
	if resp, _ := fetch("/index.html", "If-None-Match", `"other"`); resp.StatusCode != 200 {
		t.Errorf("If-None-Match of another version: %s", resp.Status)
	}
	// The API marker on the compact index's manifest, for the search page's probe.
	if resp, _ := fetch("/" + search.ManifestPath); resp.Header.Get(APIHeader) != "api/search" {
		t.Errorf("%s: %s %q", search.ManifestPath, APIHeader, resp.Header.Get(APIHeader))
	}
}

// firstFile returns the path (from dir) of a file under sub whose name ends with ext.
func firstFile(t *testing.T, dir, sub, ext string) string {
	t.Helper()
	var found string
	filepath.WalkDir(filepath.Join(dir, sub), func(p string, d os.DirEntry, err error) error {
		if err == nil && found == "" && !d.IsDir() && strings.HasSuffix(p, ext) {
			found, _ = filepath.Rel(dir, p)
		}
		return nil
	})
	if found == "" {
		t.Fatalf("no %s file under %s", ext, sub)
	}
	return filepath.ToSlash(found)
}

// TestHeadersFile: the build writes _headers with the same rules serve applies.
func TestHeadersFile(t *testing.T) {
	dir := sharedSite(t)
	data, err := os.ReadFile(filepath.Join(dir, headers.FileName))
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	logo := firstFile(t, dir, "products", ".svg")
	for _, want := range []string{
		"/*\n  Content-Security-Policy: " + headers.ContentSecurityPolicy + "\n",
		"  X-Content-Type-Options: nosniff\n",
		"/static/*\n  Cache-Control: " + headers.Immutable + "\n",
		"/" + search.ShardDir + "/*\n  Cache-Control: " + headers.Immutable + "\n",
		"/" + logo + "\n  Content-Security-Policy: " + headers.SVGPolicy + "\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("_headers lacks %q:\n%s", want, text)
		}
	}
}

// TestHostingDocsQuoteTheHeaders keeps CONTRIBUTING's table and nginx snippet in step with the
// headers serve sends and build writes.
func TestHostingDocsQuoteTheHeaders(t *testing.T) {
	data, err := os.ReadFile("../../CONTRIBUTING.md")
	if err != nil {
		t.Fatal(err)
	}
	guide := string(data)
	for _, v := range []string{headers.ContentSecurityPolicy, headers.SVGPolicy, headers.Immutable, headers.Revalidate, APIHeader} {
		if n := strings.Count(guide, v); n < 2 && v != APIHeader {
			t.Errorf("CONTRIBUTING.md quotes %q %d times, want it in the table and the nginx snippet", v, n)
		} else if n == 0 {
			t.Errorf("CONTRIBUTING.md does not mention %s", v)
		}
	}
	for _, h := range headers.Security {
		if !strings.Contains(guide, "add_header "+h[0]) {
			t.Errorf("the nginx snippet does not send %s", h[0])
		}
	}
}
