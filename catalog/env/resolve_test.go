package env_test

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hspc/marketplace/catalog"
	"github.com/hspc/marketplace/catalog/env"
)

// readExample returns an environment file of the repository's environments/ folder.
func readExample(t *testing.T, name string) (string, []byte) {
	t.Helper()
	path := filepath.Join("..", "..", "environments", name)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return "environments/" + name, data
}

// TestExampleEnvironmentsResolve resolves every environment of environments/ against the example
// catalog without an error.
func TestExampleEnvironmentsResolve(t *testing.T) {
	files, _ := filepath.Glob("../../environments/*.toml")
	if len(files) == 0 {
		t.Fatal("no example environments")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			path, data := readExample(t, filepath.Base(file))
			res, ds := resolve(t, path, data, nil, env.Options{})
			for _, d := range ds {
				t.Errorf("%s", d)
			}
			if res == nil || len(res.Services) == 0 {
				t.Fatal("no services resolved")
			}
		})
	}
}

// TestFHIRUseCase is the seed's use case: the FHIR server with its own PostgreSQL from the
// catalog, the hospital's OpenID Connect provider and SMTP relay as externals.
func TestFHIRUseCase(t *testing.T) {
	path, data := readExample(t, "fhir.toml")
	res, ds := resolve(t, path, data, nil, env.Options{})
	if ds.HasErrors() {
		t.Fatalf("%v", ds)
	}
	fhir, db := res.Service("fhir"), res.Service("db")
	if fhir == nil || db == nil {
		t.Fatalf("services %v, want fhir and db", res.Services)
	}
	if fhir.Build.Version != "5.1.0" || db.Build.Version != "17.7.0" {
		t.Errorf("builds fhir %s, db %s; want the newest matching ^5 and ^17: 5.1.0, 17.7.0", fhir.Build.Version, db.Build.Version)
	}

	// Every dependency in build order, with its provider; postgresql through the surrogate
	// postgresql-17 that db exposes.
	var got []string
	for _, b := range fhir.Needs {
		got = append(got, b.Dependency.Interface+"→"+b.ProviderName()+"/"+b.Interface)
	}
	want := []string{"postgresql→db/postgresql-17", "oidc→hospital-sso/oidc", "smtp→mail-relay/smtp", "opentelemetry→/opentelemetry"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("needs (-want +got):\n%s", diff)
	}
	if !slices.ContainsFunc(res.Notes, func(n string) bool { return strings.Contains(n, "optional dependency opentelemetry is not bound") }) {
		t.Errorf("notes %q lack the unbound optional opentelemetry", res.Notes)
	}

	// The provider's task port and its own parameters become the consumer's bound value; the
	// generated password is one secret both read.
	param := func(s *env.Resolved, name string) env.Param {
		t.Helper()
		p := s.Param(name)
		if p == nil {
			t.Fatalf("%s has no parameter %s", s.Name, name)
		}
		return *p
	}
	pw := param(db, "POSTGRES_PASSWORD")
	if pw.Source != env.SourceGenerated || pw.SecretKey != "DB_POSTGRES_PASSWORD" {
		t.Errorf("POSTGRES_PASSWORD = %+v, want generated into DB_POSTGRES_PASSWORD", pw)
	}
	url := param(fhir, "DATABASE_URL")
	if got, want := url.Value.String(), "postgresql://fhir:${DB_POSTGRES_PASSWORD}@db-db:5432/fhir"; got != want {
		t.Errorf("DATABASE_URL = %s, want %s", got, want)
	}
	if url.Source != env.SourceBound || url.SecretKey != "FHIR_DATABASE_URL" {
		t.Errorf("DATABASE_URL = %+v, want bound, in FHIR_DATABASE_URL", url)
	}
	if got := param(fhir, "OIDC_ISSUER"); got.Value.String() != "https://sso.hospital.example/realms/clinical" || got.SecretKey != "" {
		t.Errorf("OIDC_ISSUER = %+v, want the external's plain issuer", got)
	}
	if got := param(fhir, "OIDC_CLIENT_SECRET"); got.SecretKey != "OIDC_CLIENT_SECRET" {
		t.Errorf("OIDC_CLIENT_SECRET reads %q, want the external's secret OIDC_CLIENT_SECRET", got.SecretKey)
	}
	if got := param(fhir, "SMTP_FROM"); got.Value.String() != "fhir-noreply@hospital.example" {
		t.Errorf("SMTP_FROM = %s", got.Value)
	}
	if got := param(fhir, "LOG_PHI"); got.Source != env.SourceDefault || got.Value.String() != "false" {
		t.Errorf("LOG_PHI = %+v, want the default false", got)
	}

	kinds := map[string]env.SecretKind{}
	for _, s := range res.Secrets {
		kinds[s.Key] = s.Kind
	}
	wantKinds := map[string]env.SecretKind{
		"DB_POSTGRES_PASSWORD":   env.Generated,
		"FHIR_DATABASE_URL":      env.Derived,
		"FHIR_SCIM_BEARER_TOKEN": env.Derived,
		"OIDC_CLIENT_SECRET":     env.Given,
		"SMTP_URL":               env.Given,
	}
	if diff := cmp.Diff(wantKinds, kinds); diff != "" {
		t.Errorf("secrets (-want +got):\n%s", diff)
	}
	values := map[string]string{"DB_POSTGRES_PASSWORD": "pw"}
	for _, s := range res.Secrets {
		if s.Key == "FHIR_DATABASE_URL" {
			if got := s.Value.Eval(values); got != "postgresql://fhir:pw@db-db:5432/fhir" {
				t.Errorf("FHIR_DATABASE_URL evaluates to %s", got)
			}
		}
	}

	wantLock := []env.Locked{
		{Name: "fhir", Product: "acme/fhir", Constraint: "^5", Version: "5.1.0", Image: fhir.Build.Image},
		{Name: "db", Product: "openhealth/postgres", Constraint: "^17", Version: "17.7.0", Image: db.Build.Image},
	}
	if diff := cmp.Diff(wantLock, res.Lock.Services); diff != "" {
		t.Errorf("lock (-want +got):\n%s", diff)
	}
}

