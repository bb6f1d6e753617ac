package generator

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"

	"github.com/hspc/marketplace/catalog/synthetic"
	"github.com/hspc/marketplace/generator/write"
)

// writeCatalog writes a txtar archive of catalog files into a new folder: the whole-catalog
// scenario helper (Hugo's hugolib.Test pattern).
func writeCatalog(t *testing.T, archive string) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range txtar.Parse([]byte(archive)).Files {
		p := filepath.Join(dir, filepath.FromSlash(f.Name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// readTree returns every file under dir by slash path.
func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir+string(filepath.Separator), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir+string(filepath.Separator), p)
		out[filepath.ToSlash(rel)] = data
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

const small = `
-- index.toml --
[catalog]
name = "Small"
[[interfaces]]
id = "hl7-fhir-r4"
name = "HL7 FHIR R4"
properties = ["url"]
-- products/acme/publisher.toml --
name = "Acme"
maintainers = ["acme"]
[[signers]]
issuer = "https://issuer.example"
subject = "release"
-- products/acme/fhir.toml --
name = "Acme FHIR"
summary = "FHIR server"
license = "MIT"
[identity]
sso = []
tracing = "none"
[[builds]]
version = "1.0.0"
image = "ghcr.io/acme/fhir@sha256:1111111111111111111111111111111111111111111111111111111111111111"
released = 2026-01-05
  [[builds.tasks]]
  name = "web"
  memory = 256
  ports = [{ port = 8080, protocol = "http", health = "/healthz" }]
  [[builds.exposes]]
  interface = "hl7-fhir-r4"
  task = "web"
  port = 8080
  [builds.smoke_test]
  task = "web"
  command = ["/smoke"]
`

func TestBuildExampleIsReproducible(t *testing.T) {
	var outs [2]map[string][]byte
	for i := range outs {
		out := filepath.Join(t.TempDir(), "public")
		res, err := Build(context.Background(), Options{Root: "..", Out: out, Verify: VerifyOffline})
		if err != nil {
			t.Fatalf("build: %v\n%v", err, res.Diagnostics)
		}
		outs[i] = readTree(t, out)
	}
	if len(outs[0]) != len(outs[1]) {
		t.Fatalf("%d files, then %d", len(outs[0]), len(outs[1]))
	}
	for name, data := range outs[0] {
		// The bleve index is a database (bolt file, segment files) whose bytes bleve does not
		// keep stable; everything else, the JSON search data included, must be identical.
		if strings.HasPrefix(name, "search.bleve/") {
			continue
		}
		if !bytes.Equal(data, outs[1][name]) {
			t.Errorf("%s differs between two builds of the same commit", name)
		}
	}
	for _, want := range []string{"index.html", "404.html", "sitemap.xml", "robots.txt", "feed.json",
		"products/acme/fhir/index.html", "publishers/acme/index.html", "interfaces/hl7-fhir-r4/index.html",
		"search/index.html", "api/v1/catalog.json", "api/v1/products/acme/fhir.json",
		"deploy/acme/fhir@5.1.0.kubernetes.yaml", "deploy/acme/fhir@5.1.0.compose.yaml", "badges/acme/fhir.svg"} {
		if _, ok := outs[0][want]; !ok {
			t.Errorf("output lacks %s", want)
		}
	}
	// Every example image is verified offline from the committed material, and says so.
	if !bytes.Contains(outs[0]["badges/acme/fhir.svg"], []byte("signed")) {
		t.Errorf("badge does not say signed: %s", outs[0]["badges/acme/fhir.svg"])
	}
	sigs := 0
	for name := range outs[0] {
		if strings.HasPrefix(name, "signatures/sha256-") {
			sigs++
		}
	}
	if sigs != 31 {
		t.Errorf("%d signature files, want one per example digest (31)", sigs)
	}
}

func TestInvalidCatalogWritesNothing(t *testing.T) {
	dir := writeCatalog(t, small)
	out := filepath.Join(t.TempDir(), "public")
	if _, err := Build(context.Background(), Options{Root: dir, Out: out, Verify: VerifySkip}); err != nil {
		t.Fatal(err)
	}
	before := readTree(t, out)

	broken := strings.Replace(small, `memory = 256`, `memory = "lots"`, 1)
	dir2 := writeCatalog(t, broken)
	res, err := Build(context.Background(), Options{Root: dir2, Out: out, Verify: VerifySkip})
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("err = %v, want ErrInvalid", err)
	}
	var text bytes.Buffer
	res.Diagnostics.Write(&text, "text")
	if !strings.Contains(text.String(), `products/acme/fhir.toml:13:12: error: memory: got string "lots", want integer`) {
		t.Errorf("diagnostics = %v", res.Diagnostics)
	}
	after := readTree(t, out)
	if len(after) != len(before) {
		t.Fatalf("output changed: %d files, was %d", len(after), len(before))
	}
	for name, data := range before {
		if !bytes.Equal(data, after[name]) {
			t.Errorf("%s changed by a failed build", name)
		}
	}
	// A first build that fails creates nothing at all.
	fresh := filepath.Join(t.TempDir(), "public")
	Build(context.Background(), Options{Root: dir2, Out: fresh, Verify: VerifySkip})
	if _, err := os.Stat(fresh); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("failed first build created %s", fresh)
	}
}

