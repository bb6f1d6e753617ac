package preview

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hspc/marketplace/generator"
	"github.com/hspc/marketplace/theme"
)

// copyExample copies the repository's example catalog into a temporary folder that the test may
// edit, and returns it.
func copyExample(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"products", "signatures"} {
		if err := os.CopyFS(filepath.Join(dir, name), os.DirFS(filepath.Join("..", "..", name))); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(filepath.Join("..", "..", "index.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "index.toml"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// start runs a preview of root on a loopback port until the test ends and returns its base URL.
func start(t testing.TB, root string) (*Server, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s, err := New(ctx, Options{Build: generator.Options{Root: root, Theme: theme.FS, Verify: generator.VerifySkip}, Log: testLog{t}})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, l) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
		s.Close()
	})
	return s, "http://" + l.Addr().String()
}

type testLog struct{ t testing.TB }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func get(t testing.TB, url string) (int, string) {
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
	return resp.StatusCode, string(body)
}

func edit(t testing.TB, file, old, new string) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte(old)) {
		t.Fatalf("%s has no %q", file, old)
	}
	if err := os.WriteFile(file, bytes.Replace(data, []byte(old), []byte(new), 1), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestPreviewOverHTTP follows one page through a save, an error and its fix, over HTTP and the
// event stream, and checks that nothing was written into the catalog.
func TestPreviewOverHTTP(t *testing.T) {
	root := copyExample(t)
	before := listFiles(t, root)
	s, base := start(t, root)
	const pagePath = "/products/acme/fhir/index.html"
	code, body := get(t, base+pagePath)
	if code != http.StatusOK || !strings.Contains(body, "FHIR R4 server on PostgreSQL") || !strings.Contains(body, `src="/_preview/live.js"`) {
		t.Fatalf("GET %s: %d\n%.400s", pagePath, code, body)
	}
	if strings.Contains(body, "marketplace-preview-overlay") {
		t.Errorf("overlay on a catalog without errors")
	}
	css := regexp.MustCompile(`href="(?:\.\./)*(static/style\.[0-9a-f]+\.css)"`).FindStringSubmatch(body)
	if css == nil {
		t.Fatalf("the page links no stylesheet:\n%.600s", body)
	}
	for _, p := range []string{"/", "/products/index.html", "/api/v1/catalog.json", "/api/v1/search.json", "/" + css[1], "/_preview/live.js"} {
		if code, _ := get(t, base+p); code != http.StatusOK {
			t.Errorf("GET %s: %d", p, code)
		}
	}
	if code, body := get(t, base+"/no/such/page.html"); code != http.StatusNotFound || !strings.Contains(body, "live.js") {
		t.Errorf("missing page: %d", code)
	}

	events := subscribe(t, base)
	if v := <-events; v != s.Version() {
		t.Fatalf("first event: version %d, want %d", v, s.Version())
	}
	file := filepath.Join(root, "products", "acme", "fhir.toml")
	// A save may reach the watcher as several events (truncate, write): wait for the page to
	// show the saved state rather than for one event.
	page := func(want func(string) bool) string {
		t.Helper()
		for {
			_, body := get(t, base+pagePath)
			if want(body) {
				return body
			}
			waitEvent(t, events)
		}
	}
	edit(t, file, "FHIR R4 server on PostgreSQL", "FHIR R4 server (edited) on PostgreSQL")
	page(func(b string) bool { return strings.Contains(b, "FHIR R4 server (edited) on PostgreSQL") })

	edit(t, file, "memory = 2048", `memory = "lots"`)
	body = page(func(b string) bool { return strings.Contains(b, "marketplace-preview-overlay") })
	if !strings.Contains(body, "products/acme/fhir.toml:57:12: error: memory: got string &#34;lots&#34;, want integer") {
		t.Errorf("the overlay does not show the positioned error:\n%s", body[strings.Index(body, "marketplace-preview-overlay"):])
	}
	if !strings.Contains(body, "FHIR R4 server (edited) on PostgreSQL") {
		t.Errorf("the page under the overlay is not the last version without errors")
	}

	edit(t, file, `memory = "lots"`, "memory = 2048")
	page(func(b string) bool { return !strings.Contains(b, "marketplace-preview-overlay") })
	if after := listFiles(t, root); !equal(before, after) {
		t.Errorf("the preview wrote files: before %d, after %d", len(before), len(after))
	}
}

func listFiles(t testing.TB, root string) []string {
	var out []string
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil {
			out = append(out, p)
		}
		return nil
	})
	return out
}

func equal(a, b []string) bool { return strings.Join(a, "\n") == strings.Join(b, "\n") }

// subscribe reads the preview's event stream and sends each version it announces.
func subscribe(t testing.TB, base string) <-chan uint64 {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", base+Prefix+"events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("events: Content-Type %q", ct)
	}
	out := make(chan uint64, 16)
	go func() {
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				var n uint64
				for _, c := range v {
					n = n*10 + uint64(c-'0')
				}
				out <- n
			}
		}
	}()
	t.Cleanup(cancel)
	return out
}

func waitEvent(t testing.TB, events <-chan uint64) uint64 {
	t.Helper()
	select {
	case v := <-events:
		return v
	case <-time.After(20 * time.Second):
		t.Fatal("no event within 20 s of the save")
		return 0
	}
}
