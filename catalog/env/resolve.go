package env

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/hspc/marketplace/catalog"
)

// Options tune Resolve.
type Options struct {
	// Update ignores the lock: every constraint resolves to the newest matching build again.
	Update bool
}

// Resolve resolves e against cat: a build per service (from lock where it still applies), a
// provider per dependency, a value per parameter (see the package documentation for the rules).
// Problems are positioned on e's file, all at once, and include those Load found. The Resolution
// is returned even when there are errors, with what could be resolved.
func Resolve(cat *catalog.Catalog, e *Environment, lock *Lock, opts Options) (*Resolution, catalog.Diagnostics) {
	f := e.file
	if f == nil { // an Environment built in code rather than loaded
		f = catalog.DecodeTOML(e.Path, nil, &struct{}{})
	}
	r := &resolver{cat: cat, e: e, f: f, lock: lock, opts: opts,
		res: &Resolution{Env: e, Catalog: cat, Lock: &Lock{}}}
	r.services()
	r.hosts()
	r.externals()
	r.bindings()
	r.providers()
	order := r.cycles()
	for _, s := range order {
		r.values(s)
	}
	r.secrets()
	return r.res, f.Diagnostics()
}

type resolver struct {
	cat  *catalog.Catalog
	e    *Environment
	f    *catalog.TOMLFile
	lock *Lock
	opts Options
	res  *Resolution

	secretList map[string]*Secret

	providersOf map[string][]catalogProvider // interface → catalog products serving it, made once
	candMemo    map[string][]*Candidate      // interface → candidates, made once
	expanding   map[string]bool              // interfaces whose candidates are being made
}

func svcKey(i int) string { return fmt.Sprintf("services[%d]", i) }

// services picks the build of every service.
func (r *resolver) services() {
	for i := range r.e.Services {
		spec := &r.e.Services[i]
		key := svcKey(i)
		p := r.cat.Products[spec.Product]
		if p == nil {
			pub, prod, _ := strings.Cut(spec.Product, "/")
			if catalog.IDPattern.MatchString(pub) && catalog.IDPattern.MatchString(prod) {
				r.f.Errorf(key+".product", "no product %s in the catalog%s", spec.Product, catalog.Hint(spec.Product, r.cat.SortedProductIDs()))
			}
			continue
		}
		b, locked := r.pick(key, spec, p)
		if b == nil {
			continue
		}
		s := &Resolved{Name: spec.InstanceName(), Spec: spec, Product: p, Build: b, Constraint: spec.Version, Locked: locked, index: i}
		r.res.Services = append(r.res.Services, s)
		r.res.Lock.Services = append(r.res.Lock.Services, Locked{Name: s.Name, Product: p.ID, Constraint: spec.Version, Version: b.Version, Image: b.Image})

		var declared []string
		for _, prm := range b.Parameters {
			declared = append(declared, prm.Name)
		}
		for _, name := range sortedKeys(spec.Params) {
			prm := b.Parameter(name)
			pk := catalog.KeyPath(key+".params", name)
			if prm == nil {
				if catalog.EnvNamePattern.MatchString(name) {
					r.f.KeyErrorf(pk, "%s is not a parameter of %s %s%s", name, p.ID, b.Version, hintFold(name, declared))
				}
				continue
			}
			v := spec.Params[name]
			if v.Secret == "" && prm.Pattern != "" {
				if re, err := regexp.Compile(prm.Pattern); err == nil && !re.MatchString(v.Text) {
					shown := strconv.Quote(v.Text)
					if prm.Secret {
						shown = "the value" // never echo a secret
					}
					r.f.Errorf(pk, "%s does not match the parameter's pattern %s", shown, prm.Pattern)
				}
			}
			if v.Secret == "" && prm.Secret && v.Text != "" {
				r.f.Warnf(pk, "%s is a secret parameter: write { secret = \"NAME\" } and keep its value in the secrets file, not in the environment file", name)
			}
		}
	}
}

