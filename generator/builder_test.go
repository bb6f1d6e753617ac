package generator

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/Masterminds/semver/v3"
	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/hspc/marketplace/catalog"
	"github.com/hspc/marketplace/catalog/env"
	"github.com/hspc/marketplace/generator/api"
	"github.com/hspc/marketplace/generator/internal/browsertest"
	"github.com/hspc/marketplace/theme"
)

// The environment builder's resolver is a JavaScript port of catalog/env (theme/static/builder.js).
// These tests hold the port to the Go resolver: both resolve the same environments against the
// same catalog, and their results, reduced to what the builder shows, must be equal.

// builderSummary is a resolution reduced to what the builder shows; builder.js's summarize
// returns the same shape.
type builderSummary struct {
	Services []struct {
		Name, Product, Version string
	} `json:"services"`
	Bindings []struct {
		Consumer, Interface, Provider string
	} `json:"bindings"`
	Missing []struct {
		Consumer   string             `json:"consumer"`
		Interface  string             `json:"interface"`
		Candidates []builderCandidate `json:"candidates"`
	} `json:"missing"`
	Notes  []string `json:"notes"`
	Errors []string `json:"errors"` // kinds, sorted
	// Messages are the messages of the errors whose wording builder.js copies (ambiguous,
	// missing, cycle, binding, property), sorted.
	Messages []string `json:"messages"`
}

// sameWords are the kinds of error whose messages builder.js words as catalog/env does.
var sameWords = map[string]bool{"ambiguous": true, "missing": true, "cycle": true, "binding": true, "property": true}

type builderCandidate struct {
	Product   string `json:"product"`
	Version   string `json:"version"`
	Interface string `json:"interface"`
	Needs     []struct {
		Interface  string             `json:"interface"`
		Provided   string             `json:"provided"`
		Candidates []builderCandidate `json:"candidates"`
	} `json:"needs"`
}

// errorKinds classifies the Go resolver's messages into the kinds builder.js reports.
var errorKinds = []struct {
	kind string
	re   *regexp.Regexp
}{
	{"ambiguous", regexp.MustCompile(`^ambiguous relation: `)},
	{"missing", regexp.MustCompile(` needs \S+ and nothing in the environment provides it`)},
	{"cycle", regexp.MustCompile(`^dependency cycle: `)},
	{"property", regexp.MustCompile(` dependency binds \S+ to property `)},
	{"param", regexp.MustCompile(`required parameter \S+ of .* has no value|is not a parameter of|does not match the parameter's pattern`)},
	{"version", regexp.MustCompile(`^no build of |has no build with a SemVer version|is neither a version nor a SemVer constraint`)},
	{"product", regexp.MustCompile(`^no product `)},
	{"external", regexp.MustCompile(`^unknown interface |is not a property of interface`)},
	{"binding", regexp.MustCompile(`has no dependency on|cannot provide its own|does not provide|^external \S+ provides`)},
}

// goSummary resolves e with the Go resolver, as the builder does: no lock.
func goSummary(t *testing.T, c *catalog.Catalog, e *env.Environment) builderSummary {
	t.Helper()
	res, ds := env.Resolve(c, e, nil, env.Options{Update: true})
	var s builderSummary
	for _, r := range res.Services {
		s.Services = append(s.Services, struct{ Name, Product, Version string }{r.Name, r.Product.ID, r.Build.Version})
	}
	for _, b := range res.Bindings {
		s.Bindings = append(s.Bindings, struct{ Consumer, Interface, Provider string }{b.Consumer.Name, b.Dependency.Interface, b.ProviderName()})
	}
	var cand func(cs []*env.Candidate) []builderCandidate
	cand = func(cs []*env.Candidate) []builderCandidate {
		out := []builderCandidate{}
		for _, c := range cs {
			bc := builderCandidate{Product: c.Product.ID, Version: c.Build.Version, Interface: c.Interface}
			for _, n := range c.Needs {
				bc.Needs = append(bc.Needs, struct {
					Interface  string             `json:"interface"`
					Provided   string             `json:"provided"`
					Candidates []builderCandidate `json:"candidates"`
				}{n.Interface, n.Provided, cand(n.Candidates)})
			}
			out = append(out, bc)
		}
		return out
	}
	for _, m := range res.Missing {
		s.Missing = append(s.Missing, struct {
			Consumer   string             `json:"consumer"`
			Interface  string             `json:"interface"`
			Candidates []builderCandidate `json:"candidates"`
		}{m.Consumer.Name, m.Dependency.Interface, cand(m.Candidates)})
	}
	s.Notes = res.Notes
	for _, d := range ds {
		if d.Severity != catalog.Error {
			continue
		}
		kind := "unclassified: " + d.Message
		for _, k := range errorKinds {
			if k.re.MatchString(d.Message) {
				kind = k.kind
				break
			}
		}
		s.Errors = append(s.Errors, kind)
		if sameWords[kind] {
			s.Messages = append(s.Messages, d.Message)
		}
	}
	slices.Sort(s.Messages)
	// Load rejects a version that is no constraint; an environment built in code skips Load,
	// and the builder reports it while resolving.
	for _, sv := range e.Services {
		if _, err := env.ParseConstraint(sv.Version); sv.Version != "" && err != nil {
			s.Errors = append(s.Errors, "version")
		}
	}
	slices.Sort(s.Errors)
	return s
}