// TestLock keeps a locked build while it satisfies the constraint, and moves on with Update,
// when the constraint changes, or when the locked build is gone.
func TestLock(t *testing.T) {
	data := []byte("[[services]]\nname = \"db\"\nproduct = \"openhealth/postgres\"\nversion = \"^17\"\n")
	c := exampleCatalog(t)
	old := c.Products["openhealth/postgres"].Builds[1] // 17.6.0
	lock := &env.Lock{Services: []env.Locked{{Name: "db", Product: "openhealth/postgres", Constraint: "^17", Version: old.Version, Image: old.Image}}}

	tests := []struct {
		name string
		data []byte
		lock *env.Lock
		opts env.Options
		want string
		kept bool
	}{
		{name: "locked", data: data, lock: lock, want: "17.6.0", kept: true},
		{name: "update", data: data, lock: lock, opts: env.Options{Update: true}, want: "17.7.0"},
		{name: "no lock", data: data, want: "17.7.0"},
		{name: "constraint changed", data: []byte(strings.Replace(string(data), "^17", "^16", 1)), lock: lock, want: "16.10.0"},
		{name: "build gone", data: data, lock: &env.Lock{Services: []env.Locked{{Name: "db", Product: "openhealth/postgres", Constraint: "^17", Version: "17.0.0", Image: old.Image}}}, want: "17.7.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, ds := resolve(t, "db.toml", tt.data, tt.lock, tt.opts)
			if ds.HasErrors() {
				t.Fatalf("%v", ds)
			}
			s := res.Service("db")
			if s.Build.Version != tt.want || s.Locked != tt.kept {
				t.Errorf("got %s (locked %v), want %s (locked %v)", s.Build.Version, s.Locked, tt.want, tt.kept)
			}
			if got := res.Lock.Find("db"); got == nil || got.Version != tt.want {
				t.Errorf("new lock %+v, want version %s", got, tt.want)
			}
		})
	}
}