// pick chooses the build of a service: the locked one while it still exists with the same image
// and satisfies the constraint, else the newest matching release.
func (r *resolver) pick(key string, spec *Service, p *catalog.Product) (*catalog.Build, bool) {
	var cons *semver.Constraints
	if spec.Version != "" {
		c, err := ParseConstraint(spec.Version)
		if err != nil {
			return nil, false // Load reported it
		}
		cons = c
	}
	if l := r.lock.Find(spec.InstanceName()); l != nil && !r.opts.Update && l.Product == p.ID && l.Constraint == spec.Version {
		for i := range p.Builds {
			b := &p.Builds[i]
			if b.Version != l.Version {
				continue
			}
			if b.Image != l.Image {
				r.f.Errorf(key, "the lock pins %s %s to image %s, but the catalog now says %s: a published build changed; check why, then resolve again with --update", p.ID, b.Version, l.Image, b.Image)
				return nil, false
			}
			if v, err := semver.NewVersion(b.Version); err == nil && (cons == nil || cons.Check(v)) {
				return b, true
			}
		}
	}
	type cand struct {
		b *catalog.Build
		v *semver.Version
	}
	var all []cand
	var versions []string
	for i := range p.Builds {
		b := &p.Builds[i]
		versions = append(versions, b.Version)
		v, err := semver.NewVersion(b.Version)
		if err != nil {
			continue
		}
		if cons == nil || cons.Check(v) {
			all = append(all, cand{b, v})
		}
	}
	slices.SortStableFunc(all, func(a, b cand) int {
		if (a.v.Prerelease() == "") != (b.v.Prerelease() == "") {
			if a.v.Prerelease() == "" {
				return 1 // a release ranks above any pre-release
			}
			return -1
		}
		return a.v.Compare(b.v)
	})
	if len(all) == 0 {
		if cons == nil {
			r.f.Errorf(key+".product", "%s has no build with a SemVer version", p.ID)
		} else {
			r.f.Errorf(key+".version", "no build of %s matches %q (versions: %s)", p.ID, spec.Version, strings.Join(versions, ", "))
		}
		return nil, false
	}
	return all[len(all)-1].b, false
}

// hosts checks that no two tasks of different services get the same host name (and Kubernetes
// object names): "a" with task "b-c" and "a-b" with task "c" would.
func (r *resolver) hosts() {
	seen := map[string]*Resolved{}
	for _, s := range r.res.Services {
		for _, t := range s.Build.Tasks {
			h := s.Host(t.Name)
			if other := seen[h]; other != nil && other != s {
				r.f.Errorf(svcKey(s.index)+".name", "task %s of %s and a task of %s are both named %s: rename one of the services", t.Name, s.Name, other.Name, h)
			}
			seen[h] = s
		}
	}
}

func (r *resolver) externals() {
	for i := range r.e.Externals {
		x := &r.e.Externals[i]
		r.res.Externals = append(r.res.Externals, x)
		key := fmt.Sprintf("externals[%d]", i)
		if x.Interface == "" {
			continue
		}
		in := r.cat.Interface(x.Interface)
		if in == nil {
			r.f.Errorf(key+".interface", "unknown interface %q: interfaces are declared in the catalog's index.toml%s", x.Interface, catalog.Hint(x.Interface, r.interfaceIDs()))
			in = &catalog.Interface{ID: x.Interface}
		}
		for _, name := range sortedKeys(x.Properties) {
			if v := x.Properties[name]; v.Secret != "" {
				r.secret(v.Secret, Given, nil, "")
			}
			if in.Name != "" && !slices.Contains(in.Properties, name) {
				r.f.KeyErrorf(catalog.KeyPath(key+".properties", name), "%q is not a property of interface %s (it has %s)%s", name, in.ID, propertyList(in), catalog.Hint(name, in.Properties))
			}
		}
	}
}

func propertyList(in *catalog.Interface) string {
	if len(in.Properties) == 0 {
		return "none"
	}
	return strings.Join(in.Properties, ", ")
}

func (r *resolver) interfaceIDs() []string {
	if r.cat.Index == nil {
		return nil
	}
	var ids []string
	for _, in := range r.cat.Index.Interfaces {
		ids = append(ids, in.ID)
	}
	return ids
}

func (r *resolver) external(name string) *External {
	for _, x := range r.res.Externals {
		if x.Name == name {
			return x
		}
	}
	return nil
}

