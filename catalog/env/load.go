package env

import (
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/hspc/marketplace/catalog"
)

// Load decodes and checks the environment file at path (its contents are data): TOML syntax,
// types and unknown keys, then everything that needs no catalog — names, product IDs, versions
// and constraints, parameter names (rule 3), bindings that name no service. Every problem is
// reported at once, positioned on the file; the catalog-dependent checks are Resolve's. The
// Environment is nil only when the file is not TOML; otherwise it holds what could be decoded,
// and Resolve can still check the rest (its diagnostics include Load's).
func Load(path string, data []byte) (*Environment, catalog.Diagnostics) {
	e := &Environment{Path: path}
	f := catalog.DecodeTOML(path, data, e)
	e.file = f
	if f.SyntaxFailed() {
		return nil, f.Diagnostics()
	}
	if e.Name != "" && !namePattern.MatchString(e.Name) {
		f.Errorf("name", "environment name %q must be a DNS label: lowercase letters, digits and inner hyphens, at most 63", e.Name)
	}
	if e.Name == "" {
		e.Name = DNSLabel(strings.TrimSuffix(filepath.Base(path), filepath.Ext(path)))
		if !namePattern.MatchString(e.Name) {
			f.Errorf("", "the file gives no environment name: set name = \"...\", a DNS label")
		}
	}
	check(e, f)
	return e, f.Diagnostics()
}

// namePattern is what instance, external and environment names must match: an RFC 1123 label
// short enough that "<name>-<task>" and "<name>-secrets" stay within 63 characters in most cases.
var namePattern = catalog.IDPattern

func check(e *Environment, f *catalog.TOMLFile) {
	if e.Platform != "" && !slices.Contains(Platforms, e.Platform) {
		f.Errorf("platform", "unknown platform %q: want %s%s", e.Platform, strings.Join(Platforms, " or "), catalog.Hint(e.Platform, Platforms))
	}
	if e.Namespace != "" && !namePattern.MatchString(e.Namespace) {
		f.Errorf("namespace", "namespace %q must be a DNS label: lowercase letters, digits and inner hyphens, at most 63", e.Namespace)
	}

	names := map[string]string{} // instance or external name → key of its first use
	claim := func(key, name, what string) {
		if first, dup := names[name]; dup {
			f.Errorf(key, "%s name %q is already used by %s: every service and external needs its own name", what, name, first)
			return
		}
		names[name] = key
	}
	for i := range e.Services {
		s := &e.Services[i]
		key := fmt.Sprintf("services[%d]", i)
		pub, prod, ok := strings.Cut(s.Product, "/")
		switch {
		case s.Product == "":
			f.Errorf(key, "service needs product: the catalog product to deploy, as \"PUBLISHER/PRODUCT\"")
		case !ok || !catalog.IDPattern.MatchString(pub) || !catalog.IDPattern.MatchString(prod):
			f.Errorf(key+".product", "product %q is not \"PUBLISHER/PRODUCT\" (lowercase IDs, as in the catalog's products/ folder)", s.Product)
		}
		name := s.InstanceName()
		if s.Name != "" && !namePattern.MatchString(s.Name) {
			f.Errorf(key+".name", "service name %q must be a DNS label: lowercase letters, digits and inner hyphens, at most 63", s.Name)
		} else if name != "" {
			claim(key+".name", name, "service")
		}
		if s.Version != "" {
			if _, err := ParseConstraint(s.Version); err != nil {
				f.Errorf(key+".version", "%v", err)
			}
		}
		for _, p := range sortedKeys(s.Params) {
			pk := catalog.KeyPath(key+".params", p)
			if !catalog.EnvNamePattern.MatchString(p) {
				f.RuleErrorf(pk, 3, "%s is not a parameter name: names use only uppercase A-Z, 0-9 and '_', starting with a letter (try %s)", p, catalog.EnvNameFor(p))
			}
			checkSecretRef(f, pk, s.Params[p])
		}
	}
	for i := range e.Externals {
		x := &e.Externals[i]
		key := fmt.Sprintf("externals[%d]", i)
		switch {
		case x.Name == "":
			f.Errorf(key, "external needs name: how services and [[bindings]] refer to it")
		case !namePattern.MatchString(x.Name):
			f.Errorf(key+".name", "external name %q must be a DNS label: lowercase letters, digits and inner hyphens, at most 63", x.Name)
		default:
			claim(key+".name", x.Name, "external")
		}
		if x.Interface == "" {
			f.Errorf(key, "external needs interface: the interface of index.toml it provides, e.g. \"oidc\"")
		}
		for _, p := range sortedKeys(x.Properties) {
			checkSecretRef(f, catalog.KeyPath(key+".properties", p), x.Properties[p])
		}
	}
	seen := map[[2]string]string{}
	for i, b := range e.Bindings {
		key := fmt.Sprintf("bindings[%d]", i)
		for _, field := range []struct{ name, value, what string }{
			{"service", b.Service, "the consumer's service name"},
			{"interface", b.Interface, "the dependency's interface"},
			{"provider", b.Provider, "the service or external that provides it"},
		} {
			if field.value == "" {
				f.Errorf(key, "binding needs %s: %s", field.name, field.what)
			}
		}
		if b.Service != "" {
			if _, ok := names[b.Service]; !ok || slices.ContainsFunc(e.Externals, func(x External) bool { return x.Name == b.Service }) {
				f.Errorf(key+".service", "no service %q in this environment%s", b.Service, catalog.Hint(b.Service, e.serviceNames()))
			}
		}
		if b.Provider != "" {
			if _, ok := names[b.Provider]; !ok {
				f.Errorf(key+".provider", "no service or external %q in this environment%s", b.Provider, catalog.Hint(b.Provider, sortedKeys(names)))
			}
		}
		k := [2]string{b.Service, b.Interface}
		if first, dup := seen[k]; dup && b.Service != "" && b.Interface != "" {
			f.Errorf(key, "service %s's %s dependency is already bound by %s", b.Service, b.Interface, first)
		}
		seen[k] = key
	}
}

// checkSecretRef checks the key of a { secret = "NAME" } reference: it names an entry of the
// secrets file and a Compose interpolation, so it follows rule 3.
func checkSecretRef(f *catalog.TOMLFile, key string, v Value) {
	if v.Secret != "" && !catalog.EnvNamePattern.MatchString(v.Secret) {
		f.Errorf(key+".secret", "secret name %q: names use only uppercase A-Z, 0-9 and '_', starting with a letter (try %s)", v.Secret, catalog.EnvNameFor(v.Secret))
	}
}

func (e *Environment) serviceNames() []string {
	var out []string
	for i := range e.Services {
		out = append(out, e.Services[i].InstanceName())
	}
	return out
}

// ParseConstraint parses a service's version: an exact version ("5.1.0") or a SemVer constraint
// ("^5", "~5.0", ">= 5.0, < 6"), in Masterminds/semver syntax.
func ParseConstraint(s string) (*semver.Constraints, error) {
	c, err := semver.NewConstraint(s)
	if err != nil {
		return nil, fmt.Errorf("version %q is neither a version nor a SemVer constraint (\"5.1.0\", \"^5\", \"~5.0\", \">= 5.0, < 6\"): %v", s, err)
	}
	return c, nil
}

// LockPath returns the lock file of the environment file at envPath: the same name with .lock
// instead of .toml (environment.toml → environment.lock).
func LockPath(envPath string) string {
	return strings.TrimSuffix(envPath, path.Ext(envPath)) + ".lock"
}