// TestLockRoundTrip writes a lock and reads it back.
func TestLockRoundTrip(t *testing.T) {
	lock := &env.Lock{Services: []env.Locked{
		{Name: "fhir", Product: "acme/fhir", Constraint: "^5", Version: "5.1.0", Image: "ghcr.io/acme/fhir@sha256:" + strings.Repeat("a", 64)},
		{Name: "db", Product: "openhealth/postgres", Version: "17.7.0", Image: "ghcr.io/x/pg@sha256:" + strings.Repeat("b", 64)},
	}}
	data, err := lock.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(data), "# ") || strings.Contains(string(data), "constraint = ''") || strings.Contains(string(data), `constraint = ""`) {
		t.Errorf("lock file:\n%s", data)
	}
	back, ds := env.LoadLock("x.lock", data)
	if ds.HasErrors() {
		t.Fatalf("%v", ds)
	}
	if diff := cmp.Diff(lock, back); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if got := env.LockPath("environments/fhir.toml"); got != "environments/fhir.lock" {
		t.Errorf("LockPath = %s", got)
	}
	if got := env.LockPath("environment.toml"); got != "environment.lock" {
		t.Errorf("LockPath = %s", got)
	}
}

// TestExplicitBinding resolves the ambiguous case with a [[bindings]] entry, to an external.
func TestExplicitBinding(t *testing.T) {
	data, err := os.ReadFile("testdata/invalid/ambiguous.txtar")
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	text = text[strings.Index(text, "[[services]]"):strings.Index(text, "-- want --")]
	text += "\n[[bindings]]\nservice = \"fhir\"\ninterface = \"postgresql\"\nprovider = \"hospital-pg\"\n"
	res, ds := resolve(t, "fhir.toml", []byte(text), nil, env.Options{})
	if ds.HasErrors() {
		t.Fatalf("%v", ds)
	}
	b := res.Service("fhir").Needs[0]
	if b.External == nil || b.External.Name != "hospital-pg" || !b.Explicit {
		t.Fatalf("postgresql bound to %q (explicit %v), want the external hospital-pg", b.ProviderName(), b.Explicit)
	}
	if got := res.Service("fhir").Param("DATABASE_URL"); got.SecretKey != "HOSPITAL_PG_URL" {
		t.Errorf("DATABASE_URL reads %q, want the external's secret HOSPITAL_PG_URL", got.SecretKey)
	}
}

// TestTree shows each service's needs under it, shared providers once.
func TestTree(t *testing.T) {
	path, data := readExample(t, "fhir.toml")
	res, _ := resolve(t, path, data, nil, env.Options{})
	roots := res.Tree()
	var lines []string
	var walk func(n *env.Node, depth int)
	walk = func(n *env.Node, depth int) {
		lines = append(lines, strings.Repeat("  ", depth)+n.Name())
		for _, e := range n.Needs {
			if e.Node != nil {
				walk(e.Node, depth+1)
			} else {
				lines = append(lines, strings.Repeat("  ", depth+1)+"("+e.Bound.Dependency.Interface+" unbound)")
			}
		}
	}
	for _, r := range roots {
		walk(r, 0)
	}
	want := []string{"fhir", "  db", "  hospital-sso", "  mail-relay", "  (opentelemetry unbound)"}
	if diff := cmp.Diff(want, lines); diff != "" {
		t.Errorf("tree (-want +got):\n%s", diff)
	}
}

