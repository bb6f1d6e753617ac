package catalog

import (
	"slices"
	"sync"
	"time"

	"github.com/Masterminds/semver/v3"
	"github.com/github/go-spdx/v2/spdxexp"
)

// Catalog is a whole catalog repository: its settings, its publishers and their products.
type Catalog struct {
	Index      *Index
	Publishers map[string]*Publisher // by publisher ID
	Products   map[string]*Product   // by product ID, "<publisher>/<product>"

	// License checks parse SPDX expressions, which is slow next to everything else; most
	// products share a handful of licenses, so results are kept per expression.
	licensesOnce sync.Once
	openList     []string
	openByExpr   sync.Map // license expression → bool
}

// SortedProductIDs returns the product IDs in lexical order, the order every output uses.
func (c *Catalog) SortedProductIDs() []string {
	return sortedKeys(c.Products)
}

// SortedPublisherIDs returns the publisher IDs in lexical order.
func (c *Catalog) SortedPublisherIDs() []string {
	return sortedKeys(c.Publishers)
}

// Interface returns the interface with the given ID from index.toml, or nil.
func (c *Catalog) Interface(id string) *Interface {
	if c.Index == nil {
		return nil
	}
	for i := range c.Index.Interfaces {
		if c.Index.Interfaces[i].ID == id {
			return &c.Index.Interfaces[i]
		}
	}
	return nil
}

// Satisfies reports whether a provider of interface have can serve a consumer that needs
// interface want: the same interface, or one that declares substitutes_for want (HSPC surrogates,
// followed transitively).
func (c *Catalog) Satisfies(have, want string) bool {
	seen := map[string]bool{}
	var walk func(id string) bool
	walk = func(id string) bool {
		if id == want {
			return true
		}
		if seen[id] {
			return false
		}
		seen[id] = true
		if in := c.Interface(id); in != nil {
			for _, s := range in.SubstitutesFor {
				if walk(s) {
					return true
				}
			}
		}
		return false
	}
	return walk(have)
}

// Index is index.toml: the catalog's own settings.
type Index struct {
	Catalog    CatalogInfo `toml:"catalog" json:"catalog"`
	Policy     Policy      `toml:"policy" json:"policy"`
	Interfaces []Interface `toml:"interfaces" json:"interfaces"`
	Upstreams  []Upstream  `toml:"upstreams" json:"upstreams,omitempty"`
}

// CatalogInfo names the catalog.
type CatalogInfo struct {
	Name        string `toml:"name" json:"name"`
	Description string `toml:"description" json:"description,omitempty"`
	BaseURL     string `toml:"base_url" json:"base_url,omitempty"` // only for absolute links in feeds
	// Owners are the Git host handles (or org/team) who approve changes to index.toml,
	// upstreams.lock, new publishers and everything outside products/.
	Owners []string `toml:"owners" json:"owners,omitempty"`
}

// Policy holds the operator's rules for what may be published.
type Policy struct {
	// RequireSignatures makes a build whose image signature does not verify an error (default true).
	RequireSignatures *bool `toml:"require_signatures" json:"require_signatures,omitempty"`
	// OpenLicenses are the SPDX license IDs published without evaluation = true.
	OpenLicenses []string `toml:"open_licenses" json:"open_licenses,omitempty"`
	// MaxImageMiB is the compressed image size above which verify warns of a data payload.
	MaxImageMiB int `toml:"max_image_mib" json:"max_image_mib,omitempty"`
	// StatefulCategories are the product categories whose tasks may declare persistent volumes:
	// backing services such as databases. Rule 2 keeps application services ephemeral.
	StatefulCategories []string `toml:"stateful_categories" json:"stateful_categories,omitempty"`
	// TimestampExpiryDays is how long a signed output's TUF timestamp stays valid: the
	// freshness promise clients enforce (`build --sign`, `marketplace sign`).
	TimestampExpiryDays int `toml:"timestamp_expiry_days" json:"timestamp_expiry_days,omitempty"`
}