// jsEnv is an environment as builder.js holds it: values are {text} or {secret}.
func jsEnv(e *env.Environment) map[string]any {
	value := func(v env.Value) map[string]string {
		if v.Secret != "" {
			return map[string]string{"secret": v.Secret}
		}
		return map[string]string{"text": v.Text}
	}
	values := func(m map[string]env.Value) map[string]any {
		out := map[string]any{}
		for k, v := range m {
			out[k] = value(v)
		}
		return out
	}
	var services, externals, bindings []any
	for _, s := range e.Services {
		services = append(services, map[string]any{"name": s.Name, "product": s.Product, "version": s.Version, "params": values(s.Params)})
	}
	for _, x := range e.Externals {
		externals = append(externals, map[string]any{"name": x.Name, "interface": x.Interface, "properties": values(x.Properties)})
	}
	for _, b := range e.Bindings {
		bindings = append(bindings, map[string]any{"service": b.Service, "interface": b.Interface, "provider": b.Provider})
	}
	return map[string]any{"name": e.Name, "platform": e.Platform, "namespace": e.Namespace,
		"services": services, "externals": externals, "bindings": bindings}
}

// builderScript serves builder.js from the embedded theme on a blank page and returns the
// browser on it.
func builderScript(t *testing.T) context.Context {
	t.Helper()
	ctx := browsertest.Start(t)
	static, err := fs.Sub(theme.FS, "static")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!DOCTYPE html><title>builder.js</title><script src="static/builder.js"></script>`)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	if err := chromedp.Run(ctx, chromedp.Navigate(srv.URL+"/"), chromedp.WaitReady("body", chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	return ctx
}

// jsSummaries resolves every environment with builder.js against c, in the browser, from the
// documents the site publishes: api/v1/builder.json and the per-product documents.
func jsSummaries(t *testing.T, ctx context.Context, c *catalog.Catalog, envs []*env.Environment) []builderSummary {
	t.Helper()
	index, err := api.BuilderPage(c).Render()
	if err != nil {
		t.Fatal(err)
	}
	docs := map[string]json.RawMessage{}
	for _, p := range api.Pages(api.Input{Catalog: c}) {
		id, ok := strings.CutPrefix(p.Path, "api/v1/products/")
		if !ok {
			continue
		}
		data, err := p.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		docs[strings.TrimSuffix(id, ".json")] = data
	}
	var in []any
	for _, e := range envs {
		in = append(in, jsEnv(e))
	}
	arg, err := json.Marshal(map[string]any{"index": json.RawMessage(index), "docs": docs, "envs": in})
	if err != nil {
		t.Fatal(err)
	}
	expr := `(function (a) {
		var c = new HSPBuilder.Catalog(a.index);
		c.docs = a.docs;
		return JSON.stringify(a.envs.map(function (e) { return HSPBuilder.summarize(HSPBuilder.resolve(c, e)); }));
	})(` + string(arg) + `)`
	var out string
	if err := chromedp.Run(ctx, chromedp.Evaluate(expr, &out)); err != nil {
		t.Fatal(err)
	}
	var sums []builderSummary
	if err := json.Unmarshal([]byte(out), &sums); err != nil {
		t.Fatal(err)
	}
	if len(sums) != len(envs) {
		t.Fatalf("%d results for %d environments", len(sums), len(envs))
	}
	return sums
}

// checkedCatalog loads and checks the example catalog (a fresh copy the caller may change).
func checkedCatalog(t *testing.T) *catalog.Catalog {
	t.Helper()
	c, ds := catalog.Check(os.DirFS(".."))
	if ds.HasErrors() {
		t.Fatalf("the example catalog does not validate: %v", ds)
	}
	return c
}

func svc(name, product, version string, params ...string) env.Service {
	s := env.Service{Name: name, Product: product, Version: version, Params: map[string]env.Value{}}
	for i := 0; i+1 < len(params); i += 2 {
		if sec, ok := strings.CutPrefix(params[i+1], "secret:"); ok {
			s.Params[params[i]] = env.Value{Secret: sec}
		} else {
			s.Params[params[i]] = env.Value{Text: params[i+1]}
		}
	}
	return s
}

func ext(name, iface string, props ...string) env.External {
	x := env.External{Name: name, Interface: iface, Properties: map[string]env.Value{}}
	for i := 0; i+1 < len(props); i += 2 {
		if sec, ok := strings.CutPrefix(props[i+1], "secret:"); ok {
			x.Properties[props[i]] = env.Value{Secret: sec}
		} else {
			x.Properties[props[i]] = env.Value{Text: props[i+1]}
		}
	}
	return x
}

var (
	sso  = ext("sso", "oidc", "issuer", "https://sso.example/realm", "client_id", "fhir", "client_secret", "secret:OIDC_SECRET")
	mail = ext("mail", "smtp", "url", "secret:SMTP_URL", "from", "fhir@example.org")
)

// TestBuilderResolverMatchesGo compares builder.js with catalog/env over every build of every
// example product alone, every example environment, and multi-service environments with shared,
// ambiguous, explicit, external, missing and cyclic relations, on the example catalog and on a
// copy changed to hold a cycle, a pre-release and a transitive substitute.
func TestBuilderResolverMatchesGo(t *testing.T) {
	ctx := builderScript(t)

	type named struct {
		name string
		env  *env.Environment
	}
	compare := func(t *testing.T, c *catalog.Catalog, cases []named) {
		var envs []*env.Environment
		for _, cs := range cases {
			envs = append(envs, cs.env)
		}
		js := jsSummaries(t, ctx, c, envs)
		kinds := map[string]bool{}
		for i, cs := range cases {
			want := goSummary(t, c, cs.env)
			for _, k := range want.Errors {
				kinds[k] = true
			}
			if d := cmp.Diff(want, js[i], cmpopts.EquateEmpty()); d != "" {
				t.Errorf("%s: builder.js differs from catalog/env (-go +js):\n%s", cs.name, d)
			}
		}
		t.Logf("%d environments compared; error kinds seen: %v", len(cases), slices.Sorted(func(yield func(string) bool) {
			for k := range kinds {
				if !yield(k) {
					return
				}
			}
		}))
	}

	t.Run("example", func(t *testing.T) {
		c := checkedCatalog(t)
		var cases []named
		for _, id := range c.SortedProductIDs() {
			p := c.Products[id]
			cases = append(cases, named{id + " newest", &env.Environment{Services: []env.Service{svc("", id, "")}}})
			for _, b := range p.Builds {
				cases = append(cases, named{id + " " + b.Version, &env.Environment{Services: []env.Service{svc("", id, b.Version)}}})
			}
		}
		files, _ := filepath.Glob("../environments/*.toml")
		if len(files) == 0 {
			t.Fatal("no example environments")
		}
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			e, ds := env.Load(f, data)
			if ds.HasErrors() {
				t.Fatalf("%v", ds)
			}
			cases = append(cases, named{f, e})
		}
		fhir := svc("fhir", "acme/fhir", "^5", "FHIR_BASE_URL", "https://fhir.example.org/fhir")
		db := svc("db", "openhealth/postgres", "^17", "POSTGRES_DB", "fhir", "POSTGRES_USER", "fhir")
		more := []named{
			{"fhir with a database and externals", &env.Environment{Services: []env.Service{fhir, db}, Externals: []env.External{sso, mail}}},
			{"fhir alone: three unmet", &env.Environment{Services: []env.Service{fhir}}},
			{"fhir with the database only", &env.Environment{Services: []env.Service{fhir, db}}},
			{"identity stack: shared database, directory", &env.Environment{Services: []env.Service{fhir, db,
				svc("idp", "meridian-systems/identity", ""), svc("", "openhealth/directory", ""), svc("", "openhealth/smtp-relay", "")}}},
			{"ambiguous: two databases", &env.Environment{Services: []env.Service{fhir, db, svc("db2", "openhealth/postgres", "^16")}, Externals: []env.External{sso, mail}}},
			{"ambiguous: database and external", &env.Environment{Services: []env.Service{fhir, db}, Externals: []env.External{sso, mail, ext("rds", "postgresql", "url", "secret:RDS_URL")}}},
			{"ambiguity bound explicitly", &env.Environment{Services: []env.Service{fhir, db, svc("db2", "openhealth/postgres", "^16")}, Externals: []env.External{sso, mail},
				Bindings: []env.Binding{{Service: "fhir", Interface: "postgresql", Provider: "db2"}}}},
			{"bound to an external over a service", &env.Environment{Services: []env.Service{fhir, db}, Externals: []env.External{sso, mail, ext("rds", "postgresql", "url", "secret:RDS_URL")},
				Bindings: []env.Binding{{Service: "fhir", Interface: "postgresql", Provider: "rds"}}}},
			{"wrong bindings", &env.Environment{Services: []env.Service{fhir, db}, Externals: []env.External{sso, mail},
				Bindings: []env.Binding{{Service: "fhir", Interface: "smtp", Provider: "db"}, {Service: "db", Interface: "oidc", Provider: "sso"}, {Service: "fhir", Interface: "oidc", Provider: "mail"}}}},
			{"bound value against the parameter's pattern", &env.Environment{Services: []env.Service{fhir, db}, Externals: []env.External{ext("sso", "oidc", "issuer", "sso.example", "client_id", "x", "client_secret", "secret:S"), mail}}},
			{"external lacks a bound property", &env.Environment{Services: []env.Service{fhir, db}, Externals: []env.External{ext("sso", "oidc", "issuer", "https://sso.example"), mail}}},
			{"unknown external interface and property", &env.Environment{Services: []env.Service{fhir, db}, Externals: []env.External{sso, mail, ext("x", "nope"), ext("y", "smtp", "colour", "red")}}},
			{"parameters: unknown, pattern", &env.Environment{Services: []env.Service{svc("fhir", "acme/fhir", "^5", "FHIR_BASE_URL", "ftp://x", "NOPE", "1"), db}, Externals: []env.External{sso, mail}}},
			{"constraints", &env.Environment{Services: []env.Service{svc("a", "openhealth/postgres", "^16"), svc("b", "openhealth/postgres", "~17.6"),
				svc("c", "openhealth/postgres", ">= 17.0, < 17.7"), svc("d", "openhealth/postgres", "^99"), svc("e", "acme/fhir", "5.x"), svc("f", "acme/fhir", "5.0.0 - 5.0.9"),
				svc("g", "openhealth/otel-collector", "!=0.140.0"), svc("h", "openhealth/postgres", "^x.y")}}},
			{"transitive candidates", &env.Environment{Services: []env.Service{svc("", "acme/sandbox-emr", ""), svc("", "hspc/smart-demo", ""), svc("", "meridian-systems/scim-bridge", "")}}},
			{"substitutes: US Core serves FHIR R4", &env.Environment{Services: []env.Service{svc("", "hspc/smart-demo", ""), svc("", "hspc/fhir-api", ""), db}, Externals: []env.External{sso}}},
			{"unknown product", &env.Environment{Services: []env.Service{svc("", "acme/nothing", "")}}},
		}
		compare(t, c, append(cases, more...))
	})

	t.Run("changed", func(t *testing.T) {
		c := checkedCatalog(t)
		// A cycle: the directory now needs OpenID Connect, which identity provides, and
		// identity needs the directory's LDAP.
		dir := c.Products["openhealth/directory"]
		for i := range dir.Builds {
			dir.Builds[i].Dependencies = append(dir.Builds[i].Dependencies, catalog.Dependency{Interface: "oidc"})
		}
		// A pre-release newer than every release.
		pg := c.Products["openhealth/postgres"]
		rc := pg.Builds[0]
		rc.Version = "18.0.0-rc.1"
		pg.Builds = append(pg.Builds, rc)
		// A substitute of a substitute: postgresql-17-ha serves postgresql-17, which serves postgresql.
		c.Index.Interfaces = append(c.Index.Interfaces, catalog.Interface{ID: "postgresql-17-ha", Name: "PostgreSQL 17 HA", SubstitutesFor: []string{"postgresql-17"}})
		c.Products["openhealth/smtp-relay"].Builds[0].Exposes = append(c.Products["openhealth/smtp-relay"].Builds[0].Exposes, catalog.Exposure{Interface: "postgresql-17-ha", Task: c.Products["openhealth/smtp-relay"].Builds[0].Tasks[0].Name, Port: 5432})
		var cases []named
		for _, id := range c.SortedProductIDs() {
			cases = append(cases, named{id + " newest", &env.Environment{Services: []env.Service{svc("", id, "")}}})
		}
		cases = append(cases,
			named{"cycle", &env.Environment{Services: []env.Service{svc("idp", "meridian-systems/identity", ""), svc("ldap", "openhealth/directory", ""), svc("db", "openhealth/postgres", "")}}},
			named{"cycle with fhir", &env.Environment{Services: []env.Service{svc("fhir", "acme/fhir", ""), svc("idp", "meridian-systems/identity", ""), svc("ldap", "openhealth/directory", ""), svc("db", "openhealth/postgres", "^17")}, Externals: []env.External{mail}}},
			named{"pre-releases", &env.Environment{Services: []env.Service{svc("a", "openhealth/postgres", ""), svc("b", "openhealth/postgres", ">= 18.0.0-rc.0"), svc("c", "openhealth/postgres", "^18")}}},
			named{"substitute of a substitute", &env.Environment{Services: []env.Service{svc("fhir", "acme/fhir", ""), svc("mail", "openhealth/smtp-relay", "")}, Externals: []env.External{sso}}},
		)
		compare(t, c, cases)
	})
}

// TestBuilderSemVerMatchesMasterminds checks builder.js's reading of versions and constraints
// against github.com/Masterminds/semver/v3, the library the Go resolver uses.
func TestBuilderSemVerMatchesMasterminds(t *testing.T) {
	ctx := builderScript(t)
	constraints := []string{"^5", "^5.1", "^0.2.3", "^0.0.3", "^0", "^0.0", "^1.0.0-rc.1", "~5.0", "~1", "~1.2.3", "~0.0.0", "~>1.2",
		">= 5.0, < 6", ">=1.2 <1.4.5", "1.2 - 1.4.5", "5.x", "5.0.x", "*", "x", "1.2.3", "=1.2.3", "v1.2.3", "!=1.2.3", "!=1.x", "!=1.2.x",
		">1.2", ">1", ">1.2.3", "<1.2", "<=1.2", "<=1", "=<1.2.3", "=>1.2.0", ">=1.0.0-alpha", "^1.0.0-rc.1 || ^2", "1.2.3 || 2.x", "< 2.0.0-0",
		"^x.y", "abc", ">>1", "1.2.3.4", "", " ^5 "}
	versions := []string{"0.0.3", "0.0.4", "0.2.3", "0.2.9", "0.3.0", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta.2",
		"1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.2.0", "1.2.3", "1.2.4-beta.2", "1.4.5", "1.5.0", "2.0.0", "2.0.0-0", "5.0.0", "5.1.0",
		"6.0.0-rc.1", "17.7.0", "2026.1.0"}
	type row struct {
		Constraint string `json:"constraint"`
		Error      bool   `json:"error"`
		Matches    []bool `json:"matches"`
	}
	var want []row
	for _, s := range constraints {
		r := row{Constraint: s}
		c, err := semver.NewConstraint(s)
		r.Error = err != nil
		for _, v := range versions {
			r.Matches = append(r.Matches, err == nil && c.Check(semver.MustParse(v)))
		}
		want = append(want, r)
	}
	arg, _ := json.Marshal(map[string]any{"constraints": constraints, "versions": versions})
	var out string
	err := chromedp.Run(ctx, chromedp.Evaluate(`(function (a) {
		var H = HSPBuilder;
		var vs = a.versions.map(H.parseVersion);
		return JSON.stringify(a.constraints.map(function (s) {
			var g;
			try { g = H.parseConstraint(s); } catch (e) { return { constraint: s, error: true, matches: vs.map(function () { return false; }) }; }
			return { constraint: s, error: false, matches: vs.map(function (v) { return H.checkConstraint(g, v); }) };
		}));
	})(`+string(arg)+`)`, &out))
	if err != nil {
		t.Fatal(err)
	}
	var got []row
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("builder.js reads constraints differently from Masterminds/semver (-go +js):\n%s", d)
	}
	// Ordering: the JS comparison sorts like semver.Version.Compare.
	var order string
	if err := chromedp.Run(ctx, chromedp.Evaluate(`JSON.stringify(`+string(mustJSON(t, versions))+`.map(HSPBuilder.parseVersion).sort(HSPBuilder.compareVersions).map(function (v) { return v.original; }))`, &order)); err != nil {
		t.Fatal(err)
	}
	sorted := slices.Clone(versions)
	slices.SortStableFunc(sorted, func(a, b string) int { return semver.MustParse(a).Compare(semver.MustParse(b)) })
	if got := mustJSON(t, sorted); string(got) != order {
		t.Errorf("order:\n go %s\n js %s", got, order)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestBuilderAdditionsMatchGo compares the builder's "Add" (with and without "with its
// dependencies") with `marketplace env add [--with-deps]` (env.Additions) for every example
// product, into an empty environment and into one that already binds OpenID Connect and a
// database, on the example catalog and on the changed copy with a pre-release.
func TestBuilderAdditionsMatchGo(t *testing.T) {
	ctx := builderScript(t)
	type result struct {
		Services []struct{ Name, Product, Version string } `json:"services"`
		Notes    []string                                  `json:"notes"`
		Error    string                                    `json:"error"`
	}
	for _, changed := range []bool{false, true} {
		c := checkedCatalog(t)
		if changed {
			pg := c.Products["openhealth/postgres"]
			rc := pg.Builds[0]
			rc.Version = "18.0.0-rc.1"
			pg.Builds = append(pg.Builds, rc)
		}
		starts := []*env.Environment{
			{},
			{Services: []env.Service{svc("db", "openhealth/postgres", "^17")}, Externals: []env.External{sso}},
		}
		type addition struct {
			Start    int    `json:"start"`
			Product  string `json:"product"`
			Version  string `json:"version"`
			WithDeps bool   `json:"withDeps"`
		}
		var adds []addition
		var want []result
		for si, start := range starts {
			for _, id := range append(c.SortedProductIDs(), "acme/nothing") {
				for _, version := range []string{"", "^1", "^x"} {
					for _, deps := range []bool{false, true} {
						adds = append(adds, addition{si, id, version, deps})
						var r result
						added, notes, err := env.Additions(c, start, id, version, deps)
						if err != nil {
							r.Error = "error"
						}
						for _, s := range added {
							r.Services = append(r.Services, struct{ Name, Product, Version string }{s.Name, s.Product, s.Version})
						}
						r.Notes = notes
						want = append(want, r)
					}
				}
			}
		}
		index, err := api.BuilderPage(c).Render()
		if err != nil {
			t.Fatal(err)
		}
		docs := map[string]json.RawMessage{}
		for _, p := range api.Pages(api.Input{Catalog: c}) {
			if id, ok := strings.CutPrefix(p.Path, "api/v1/products/"); ok {
				data, err := p.Bytes()
				if err != nil {
					t.Fatal(err)
				}
				docs[strings.TrimSuffix(id, ".json")] = data
			}
		}
		var jsStarts []any
		for _, s := range starts {
			jsStarts = append(jsStarts, jsEnv(s))
		}
		arg := mustJSON(t, map[string]any{"index": json.RawMessage(index), "docs": docs, "starts": jsStarts, "adds": adds})
		var out string
		err = chromedp.Run(ctx, chromedp.Evaluate(`(function (a) {
			var c = new HSPBuilder.Catalog(a.index);
			c.docs = a.docs;
			return JSON.stringify(a.adds.map(function (x) {
				try {
					var r = HSPBuilder.additions(c, a.starts[x.start], x.product, x.version, x.withDeps);
					return { services: r.services.map(function (s) { return { Name: s.name, Product: s.product, Version: s.version }; }), notes: r.notes, error: '' };
				} catch (e) {
					return { services: [], notes: [], error: 'error' };
				}
			}));
		})(`+string(arg)+`)`, &out))
		if err != nil {
			t.Fatal(err)
		}
		var got []result
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("%d results for %d additions", len(got), len(want))
		}
		withServices := 0
		for i := range want {
			if len(want[i].Services) > 1 {
				withServices++
			}
			if d := cmp.Diff(want[i], got[i], cmpopts.EquateEmpty()); d != "" {
				t.Errorf("changed=%v add %+v: the builder differs from env.Additions (-go +js):\n%s", changed, adds[i], d)
			}
		}
		t.Logf("changed=%v: %d additions compared, %d of them added dependencies too", changed, len(want), withServices)
	}
}