// TestHostCollision reports two services whose tasks would get the same host and object name.
func TestHostCollision(t *testing.T) {
	base := exampleCatalog(t)
	relay := *base.Products["openhealth/smtp-relay"]
	relay.Builds = slices.Clone(relay.Builds)
	for i := range relay.Builds {
		b := &relay.Builds[i]
		b.Tasks = slices.Clone(b.Tasks)
		b.Tasks[0].Name = "b-relay" // instance "a" → host "a-b-relay"
		b.Exposes = slices.Clone(b.Exposes)
		for j := range b.Exposes {
			b.Exposes[j].Task = "b-relay"
		}
		st := *b.SmokeTest
		st.Task = "b-relay"
		b.SmokeTest = &st
	}
	c := &catalog.Catalog{Index: base.Index, Publishers: base.Publishers, Products: maps.Clone(base.Products)}
	relay.ID = "openhealth/relay-b"
	c.Products[relay.ID] = &relay
	data := []byte(`[[services]]
name = "a"
product = "openhealth/relay-b"
params = { RELAY_SMARTHOST = "mail.example.org:587", MAIL_FROM_DEFAULT = "x@example.org" }

[[services]]
name = "a-b"
product = "openhealth/smtp-relay"
params = { RELAY_SMARTHOST = "mail.example.org:587", MAIL_FROM_DEFAULT = "x@example.org" }
`)
	e, ds := env.Load("mail.toml", data)
	if ds.HasErrors() {
		t.Fatal(ds)
	}
	_, ds = env.Resolve(c, e, nil, env.Options{})
	want := `mail.toml:7:8: error: task relay of a-b and a task of a are both named a-b-relay: rename one of the services`
	if len(ds) != 1 || ds[0].String() != want {
		t.Errorf("got %v, want %s", ds, want)
	}
}

// TestNameFromFile names an environment after its file, and asks for a name when that gives none.
func TestNameFromFile(t *testing.T) {
	e, ds := env.Load("environments/FHIR Prod.toml", nil)
	if ds.HasErrors() || e.Name != "fhir-prod" {
		t.Errorf("name %q, %v; want fhir-prod", e.Name, ds)
	}
	_, ds = env.Load("environments/__.toml", nil)
	if want := `environments/__.toml:1:1: error: the file gives no environment name: set name = "...", a DNS label`; len(ds) != 1 || ds[0].String() != want {
		t.Errorf("got %v, want %s", ds, want)
	}
}

// TestReport gives the resolution as plain data, without secret values.
func TestReport(t *testing.T) {
	path, data := readExample(t, "fhir.toml")
	res, ds := resolve(t, path, data, nil, env.Options{})
	if ds.HasErrors() {
		t.Fatal(ds)
	}
	rep := res.Report()
	if rep.Environment != "fhir" || rep.Platform != "kubernetes" || len(rep.Services) != 2 || len(rep.Missing) != 0 {
		t.Fatalf("report %+v", rep)
	}
	fhir := rep.Services[0]
	need := fhir.Needs[0]
	want := env.NeedReport{Interface: "postgresql", Required: true, Provider: "db", Serves: "postgresql-17",
		Properties: map[string]string{"url": "postgresql://fhir:${DB_POSTGRES_PASSWORD}@db-db:5432/fhir"}}
	if diff := cmp.Diff(want, need); diff != "" {
		t.Errorf("fhir's postgresql need (-want +got):\n%s", diff)
	}
	var keys []string
	for _, s := range rep.Secrets {
		keys = append(keys, s.Key+":"+s.Kind)
	}
	if want := []string{"DB_POSTGRES_PASSWORD:generated", "FHIR_DATABASE_URL:derived", "FHIR_SCIM_BEARER_TOKEN:derived", "OIDC_CLIENT_SECRET:given", "SMTP_URL:given"}; !slices.Equal(keys, want) {
		t.Errorf("secrets %v, want %v", keys, want)
	}

	// A secret written as text in the environment file is not repeated.
	text := strings.Replace(string(data), `FHIR_BASE_URL = "https://fhir.hospital.example/fhir"`, `FHIR_BASE_URL = "https://fhir.hospital.example/fhir", SCIM_BEARER_TOKEN = "plain-token-value"`, 1)
	res, _ = resolve(t, path, []byte(text), nil, env.Options{})
	out, err := json.Marshal(res.Report())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "plain-token-value") {
		t.Errorf("the report repeats a secret: %s", out)
	}
}