// DefaultOpenLicenses are the licenses the seed's licensing policy 1 names.
var DefaultOpenLicenses = []string{"MIT", "Apache-2.0", "BSD-2-Clause", "BSD-3-Clause",
	"GPL-2.0-only", "GPL-2.0-or-later", "GPL-3.0-only", "GPL-3.0-or-later"}

// DefaultMaxImageMiB is the data-payload warning threshold when policy.max_image_mib is unset.
const DefaultMaxImageMiB = 2048

// DefaultTimestampExpiryDays is the TUF timestamp lifetime when policy.timestamp_expiry_days is unset.
const DefaultTimestampExpiryDays = 7

// SignaturesRequired reports whether an unverified signature is an error (the default) rather than
// a warning.
func (p Policy) SignaturesRequired() bool { return p.RequireSignatures == nil || *p.RequireSignatures }

// Licenses returns the open licenses in force: the policy's, or DefaultOpenLicenses.
func (p Policy) Licenses() []string {
	if p.OpenLicenses == nil {
		return DefaultOpenLicenses
	}
	return p.OpenLicenses
}

// Interface is a standard a build can expose or depend on.
type Interface struct {
	ID             string   `toml:"id" json:"id"`
	Name           string   `toml:"name" json:"name"`
	URI            string   `toml:"uri" json:"uri,omitempty"`
	Version        string   `toml:"version" json:"version,omitempty"`
	Properties     []string `toml:"properties" json:"properties,omitempty"`
	SubstitutesFor []string `toml:"substitutes_for" json:"substitutes_for,omitempty"`
}

// Upstream is another catalog merged into this one.
type Upstream struct {
	Name       string   `toml:"name" json:"name"`
	URL        string   `toml:"url" json:"url"`
	Ref        string   `toml:"ref" json:"ref,omitempty"`
	Publishers []string `toml:"publishers" json:"publishers"` // globs of publisher IDs it may publish
	// Site is the upstream's published, signed output (an http(s) URL, or a folder such as one
	// carried in on media; relative to the catalog). With Root, `upstreams update` verifies it
	// through TUF and pins only a commit whose products and digests it signed.
	Site string `toml:"site" json:"site,omitempty"`
	// Root is the upstream publisher's TUF root.json: a file of this catalog repository.
	Root string `toml:"root" json:"root,omitempty"`
}

// Publisher is products/<publisher>/publisher.toml.
type Publisher struct {
	ID          string   `toml:"-" json:"id"`
	Path        string   `toml:"-" json:"-"` // file path relative to the catalog root
	Name        string   `toml:"name" json:"name"`
	URL         string   `toml:"url" json:"url,omitempty"`
	Contact     string   `toml:"contact" json:"contact,omitempty"`
	Maintainers []string `toml:"maintainers" json:"maintainers,omitempty"`
	Signers     []Signer `toml:"signers" json:"signers,omitempty"`
	Origin      Origin   `toml:"-" json:"origin"` // set when catalogs are merged (package federate)
}

// Signer is one identity whose cosign signatures the publisher accepts: a public key file, or a
// keyless (Fulcio) certificate identity given by issuer and subject or subject_regexp.
type Signer struct {
	Key           string `toml:"key" json:"key,omitempty"` // PEM file relative to the publisher folder
	Issuer        string `toml:"issuer" json:"issuer,omitempty"`
	Subject       string `toml:"subject" json:"subject,omitempty"`
	SubjectRegexp string `toml:"subject_regexp" json:"subject_regexp,omitempty"`
}