// bindings checks each [[bindings]] entry against the services' builds: the dependency exists
// and the provider provides it.
func (r *resolver) bindings() {
	for i, b := range r.e.Bindings {
		key := fmt.Sprintf("bindings[%d]", i)
		s := r.res.Service(b.Service)
		if s == nil || b.Interface == "" {
			continue
		}
		if !slices.ContainsFunc(s.Build.Dependencies, func(d catalog.Dependency) bool { return d.Interface == b.Interface }) {
			var deps []string
			for _, d := range s.Build.Dependencies {
				deps = append(deps, d.Interface)
			}
			r.f.Errorf(key+".interface", "%s (%s %s) has no dependency on %s%s", s.Name, s.Product.ID, s.Build.Version, b.Interface, catalog.Hint(b.Interface, deps))
			continue
		}
		if b.Provider == "" {
			continue
		}
		if p := r.res.Service(b.Provider); p != nil {
			if p == s {
				r.f.Errorf(key+".provider", "%s cannot provide its own %s dependency", s.Name, b.Interface)
			} else if exposureFor(r.cat, p.Build, b.Interface) == nil {
				r.f.Errorf(key+".provider", "%s (%s %s) does not provide %s: it exposes %s", p.Name, p.Product.ID, p.Build.Version, b.Interface, exposedList(p.Build))
			}
		} else if x := r.external(b.Provider); x != nil && x.Interface != "" && !r.cat.Satisfies(x.Interface, b.Interface) {
			r.f.Errorf(key+".provider", "external %s provides %s, not %s", x.Name, x.Interface, b.Interface)
		}
	}
}

func exposedList(b *catalog.Build) string {
	if len(b.Exposes) == 0 {
		return "nothing"
	}
	var ids []string
	for _, e := range b.Exposes {
		ids = append(ids, e.Interface)
	}
	return strings.Join(ids, ", ")
}

// exposureFor returns the first exposure of b that serves interface want, or nil.
func exposureFor(cat *catalog.Catalog, b *catalog.Build, want string) *catalog.Exposure {
	for i := range b.Exposes {
		if cat.Satisfies(b.Exposes[i].Interface, want) {
			return &b.Exposes[i]
		}
	}
	return nil
}

// providers binds every dependency of every service.
func (r *resolver) providers() {
	for _, s := range r.res.Services {
		for di := range s.Build.Dependencies {
			d := &s.Build.Dependencies[di]
			bound := &Bound{Consumer: s, Dependency: d, Interface: d.Interface}
			s.Needs = append(s.Needs, bound)
			if bi := slices.IndexFunc(r.e.Bindings, func(b Binding) bool { return b.Service == s.Name && b.Interface == d.Interface }); bi >= 0 {
				name := r.e.Bindings[bi].Provider
				bound.Explicit = true
				if p := r.res.Service(name); p != nil && p != s {
					if e := exposureFor(r.cat, p.Build, d.Interface); e != nil {
						bound.Provider, bound.Exposure, bound.Interface = p, e, e.Interface
					}
				} else if x := r.external(name); x != nil && r.cat.Satisfies(x.Interface, d.Interface) {
					bound.External, bound.Interface = x, x.Interface
				}
				if bound.ProviderName() != "" {
					r.res.Bindings = append(r.res.Bindings, bound)
				}
				continue // a wrong binding was reported by bindings()
			}

			var names []string
			var describe []string
			for _, p := range r.res.Services {
				if p == s {
					continue
				}
				if e := exposureFor(r.cat, p.Build, d.Interface); e != nil {
					if bound.ProviderName() == "" {
						bound.Provider, bound.Exposure, bound.Interface = p, e, e.Interface
					}
					names = append(names, p.Name)
					describe = append(describe, fmt.Sprintf("%q (%s %s, %s)", p.Name, p.Product.ID, p.Build.Version, e.Interface))
				}
			}
			for _, x := range r.res.Externals {
				if x.Interface != "" && r.cat.Satisfies(x.Interface, d.Interface) {
					if bound.ProviderName() == "" {
						bound.External, bound.Interface = x, x.Interface
					}
					names = append(names, x.Name)
					describe = append(describe, fmt.Sprintf("%q (external, %s)", x.Name, x.Interface))
				}
			}
			switch {
			case len(names) > 1:
				bound.Provider, bound.Exposure, bound.External, bound.Interface = nil, nil, nil, d.Interface
				r.f.Errorf(svcKey(s.index), "ambiguous relation: %s's %s dependency could be provided by %s; choose one with [[bindings]] service = %q, interface = %q, provider = %q",
					s.Name, d.Interface, orList(describe), s.Name, d.Interface, names[0])
			case len(names) == 1:
				r.res.Bindings = append(r.res.Bindings, bound)
			case d.IsRequired():
				m := &Missing{Consumer: s, Dependency: d, Candidates: r.candidates(d.Interface)}
				r.res.Missing = append(r.res.Missing, m)
				r.f.Errorf(svcKey(s.index), "%s needs %s and nothing in the environment provides it: %s", s.Name, d.Interface, r.remedy(d.Interface, m.Candidates))
			default:
				r.res.Notes = append(r.res.Notes, fmt.Sprintf("%s: optional dependency %s is not bound%s", s.Name, d.Interface, keepsDefaults(d)))
			}
		}
	}
}

