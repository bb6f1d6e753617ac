// Package agent keeps a platform in step with a marketplace: it polls a published catalog,
// resolves an environment's constraints against the builds it offers, renders the environment's
// manifests and publishes them to a folder or to a GitOps repository that Argo CD or Flux
// applies (the seed's optional platform agent, SPEC §8 `marketplace agent`).
//
// It is a loop around pure steps, each testable alone: Fetch (a Source: conditional HTTP
// requests, or a folder) → Check (decode, refuse a partial, invalid or older catalog) →
// Resolve (catalog/env) → Render (generator/deploy, the same renderer as `env export`) →
// Publish (a Target). Step runs them once and decides; Run repeats Step at an interval. The
// agent never acts on a catalog it cannot trust to be newer and whole, keeps the last good state
// (what it published and the catalog it used, in its state file), and logs one line per decision.
package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hspc/marketplace/catalog"
	"github.com/hspc/marketplace/catalog/env"
	"github.com/hspc/marketplace/catalog/trust"
	"github.com/hspc/marketplace/generator/api"
	"github.com/hspc/marketplace/generator/deploy"
)

// Agent is one platform agent: a catalog to follow, an environment to keep deployed, and where
// its manifests go.
type Agent struct {
	Source  Source // where the catalog comes from
	EnvPath string // the environment file; its lock, if any, is read beside it
	Target  Target // where manifests go
	// StatePath is the agent's state file: what it last published and from which catalog. The
	// last good catalog document is kept beside it (StatePath + ".catalog.json").
	StatePath string
	Log       io.Writer        // one line per decision; nil discards
	Now       func() time.Time // the clock; nil means time.Now
	// Registry, when set, rewrites every image to its copy in a private registry (the mapping
	// `marketplace mirror images` writes); a service whose image it lacks refuses the step.
	Registry *catalog.RegistryMap
}

// State is what the agent remembers between steps and restarts.
type State struct {
	Source string `json:"source"`
	// ETag is the catalog document's entity tag, for conditional requests.
	ETag string `json:"etag,omitempty"`
	// Catalog identifies the catalog document last used: its SHA-256, and the Git commit and
	// date it was built from when it says.
	Catalog      string    `json:"catalog_sha256,omitempty"`
	CatalogHead  string    `json:"catalog_commit,omitempty"`
	CatalogDate  time.Time `json:"catalog_date,omitzero"`
	Environment  string    `json:"environment_sha256,omitempty"`
	Manifests    string    `json:"manifests_sha256,omitempty"` // of the files last published
	Published    string    `json:"published,omitempty"`        // what the target said: a commit, a folder
	PublishedAt  time.Time `json:"published_at,omitzero"`
	Services     []Version `json:"services,omitempty"`
	LastDecision string    `json:"last_decision,omitempty"`
}

// Version is the build one service of the environment runs.
type Version struct {
	Name    string `json:"name"`
	Product string `json:"product"`
	Version string `json:"version"`
	Image   string `json:"image"`
}

// Decision says what a step did.
type Decision struct {
	Action  string // "published", "unchanged", "refused", "failed"
	Message string // the log line, without the time
}

// Actions of a Decision.
const (
	Published = "published"
	Unchanged = "unchanged"
	Refused   = "refused"
	Failed    = "failed"
)