// Product is products/<publisher>/<product>.toml.
type Product struct {
	ID          string       `toml:"-" json:"id"`        // "<publisher>/<product>", from the path
	Publisher   string       `toml:"-" json:"publisher"` // publisher ID
	Path        string       `toml:"-" json:"-"`         // file path relative to the catalog root
	Name        string       `toml:"name" json:"name"`
	Summary     string       `toml:"summary" json:"summary"`
	Description string       `toml:"description" json:"description,omitempty"`
	Homepage    string       `toml:"homepage" json:"homepage,omitempty"`
	Support     string       `toml:"support" json:"support,omitempty"`
	Source      string       `toml:"source" json:"source,omitempty"`
	License     string       `toml:"license" json:"license"`
	Evaluation  bool         `toml:"evaluation" json:"evaluation"`
	Categories  []string     `toml:"categories" json:"categories,omitempty"`
	Tags        []string     `toml:"tags" json:"tags,omitempty"`
	Logo        string       `toml:"logo" json:"logo,omitempty"`
	Screenshots []Screenshot `toml:"screenshots" json:"screenshots,omitempty"`
	Identity    Identity     `toml:"identity" json:"identity"`
	Builds      []Build      `toml:"builds" json:"builds"`
	Origin      Origin       `toml:"-" json:"origin"` // set when catalogs are merged (package federate)
	// Sum identifies what the loader made the product from: the hash of its file's path and
	// content, index.toml and the validator's version. Two products with the same Sum (and
	// Origin) are equal, so a build can key pages by it instead of encoding the product. ""
	// when the product was not loaded from a file (then it says nothing).
	Sum string `toml:"-" json:"-"`
}

// KeyPart returns what stands for p in a page key (see Sum): its Sum and Origin when it has a
// Sum, else the whole product.
func (p *Product) KeyPart() any {
	if p.Sum == "" {
		return p
	}
	return [2]any{p.Sum, p.Origin}
}

// Screenshot is an image of the product with a caption.
type Screenshot struct {
	File    string `toml:"file" json:"file"`
	Caption string `toml:"caption" json:"caption,omitempty"`
}

// Identity holds the seed's "SHOULD be" facets: SSO aware, provisionable, profilable, logged.
type Identity struct {
	SSO        []string `toml:"sso" json:"sso,omitempty"`                 // oidc, saml2
	SCIM       bool     `toml:"scim" json:"scim"`                         // SCIM 2 provisioning
	Tracing    string   `toml:"tracing" json:"tracing,omitempty"`         // opentelemetry, opentracing, none
	PHILogging string   `toml:"phi_logging" json:"phi_logging,omitempty"` // parameter toggling PHI logs
}

// SSOKinds, TracingKinds, Protocols and Platforms list the values the validator accepts.
var (
	SSOKinds     = []string{"oidc", "saml2"}
	TracingKinds = []string{"opentelemetry", "opentracing", "none"}
	Protocols    = []string{"http", "tcp", "udp", "grpc"}
	Platforms    = []string{"linux/amd64", "linux/386"} // rule 11
)

// Build is one released version of a product: an image pinned by digest and its default
// configuration.
type Build struct {
	Version      string       `toml:"version" json:"version"`
	Image        string       `toml:"image" json:"image"`
	Released     *time.Time   `toml:"released" json:"released,omitempty"`
	Notes        string       `toml:"notes" json:"notes,omitempty"`
	Platforms    []string     `toml:"platforms" json:"platforms,omitempty"`
	Tasks        []Task       `toml:"tasks" json:"tasks"`
	Parameters   []Parameter  `toml:"parameters" json:"parameters,omitempty"`
	Exposes      []Exposure   `toml:"exposes" json:"exposes,omitempty"`
	Dependencies []Dependency `toml:"dependencies" json:"dependencies,omitempty"`
	SmokeTest    *SmokeTest   `toml:"smoke_test" json:"smoke_test,omitempty"`
}

// Digest returns the "sha256:<hex>" part of the image reference, or "" when it has none.
func (b *Build) Digest() string {
	if ref, err := ParseImageRef(b.Image); err == nil {
		return ref.Digest
	}
	return ""
}

// PlatformsOrDefault returns the declared platforms, or linux/amd64 when none are declared.
func (b *Build) PlatformsOrDefault() []string {
	if len(b.Platforms) == 0 {
		return []string{"linux/amd64"}
	}
	return b.Platforms
}

