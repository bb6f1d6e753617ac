package env

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/hspc/marketplace/catalog"
)

// Platforms lists the values of an environment's platform, the default first.
var Platforms = []string{"kubernetes", "compose"}

// Environment is one environment file.
type Environment struct {
	// Path is the file's path as given to Load, used in diagnostics.
	Path string `toml:"-"`
	// Name names the environment; it defaults to the file's base name without .toml and prefixes
	// the objects the services share (the Secret "<name>-secrets").
	Name      string     `toml:"name"`
	Platform  string     `toml:"platform"` // kubernetes (default) or compose
	Namespace string     `toml:"namespace"`
	Services  []Service  `toml:"services"`
	Externals []External `toml:"externals"`
	Bindings  []Binding  `toml:"bindings"`

	file *catalog.TOMLFile // the decoded file, for positioning resolution findings
}

// PlatformOrDefault returns the platform, kubernetes when unset.
func (e *Environment) PlatformOrDefault() string {
	if e.Platform == "" {
		return Platforms[0]
	}
	return e.Platform
}

// Service is a build from the catalog deployed in the environment.
type Service struct {
	Name    string           `toml:"name"`    // instance name, a DNS label; default the product's slug
	Product string           `toml:"product"` // "<publisher>/<product>"
	Version string           `toml:"version"` // exact version or SemVer constraint; "" = newest release
	Params  map[string]Value `toml:"params"`  // parameter values, by parameter name
}

// InstanceName returns Name, or the product's slug when it is empty.
func (s *Service) InstanceName() string {
	if s.Name != "" {
		return s.Name
	}
	_, slug, _ := strings.Cut(s.Product, "/")
	return slug
}

// External is a service the hospital already runs, bound by its interface's properties.
type External struct {
	Name       string           `toml:"name"`
	Interface  string           `toml:"interface"`
	Properties map[string]Value `toml:"properties"`
}

// Binding picks the provider of one dependency where more than one could serve.
type Binding struct {
	Service   string `toml:"service"`   // the consumer's instance name
	Interface string `toml:"interface"` // the dependency's interface, as the build declares it
	Provider  string `toml:"provider"`  // a service instance or an external
}

// Value is what an environment file gives a parameter or property: text, or a reference to a
// secret by name ({ secret = "NAME" }), whose value lives in the secrets file, not here.
type Value struct {
	Text   string
	Secret string // the secret's key; "" for text
}

// DecodeTOMLValue implements catalog.ValueDecoder: a string, or a table { secret = "NAME" }.
func (v *Value) DecodeTOMLValue(data any) (bool, string) {
	const want = `string, or { secret = "NAME" } for a secret kept out of this file`
	switch x := data.(type) {
	case string:
		*v = Value{Text: x}
		return true, ""
	case map[string]any:
		name, ok := x["secret"].(string)
		if !ok || len(x) != 1 || name == "" {
			return false, want
		}
		*v = Value{Secret: name}
		return true, ""
	}
	return false, want
}

// Expr is a value made of literal text and secret references, in order; the value is their
// concatenation once the secrets are known. Keeping the parts apart lets a renderer put plain
// values in ConfigMaps and anything holding a secret in the Secret.
type Expr []Part

// Part is literal Text, or the Secret with that key.
type Part struct {
	Text   string
	Secret string
}

// Text returns an Expr of literal text.
func Text(s string) Expr { return Expr{{Text: s}} }

// SecretRef returns an Expr that is the secret with key name.
func SecretRef(name string) Expr { return Expr{{Secret: name}} }

// HasSecret reports whether any part is a secret.
func (e Expr) HasSecret() bool {
	for _, p := range e {
		if p.Secret != "" {
			return true
		}
	}
	return false
}

// SoleSecret returns the key of the secret e consists of, when e is exactly one secret reference.
func (e Expr) SoleSecret() (string, bool) {
	if len(e) == 1 && e[0].Secret != "" {
		return e[0].Secret, true
	}
	return "", false
}

// Eval returns the value of e with the secrets' values from secrets (missing ones are "").
func (e Expr) Eval(secrets map[string]string) string {
	var b strings.Builder
	for _, p := range e {
		if p.Secret != "" {
			b.WriteString(secrets[p.Secret])
		} else {
			b.WriteString(p.Text)
		}
	}
	return b.String()
}

// String shows e with each secret as ${KEY}: safe to print.
func (e Expr) String() string {
	var b strings.Builder
	for _, p := range e {
		if p.Secret != "" {
			b.WriteString("${" + p.Secret + "}")
		} else {
			b.WriteString(p.Text)
		}
	}
	return b.String()
}

// Resolution is an environment resolved against a catalog: a build per service and a provider
// per dependency.
type Resolution struct {
	Env       *Environment
	Catalog   *catalog.Catalog
	Services  []*Resolved // in file order
	Externals []*External // in file order
	Bindings  []*Bound    // every provided dependency, by consumer in file order, then dependency order
	Missing   []*Missing  // required dependencies nothing provides, with the catalog's candidates
	Secrets   []*Secret   // the keys of the environment's one Secret, sorted by key
	Notes     []string    // optional dependencies left unbound, and other remarks
	Lock      *Lock       // what each service resolved to, to write beside the file
}