func keepsDefaults(d *catalog.Dependency) string {
	if len(d.Bind) == 0 {
		return ""
	}
	if len(d.Bind) == 1 {
		return "; " + sortedKeys(d.Bind)[0] + " keeps its value"
	}
	return "; " + strings.Join(sortedKeys(d.Bind), ", ") + " keep their values"
}

func orList(items []string) string {
	if len(items) <= 2 {
		return strings.Join(items, " or ")
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}

// remedy says how to provide an interface: the candidates of the catalog with what they need in
// turn, or an external.
func (r *resolver) remedy(id string, cands []*Candidate) string {
	ext := fmt.Sprintf("declare an [[externals]] entry with interface = %q", id)
	if len(cands) == 0 {
		return "no product of the catalog provides it; " + ext
	}
	var parts []string
	for _, c := range cands {
		parts = append(parts, describeCandidate(c))
	}
	return "add a service of " + orList(parts) + " (marketplace env add FILE PRODUCT --with-deps), or " + ext
}

// describeCandidate renders "openhealth/postgres (17.7.0 exposes postgresql-17)" with what it
// needs in turn: "meridian-systems/identity (7.0.0 exposes oidc; needs postgresql from openhealth/postgres, ldap from openhealth/directory)".
func describeCandidate(c *Candidate) string {
	s := fmt.Sprintf("%s (%s exposes %s", c.Product.ID, c.Build.Version, c.Interface)
	var needs []string
	seen := map[*Candidate]bool{c: true}
	var walk func(ns []*CandidateNeed, depth int)
	walk = func(ns []*CandidateNeed, depth int) {
		for _, n := range ns {
			switch {
			case n.Provided != "":
				needs = append(needs, n.Interface+" from "+n.Provided)
			case len(n.Candidates) == 0:
				needs = append(needs, n.Interface+" from an external")
			default:
				var ids []string
				for _, c := range n.Candidates {
					ids = append(ids, c.Product.ID)
				}
				needs = append(needs, n.Interface+" from "+strings.Join(ids, " or "))
				for _, c := range n.Candidates {
					if !seen[c] {
						seen[c] = true
						walk(c.Needs, depth+1)
					}
				}
			}
		}
	}
	walk(c.Needs, 0)
	if len(needs) > 0 {
		s += "; needs " + strings.Join(needs, ", ")
	}
	return s + ")"
}

// candidates lists the catalog products whose newest build exposes id (or a substitute), each
// with its required dependencies and their own candidates. Lists are made once per interface
// and shared; an interface already being expanded on the way here is left out of the needs, so
// cycles end.
func (r *resolver) candidates(id string) []*Candidate {
	if c, ok := r.candMemo[id]; ok {
		return c
	}
	if r.candMemo == nil {
		r.candMemo = map[string][]*Candidate{}
		r.expanding = map[string]bool{}
	}
	r.expanding[id] = true
	var out []*Candidate
	for _, pv := range r.catalogProviders(id) {
		c := &Candidate{Product: pv.product, Build: pv.build, Interface: pv.exposure.Interface}
		for _, d := range pv.build.Dependencies {
			if !d.IsRequired() {
				continue
			}
			n := &CandidateNeed{Interface: d.Interface, Provided: r.providedBy(d.Interface)}
			if n.Provided == "" {
				if r.expanding[d.Interface] {
					continue // listed higher in the tree
				}
				n.Candidates = r.candidates(d.Interface)
			}
			c.Needs = append(c.Needs, n)
		}
		out = append(out, c)
	}
	delete(r.expanding, id)
	r.candMemo[id] = out
	return out
}

// catalogProvider is a product whose newest build exposes an interface.
type catalogProvider struct {
	product  *catalog.Product
	build    *catalog.Build
	exposure *catalog.Exposure
}

// catalogProviders returns the products whose newest build serves interface id, in product ID
// order. The index is built on first use, in one pass over the catalog: finding candidates for
// every missing dependency stays linear in the catalog's size.
func (r *resolver) catalogProviders(id string) []catalogProvider {
	if r.providersOf == nil {
		r.providersOf = map[string][]catalogProvider{}
		serves := map[string][]string{} // interface → the interfaces it satisfies
		for _, pid := range r.cat.SortedProductIDs() {
			p := r.cat.Products[pid]
			b := p.Latest()
			if b == nil {
				continue
			}
			added := map[string]bool{}
			for i := range b.Exposes {
				e := &b.Exposes[i]
				ids, ok := serves[e.Interface]
				if !ok {
					ids = r.satisfied(e.Interface)
					serves[e.Interface] = ids
				}
				for _, x := range ids {
					if !added[x] {
						added[x] = true
						r.providersOf[x] = append(r.providersOf[x], catalogProvider{p, b, e})
					}
				}
			}
		}
	}
	return r.providersOf[id]
}

// satisfied returns the interfaces a provider of have serves: have itself and, transitively,
// those it substitutes for.
func (r *resolver) satisfied(have string) []string {
	var out []string
	seen := map[string]bool{}
	var walk func(id string)
	walk = func(id string) {
		if seen[id] {
			return
		}
		seen[id] = true
		out = append(out, id)
		if in := r.cat.Interface(id); in != nil {
			for _, s := range in.SubstitutesFor {
				walk(s)
			}
		}
	}
	walk(have)
	return out
}

// providedBy names a service or external of the environment that provides interface id, or "".
func (r *resolver) providedBy(id string) string {
	for _, s := range r.res.Services {
		if exposureFor(r.cat, s.Build, id) != nil {
			return s.Name
		}
	}
	for _, x := range r.res.Externals {
		if x.Interface != "" && r.cat.Satisfies(x.Interface, id) {
			return x.Name
		}
	}
	return ""
}

// cycles reports dependency cycles among the services and returns the services in an order
// where every provider comes before its consumers (the services of a cycle last, in file order).
func (r *resolver) cycles() []*Resolved {
	const (
		unvisited = iota
		active
		done
	)
	state := map[*Resolved]int{}
	var order []*Resolved
	var stack []*Resolved
	reported := map[*Resolved]bool{}
	var visit func(s *Resolved)
	visit = func(s *Resolved) {
		state[s] = active
		stack = append(stack, s)
		for _, b := range s.Needs {
			p := b.Provider
			if p == nil {
				continue
			}
			switch state[p] {
			case unvisited:
				visit(p)
			case active:
				i := slices.Index(stack, p)
				var names []string
				for _, c := range stack[i:] {
					names = append(names, c.Name)
				}
				names = append(names, p.Name)
				if !reported[p] {
					reported[p] = true
					r.f.Errorf(svcKey(p.index), "dependency cycle: %s; a provider must not need, directly or through others, the service it provides for (bind one of these dependencies to an external instead)", strings.Join(names, " → "))
				}
			}
		}
		stack = stack[:len(stack)-1]
		state[s] = done
		order = append(order, s)
	}
	for _, s := range r.res.Services {
		if state[s] == unvisited {
			visit(s)
		}
	}
	return order
}

// values gives every parameter of s its value; the providers of s come first in the order.
func (r *resolver) values(s *Resolved) {
	b := s.Build
	key := svcKey(s.index)
	boundBy := map[string]*Bound{}
	unmet := map[string]bool{}
	for _, bd := range s.Needs {
		for param := range bd.Dependency.Bind {
			if bd.ProviderName() != "" {
				boundBy[param] = bd
			} else {
				unmet[param] = true
			}
		}
	}
	for _, prm := range b.Parameters {
		p := Param{Name: prm.Name, Source: SourceUnset, Value: Text("")}
		v, set := s.Spec.Params[prm.Name]
		switch {
		case set && v.Secret != "":
			p.Value, p.Source = SecretRef(v.Secret), SourceSet
			r.secret(v.Secret, Given, nil, s.Name+" "+prm.Name)
		case set:
			p.Value, p.Source = Text(v.Text), SourceSet
		case boundBy[prm.Name] != nil:
			bd := boundBy[prm.Name]
			prop := bd.Dependency.Bind[prm.Name]
			val, err := r.property(bd, prop)
			if err != nil {
				r.f.Errorf(key, "%s's %s dependency binds %s to property %q of %s: %v", s.Name, bd.Dependency.Interface, prm.Name, prop, bd.ProviderName(), err)
				break
			}
			if bd.Properties == nil {
				bd.Properties = map[string]Expr{}
			}
			bd.Properties[prop] = val
			p.Value, p.Source = val, SourceBound
			if !val.HasSecret() && prm.Pattern != "" {
				if re, err := regexp.Compile(prm.Pattern); err == nil && !re.MatchString(val.Eval(nil)) {
					shown := strconv.Quote(val.Eval(nil))
					if prm.Secret {
						shown = "the bound value"
					}
					r.f.Errorf(key, "%s: %s from %s does not match the parameter's pattern %s", prm.Name, shown, bd.ProviderName(), prm.Pattern)
				}
			}
		case prm.Default != nil && (*prm.Default != "" || !prm.Required):
			p.Value, p.Source = Text(*prm.Default), SourceDefault
		case prm.Required && prm.Secret:
			k := SecretKeyOf(s.Name, prm.Name)
			p.Value, p.Source = SecretRef(k), SourceGenerated
			r.secret(k, Generated, nil, s.Name+" "+prm.Name)
		case prm.Required && unmet[prm.Name]:
			// Reported as the dependency nothing provides.
		case prm.Required:
			how := "set it in the service's params"
			if slices.ContainsFunc(b.Dependencies, func(d catalog.Dependency) bool { _, ok := d.Bind[prm.Name]; return ok }) {
				how = "set it in the service's params, or provide the dependency that binds it"
			}
			r.f.Errorf(key, "%s: required parameter %s of %s %s has no value; %s", s.Name, prm.Name, s.Product.ID, b.Version, how)
		}
		if prm.Secret || p.Value.HasSecret() {
			if k, ok := p.Value.SoleSecret(); ok {
				p.SecretKey = k
				if sec := r.secretList[k]; sec != nil && !slices.Contains(sec.Usage, s.Name+" "+prm.Name) {
					sec.Usage = append(sec.Usage, s.Name+" "+prm.Name)
				}
			} else {
				p.SecretKey = SecretKeyOf(s.Name, prm.Name)
				r.secret(p.SecretKey, Derived, p.Value, s.Name+" "+prm.Name)
			}
		}
		s.Params = append(s.Params, p)
	}
}

// SecretKeyOf returns the key of the environment's Secret that holds parameter param of the
// service instance: "FHIR_DATABASE_URL".
func SecretKeyOf(instance, param string) string {
	return catalog.EnvNameFor(instance) + "_" + param
}

func (r *resolver) secret(key string, kind SecretKind, value Expr, usage string) {
	if r.secretList == nil {
		r.secretList = map[string]*Secret{}
	}
	s := r.secretList[key]
	switch {
	case s == nil:
		s = &Secret{Key: key, Kind: kind, Value: value}
		r.secretList[key] = s
	case s.Kind == kind && kind != Derived:
	case s.Kind == Given && kind == Generated, s.Kind == Generated && kind == Given:
		// A reference to a generated secret shares it: { secret = "DB_POSTGRES_PASSWORD" }.
		s.Kind = Generated
	default:
		r.f.Errorf("", "secret key %s would hold two values (%s and %s): rename a service or the { secret = ... } reference", key, s.Kind, kind)
	}
	if usage != "" && !slices.Contains(s.Usage, usage) {
		s.Usage = append(s.Usage, usage)
	}
}

// secrets collects the secrets of the environment, sorted by key, including the ones externals
// reference.
func (r *resolver) secrets() {
	for _, s := range r.secretList {
		r.res.Secrets = append(r.res.Secrets, s)
	}
	slices.SortFunc(r.res.Secrets, func(a, b *Secret) int { return cmp.Compare(a.Key, b.Key) })
}

// templateRE finds ${NAME} in an exposure's property template; $$ is a literal $.
var templateRE = regexp.MustCompile(`\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// property returns the value of property prop of a binding's provider.
func (r *resolver) property(bd *Bound, prop string) (Expr, error) {
	if x := bd.External; x != nil {
		v, ok := x.Properties[prop]
		if !ok {
			return nil, fmt.Errorf("external %s does not set it; add it to its properties", x.Name)
		}
		if v.Secret != "" {
			return SecretRef(v.Secret), nil
		}
		return Text(v.Text), nil
	}
	p, e := bd.Provider, bd.Exposure
	builtins := ProviderBuiltins(p, e)
	if tmpl, ok := e.Properties[prop]; ok {
		return r.template(p, tmpl, builtins)
	}
	if v, ok := builtins[prop]; ok {
		return Text(v), nil
	}
	return nil, fmt.Errorf("%s %s does not say how to reach it (its exposure of %s has no properties.%s; the platform supplies only %s)",
		p.Product.ID, p.Build.Version, e.Interface, prop, strings.Join(sortedKeys(builtins), ", "))
}

// ProviderBuiltins returns the properties the platform supplies for an exposure of service p:
// host, port, path, and url for HTTP ports.
func ProviderBuiltins(p *Resolved, e *catalog.Exposure) map[string]string {
	host := p.Host(e.Task)
	port := strconv.Itoa(e.Port)
	m := map[string]string{"host": host, "port": port, "path": e.Path}
	if t := p.Build.Task(e.Task); t != nil {
		for _, pt := range t.Ports {
			if pt.Port == e.Port && pt.Protocol == "http" {
				m["url"] = "http://" + host + ":" + port + e.Path
			}
		}
	}
	return m
}

// template evaluates an exposure's property template over the builtins and the provider's
// parameter values.
func (r *resolver) template(p *Resolved, tmpl string, builtins map[string]string) (Expr, error) {
	var out Expr
	text := func(s string) {
		if len(out) > 0 && out[len(out)-1].Secret == "" {
			out[len(out)-1].Text += s
		} else if s != "" {
			out = append(out, Part{Text: s})
		}
	}
	last := 0
	for _, m := range templateRE.FindAllStringSubmatchIndex(tmpl, -1) {
		text(tmpl[last:m[0]])
		last = m[1]
		if m[2] < 0 {
			text("$")
			continue
		}
		name := tmpl[m[2]:m[3]]
		if v, ok := builtins[name]; ok && !catalog.EnvNamePattern.MatchString(name) {
			text(v)
			continue
		}
		prm := p.Param(name)
		if prm == nil {
			return nil, fmt.Errorf("its template names ${%s}, which has no value yet", name)
		}
		for _, part := range prm.Value {
			if part.Secret != "" {
				out = append(out, part)
			} else {
				text(part.Text)
			}
		}
	}
	text(tmpl[last:])
	if out == nil {
		out = Text("")
	}
	return out, nil
}

// hintFold is catalog.Hint for upper-case names such as parameters: compared without case.
func hintFold(s string, candidates []string) string {
	lower := make([]string, len(candidates))
	for i, c := range candidates {
		lower[i] = strings.ToLower(c)
	}
	if best := catalog.Suggest(strings.ToLower(s), lower); best != "" {
		return fmt.Sprintf("; did you mean %q?", candidates[slices.Index(lower, best)])
	}
	return ""
}