// Task returns the task with the given name, or nil.
func (b *Build) Task(name string) *Task {
	for i := range b.Tasks {
		if b.Tasks[i].Name == name {
			return &b.Tasks[i]
		}
	}
	return nil
}

// Parameter returns the parameter with the given name, or nil.
func (b *Build) Parameter(name string) *Parameter {
	for i := range b.Parameters {
		if b.Parameters[i].Name == name {
			return &b.Parameters[i]
		}
	}
	return nil
}

// Task is one entry process of the default configuration (rule 7).
type Task struct {
	Name        string   `toml:"name" json:"name"`
	Command     []string `toml:"command" json:"command,omitempty"`
	Min         *int     `toml:"min" json:"min"`                   // default 1 (rules 5, 6)
	Max         *int     `toml:"max" json:"max"`                   // default max(min, 1)
	Memory      *int     `toml:"memory" json:"memory"`             // MiB per instance, required (rule 10)
	StopTimeout *int     `toml:"stop_timeout" json:"stop_timeout"` // seconds, default and maximum 10 (rule 13)
	Ports       []Port   `toml:"ports" json:"ports,omitempty"`
	// Volumes are file systems mounted into the task: scratch space, or persistent storage for
	// the categories policy.stateful_categories names (rule 2 is about application services).
	Volumes []Volume `toml:"volumes" json:"volumes,omitempty"`
	// FSGroup is the group that owns the task's persistent volumes (Kubernetes fsGroup), so that
	// the image's non-root user, a member of it, can write a freshly provisioned volume.
	FSGroup *int `toml:"fs_group" json:"fs_group,omitempty"`
}

// Volume is a file system mounted into a task at Path.
type Volume struct {
	Path string `toml:"path" json:"path"`
	Size int    `toml:"size" json:"size"` // MiB
	// Persistent keeps the data across restarts and rescheduling (default true): a
	// StatefulSet's volumeClaimTemplate on Kubernetes, a named volume in Compose. false is
	// scratch space that starts empty with every instance.
	Persistent *bool `toml:"persistent" json:"persistent"`
}

// IsPersistent reports whether the volume keeps its data (the default).
func (v *Volume) IsPersistent() bool { return v.Persistent == nil || *v.Persistent }

// HasPersistentVolume reports whether any volume of the task is persistent.
func (t *Task) HasPersistentVolume() bool {
	for i := range t.Volumes {
		if t.Volumes[i].IsPersistent() {
			return true
		}
	}
	return false
}

// MinInstances returns min, defaulting to 1.
func (t *Task) MinInstances() int {
	if t.Min == nil {
		return 1
	}
	return *t.Min
}

// MaxInstances returns max, defaulting to max(min, 1).
func (t *Task) MaxInstances() int {
	if t.Max == nil {
		return max(t.MinInstances(), 1)
	}
	return *t.Max
}

// MemoryMiB returns the memory limit, 0 when undeclared.
func (t *Task) MemoryMiB() int {
	if t.Memory == nil {
		return 0
	}
	return *t.Memory
}

// StopSeconds returns stop_timeout, defaulting to 10.
func (t *Task) StopSeconds() int {
	if t.StopTimeout == nil {
		return MaxStopTimeout
	}
	return *t.StopTimeout
}

// MaxStopTimeout is rule 13's limit in seconds.
const MaxStopTimeout = 10

// Port is a port a task listens on.
type Port struct {
	Port     int    `toml:"port" json:"port"`
	Protocol string `toml:"protocol" json:"protocol"` // http, tcp, udp, grpc; default tcp
	Health   string `toml:"health" json:"health,omitempty"`
}

// Parameter is one environment variable the image reads its configuration from (rule 3).
type Parameter struct {
	Name        string  `toml:"name" json:"name"`
	Description string  `toml:"description" json:"description,omitempty"`
	Required    bool    `toml:"required" json:"required"`
	Default     *string `toml:"default" json:"default,omitempty"`
	Pattern     string  `toml:"pattern" json:"pattern,omitempty"`
	Secret      bool    `toml:"secret" json:"secret"`
}

