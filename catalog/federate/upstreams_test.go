package federate

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hspc/marketplace/catalog"
	"github.com/hspc/marketplace/catalog/verify"
)

// hospital is a local catalog (a work tree) whose index.toml names upstreams.
type hospital struct {
	*source
	cache string
}

// newHospital makes the local catalog with the example's openhealth publisher and the given
// upstreams (name → url and globs).
func newHospital(t *testing.T, upstreams string, publishers ...string) *hospital {
	t.Helper()
	if len(publishers) == 0 {
		publishers = []string{"openhealth"}
	}
	h := &hospital{source: newSource(t, publishers...), cache: t.TempDir()}
	idx := h.read("index.toml")
	h.commit("upstreams", map[string]string{"index.toml": idx + "\n" + upstreams})
	return h
}

func upstreamTOML(name, url string, globs ...string) string {
	q := make([]string, len(globs))
	for i, g := range globs {
		q[i] = fmt.Sprintf("%q", g)
	}
	return fmt.Sprintf("[[upstreams]]\nname = %q\nurl = %q\npublishers = [%s]\n\n", name, url, strings.Join(q, ", "))
}

func (h *hospital) opts(offline bool) UpstreamOptions {
	return UpstreamOptions{CacheDir: h.cache, Offline: offline, Now: func() time.Time { return time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC) }}
}

// federate loads the local catalog and federates it.
func (h *hospital) federate(t *testing.T, offline bool) (*Federation, catalog.Diagnostics) {
	t.Helper()
	fsys := os.DirFS(h.work)
	c, ds := catalog.Check(fsys)
	if ds.HasErrors() {
		t.Fatalf("the local catalog has errors: %v", ds)
	}
	return Federate(context.Background(), fsys, c, h.opts(offline))
}

func messages(ds catalog.Diagnostics) string {
	var b strings.Builder
	ds.Write(&b, "text")
	return b.String()
}

func TestFederation(t *testing.T) {
	ctx := context.Background()
	a := newSource(t, "acme", "hspc")
	b := newSource(t, "meridian-systems", "northwind-labs")
	h := newHospital(t, upstreamTOML("public", a.bare, "acme", "hspc")+upstreamTOML("partner", b.bundle(), "meridian-*", "northwind-labs"))

	done, ds, err := Update(ctx, h.work, nil, h.opts(false))
	if err != nil || ds.HasErrors() {
		t.Fatalf("Update: %v\n%s", err, messages(ds))
	}
	if len(done) != 2 || done[0].New != a.head() || done[1].New != b.head() {
		t.Fatalf("Update: %+v", done)
	}
	lockData, err := os.ReadFile(filepath.Join(h.work, catalog.LockFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`name = 'public'`, "commit = '" + a.head() + "'", "fetched = '2026-11-02T09:00:00Z'"} {
		if !strings.Contains(string(lockData), want) {
			t.Fatalf("upstreams.lock lacks %s:\n%s", want, lockData)
		}
	}

	fed, ds := h.federate(t, true)
	defer fed.Close()
	if ds.HasErrors() {
		t.Fatalf("Federate: %s", messages(ds))
	}
	c := fed.Catalog
	if len(c.Products) != 14 {
		t.Fatalf("merged catalog has %d products, want 14", len(c.Products))
	}
	for id, want := range map[string]catalog.Origin{
		"acme/fhir":                  {Name: "public", URL: a.bare, Commit: a.head()},
		"openhealth/smtp-relay":      {Name: "local", URL: "https://marketplace.example.org/"},
		"northwind-labs/terminology": {},
	} {
		p := c.Products[id]
		if p == nil {
			continue
		}
		if want.Name != "" && p.Origin != want {
			t.Errorf("%s: origin %+v, want %+v", id, p.Origin, want)
		}
	}
	for id, p := range c.Products {
		if p.Origin.Name == "" || c.Publishers[p.Publisher].Origin != p.Origin {
			t.Errorf("%s: origin %+v, publisher's %+v", id, p.Origin, c.Publishers[p.Publisher].Origin)
		}
	}
	report, vds := fed.Verify(ctx, nil, verify.Options{Offline: true, Material: filepath.Join(h.work, "signatures")})
	if vds.HasErrors() {
		t.Fatalf("Verify: %s", messages(vds))
	}
	if len(report.Images) == 0 {
		t.Fatal("Verify checked no image")
	}
	if fsys := fed.Files(); fsys != nil {
		if _, err := fsys.Open("products/acme/cosign.pub"); err != nil {
			t.Fatalf("Files: an upstream publisher's file: %v", err)
		}
	}

	// The upstream goes away: the warm cache serves the locked commits, even online.
	os.RemoveAll(a.bare)
	fed2, ds := h.federate(t, false)
	fed2.Close()
	if ds.HasErrors() {
		t.Fatalf("Federate with the upstream unreachable and a warm cache: %s", messages(ds))
	}
	// A cold cache offline says how to import the commit.
	h.cache = t.TempDir()
	fed3, ds := h.federate(t, true)
	fed3.Close()
	if got := messages(ds); !strings.Contains(got, "upstreams.lock:") || !strings.Contains(got, `upstream "public": locked commit`) || !strings.Contains(got, "marketplace upstreams update public") {
		t.Fatalf("cold cache, offline: %s", got)
	}
}

func TestFederationRefusals(t *testing.T) {
	ctx := context.Background()
	a := newSource(t, "acme", "hspc")
	tests := []struct {
		name      string
		upstreams string
		local     []string
		prepare   func(t *testing.T)
		want      []string
	}{
		{
			name:      "publisher outside the globs",
			upstreams: upstreamTOML("public", a.bare, "acme"),
			want: []string{
				`public:products/hspc/publisher.toml:1:1: error: upstream "public" publishes publisher "hspc", outside its allowed publishers "acme" (index.toml:`,
			},
		},
		{
			name:      "duplicate publisher",
			upstreams: upstreamTOML("public", a.bare, "acme", "hspc"),
			local:     []string{"openhealth", "acme"},
			want: []string{
				`public:products/acme/publisher.toml:1:1: error: publisher "acme" comes from both the local catalog (products/acme/publisher.toml:1:1) and upstream "public"`,
			},
		},
		{
			name:      "conflicting interface",
			upstreams: upstreamTOML("public", a.bare, "acme", "hspc"),
			prepare: func(t *testing.T) {
				idx := a.read("index.toml")
				a.commit("rename an interface", map[string]string{"index.toml": strings.Replace(idx, `name = "HL7 FHIR R4"`, `name = "FHIR R4 (HL7)"`, 1)})
			},
			want: []string{
				`public:index.toml:`,
				`error: interface "hl7-fhir-r4" is defined differently by the local catalog (index.toml:`,
				`and upstream "public": name "HL7 FHIR R4" versus "FHIR R4 (HL7)"`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.prepare != nil {
				tt.prepare(t)
			}
			h := newHospital(t, tt.upstreams, tt.local...)
			// update refuses to pin the upstream, and writes no lock.
			_, ds, err := Update(ctx, h.work, nil, h.opts(false))
			if err != nil {
				t.Fatal(err)
			}
			check := func(what string, ds catalog.Diagnostics) {
				got := messages(ds)
				for _, w := range tt.want {
					if !strings.Contains(got, w) {
						t.Errorf("%s: diagnostics lack %q:\n%s", what, w, got)
					}
				}
			}
			check("update", ds)
			if _, err := os.Stat(filepath.Join(h.work, catalog.LockFile)); !os.IsNotExist(err) {
				t.Fatalf("a refused update wrote upstreams.lock (%v)", err)
			}
			// A lock written by hand is refused by every command that merges.
			lock := &catalog.Lock{Upstreams: []catalog.LockedUpstream{{Name: "public", URL: a.bare, Commit: a.head(), Fetched: "2026-11-02T09:00:00Z"}}}
			data, err := lock.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(h.work, catalog.LockFile), data, 0o644)
			fed, ds := h.federate(t, false)
			fed.Close()
			check("federate", ds)
		})
	}
}