// Run calls Step every interval until ctx ends. A step that fails or refuses is logged and the
// next one tries again: the agent keeps running on the last good state.
func (a *Agent) Run(ctx context.Context, interval time.Duration) error {
	if interval <= 0 {
		return errors.New("agent: the interval must be positive")
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		a.Step(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Step runs fetch → check → resolve → render → publish once and logs its decision.
func (a *Agent) Step(ctx context.Context) Decision {
	d := a.step(ctx)
	a.logf("%s: %s", d.Action, d.Message)
	return d
}

func (a *Agent) step(ctx context.Context) Decision {
	st, err := loadState(a.StatePath)
	if err != nil {
		return Decision{Failed, fmt.Sprintf("reading the state file: %v; fix or remove %s", err, a.StatePath)}
	}
	if st.Source != "" && st.Source != a.Source.String() {
		return Decision{Refused, fmt.Sprintf("the state file %s follows %s, not %s; use another --state for another catalog", a.StatePath, st.Source, a.Source.String())}
	}
	st.Source = a.Source.String()

	// Fetch.
	f, err := a.Source.Fetch(ctx, st.ETag)
	if refusal := (*trust.Refusal)(nil); errors.As(err, &refusal) && refusal.Kind != trust.Unreachable {
		return Decision{Refused, fmt.Sprintf("catalog refused: %v; keeping %s", err, st.describe())}
	}
	if err != nil {
		return Decision{Failed, fmt.Sprintf("fetching the catalog: %v; keeping %s", err, st.describe())}
	}
	data := f.Data
	if f.NotModified {
		if data, err = os.ReadFile(a.catalogCache()); err != nil {
			return Decision{Failed, fmt.Sprintf("the catalog is unchanged (%s) but the last good copy is unreadable: %v", f.ETag, err)}
		}
	}

	// Check.
	snap, err := Check(data, st)
	if err != nil {
		return Decision{Refused, fmt.Sprintf("%v; keeping %s", err, st.describe())}
	}

	// Resolve.
	envData, err := os.ReadFile(a.EnvPath)
	if err != nil {
		return Decision{Failed, fmt.Sprintf("reading the environment: %v", err)}
	}
	envSum := sum(envData)
	if f.NotModified && envSum == st.Environment && st.Manifests != "" {
		return Decision{Unchanged, fmt.Sprintf("catalog not modified (ETag %s) and environment unchanged; %s", f.ETag, st.describe())}
	}
	cat := snap.Catalog
	var unmapped []string
	if a.Registry != nil {
		cat, unmapped = deploy.MapImages(cat, a.Registry)
	}
	res, err := Resolve(cat, a.EnvPath, envData)
	if err != nil {
		return Decision{Refused, fmt.Sprintf("%v; keeping %s", err, st.describe())}
	}
	if missing := notMapped(res, unmapped); len(missing) > 0 {
		return Decision{Refused, fmt.Sprintf("the registry mapping has no copy of %s; run marketplace mirror images, then the agent again; keeping %s", strings.Join(missing, ", "), st.describe())}
	}

	// Render.
	files, err := Render(res)
	if err != nil {
		return Decision{Failed, fmt.Sprintf("rendering: %v; keeping %s", err, st.describe())}
	}
	manifests := filesSum(files)
	versions := versionsOf(res)
	next := st
	next.ETag, next.Catalog, next.Environment = f.ETag, snap.Sum, envSum
	next.CatalogHead, next.CatalogDate = snap.Commit, snap.Date

	// Publish.
	if manifests == st.Manifests {
		next.LastDecision = Unchanged
		if err := a.commitState(next, data, !f.NotModified); err != nil {
			return Decision{Failed, err.Error()}
		}
		return Decision{Unchanged, fmt.Sprintf("catalog %s gives the same manifests; %s", snap.describe(), next.describe())}
	}
	change := Changes(st.Services, versions)
	msg := fmt.Sprintf("%s: %s\n\nCatalog: %s\nEnvironment: %s\n", res.Env.Name, change, snap.describe(), a.EnvPath)
	where, err := a.Target.Publish(ctx, files, msg)
	if err != nil {
		return Decision{Failed, fmt.Sprintf("publishing to %s: %v; keeping %s", a.Target, err, st.describe())}
	}
	next.Manifests, next.Published, next.PublishedAt = manifests, where, a.now().UTC()
	next.Services = versions
	next.LastDecision = Published
	if err := a.commitState(next, data, true); err != nil {
		return Decision{Failed, err.Error()}
	}
	return Decision{Published, fmt.Sprintf("%s to %s (%s) from catalog %s", change, a.Target, where, snap.describe())}
}

// Snapshot is a checked catalog document.
type Snapshot struct {
	Catalog *catalog.Catalog
	Sum     string    // SHA-256 of the document
	Commit  string    // Git commit it was built from, when it says
	Date    time.Time // that commit's date
}

func (s *Snapshot) describe() string {
	if s.Commit == "" {
		return "sha256:" + short(s.Sum)
	}
	return fmt.Sprintf("commit %s of %s", short(s.Commit), s.Date.Format(time.RFC3339))
}

// Check decodes a catalog document and refuses it when it is partial or foreign (it does not
// decode whole), or older than the one last used: built from a commit dated before it, or,
// when the last one named its commit, one that names none.
func Check(data []byte, last State) (*Snapshot, error) {
	dec, err := api.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("catalog refused: %w", err)
	}
	s := &Snapshot{Catalog: dec.Catalog, Sum: sum(data)}
	if dec.Source != nil {
		s.Commit, s.Date = dec.Source.Commit, dec.Source.Date.UTC()
	}
	if last.CatalogHead != "" {
		switch {
		case s.Commit == "":
			return nil, fmt.Errorf("catalog refused: it names no source commit, and the last one used was commit %s", short(last.CatalogHead))
		case s.Date.Before(last.CatalogDate):
			return nil, fmt.Errorf("catalog refused: commit %s of %s is older than commit %s of %s, the last one used (a rollback or a stale mirror)",
				short(s.Commit), s.Date.Format(time.RFC3339), short(last.CatalogHead), last.CatalogDate.Format(time.RFC3339))
		}
	}
	return s, nil
}

// Resolve loads the environment file (its lock is ignored: the agent follows the constraints
// to the newest matching builds) and resolves it against the catalog; any error refuses.
func Resolve(cat *catalog.Catalog, envPath string, envData []byte) (*env.Resolution, error) {
	e, ds := env.Load(envPath, envData)
	if ds.HasErrors() {
		return nil, fmt.Errorf("environment %s has errors:\n%s", envPath, diagText(ds))
	}
	res, ds := env.Resolve(cat, e, nil, env.Options{Update: true})
	if ds.HasErrors() {
		return nil, fmt.Errorf("environment %s does not resolve against this catalog:\n%s", envPath, diagText(ds))
	}
	return res, nil
}

// LockFile is the name of the lock the agent publishes beside the manifests: the build each
// service resolved to.
const LockFile = "environment.lock"

// Render renders the resolved environment for its platform as a GitOps folder: no secret
// value is in it (the platform provides the environment's Secret with the keys secrets.keys
// lists), and the lock of what it resolved to.
func Render(res *env.Resolution) (map[string][]byte, error) {
	files, err := deploy.GitOpsEnvironment(res, res.Env.PlatformOrDefault())
	if err != nil {
		return nil, err
	}
	lock, err := res.Lock.Marshal()
	if err != nil {
		return nil, err
	}
	files[LockFile] = lock
	return files, nil
}

// Changes describes how the services' builds moved: "fhir acme/fhir 5.1.0 → 5.2.0; db
// acme/postgres 16.4.0 (new)".
func Changes(before, after []Version) string {
	old := map[string]Version{}
	for _, v := range before {
		old[v.Name] = v
	}
	var parts []string
	for _, v := range after {
		o, ok := old[v.Name]
		switch {
		case !ok:
			parts = append(parts, fmt.Sprintf("%s %s %s (new)", v.Name, v.Product, v.Version))
		case o.Product != v.Product || o.Version != v.Version:
			parts = append(parts, fmt.Sprintf("%s %s %s → %s", v.Name, v.Product, o.Version, v.Version))
		case o.Image != v.Image:
			parts = append(parts, fmt.Sprintf("%s %s %s (image changed)", v.Name, v.Product, v.Version))
		}
		delete(old, v.Name)
	}
	gone := slices.Sorted(mapsKeys(old))
	for _, name := range gone {
		parts = append(parts, fmt.Sprintf("%s %s removed", name, old[name].Product))
	}
	if len(parts) == 0 {
		return "manifests changed (same builds)"
	}
	return strings.Join(parts, "; ")
}

// notMapped lists the images of the resolved services that the registry mapping lacks.
func notMapped(res *env.Resolution, unmapped []string) []string {
	var out []string
	for _, s := range res.Services {
		if slices.Contains(unmapped, s.Build.Image) {
			out = append(out, s.Build.Image)
		}
	}
	return out
}

func versionsOf(res *env.Resolution) []Version {
	var out []Version
	for _, s := range res.Services {
		out = append(out, Version{Name: s.Name, Product: s.Product.ID, Version: s.Build.Version, Image: s.Build.Image})
	}
	return out
}

func (a *Agent) catalogCache() string { return a.StatePath + ".catalog.json" }

// commitState writes the last good catalog (when it changed) and then the state, each atomically.
func (a *Agent) commitState(st State, catalogDoc []byte, writeCatalog bool) error {
	if writeCatalog {
		if err := writeAtomic(a.catalogCache(), catalogDoc); err != nil {
			return fmt.Errorf("saving the catalog: %w", err)
		}
	}
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	if err := writeAtomic(a.StatePath, append(data, '\n')); err != nil {
		return fmt.Errorf("saving the state: %w", err)
	}
	return nil
}

func (st State) describe() string {
	if st.Manifests == "" {
		return "nothing published yet"
	}
	var v []string
	for _, s := range st.Services {
		v = append(v, s.Name+" "+s.Version)
	}
	return fmt.Sprintf("the last good state (%s, published %s)", strings.Join(v, ", "), st.Published)
}

func loadState(path string) (State, error) {
	var st State
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal(data, &st); err != nil {
		return st, err
	}
	return st, nil
}

// writeAtomic writes data beside path and renames it into place, making the folder first.
func writeAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return catalog.WriteFileAtomic(path, data, 0o644)
}

func (a *Agent) logf(format string, args ...any) {
	if a.Log == nil {
		return
	}
	line := fmt.Sprintf(format, args...)
	line = strings.ReplaceAll(strings.TrimSpace(line), "\n", " | ")
	fmt.Fprintf(a.Log, "%s agent: %s\n", a.now().UTC().Format(time.RFC3339), line)
}

func (a *Agent) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func diagText(ds catalog.Diagnostics) string {
	var b strings.Builder
	for _, d := range ds {
		if d.Severity == catalog.Error {
			b.WriteString(d.String())
			b.WriteByte('\n')
		}
	}
	return strings.TrimSpace(b.String())
}

func sum(data []byte) string {
	h := sha256.Sum256(data)
	return hex.EncodeToString(h[:])
}

// filesSum hashes a set of files by name and content.
func filesSum(files map[string][]byte) string {
	h := sha256.New()
	for _, name := range slices.Sorted(mapsKeys(files)) {
		fmt.Fprintf(h, "%s\x00%d\x00", name, len(files[name]))
		h.Write(files[name])
	}
	return hex.EncodeToString(h.Sum(nil))
}

func short(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}