// Exposure is an interface a build provides, on a task's port.
type Exposure struct {
	Interface string `toml:"interface" json:"interface"`
	Task      string `toml:"task" json:"task"`
	Port      int    `toml:"port" json:"port"`
	Path      string `toml:"path" json:"path,omitempty"`
	// Properties says how a consumer reaches the interface, by property of the interface: a
	// template over the platform's ${host}, ${port} and ${path} and the build's own parameters,
	// e.g. url = "postgresql://${POSTGRES_USER}:${POSTGRES_PASSWORD}@${host}:${port}/${POSTGRES_DB}".
	// host, port and path need no template; url defaults to http://${host}:${port}${path} on an
	// HTTP port.
	Properties map[string]string `toml:"properties" json:"properties,omitempty"`
}

// Dependency is an interface a build needs, with the provider properties bound to its parameters.
type Dependency struct {
	Interface string            `toml:"interface" json:"interface"`
	Required  *bool             `toml:"required" json:"required"` // default true
	Bind      map[string]string `toml:"bind" json:"bind,omitempty"`
}

// IsRequired reports whether the dependency must be provided (the default).
func (d *Dependency) IsRequired() bool { return d.Required == nil || *d.Required }

// SmokeTest is how a platform exercises the build's declared capabilities (rule 4).
type SmokeTest struct {
	Task    string   `toml:"task" json:"task"`
	Command []string `toml:"command" json:"command"`
	Timeout int      `toml:"timeout" json:"timeout,omitempty"` // seconds
}

// BuildsNewestFirst returns the product's builds ordered by SemVer, newest first; versions that
// do not parse sort last, in file order.
//
// Each version is parsed once, not in every comparison: the site, the API, the deploy files and
// both search stages ask for every product's builds, and parsing in the comparisons was 72 MB
// of a 10 000-product build's allocations.
func (p *Product) BuildsNewestFirst() []*Build {
	type parsed struct {
		b *Build
		v *semver.Version // nil: does not parse
	}
	ps := make([]parsed, len(p.Builds))
	for i := range p.Builds {
		ps[i].b = &p.Builds[i]
		if v, err := semver.StrictNewVersion(p.Builds[i].Version); err == nil {
			ps[i].v = v
		}
	}
	slices.SortStableFunc(ps, func(a, b parsed) int {
		switch {
		case a.v == nil && b.v == nil:
			return 0
		case a.v == nil:
			return 1
		case b.v == nil:
			return -1
		}
		return b.v.Compare(a.v)
	})
	out := make([]*Build, len(ps))
	for i, x := range ps {
		out[i] = x.b
	}
	return out
}

// Latest returns the newest build by SemVer, or nil when the product has none.
func (p *Product) Latest() *Build {
	if bs := p.BuildsNewestFirst(); len(bs) > 0 {
		return bs[0]
	}
	return nil
}

// IsOpen reports whether the product's license is one of the policy's open licenses (SPEC §2),
// as opposed to an evaluation (freemium) license.
func (c *Catalog) IsOpen(p *Product) bool {
	if v, ok := c.openByExpr.Load(p.License); ok {
		return v.(bool)
	}
	policy := c.openLicenses()
	open := false
	if len(policy) > 0 {
		open, _ = spdxexp.Satisfies(p.License, policy)
	}
	c.openByExpr.Store(p.License, open)
	return open
}

// openLicenses returns the policy's open licenses that are valid SPDX IDs. Invalid entries are
// reported on index.toml; they must not make every product's license check fail too. The policy
// is read once: change Index before the first call.
func (c *Catalog) openLicenses() []string {
	c.licensesOnce.Do(func() {
		policy := DefaultOpenLicenses
		if c.Index != nil {
			policy = c.Index.Policy.Licenses()
		}
		c.openList = slices.DeleteFunc(slices.Clone(policy), func(l string) bool {
			ok, _ := spdxexp.ValidateLicenses([]string{l})
			return !ok
		})
	})
	return c.openList
}
