package env

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/hspc/marketplace/catalog"
)

// Scaffold returns the text of a new environment file for `marketplace env init`: the given
// platform and namespace (either may be "") and comments that show the other tables.
func Scaffold(name, platform, namespace string) []byte {
	var b strings.Builder
	b.WriteString("# An environment: the services to deploy from the catalog, the services this site already runs,\n")
	b.WriteString("# and how dependencies are bound. `marketplace env add FILE PRODUCT --with-deps` adds services;\n")
	b.WriteString("# `marketplace env deps FILE` shows what each needs; `marketplace env export FILE` writes manifests.\n\n")
	fmt.Fprintf(&b, "name = %s\n", strconv.Quote(name))
	if platform == "" {
		platform = Platforms[0]
	}
	fmt.Fprintf(&b, "platform = %s   # kubernetes or compose\n", strconv.Quote(platform))
	if namespace != "" {
		fmt.Fprintf(&b, "namespace = %s\n", strconv.Quote(namespace))
	}
	b.WriteString(`
# [[services]]                  # a build from the catalog
# name = "fhir"                 # instance name (default: the product's slug)
# product = "acme/fhir"
# version = "^5"                # a version or SemVer constraint (default: the newest release)
# params = { FHIR_BASE_URL = "https://fhir.example.org/fhir" }

# [[externals]]                 # a service this site already runs
# name = "hospital-sso"
# interface = "oidc"
# properties = { issuer = "https://sso.example.org", client_id = "fhir", client_secret = { secret = "OIDC_CLIENT_SECRET" } }

# [[bindings]]                  # only where two providers could serve a dependency
# service = "fhir"
# interface = "postgresql"
# provider = "db"
`)
	return []byte(b.String())
}

// AppendServices returns data with a [[services]] table appended for each service, leaving what
// the file already says (comments included) as it is.
func AppendServices(data []byte, services []Service) []byte {
	out := bytes.Clone(data)
	if len(out) > 0 && out[len(out)-1] != '\n' {
		out = append(out, '\n')
	}
	for _, s := range services {
		out = append(out, "\n[[services]]\n"...)
		if s.Name != "" {
			out = fmt.Appendf(out, "name = %s\n", strconv.Quote(s.Name))
		}
		out = fmt.Appendf(out, "product = %s\n", strconv.Quote(s.Product))
		if s.Version != "" {
			out = fmt.Appendf(out, "version = %s\n", strconv.Quote(s.Version))
		}
		if len(s.Params) > 0 {
			var parts []string
			for _, k := range sortedKeys(s.Params) {
				v := s.Params[k]
				if v.Secret != "" {
					parts = append(parts, fmt.Sprintf("%s = { secret = %s }", k, strconv.Quote(v.Secret)))
				} else {
					parts = append(parts, fmt.Sprintf("%s = %s", k, strconv.Quote(v.Text)))
				}
			}
			out = fmt.Appendf(out, "params = { %s }\n", strings.Join(parts, ", "))
		}
	}
	return out
}

// Additions returns the services `marketplace env add` appends to e for product at version (a
// version, a constraint, or "" for the newest release, recorded as "^MAJOR"): the service itself,
// named by the product's slug (or slug-2, slug-3 … when taken), and with withDeps, for every
// required dependency that nothing provides, the one catalog product whose newest build provides
// it, transitively. A dependency several products could provide is left to the user: notes say
// which, as do dependencies no product provides (bind them to an external).
func Additions(cat *catalog.Catalog, e *Environment, product, version string, withDeps bool) ([]Service, []string, error) {
	p := cat.Products[product]
	if p == nil {
		return nil, nil, fmt.Errorf("no product %s in the catalog%s", product, catalog.Hint(product, cat.SortedProductIDs()))
	}
	if version == "" {
		version = caretOf(p.Latest())
	} else {
		c, err := ParseConstraint(version)
		if err != nil {
			return nil, nil, err
		}
		if !slices.ContainsFunc(p.Builds, func(b catalog.Build) bool {
			v, err := semver.NewVersion(b.Version)
			return err == nil && c.Check(v)
		}) {
			var versions []string
			for _, b := range p.Builds {
				versions = append(versions, b.Version)
			}
			return nil, nil, fmt.Errorf("no build of %s matches %q (versions: %s)", product, version, strings.Join(versions, ", "))
		}
	}
	work := *e
	work.file = nil
	work.Services = slices.Clone(e.Services)
	var added []Service
	add := func(p *catalog.Product, version string) {
		s := Service{Name: freeName(&work, p), Product: p.ID, Version: version}
		work.Services = append(work.Services, s)
		added = append(added, s)
	}
	var notes []string
	for _, s := range e.Services {
		if s.Product == p.ID {
			notes = append(notes, fmt.Sprintf("%s is already in the environment as %s; this adds another instance", p.ID, s.InstanceName()))
		}
	}
	add(p, version)
	if withDeps {
		noted := map[string]bool{}
		for range 100 { // each round adds at least one service; a catalog is not that deep
			res, _ := Resolve(cat, &work, nil, Options{})
			progress := false
			for _, m := range res.Missing {
				id := m.Dependency.Interface
				if noted[id] {
					continue
				}
				switch len(m.Candidates) {
				case 1:
					add(m.Candidates[0].Product, caretOf(m.Candidates[0].Build))
					progress = true
				case 0:
					notes = append(notes, fmt.Sprintf("%s needs %s, which no product of the catalog provides: declare it as an [[externals]] entry", m.Consumer.Name, id))
					noted[id] = true
				default:
					var ids []string
					for _, c := range m.Candidates {
						ids = append(ids, c.Product.ID)
					}
					notes = append(notes, fmt.Sprintf("%s needs %s, which %s provide: add one (marketplace env add FILE PRODUCT --with-deps) or declare an [[externals]] entry", m.Consumer.Name, id, strings.Join(ids, " and ")))
					noted[id] = true
				}
				if progress {
					break // resolve again: the new service may provide other missing interfaces
				}
			}
			if !progress {
				break
			}
		}
	}
	return added, notes, nil
}

// caretOf returns "^MAJOR" of a build's version, or the version itself when it does not parse.
func caretOf(b *catalog.Build) string {
	if b == nil {
		return ""
	}
	v, err := semver.NewVersion(b.Version)
	if err != nil {
		return b.Version
	}
	if v.Major() == 0 {
		return fmt.Sprintf("^0.%d", v.Minor())
	}
	return fmt.Sprintf("^%d", v.Major())
}

// freeName returns the product's slug, or the slug with -2, -3 … when a service or external of e
// already has that name.
func freeName(e *Environment, p *catalog.Product) string {
	_, slug, _ := strings.Cut(p.ID, "/")
	taken := func(n string) bool {
		return slices.ContainsFunc(e.Services, func(s Service) bool { return s.InstanceName() == n }) ||
			slices.ContainsFunc(e.Externals, func(x External) bool { return x.Name == n })
	}
	name := slug
	for i := 2; taken(name); i++ {
		name = fmt.Sprintf("%s-%d", slug, i)
	}
	return name
}
