package agent

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hspc/marketplace/catalog"
	"github.com/hspc/marketplace/generator/api"
)

// repoRoot is the example catalog: this package sits one level below it.
const repoRoot = ".."

// exampleCatalog loads the example catalog, failing the test on any error.
func exampleCatalog(t *testing.T) *catalog.Catalog {
	t.Helper()
	c, ds := catalog.Load(os.DirFS(repoRoot))
	if ds.HasErrors() {
		t.Fatalf("example catalog: %v", ds)
	}
	return c
}

// catalogJSON renders catalog.json for c as built from commit at date.
func catalogJSON(t *testing.T, c *catalog.Catalog, commit string, date time.Time) []byte {
	t.Helper()
	in := api.Input{Catalog: c, History: &catalog.History{Commit: commit, Date: date}}
	for _, p := range api.Pages(in) {
		if p.Path == api.CatalogPath {
			data, err := p.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			return data
		}
	}
	t.Fatal("no catalog.json page")
	return nil
}

// withBuild returns a copy of c in which product id has one more build: a copy of its newest
// with the version and a new digest.
func withBuild(t *testing.T, c *catalog.Catalog, id, version string) *catalog.Catalog {
	t.Helper()
	out := &catalog.Catalog{Index: c.Index, Publishers: c.Publishers, Products: map[string]*catalog.Product{}}
	for k, v := range c.Products {
		out.Products[k] = v
	}
	p := *c.Products[id]
	newest := *p.BuildsNewestFirst()[0]
	image, _, _ := strings.Cut(newest.Image, "@")
	image, _, _ = strings.Cut(image, ":")
	newest.Image = fmt.Sprintf("%s:%s@sha256:%064x", image, version, len(version)*7919)
	newest.Version = version
	p.Builds = append(append([]catalog.Build{}, p.Builds...), newest)
	out.Products[id] = &p
	return out
}

// without returns a copy of c without product id.
func without(c *catalog.Catalog, id string) *catalog.Catalog {
	out := &catalog.Catalog{Index: c.Index, Publishers: c.Publishers, Products: map[string]*catalog.Product{}}
	for k, v := range c.Products {
		if k != id {
			out.Products[k] = v
		}
	}
	return out
}

// server serves one document at /api/v1/catalog.json with an ETag, answering If-None-Match.
type server struct {
	mu       sync.Mutex
	doc      []byte
	requests int
	notMod   int
}

func (s *server) set(doc []byte) { s.mu.Lock(); s.doc = doc; s.mu.Unlock() }

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	if r.URL.Path != "/site/"+api.CatalogPath {
		http.NotFound(w, r)
		return
	}
	etag := `"` + sum(s.doc) + `"`
	w.Header().Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		s.notMod++
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Write(s.doc)
}