// Service returns the resolved service with the instance name, or nil.
func (r *Resolution) Service(name string) *Resolved {
	for _, s := range r.Services {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// SecretsName returns the name of the environment's one Secret: "<env>-secrets".
func (r *Resolution) SecretsName() string { return r.Env.Name + "-secrets" }

// Resolved is one service with its build chosen.
type Resolved struct {
	Name       string // instance name
	Spec       *Service
	Product    *catalog.Product
	Build      *catalog.Build
	Constraint string   // as written; "" for the newest release
	Locked     bool     // the build came from the lock
	Params     []Param  // every parameter of the build, in build order, with its value
	Needs      []*Bound // one per dependency of the build, in build order; Provider and External nil when unmet
	index      int      // position in Env.Services, for diagnostics
}

// Host returns the host name other services reach task on: "<instance>-<task>", the
// Kubernetes Service and the Compose service of that task.
func (s *Resolved) Host(task string) string { return DNSLabel(s.Name, task) }

// Param returns the resolved parameter with the name, or nil.
func (s *Resolved) Param(name string) *Param {
	for i := range s.Params {
		if s.Params[i].Name == name {
			return &s.Params[i]
		}
	}
	return nil
}

// Param is a parameter of a resolved service and the value it gets.
type Param struct {
	Name  string
	Value Expr
	// Source says where the value comes from: "set" (the environment file), "bound" (a
	// dependency's provider), "default", "generated" (a secret made at export) or "unset".
	Source string
	// SecretKey is the key of the environment's Secret that holds the whole value, for secret
	// parameters and parameters whose value contains a secret; "" for plain values.
	SecretKey string
}

// Sources of a Param's value.
const (
	SourceSet       = "set"
	SourceBound     = "bound"
	SourceDefault   = "default"
	SourceGenerated = "generated"
	SourceUnset     = "unset"
)

// Bound is one dependency of a service and its provider: another service of the environment or
// an external.
type Bound struct {
	Consumer   *Resolved
	Dependency *catalog.Dependency
	Provider   *Resolved         // the providing service, or nil
	Exposure   *catalog.Exposure // the provider's exposure that serves it, or nil
	External   *External         // the providing external, or nil
	Interface  string            // the interface the provider offers (Dependency.Interface or a substitute)
	Explicit   bool              // chosen by a [[bindings]] entry
	// Properties holds the values of the bound properties, by property name.
	Properties map[string]Expr
}

// ProviderName returns the provider's instance or external name, "" when unmet.
func (b *Bound) ProviderName() string {
	switch {
	case b.Provider != nil:
		return b.Provider.Name
	case b.External != nil:
		return b.External.Name
	}
	return ""
}

// Missing is a required dependency that nothing in the environment provides.
type Missing struct {
	Consumer   *Resolved
	Dependency *catalog.Dependency
	Candidates []*Candidate // catalog products that could provide it, by product ID
}

// Candidate is a catalog product whose newest build provides an interface, and what that build
// needs in turn: its required dependencies with their own candidates, transitively (each
// interface expanded once per tree).
type Candidate struct {
	Product   *catalog.Product
	Build     *catalog.Build
	Interface string // the interface its build exposes
	Needs     []*CandidateNeed
}

// CandidateNeed is a required dependency of a candidate's build.
type CandidateNeed struct {
	Interface string
	// Provided names the service or external of the environment that already provides it.
	Provided   string
	Candidates []*Candidate // when not provided; nil when already expanded higher in the tree
}

// Secret is one key of the environment's Secret.
type Secret struct {
	Key string
	// Kind says where the value comes from.
	Kind SecretKind
	// Value is the value of a derived secret, made of literal text and other secrets.
	Value Expr
	// Usage says who reads it, for the comment in the secrets file: "fhir DATABASE_URL".
	Usage []string
}

// SecretKind says where a secret's value comes from.
type SecretKind int

const (
	// Given secrets are referenced by the environment file ({ secret = "NAME" }); the operator
	// writes their values into the secrets file.
	Given SecretKind = iota
	// Generated secrets are made once at export (random) and kept in the secrets file: a
	// provider's own credential that nothing sets.
	Generated
	// Derived secrets are computed at every export from other secrets and text (a connection URL
	// that holds a generated password).
	Derived
)

func (k SecretKind) String() string {
	switch k {
	case Generated:
		return "generated"
	case Derived:
		return "derived"
	}
	return "given"
}

// DNSLabel joins parts with '-' into an RFC 1123 label (lowercase alphanumerics and '-', at most
// 63 characters). Too long a name keeps its first 54 characters and gets 8 hex digits of its hash,
// so it stays unique and stable. Kubernetes object names and host names are made with it.
func DNSLabel(parts ...string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.Join(parts, "-")) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	name := strings.Trim(b.String(), "-")
	if len(name) <= 63 {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	return strings.TrimRight(name[:54], "-") + "-" + hex.EncodeToString(sum[:4])
}
