package federate

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hspc/marketplace/catalog"
	"github.com/hspc/marketplace/catalog/trust"
)

// publishSite writes the signed output of the upstream catalog in s (its catalog.json, as
// the generator writes it: product IDs and their builds' digests) to site, and signs it with
// the key folder keys, continuing the versions of the previous output in site.
// Digests in omit are left out, as when the Git repository is ahead of the published site.
func publishSite(t *testing.T, s *source, site, keys string, now time.Time, omit ...string) *trust.Signed {
	t.Helper()
	c, ds := catalog.Check(os.DirFS(s.work))
	if ds.HasErrors() {
		t.Fatalf("the upstream catalog has errors: %v", ds)
	}
	type build struct {
		Version string `json:"version"`
		Image   string `json:"image"`
		Digest  string `json:"digest"`
	}
	type product struct {
		ID     string  `json:"id"`
		Builds []build `json:"builds"`
	}
	var doc struct {
		Products []product `json:"products"`
	}
	for _, id := range c.SortedProductIDs() {
		p := product{ID: id}
		for _, b := range c.Products[id].Builds {
			if contains(omit, b.Digest()) {
				continue
			}
			p.Builds = append(p.Builds, build{b.Version, b.Image, b.Digest()})
		}
		doc.Products = append(doc.Products, p)
	}
	data, _ := json.Marshal(doc)
	os.MkdirAll(filepath.Join(site, "api", "v1"), 0o755)
	if err := os.WriteFile(filepath.Join(site, "api", "v1", "catalog.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	k, err := trust.LoadKeys(keys)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := trust.Sign(site, site, k, trust.SignOptions{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

// signedUpstream is an upstream catalog with a published, signed site served over HTTP, and
// a hospital that federates it with site and root set.
type signedUpstream struct {
	up   *source
	keys string
	site string
	srv  *httptest.Server
	h    *hospital
}

func newSignedUpstream(t *testing.T) *signedUpstream {
	t.Helper()
	s := &signedUpstream{up: newSource(t, "acme", "hspc"), keys: filepath.Join(t.TempDir(), "keys"), site: t.TempDir()}
	if _, err := trust.Init(s.keys, trust.KeyOptions{Keys: 1}); err != nil {
		t.Fatal(err)
	}
	publishSite(t, s.up, s.site, s.keys, time.Now())
	s.srv = httptest.NewServer(http.FileServer(http.Dir(s.site)))
	t.Cleanup(s.srv.Close)
	root, err := os.ReadFile(filepath.Join(s.keys, "root.json"))
	if err != nil {
		t.Fatal(err)
	}
	s.h = newHospital(t, "")
	idx := s.h.read("index.toml")
	s.h.commit("a signed upstream", map[string]string{
		"index.toml":                  idx + upstreamTOML("partner", s.up.bare, "acme", "hspc") + fmt.Sprintf("site = %q\nroot = \"upstreams/partner-root.json\"\n", s.srv.URL+"/"),
		"upstreams/partner-root.json": string(root),
	})
	return s
}

func (s *signedUpstream) update(t *testing.T) ([]Updated, string) {
	t.Helper()
	done, ds, err := Update(context.Background(), s.h.work, nil, s.h.opts(false))
	if err != nil {
		t.Fatal(err)
	}
	return done, messages(ds)
}

func (s *signedUpstream) lock(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(s.h.work, catalog.LockFile))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestSignedUpstreamMatches(t *testing.T) {
	s := newSignedUpstream(t)
	done, msgs := s.update(t)
	if msgs != "" || len(done) != 1 || done[0].New != s.up.head() || done[0].Snapshot != 1 {
		t.Fatalf("update of an upstream its signed site vouches for: %+v\n%s", done, msgs)
	}
	if lock := s.lock(t); !strings.Contains(lock, "snapshot = 1") || !strings.Contains(lock, s.up.head()) {
		t.Fatalf("upstreams.lock does not record the verified snapshot:\n%s", lock)
	}
	// A cold cache fetches the locked commit, and verifies the signed site again.
	ctx := context.Background()
	fsys := os.DirFS(s.h.work)
	c, _ := catalog.Check(fsys)
	cold := s.h.opts(false)
	cold.CacheDir = t.TempDir()
	fed, ds := Federate(ctx, fsys, c, cold)
	fed.Close()
	if ds.HasErrors() {
		t.Fatalf("Federate with a cold cache: %s", messages(ds))
	}
	cold.CacheDir, cold.TrustTime = t.TempDir(), time.Now().Add(30*24*time.Hour)
	fed, ds = Federate(ctx, fsys, c, cold)
	fed.Close()
	if got := messages(ds); !strings.Contains(got, `error: upstream "partner": signed site `+s.srv.URL+"/: refused (freeze)") {
		t.Fatalf("Federate with a cold cache, a month later: %s", got)
	}
	// Offline: the site's output carried in on media, checked at an explicit reference time.
	media := filepath.Join(t.TempDir(), "partner")
	copyTree(t, s.site, media)
	opts := s.h.opts(false)
	opts.Sites = map[string]string{"partner": media}
	opts.TrustTime = time.Now().Add(24 * time.Hour)
	if _, ds, err := Update(context.Background(), s.h.work, nil, opts); err != nil || ds.HasErrors() {
		t.Fatalf("update from media: %v\n%s", err, messages(ds))
	}
	opts.TrustTime = time.Now().Add(30 * 24 * time.Hour)
	_, ds, err := Update(context.Background(), s.h.work, nil, opts)
	if err != nil || !strings.Contains(messages(ds), "refused (freeze)") || !strings.Contains(messages(ds), "index.toml:") {
		t.Fatalf("update from media a month later: %v\n%s", err, messages(ds))
	}
}

func TestSignedUpstreamRefusesUnsignedProduct(t *testing.T) {
	s := newSignedUpstream(t)
	if _, msgs := s.update(t); msgs != "" {
		t.Fatal(msgs)
	}
	before := s.lock(t)
	// The upstream's Git repository gains a product that its published site has not signed.
	s.up.commit("a product not published yet", map[string]string{"products/acme/fhir-next.toml": s.up.read("products/acme/fhir.toml")})
	_, msgs := s.update(t)
	want := `partner:products/acme/fhir-next.toml:1:1: error: upstream partner: product acme/fhir-next is not in its signed catalog (timestamp v1): its Git commit carries a product its signed site does not`
	if !strings.Contains(msgs, want) {
		t.Fatalf("update of a commit with an unsigned product:\n%s\nwant %s", msgs, want)
	}
	if after := s.lock(t); after != before {
		t.Fatalf("a refused update changed upstreams.lock:\n%s", after)
	}
	// Once the upstream publishes it, the commit is pinned.
	publishSite(t, s.up, s.site, s.keys, time.Now())
	done, msgs := s.update(t)
	if msgs != "" || done[0].Snapshot != 2 || !strings.Contains(s.lock(t), "snapshot = 2") {
		t.Fatalf("update once published: %+v\n%s", done, msgs)
	}
}

func TestSignedUpstreamRefusesTamperedSite(t *testing.T) {
	s := newSignedUpstream(t)
	// The signed catalog.json is changed on the server after signing.
	files, _ := filepath.Glob(filepath.Join(s.site, trust.MetadataDir, "targets", "api", "v1", "*.catalog.json"))
	if len(files) == 0 {
		t.Fatal("no signed catalog.json in the site")
	}
	for _, f := range files {
		data, _ := os.ReadFile(f)
		os.WriteFile(f, []byte(strings.Replace(string(data), "acme/fhir", "acme/evil", 1)), 0o644)
	}
	_, msgs := s.update(t)
	if !strings.Contains(msgs, `index.toml:`) || !strings.Contains(msgs, `upstream "partner": signed site `+s.srv.URL+"/: refused (tampered)") {
		t.Fatalf("update from a tampered site:\n%s", msgs)
	}
	if _, err := os.Stat(filepath.Join(s.h.work, catalog.LockFile)); err == nil {
		t.Fatal("a refused update wrote upstreams.lock")
	}
}

func TestSignedUpstreamRefusesRollback(t *testing.T) {
	s := newSignedUpstream(t)
	old := t.TempDir()
	copyTree(t, s.site, old)
	publishSite(t, s.up, s.site, s.keys, time.Now())
	if done, msgs := s.update(t); msgs != "" || done[0].Snapshot != 2 {
		t.Fatalf("%+v\n%s", done, msgs)
	}
	// Last week's site is replayed: the trusted state in the cache refuses it...
	os.RemoveAll(s.site)
	copyTree(t, old, s.site)
	_, msgs := s.update(t)
	if !strings.Contains(msgs, "refused (rollback)") {
		t.Fatalf("update from a replayed site:\n%s", msgs)
	}
	// ...and so does upstreams.lock when the cache is new (a fresh clone, another machine).
	s.h.cache = t.TempDir()
	_, msgs = s.update(t)
	want := `upstream "partner": signed site ` + s.srv.URL + `/: refused (rollback): upstream partner offers an older signed site than the one verified before: its timestamp is v1, upstreams.lock recorded v2`
	if !strings.Contains(msgs, "upstreams.lock:9:12: error: "+want) {
		t.Fatalf("update from a replayed site with a new cache:\n%s\nwant %s", msgs, want)
	}
	if !strings.Contains(s.lock(t), "snapshot = 2") {
		t.Fatalf("a refused update changed upstreams.lock:\n%s", s.lock(t))
	}
}

func TestSignedUpstreamRefusesUnsignedImage(t *testing.T) {
	s := newSignedUpstream(t)
	// The site was signed before the last build of acme/fhir was added in Git.
	c, _ := catalog.Load(os.DirFS(s.up.work))
	builds := c.Products["acme/fhir"].Builds
	last := builds[len(builds)-1]
	publishSite(t, s.up, s.site, s.keys, time.Now(), last.Digest())
	_, msgs := s.update(t)
	line, col := catalog.KeyPosition(os.DirFS(s.up.work), "products/acme/fhir.toml", fmt.Sprintf("builds[%d].image", len(builds)-1))
	want := fmt.Sprintf("partner:products/acme/fhir.toml:%d:%d: error: upstream partner: product acme/fhir image %s is not in its signed catalog (timestamp v2): its Git commit carries an image its signed site does not; wait until the upstream publishes it, or ask its operators", line, col, last.Digest())
	if !strings.Contains(msgs, want) || strings.Count(msgs, "error:") != 1 {
		t.Fatalf("update of a commit with an unsigned image:\n%s\nwant %s", msgs, want)
	}
}

func TestSignedUpstreamRefusesOtherKeys(t *testing.T) {
	s := newSignedUpstream(t)
	// The catalog is configured with another publisher's root than the one that signed the site.
	other := filepath.Join(t.TempDir(), "keys")
	if _, err := trust.Init(other, trust.KeyOptions{Keys: 1}); err != nil {
		t.Fatal(err)
	}
	root, _ := os.ReadFile(filepath.Join(other, "root.json"))
	s.h.commit("another root", map[string]string{"upstreams/partner-root.json": string(root)})
	_, msgs := s.update(t)
	if !strings.Contains(msgs, `upstream "partner": signed site `+s.srv.URL+"/: refused (wrong key)") {
		t.Fatalf("update with another root:\n%s", msgs)
	}
	if _, err := os.Stat(filepath.Join(s.h.work, catalog.LockFile)); err == nil {
		t.Fatal("a refused update wrote upstreams.lock")
	}
}