func gitCLI(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestAgentGitOps follows the story: the agent commits the environment's manifests to a
// GitOps repository, does nothing while the catalog is unchanged (a conditional request answered
// 304), commits the next build when the catalog publishes it, and refuses a replayed older
// catalog, a truncated one and one the environment no longer resolves against, each time keeping
// the repository on the last good commit.
func TestAgentGitOps(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatal("the git CLI is needed as the second client of the GitOps repository")
	}
	c := exampleCatalog(t)
	day := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	v1 := catalogJSON(t, c, strings.Repeat("a", 40), day)
	v2 := catalogJSON(t, withBuild(t, c, "acme/fhir", "5.2.0"), strings.Repeat("b", 40), day.Add(24*time.Hour))

	srv := &server{doc: v1}
	ts := httptest.NewServer(srv)
	defer ts.Close()

	tmp := t.TempDir()
	bare := filepath.Join(tmp, "gitops.git")
	gitCLI(t, tmp, "init", "-q", "--bare", "-b", "main", bare)
	src, err := NewSource(ts.URL+"/site/", ts.Client())
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	a := &Agent{
		Source:    src,
		EnvPath:   filepath.Join(repoRoot, "environments", "fhir.toml"),
		Target:    &GitTarget{URL: bare, Branch: "main", Folder: "clusters/prod/fhir", Author: "Agent <agent@hospital.example>"},
		StatePath: filepath.Join(tmp, "state", "agent.json"),
		Log:       &log,
	}
	ctx := context.Background()
	step := func(want string) Decision {
		t.Helper()
		d := a.Step(ctx)
		if d.Action != want {
			t.Fatalf("step: got %s (%s), want %s\nlog:\n%s", d.Action, d.Message, want, log.String())
		}
		return d
	}
	commits := func() []string {
		out := strings.TrimSpace(gitCLI(t, bare, "log", "--format=%s", "main"))
		return strings.Split(out, "\n")
	}

	// First step: everything is new.
	step(Published)
	if got := commits(); len(got) != 1 || !strings.Contains(got[0], "fhir acme/fhir 5.1.0 (new)") || !strings.Contains(got[0], "db openhealth/postgres 17.7.0 (new)") {
		t.Fatalf("commits after the first step: %q", got)
	}
	clone := filepath.Join(tmp, "clone")
	gitCLI(t, tmp, "clone", "-q", "-b", "main", bare, clone)
	for _, f := range []string{"kustomization.yaml", "fhir.yaml", "db.yaml", "secrets.keys", LockFile} {
		if _, err := os.Stat(filepath.Join(clone, "clusters/prod/fhir", f)); err != nil {
			t.Errorf("the GitOps repository lacks %s: %v", f, err)
		}
	}
	if _, err := os.Stat(filepath.Join(clone, "clusters/prod/fhir", "secrets.env")); err == nil {
		t.Error("secrets.env reached the GitOps repository")
	}
	kust, _ := os.ReadFile(filepath.Join(clone, "clusters/prod/fhir", "kustomization.yaml"))
	if bytes.Contains(kust, []byte("secretGenerator")) {
		t.Errorf("the GitOps kustomization generates a Secret from a file it does not have:\n%s", kust)
	}
	keys, _ := os.ReadFile(filepath.Join(clone, "clusters/prod/fhir", "secrets.keys"))
	for _, k := range []string{"POSTGRES_PASSWORD\t# generated", "OIDC_CLIENT_SECRET\t# given", "DATABASE_URL"} {
		if !bytes.Contains(keys, []byte(k)) {
			t.Errorf("secrets.keys lacks %q:\n%s", k, keys)
		}
	}
	lock, _ := os.ReadFile(filepath.Join(clone, "clusters/prod/fhir", LockFile))
	if !bytes.Contains(lock, []byte(`version = '5.1.0'`)) {
		t.Errorf("the published lock does not record fhir 5.1.0:\n%s", lock)
	}

	// Unchanged catalog: a conditional request, no commit.
	step(Unchanged)
	if srv.notMod != 1 {
		t.Errorf("304 answers: got %d, want 1", srv.notMod)
	}
	if got := commits(); len(got) != 1 {
		t.Fatalf("an unchanged catalog made a commit: %q", got)
	}

	// The catalog publishes fhir 5.2.0: one commit naming the change.
	srv.set(v2)
	step(Published)
	got := commits()
	if len(got) != 2 || got[0] != "fhir: fhir acme/fhir 5.1.0 → 5.2.0" {
		t.Fatalf("commits after the new build: %q", got)
	}
	head := strings.TrimSpace(gitCLI(t, bare, "rev-parse", "main"))

	// Refusals: each leaves the repository on the last good commit.
	for _, tc := range []struct {
		name string
		doc  []byte
		want string
	}{
		{"rollback", v1, "older than commit bbbbbbbbbbbb"},
		{"truncated", v2[:len(v2)/2], "catalog refused: decoding catalog.json"},
		{"not a catalog", []byte(`{"schema": 2}`), "schema 2"},
		{"unresolvable", catalogJSON(t, without(c, "openhealth/postgres"), strings.Repeat("c", 40), day.Add(48*time.Hour)), `does not resolve`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv.set(tc.doc)
			d := step(Refused)
			if !strings.Contains(d.Message, tc.want) || !strings.Contains(d.Message, "keeping the last good state (fhir 5.2.0, db 17.7.0") {
				t.Errorf("refusal: got %q, want it to contain %q and name the last good state", d.Message, tc.want)
			}
			if now := strings.TrimSpace(gitCLI(t, bare, "rev-parse", "main")); now != head {
				t.Errorf("the branch moved to %s after a refused catalog", now)
			}
		})
	}

	// One log line per decision.
	lines := strings.Split(strings.TrimSpace(log.String()), "\n")
	if len(lines) != 7 {
		t.Errorf("log: got %d lines, want 7 (one per step):\n%s", len(lines), log.String())
	}
	for _, l := range lines {
		if !strings.Contains(l, " agent: ") {
			t.Errorf("log line %q lacks the agent prefix", l)
		}
	}
}