func TestNotAGitRepositoryStillBuilds(t *testing.T) {
	dir := writeCatalog(t, small)
	var log bytes.Buffer
	out := filepath.Join(t.TempDir(), "public")
	res, err := Build(context.Background(), Options{Root: dir, Out: out, Verify: VerifySkip, Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(log.String(), "not a Git repository") != 1 {
		t.Errorf("log = %q, want one note about Git", log.String())
	}
	feed, _ := os.ReadFile(filepath.Join(out, "feed.json"))
	if !bytes.Contains(feed, []byte(`"date_published": "2026-01-05T00:00:00Z"`)) {
		t.Errorf("feed does not fall back to released dates:\n%s", feed)
	}
	if res.History == nil || len(res.History.Products) != 0 {
		t.Errorf("history = %+v", res.History)
	}
	if _, err := Build(context.Background(), Options{Root: dir, Ref: "HEAD", Out: out, Verify: VerifySkip}); err == nil {
		t.Error("--ref outside Git accepted")
	}
}

// TestDatesFromGit builds a catalog from a real Git repository: dates come from the commits,
// and --ref builds an older revision without a checkout.
func TestDatesFromGit(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	dir := writeCatalog(t, strings.Replace(small, "released = 2026-01-05\n", "", 1))
	git := func(date string, args ...string) {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=T", "GIT_AUTHOR_EMAIL=t@example.org",
			"GIT_COMMITTER_NAME=T", "GIT_COMMITTER_EMAIL=t@example.org",
			"GIT_AUTHOR_DATE="+date, "GIT_COMMITTER_DATE="+date, "GIT_CONFIG_GLOBAL=/dev/null")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git("2026-02-01T10:00:00Z", "init", "-q", "-b", "main")
	git("2026-02-01T10:00:00Z", "add", ".")
	git("2026-02-01T10:00:00Z", "commit", "-q", "-m", "acme/fhir: add 1.0.0")
	p := filepath.Join(dir, "products/acme/fhir.toml")
	data, _ := os.ReadFile(p)
	data = append(data, []byte(`
[[builds]]
version = "1.1.0"
image = "ghcr.io/acme/fhir@sha256:2222222222222222222222222222222222222222222222222222222222222222"
  [[builds.tasks]]
  name = "web"
  memory = 256
`)...)
	os.WriteFile(p, data, 0o644)
	git("2026-03-09T08:30:00Z", "commit", "-q", "-am", "acme/fhir: add 1.1.0")

	out := filepath.Join(t.TempDir(), "public")
	res, err := Build(context.Background(), Options{Root: dir, Out: out, Verify: VerifySkip})
	if err != nil {
		t.Fatalf("%v %v", err, res.Diagnostics)
	}
	ph := res.History.Product("acme/fhir")
	if ph == nil || ph.Added.Format("2006-01-02") != "2026-02-01" || ph.Builds["1.1.0"].Format("2006-01-02") != "2026-03-09" || len(ph.Log) != 2 {
		t.Fatalf("history = %+v", ph)
	}
	page, _ := os.ReadFile(filepath.Join(out, "products/acme/fhir/index.html"))
	if !bytes.Contains(page, []byte("acme/fhir: add 1.1.0")) {
		t.Error("product page has no changelog entry from Git")
	}

	old := filepath.Join(t.TempDir(), "old")
	if _, err := Build(context.Background(), Options{Root: dir, Ref: "HEAD~1", Out: old, Verify: VerifySkip}); err != nil {
		t.Fatal(err)
	}
	doc, _ := os.ReadFile(filepath.Join(old, "api/v1/products/acme/fhir.json"))
	if bytes.Contains(doc, []byte(`"1.1.0"`)) || !bytes.Contains(doc, []byte(`"1.0.0"`)) {
		t.Errorf("--ref HEAD~1 built the wrong revision:\n%s", doc)
	}
}

// TestIncrementalRebuild changes one product of a synthetic catalog and checks that the rebuild
// renders only the pages that show something of it.
// manifestKeys reads the page keys the writer recorded in an output folder.
func manifestKeys(t *testing.T, out string) map[string]string {
	t.Helper()
	keys, ok := write.Keys(out)
	if !ok {
		t.Fatalf("%s has no manifest", out)
	}
	return keys
}

func TestIncrementalRebuild(t *testing.T) {
	dir := t.TempDir()
	if err := synthetic.Write(dir, synthetic.Options{Products: 60, Seed: 7}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "public")
	first, err := Build(context.Background(), Options{Root: dir, Out: out, Verify: VerifySkip})
	if err != nil {
		t.Fatalf("%v %v", err, first.Diagnostics)
	}
	keysBefore := manifestKeys(t, out)
	ids := first.Catalog.SortedProductIDs()
	p := first.Catalog.Products[ids[0]]
	path := filepath.Join(dir, filepath.FromSlash(p.Path))
	data, _ := os.ReadFile(path)
	data = bytes.Replace(data, []byte(`summary = "`), []byte(`summary = "Updated: `), 1)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	second, err := Build(context.Background(), Options{Root: dir, Out: out, Verify: VerifySkip})
	if err != nil {
		t.Fatalf("%v %v", err, second.Diagnostics)
	}
	st := second.Stats
	t.Logf("rebuild after one summary change: %d pages, %d rendered, %d reused", st.Pages, st.Rendered, st.Reused)
	// Only what shows a product's summary may change: its page, JSON and deploy manifests, catalog.json, the feed,
	// its publisher's, categories', interfaces', home and index pages, and the search data. Not the other 59
	// products' pages, badges, manifests or JSON.
	var changed []string
	for path, key := range manifestKeys(t, out) {
		if keysBefore[path] != key {
			changed = append(changed, path)
		}
	}
	slices.Sort(changed)
	if len(changed) != st.Rendered {
		t.Errorf("%d pages rendered but %d keys changed: %v", st.Rendered, len(changed), changed)
	}
	pub := "publishers/" + p.Publisher + "/index.html"
	named := map[string]bool{} // interface pages list the product's card
	for _, b := range p.Builds {
		for _, e := range b.Exposes {
			named["interfaces/"+e.Interface+"/index.html"] = true
		}
		for _, d := range b.Dependencies {
			named["interfaces/"+d.Interface+"/index.html"] = true
		}
	}
	for _, path := range changed {
		switch {
		case path == "products/"+p.ID+"/index.html", path == "api/v1/products/"+p.ID+".json",
			path == "api/v1/catalog.json", path == pub, path == "index.html", path == "products/index.html",
			strings.HasPrefix(path, "categories/"), strings.HasPrefix(path, "api/v1/search"),
			path == "search/index.html", path == "feed.json", named[path],
			// Deploy manifests are keyed by the product file (catalog.Product.Sum), not by what
			// they show of it: hashing the file is cheaper than encoding every build.
			strings.HasPrefix(path, "deploy/"+p.ID+"@"):
		default:
			t.Errorf("%s re-rendered, but it shows nothing of %s's summary", path, p.ID)
		}
	}
	page, _ := os.ReadFile(filepath.Join(out, "products", p.ID, "index.html"))
	if !bytes.Contains(page, []byte("Updated: ")) {
		t.Error("changed product page not re-rendered")
	}
}
