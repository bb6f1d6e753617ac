package site

import (
	"bytes"
	"encoding/xml"
	"flag"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/tools/txtar"

	"github.com/hspc/marketplace/catalog"
	"github.com/hspc/marketplace/generator/page"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/ from the rendered pages")

// png is the smallest file that sniffs as image/png: the signature and an IHDR chunk.
var png = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89")

// testFS returns the catalog of testdata/catalog.txtar.
func testFS(t *testing.T) fstest.MapFS {
	t.Helper()
	ar, err := txtar.ParseFile("testdata/catalog.txtar")
	if err != nil {
		t.Fatal(err)
	}
	fsys := fstest.MapFS{}
	for _, f := range ar.Files {
		fsys[f.Name] = &fstest.MapFile{Data: f.Data}
	}
	fsys["products/acme/fhir/list.png"] = &fstest.MapFile{Data: png}
	return fsys
}

func day(s string) time.Time {
	d, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return d
}

// testInput loads the test catalog, which must validate, with a history for two of its three
// products (openhealth/auth has none, so its dates come from its builds) and image statuses.
func testInput(t *testing.T, fsys fstest.MapFS) Input {
	t.Helper()
	c, ds := catalog.Check(fsys)
	if ds.HasErrors() {
		var b bytes.Buffer
		ds.Write(&b, "text")
		t.Fatalf("test catalog does not validate:\n%s", b.String())
	}
	h := &catalog.History{
		Commit: "0123456789abcdef0123456789abcdef01234567",
		Date:   day("2025-06-01"),
		Products: map[string]*catalog.ProductHistory{
			"acme/fhir": {
				Added: day("2025-01-02"), Changed: day("2025-05-20"),
				Builds: map[string]time.Time{"1.0.0": day("2025-01-02"), "1.1.0": day("2025-04-01"), "2.0.0-rc.1": day("2025-05-20")},
				Log: []catalog.Commit{
					{Hash: "c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3", Date: day("2025-05-20"), Author: "jdoe", Subject: "acme/fhir: 2.0.0-rc.1"},
					{Hash: "b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2", Date: day("2025-04-01"), Author: "acme-bot", Subject: "acme/fhir: 1.1.0"},
					{Hash: "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1", Date: day("2025-01-02"), Author: "jdoe", Subject: "Add acme/fhir"},
				},
			},
			"openhealth/postgres": {
				Added: day("2025-02-14"), Changed: day("2025-02-14"),
				Builds: map[string]time.Time{"16.4.0": day("2025-02-14")},
				Log:    []catalog.Commit{{Hash: "d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4", Date: day("2025-02-14"), Author: "oh-bot", Subject: "Add openhealth/postgres"}},
			},
		},
	}
	return Input{
		Catalog: c,
		History: h,
		Images: map[string]ImageStatus{
			"sha256:1111111111111111111111111111111111111111111111111111111111111111": {State: catalog.ImageFailed, Detail: "signed by an identity the publisher does not list"},
			"sha256:2222222222222222222222222222222222222222222222222222222222222222": {State: catalog.ImageVerified, Signer: "https://github.com/acme/fhir/.github/workflows/release.yml@refs/heads/main"},
			"sha256:4444444444444444444444444444444444444444444444444444444444444444": {State: catalog.ImageUnsigned},
		},
		Files: fsys,
	}
}

// render renders every page, failing the test on an error.
func render(t *testing.T, pages []page.Page) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, p := range pages {
		data, err := p.Bytes()
		if err != nil {
			t.Fatalf("%s: %v", p.Path, err)
		}
		out[p.Path] = data
	}
	return out
}

func mustPages(t *testing.T, in Input) []page.Page {
	t.Helper()
	pages, err := Pages(in)
	if err != nil {
		t.Fatal(err)
	}
	return pages
}