func TestFederationTamperedUpstream(t *testing.T) {
	ctx := context.Background()
	a := newSource(t, "acme", "hspc")
	h := newHospital(t, upstreamTOML("public", a.bare, "acme", "hspc"))
	if _, ds, err := Update(ctx, h.work, nil, h.opts(false)); err != nil || ds.HasErrors() {
		t.Fatalf("Update: %v %s", err, messages(ds))
	}
	good, _ := os.ReadFile(filepath.Join(h.work, catalog.LockFile))

	// Tamper with the acme/fhir build's signature material.
	fhir := a.read("products/acme/fhir.toml")
	i := strings.Index(fhir, "@sha256:")
	digest := fhir[i+8 : i+8+64]
	sig := "signatures/sha256-" + digest + ".json"
	bad := a.commit("tamper", map[string]string{sig: tamper(a.read(sig))})

	// update refuses to lock it, and leaves the lock as it was.
	_, ds, err := Update(ctx, h.work, nil, h.opts(false))
	if err != nil {
		t.Fatal(err)
	}
	got := messages(ds)
	if !ds.HasErrors() || !strings.Contains(got, "public:products/acme/fhir.toml:") {
		t.Fatalf("Update of a tampered upstream: %s", got)
	}
	if now, _ := os.ReadFile(filepath.Join(h.work, catalog.LockFile)); string(now) != string(good) {
		t.Fatalf("a refused update rewrote upstreams.lock")
	}

	// A lock pinned to it by hand is refused at verification, offline, naming the upstream.
	os.WriteFile(filepath.Join(h.work, catalog.LockFile), []byte(strings.Replace(string(good), a.headBefore(bad), bad, 1)), 0o644)
	fed, ds := h.federate(t, true)
	defer fed.Close()
	if ds.HasErrors() {
		t.Fatalf("Federate: %s", messages(ds))
	}
	_, vds := fed.Verify(ctx, nil, verify.Options{Offline: true, Material: filepath.Join(h.work, "signatures")})
	got = messages(vds)
	if !vds.HasErrors() || !strings.Contains(got, "public:products/acme/fhir.toml:") {
		t.Fatalf("Verify of a tampered upstream: %s", got)
	}
}

// headBefore returns the parent of commit.
func (s *source) headBefore(commit string) string {
	return git(s.t, s.work, "rev-parse", commit+"~1")
}