// TestAgentStateSurvivesRestart checks that a new agent process (a new Agent on the same state
// file) still refuses a catalog older than the last one used, and that a missing last-good copy
// of the catalog is reported rather than ignored when the server answers 304.
func TestAgentStateSurvivesRestart(t *testing.T) {
	c := exampleCatalog(t)
	day := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	old := catalogJSON(t, c, strings.Repeat("1", 40), day)
	cur := catalogJSON(t, c, strings.Repeat("2", 40), day.Add(time.Hour))
	tmp := t.TempDir()
	site := filepath.Join(tmp, "site")
	write := func(doc []byte) {
		p := filepath.Join(site, filepath.FromSlash(api.CatalogPath))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, doc, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(cur)
	newAgent := func() *Agent {
		src, err := NewSource(site, nil)
		if err != nil {
			t.Fatal(err)
		}
		return &Agent{Source: src, EnvPath: filepath.Join(repoRoot, "environments", "fhir.toml"),
			Target: &FolderTarget{Dir: filepath.Join(tmp, "out")}, StatePath: filepath.Join(tmp, "agent.json")}
	}
	if d := newAgent().Step(context.Background()); d.Action != Published {
		t.Fatalf("first step: %s %s", d.Action, d.Message)
	}
	if _, err := os.Stat(filepath.Join(tmp, "out", "kustomization.yaml")); err != nil {
		t.Fatalf("the folder target has no kustomization.yaml: %v", err)
	}
	write(old)
	if d := newAgent().Step(context.Background()); d.Action != Refused || !strings.Contains(d.Message, "older than") {
		t.Fatalf("after a restart, an older catalog: got %s %q, want refused as older", d.Action, d.Message)
	}
	write(cur)
	os.Remove(filepath.Join(tmp, "agent.json.catalog.json"))
	if d := newAgent().Step(context.Background()); d.Action != Failed || !strings.Contains(d.Message, "last good copy is unreadable") {
		t.Fatalf("unchanged catalog without its last good copy: got %s %q", d.Action, d.Message)
	}
}

// TestChanges pins the words of commit messages.
func TestChanges(t *testing.T) {
	before := []Version{{"fhir", "acme/fhir", "5.1.0", "i1"}, {"db", "openhealth/postgres", "17.7.0", "i2"}, {"old", "x/y", "1.0.0", "i3"}}
	after := []Version{{"fhir", "acme/fhir", "5.2.0", "i4"}, {"db", "openhealth/postgres", "17.7.0", "i5"}, {"cache", "x/redis", "7.0.0", "i6"}}
	got := Changes(before, after)
	want := "fhir acme/fhir 5.1.0 → 5.2.0; db openhealth/postgres 17.7.0 (image changed); cache x/redis 7.0.0 (new); old x/y removed"
	if got != want {
		t.Errorf("Changes:\ngot  %s\nwant %s", got, want)
	}
}