// TestGolden compares every text output for the test catalog with testdata/golden/; the file
// PAGES lists every output path. go test -run TestGolden -update rewrites them.
func TestGolden(t *testing.T) {
	pages := mustPages(t, testInput(t, testFS(t)))
	got := render(t, pages)
	dir := filepath.Join("testdata", "golden")

	var list strings.Builder
	for _, p := range pages {
		list.WriteString(p.Path + "\n")
	}
	files := map[string][]byte{"PAGES": []byte(list.String())}
	for p, data := range got {
		// Theme files and copied assets are compared by the tests that own them, not here.
		if strings.HasPrefix(p, "static/") || !slices.Contains([]string{".html", ".xml", ".txt"}, path.Ext(p)) {
			continue
		}
		files[p] = data
	}

	if *update {
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		for p, data := range files {
			f := filepath.Join(dir, filepath.FromSlash(p))
			if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(f, data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	var onDisk []string
	filepath.WalkDir(dir, func(f string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, f)
			onDisk = append(onDisk, filepath.ToSlash(rel))
		}
		return err
	})
	for _, p := range onDisk {
		if _, ok := files[p]; !ok {
			t.Errorf("testdata/golden/%s is no longer rendered (run with -update)", p)
		}
	}
	for p, data := range files {
		want, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
		if err != nil {
			t.Errorf("%s: %v (run with -update)", p, err)
			continue
		}
		if diff := cmp.Diff(string(want), string(data)); diff != "" {
			t.Errorf("%s differs from testdata/golden (-want +got; run with -update if intended):\n%s", p, diff)
		}
	}
}

// TestDeterministic renders the site twice and expects the same paths, keys and bytes.
func TestDeterministic(t *testing.T) {
	in := testInput(t, testFS(t))
	a, b := mustPages(t, in), mustPages(t, in)
	if len(a) != len(b) {
		t.Fatalf("got %d and %d pages", len(a), len(b))
	}
	ra, rb := render(t, a), render(t, b)
	for i := range a {
		if a[i].Path != b[i].Path || a[i].Key != b[i].Key {
			t.Errorf("page %d: %s %s, then %s %s", i, a[i].Path, a[i].Key, b[i].Path, b[i].Key)
		}
		if !bytes.Equal(ra[a[i].Path], rb[a[i].Path]) {
			t.Errorf("%s: bytes differ between two renders", a[i].Path)
		}
	}
}

// TestOutputs checks what the site promises beyond the goldens: the page set, the assets, and
// sitemap.xml only when base_url is set.
func TestOutputs(t *testing.T) {
	fsys := testFS(t)
	in := testInput(t, fsys)
	got := render(t, mustPages(t, in))
	for _, p := range []string{
		"index.html", "404.html", "robots.txt", "sitemap.xml", "search/index.html",
		"products/index.html", "products/acme/fhir/index.html", "products/acme/fhir/logo.svg",
		"products/acme/fhir/list.png", "products/openhealth/auth/index.html",
		"publishers/index.html", "publishers/acme/index.html", "interfaces/index.html",
		"interfaces/postgresql-16/index.html", "categories/index.html", "categories/fhir-server/index.html",
	} {
		if _, ok := got[p]; !ok {
			t.Errorf("no %s", p)
		}
	}
	// The theme's static files are published under names with their content hash.
	for _, name := range []string{"style.css", "search.js", "favicon.svg"} {
		ext := path.Ext(name)
		re := regexp.MustCompile(`^static/` + regexp.QuoteMeta(strings.TrimSuffix(name, ext)) + `\.[0-9a-f]{10}` + regexp.QuoteMeta(ext) + `$`)
		n := 0
		for p := range got {
			if re.MatchString(p) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d files named static/%s with a content hash", n, name)
		}
	}
	if !bytes.Equal(got["products/acme/fhir/list.png"], png) {
		t.Errorf("screenshot was not copied byte for byte")
	}
	for p, data := range got {
		if path.Ext(p) == ".html" && !bytes.Contains(data, []byte(`<html lang="en">`)) {
			t.Errorf("%s: no <html lang=\"en\">", p)
		}
	}
	// Pages tell how to get the command they tell people to run.
	for _, p := range []string{"index.html", "products/acme/fhir/index.html"} {
		if !bytes.Contains(got[p], []byte("go install github.com/hspc/marketplace/cmd/marketplace@latest")) {
			t.Errorf("%s does not say how to get the marketplace command", p)
		}
	}
	search := string(got["search/index.html"])
	for _, want := range []string{`<script src="../static/search.`, `.js" defer></script>`, `id="q"`, `name="q"`, `id="results"`, `id="facets"`, `<noscript>`} {
		if !strings.Contains(search, want) {
			t.Errorf("search/index.html lacks %s", want)
		}
	}
	fhir := string(got["products/acme/fhir/index.html"])
	for _, want := range []string{
		`href="../../../deploy/acme/fhir@1.1.0.kubernetes.yaml"`, // the latest release, not the rc
		`href="../../../api/v1/products/acme/fhir.json"`,
		`src="../../../badges/acme/fhir.svg"`,
		`href="../../../products/openhealth/postgres/index.html">PostgreSQL</a> <span class="muted">(as PostgreSQL 16)`,
		`href="../../../products/openhealth/auth/index.html">OpenHealth Auth</a>`,
	} {
		if !strings.Contains(fhir, want) {
			t.Errorf("products/acme/fhir/index.html lacks %s", want)
		}
	}
	if i, j := strings.Index(fhir, `id="v2.0.0-rc.1"`), strings.Index(fhir, `id="v1.1.0"`); i < 0 || j < 0 || i > j {
		t.Errorf("builds are not listed by SemVer, latest first")
	}

	in.Catalog.Index.Catalog.BaseURL = ""
	got = render(t, mustPages(t, in))
	if _, ok := got["sitemap.xml"]; ok {
		t.Errorf("sitemap.xml without a base_url")
	}
	if !regexp.MustCompile(`href="/static/style\.[0-9a-f]{10}\.css"`).Match(got["404.html"]) {
		t.Errorf("404.html without base_url does not link from the host root")
	}
}

// TestNotFoundLinksFromTheBasePath: 404.html is served at any depth on any host, so its links
// are root-relative from the path of base_url, never to the production host.
func TestNotFoundLinksFromTheBasePath(t *testing.T) {
	in := testInput(t, testFS(t))
	for _, tt := range []struct{ base, root string }{
		{"https://market.example.org/", "/"},
		{"https://market.example.org", "/"},
		{"https://example.org/hspc/marketplace/", "/hspc/marketplace/"},
		{"", "/"},
	} {
		in.Catalog.Index.Catalog.BaseURL = tt.base
		page := string(render(t, mustPages(t, in))["404.html"])
		for _, want := range []string{`<link rel="stylesheet" href="` + tt.root + `static/style.`, `href="` + tt.root + `products/index.html"`, `action="` + tt.root + `search/index.html"`} {
			if !strings.Contains(page, want) {
				t.Errorf("base_url %q: 404.html lacks %s", tt.base, want)
			}
		}
		if strings.Contains(page, "://") && strings.Contains(page, `href="http`) {
			t.Errorf("base_url %q: 404.html links to a host", tt.base)
		}
	}
}

// TestKeys changes one product's description and expects only that product's page to change key.
func TestKeys(t *testing.T) {
	fsys := testFS(t)
	before := keys(mustPages(t, testInput(t, fsys)))

	edited := strings.Replace(string(fsys["products/acme/fhir.toml"].Data), "Acme FHIR stores resources", "Acme FHIR keeps resources", 1)
	fsys["products/acme/fhir.toml"] = &fstest.MapFile{Data: []byte(edited)}
	after := keys(mustPages(t, testInput(t, fsys)))

	if before["products/acme/fhir/index.html"] == after["products/acme/fhir/index.html"] {
		t.Errorf("the edited product's page kept its key")
	}
	for p, k := range before {
		if p != "products/acme/fhir/index.html" && after[p] != k {
			t.Errorf("%s changed key, but shows nothing of the edited description", p)
		}
	}

	// A new summary shows on cards: the product's publisher page changes, other publishers' do not.
	edited = strings.Replace(edited, `summary = "FHIR R4 server on PostgreSQL"`, `summary = "A FHIR R4 server"`, 1)
	fsys["products/acme/fhir.toml"] = &fstest.MapFile{Data: []byte(edited)}
	again := keys(mustPages(t, testInput(t, fsys)))
	for p, changed := range map[string]bool{
		"products/acme/fhir/index.html":           true,
		"publishers/acme/index.html":              true,
		"publishers/openhealth/index.html":        false,
		"products/openhealth/postgres/index.html": false,
		"products/openhealth/auth/index.html":     false,
	} {
		if (again[p] != after[p]) != changed {
			t.Errorf("%s: key changed = %v, want %v", p, again[p] != after[p], changed)
		}
	}

	// A provider's new name changes the pages that link to it as a provider.
	fsys = testFS(t)
	base := keys(mustPages(t, testInput(t, fsys)))
	renamed := strings.Replace(string(fsys["products/openhealth/auth.toml"].Data), `name = "OpenHealth Auth"`, `name = "OpenHealth Login"`, 1)
	fsys["products/openhealth/auth.toml"] = &fstest.MapFile{Data: []byte(renamed)}
	now := keys(mustPages(t, testInput(t, fsys)))
	if base["products/acme/fhir/index.html"] == now["products/acme/fhir/index.html"] {
		t.Errorf("acme/fhir links to openhealth/auth by name, but kept its key after the rename")
	}
	if base["products/openhealth/postgres/index.html"] != now["products/openhealth/postgres/index.html"] {
		t.Errorf("openhealth/postgres shows nothing of openhealth/auth, but changed key")
	}
}

func keys(pages []page.Page) map[string]string {
	m := map[string]string{}
	for _, p := range pages {
		m[p.Path] = p.Key
	}
	return m
}

// TestHistoryFallback: without Git history, dates come from the builds' released dates.
func TestHistoryFallback(t *testing.T) {
	in := testInput(t, testFS(t))
	in.History = nil
	got := render(t, mustPages(t, in))
	fhir := string(got["products/acme/fhir/index.html"])
	if !strings.Contains(fhir, `<dt>Added</dt><dd><time datetime="2025-01-10">`) {
		t.Errorf("without history, added is not the first released date")
	}
	if !strings.Contains(fhir, "No Git history") {
		t.Errorf("without history, the changelog does not say so")
	}
}

// TestThemeErrors: a theme without the files pages need is an error, not a broken site.
func TestThemeErrors(t *testing.T) {
	in := testInput(t, testFS(t))
	in.Theme = fstest.MapFS{"static/style.css": {Data: []byte("body{}")}}
	if _, err := Pages(in); err == nil || !strings.Contains(err.Error(), "templates/base.html") {
		t.Errorf("got %v, want an error naming templates/base.html", err)
	}
}

// TestSitemapIndex checks that a site with more URLs than one sitemap may hold (50 000 by the
// protocol) gets sitemap.xml as an index of numbered sitemaps, which together list every URL of
// the single sitemap once, and that each file is a document of the sitemaps.org namespace.
func TestSitemapIndex(t *testing.T) {
	fsys := testFS(t)
	in := testInput(t, fsys)
	one := render(t, mustPages(t, in))["sitemap.xml"]
	type urlset struct {
		XMLName xml.Name `xml:"http://www.sitemaps.org/schemas/sitemap/0.9 urlset"`
		URLs    []struct {
			Loc     string `xml:"loc"`
			LastMod string `xml:"lastmod"`
		} `xml:"url"`
	}
	var all urlset
	if err := xml.Unmarshal(one, &all); err != nil {
		t.Fatalf("sitemap.xml: %v", err)
	}
	if len(all.URLs) < 10 {
		t.Fatalf("sitemap.xml has %d URLs; the test needs more", len(all.URLs))
	}

	defer func(n int) { sitemapURLs = n }(sitemapURLs)
	sitemapURLs = 4
	got := render(t, mustPages(t, in))
	var idx struct {
		XMLName  xml.Name `xml:"http://www.sitemaps.org/schemas/sitemap/0.9 sitemapindex"`
		Sitemaps []struct {
			Loc string `xml:"loc"`
		} `xml:"sitemap"`
	}
	if err := xml.Unmarshal(got["sitemap.xml"], &idx); err != nil {
		t.Fatalf("sitemap.xml as an index: %v\n%s", err, got["sitemap.xml"])
	}
	if want := (len(all.URLs) + 3) / 4; len(idx.Sitemaps) != want {
		t.Fatalf("the index lists %d sitemaps, want %d", len(idx.Sitemaps), want)
	}
	base := in.Catalog.Index.Catalog.BaseURL
	var joined []string
	for i, s := range idx.Sitemaps {
		name, ok := strings.CutPrefix(s.Loc, base)
		if !ok || name != fmt.Sprintf("sitemap-%d.xml", i+1) {
			t.Errorf("sitemap %d is at %q, want %ssitemap-%d.xml", i+1, s.Loc, base, i+1)
		}
		var part urlset
		if err := xml.Unmarshal(got[name], &part); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(part.URLs) == 0 || len(part.URLs) > 4 {
			t.Errorf("%s has %d URLs, want 1 to 4", name, len(part.URLs))
		}
		for _, u := range part.URLs {
			joined = append(joined, u.Loc+" "+u.LastMod)
		}
	}
	var want []string
	for _, u := range all.URLs {
		want = append(want, u.Loc+" "+u.LastMod)
	}
	if !slices.Equal(joined, want) {
		t.Errorf("the numbered sitemaps list\n%v\nwant\n%v", joined, want)
	}
	if !strings.Contains(string(got["robots.txt"]), "Sitemap: "+base+"sitemap.xml\n") {
		t.Errorf("robots.txt does not point to the sitemap index:\n%s", got["robots.txt"])
	}
}
