package catalog

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"net/url"
	"path"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/Masterminds/semver/v3"
	"github.com/github/go-spdx/v2/spdxexp"
)

// Validate checks the meaning of a loaded catalog (SPEC §5, everything that needs no network and
// no Git history) and returns every problem at once, positioned and sorted.
func Validate(fsys fs.FS, c *Catalog) Diagnostics {
	r := newReport()
	validate(fsys, c, r, nil, nil, new(sync.Map))
	return r.diagnostics(fsys)
}

var (
	// EnvNamePattern is rule 3: configuration variable names are uppercase A-Z, 0-9 and '_'.
	EnvNamePattern = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)
	slugPattern    = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
	taskPattern    = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)
	propertyRE     = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	handlePattern  = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,38})$`)
	// ownerPattern is a handle or an org/team, as CODEOWNERS accepts them.
	ownerPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{0,38}(/[A-Za-z0-9][A-Za-z0-9_.-]*)?$`)
)

// IsHandle reports whether s is a Git host handle as maintainers and owners write it (no @).
func IsHandle(s string) bool { return handlePattern.MatchString(s) }

// MaxSummary is the longest summary, in characters.
const MaxSummary = 140

type validator struct {
	fsys fs.FS
	c    *Catalog
	r    *report
	// Products mostly share licenses and parameter patterns; parse each once.
	licenseErrs map[string]error
	patterns    map[string]patternResult
	// keys collects the publishers' signer keys (canonical DER → files), to find one key
	// declared by two publishers; nil in the product workers.
	keys map[string][]keyUse
	// cache, when set, keeps the verdicts of the content checks of logos and screenshots.
	cache *Cache
	// dirs holds the folders found not to be symlinks during the check, shared by the workers.
	dirs *sync.Map
}

type patternResult struct {
	re  *regexp.Regexp
	err error
}

func (v *validator) compile(pattern string) (*regexp.Regexp, error) {
	r, ok := v.patterns[pattern]
	if !ok {
		r.re, r.err = regexp.Compile(pattern)
		v.patterns[pattern] = r
	}
	return r.re, r.err
}

func validate(fsys fs.FS, c *Catalog, r *report, cache *Cache, cached map[string]cacheSlot, dirs *sync.Map) {
	v := newValidator(fsys, c, r)
	if c.Index != nil {
		v.index(c.Index)
	}
	v.keys = map[string][]keyUse{}
	for _, id := range c.SortedPublisherIDs() {
		v.publisher(c.Publishers[id])
	}
	v.sharedKeys()

	// Products are independent of each other and each reports only on its own file, so they are
	// checked in parallel, each worker into its own report, merged at the end.
	ids := make(chan string)
	workers := runtime.GOMAXPROCS(0)
	reports := make([]*report, workers)
	var wg sync.WaitGroup
	for i := range workers {
		reports[i] = &report{files: map[string]*fileReport{}, parent: r}
		w := newValidator(fsys, c, reports[i])
		w.cache, w.dirs = cache, dirs
		wg.Go(func() {
			for id := range ids {
				p := c.Products[id]
				slot, ok := cached[id]
				if !ok {
					w.product(p)
					w.productFiles(p)
					continue
				}
				w.checkCached(p, slot, cache)
			}
		})
	}
	for id := range c.Products {
		ids <- id
	}
	close(ids)
	wg.Wait()
	for _, child := range reports {
		r.merge(child)
	}
}

func newValidator(fsys fs.FS, c *Catalog, r *report) *validator {
	return &validator{fsys: fsys, c: c, r: r, licenseErrs: map[string]error{}, patterns: map[string]patternResult{}}
}

func (v *validator) index(idx *Index) {
	const f = IndexFile
	v.bounds(f, idx)
	if idx.Catalog.Name == "" {
		v.r.errorf(f, "catalog.name", 0, "catalog.name is required")
	}
	if u := idx.Catalog.BaseURL; u != "" {
		if !isWebURL(u) {
			v.r.errorf(f, "catalog.base_url", 0, "base_url %q is not an absolute http(s) URL", u)
		} else if !strings.HasSuffix(u, "/") {
			v.r.warnf(f, "catalog.base_url", 0, "base_url %q should end with \"/\" so that relative links resolve under it", u)
		}
	}
	owners := map[string]bool{}
	for i, o := range idx.Catalog.Owners {
		key := fmt.Sprintf("catalog.owners[%d]", i)
		if !ownerPattern.MatchString(o) {
			v.r.errorf(f, key, 0, "owner %q is not a Git host handle or org/team (letters, digits, hyphens; no @)", o)
		}
		if owners[strings.ToLower(o)] {
			v.r.errorf(f, key, 0, "duplicate owner %q", o)
		}
		owners[strings.ToLower(o)] = true
	}
	for i, l := range idx.Policy.OpenLicenses {
		if ok, _ := spdxexp.ValidateLicenses([]string{l}); !ok || strings.ContainsAny(l, " ()") {
			v.r.errorf(f, fmt.Sprintf("policy.open_licenses[%d]", i), 0, "%q is not an SPDX license ID", l)
		}
	}
	v.slugs(f, "policy.stateful_categories", idx.Policy.StatefulCategories)
	if idx.Policy.MaxImageMiB < 0 {
		v.r.errorf(f, "policy.max_image_mib", 0, "max_image_mib is %d, want a positive number of MiB (leave it out for %d)", idx.Policy.MaxImageMiB, DefaultMaxImageMiB)
	}
	if idx.Policy.TimestampExpiryDays < 0 {
		v.r.errorf(f, "policy.timestamp_expiry_days", 0, "timestamp_expiry_days is %d, want a positive number of days (leave it out for %d)", idx.Policy.TimestampExpiryDays, DefaultTimestampExpiryDays)
	}

	ids := map[string]int{}
	for i, in := range idx.Interfaces {
		key := fmt.Sprintf("interfaces[%d]", i)
		switch {
		case in.ID == "":
			v.r.errorf(f, key+".id", 0, "interface id is required")
		case !IDPattern.MatchString(in.ID):
			v.r.errorf(f, key+".id", 0, "interface id %q must match %s", in.ID, IDPattern)
		default:
			if j, dup := ids[in.ID]; dup {
				v.r.errorf(f, key+".id", 0, "duplicate interface id %q (also declared for %q)", in.ID, idx.Interfaces[j].Name)
			} else {
				ids[in.ID] = i
			}
		}
		if in.Name == "" {
			v.r.errorf(f, key+".name", 0, "interface name is required")
		}
		if in.URI != "" && !isURL(in.URI) {
			v.r.errorf(f, key+".uri", 0, "uri %q is not an absolute URI", in.URI)
		}
		seen := map[string]bool{}
		for j, p := range in.Properties {
			pk := fmt.Sprintf("%s.properties[%d]", key, j)
			if !propertyRE.MatchString(p) {
				v.r.errorf(f, pk, 0, "property %q must match %s", p, propertyRE)
			}
			if seen[p] {
				v.r.errorf(f, pk, 0, "duplicate property %q", p)
			}
			seen[p] = true
		}
	}
	for i, in := range idx.Interfaces {
		for j, s := range in.SubstitutesFor {
			sk := fmt.Sprintf("interfaces[%d].substitutes_for[%d]", i, j)
			switch {
			case s == in.ID:
				v.r.errorf(f, sk, 0, "interface %q cannot substitute for itself", s)
			case v.c.Interface(s) == nil:
				v.r.errorf(f, sk, 0, "substitutes_for names unknown interface %q%s", s, hint(s, v.interfaceIDs()))
			}
		}
	}

	names := map[string]bool{}
	for i, u := range idx.Upstreams {
		key := fmt.Sprintf("upstreams[%d]", i)
		switch {
		case u.Name == "":
			v.r.errorf(f, key+".name", 0, "upstream name is required")
		case !IDPattern.MatchString(u.Name):
			v.r.errorf(f, key+".name", 0, "upstream name %q must match %s", u.Name, IDPattern)
		case u.Name == LocalOrigin:
			v.r.errorf(f, key+".name", 0, "upstream name %q is reserved for the catalog's own products; choose another", u.Name)
		case names[u.Name]:
			v.r.errorf(f, key+".name", 0, "duplicate upstream name %q", u.Name)
		}
		names[u.Name] = true
		if u.URL == "" {
			v.r.errorf(f, key+".url", 0, "upstream url is required (a Git URL, file:// URL or local path)")
		}
		if len(u.Publishers) == 0 {
			v.r.errorf(f, key+".publishers", 0, "upstream %q must list the publisher IDs it may publish (globs such as \"hspc-*\")", u.Name)
		}
		for j, g := range u.Publishers {
			if _, err := path.Match(g, ""); err != nil || strings.Contains(g, "/") {
				v.r.errorf(f, fmt.Sprintf("%s.publishers[%d]", key, j), 0, "%q is not a valid publisher glob", g)
			}
		}
		v.upstreamTrust(key, u)
	}
}

// upstreamTrust checks an upstream's signed site and the TUF root it is verified with: both
// or neither, the site an http(s) URL or a folder, the root a TUF root.json of this catalog.
func (v *validator) upstreamTrust(key string, u Upstream) {
	f := IndexFile
	switch {
	case u.Site != "" && u.Root == "":
		v.r.errorf(f, key+".site", 0, "upstream %q has a site but no root: add root = \"upstreams/%s-root.json\", the root.json its publisher hands out, committed in this catalog", u.Name, u.Name)
	case u.Site == "" && u.Root != "":
		v.r.errorf(f, key+".root", 0, "upstream %q has a root but no site: add site, the URL (or a folder, such as one on media) of its published, signed output", u.Name)
	}
	if u.Site != "" && strings.Contains(u.Site, "://") && !isWebURL(u.Site) {
		v.r.errorf(f, key+".site", 0, "site %q must be an http(s) URL or a folder", u.Site)
	}
	if u.Root == "" {
		return
	}
	if !fs.ValidPath(u.Root) {
		v.r.errorf(f, key+".root", 0, "root %q must be a relative path to a file of this catalog, such as \"upstreams/%s-root.json\"", u.Root, u.Name)
		return
	}
	data, err := fs.ReadFile(v.fsys, u.Root)
	if err != nil {
		v.r.errorf(f, key+".root", 0, "root %q cannot be read: %v", u.Root, unwrapPathError(err))
		return
	}
	var root struct {
		Signed struct {
			Type string `json:"_type"`
		} `json:"signed"`
	}
	if json.Unmarshal(data, &root) != nil || root.Signed.Type != "root" {
		v.r.errorf(f, key+".root", 0, "root %q is not a TUF root.json (its signed._type must be \"root\"): use the root.json that `marketplace trust init` wrote for the upstream", u.Root)
	}
}

func (v *validator) interfaceIDs() []string {
	var ids []string
	if v.c.Index != nil {
		for _, in := range v.c.Index.Interfaces {
			ids = append(ids, in.ID)
		}
	}
	return ids
}

func (v *validator) publisher(p *Publisher) {
	f := p.Path
	v.bounds(f, p)
	if p.Name == "" {
		v.r.errorf(f, "name", 0, "name is required")
	}
	if p.URL != "" && !isWebURL(p.URL) {
		v.r.errorf(f, "url", 0, "url %q is not an absolute http(s) URL", p.URL)
	}
	if p.Contact != "" && !isWebURL(p.Contact) && !strings.HasPrefix(p.Contact, "mailto:") {
		v.r.errorf(f, "contact", 0, "contact %q must be a mailto: or http(s) URL", p.Contact)
	}
	seen := map[string]bool{}
	for i, m := range p.Maintainers {
		key := fmt.Sprintf("maintainers[%d]", i)
		if !handlePattern.MatchString(m) {
			v.r.errorf(f, key, 0, "maintainer %q is not a Git host handle (letters, digits, hyphens; no @)", m)
		}
		if seen[strings.ToLower(m)] {
			v.r.errorf(f, key, 0, "duplicate maintainer %q", m)
		}
		seen[strings.ToLower(m)] = true
	}
	if len(p.Maintainers) == 0 {
		v.r.warnf(f, "", 0, "no maintainers: only the catalog owners can approve changes to products/%s/", p.ID)
	}
	if len(p.Signers) == 0 {
		v.r.warnf(f, "", 0, "no [[signers]]: no image of publisher %s can be verified", p.ID)
	}
	for i, s := range p.Signers {
		key := fmt.Sprintf("signers[%d]", i)
		keyless := s.Issuer != "" || s.Subject != "" || s.SubjectRegexp != ""
		switch {
		case s.Key != "" && keyless:
			v.r.errorf(f, key, 0, "a signer is either a key or a keyless identity (issuer + subject), not both")
		case s.Key != "":
			v.asset(f, key+".key", p.ID, s.Key, assetKey)
		case !keyless:
			v.r.errorf(f, key, 0, "signer needs key = \"cosign.pub\", or issuer with subject or subject_regexp")
		default:
			if s.Issuer == "" {
				v.r.errorf(f, key, 0, "keyless signer needs issuer (the OIDC issuer URL of its certificates)")
			} else if !isWebURL(s.Issuer) {
				v.r.errorf(f, key+".issuer", 0, "issuer %q is not an absolute http(s) URL", s.Issuer)
			}
			switch {
			case s.Subject != "" && s.SubjectRegexp != "":
				v.r.errorf(f, key, 0, "give subject or subject_regexp, not both")
			case s.Subject == "" && s.SubjectRegexp == "":
				v.r.errorf(f, key, 0, "keyless signer needs subject or subject_regexp (the certificate identity)")
			case s.SubjectRegexp != "":
				if _, err := regexp.Compile(s.SubjectRegexp); err != nil {
					v.r.errorf(f, key+".subject_regexp", 0, "subject_regexp does not compile: %v", err)
				} else if !strings.HasPrefix(s.SubjectRegexp, "^") || !strings.HasSuffix(s.SubjectRegexp, "$") {
					v.r.warnf(f, key+".subject_regexp", 0, "subject_regexp %q is not anchored with ^ and $; it matches any identity that contains it", s.SubjectRegexp)
				}
			}
		}
	}
}

func (v *validator) product(p *Product) {
	f := p.Path
	v.bounds(f, p)
	if p.Name == "" {
		v.r.errorf(f, "name", 0, "name is required")
	}
	switch n := len([]rune(p.Summary)); {
	case p.Summary == "":
		v.r.errorf(f, "summary", 0, "summary is required (one line, at most %d characters)", MaxSummary)
	case strings.ContainsAny(p.Summary, "\r\n"):
		v.r.errorf(f, "summary", 0, "summary must be one line")
	case n > MaxSummary:
		v.r.errorf(f, "summary", 0, "summary is %d characters, want at most %d", n, MaxSummary)
	}
	for _, u := range []struct{ key, val string }{{"homepage", p.Homepage}, {"source", p.Source}} {
		if u.val != "" && !isWebURL(u.val) {
			v.r.errorf(f, u.key, 0, "%s %q is not an absolute http(s) URL", u.key, u.val)
		}
	}
	if p.Support != "" && !isWebURL(p.Support) && !strings.HasPrefix(p.Support, "mailto:") {
		v.r.errorf(f, "support", 0, "support %q must be a mailto: or http(s) URL", p.Support)
	}
	v.license(p)
	v.slugs(f, "categories", p.Categories)
	v.slugs(f, "tags", p.Tags)
	if p.Logo == "" {
		v.r.warnf(f, "", 0, "no logo: add logo = \"%s/logo.svg\" (svg, png, jpeg or webp, at most 256 KiB)", path.Base(p.ID))
	}
	v.identity(p)

	if len(p.Builds) == 0 {
		v.r.errorf(f, "", 0, "no [[builds]]: a product needs at least one build to be deployable")
	}
	versions := map[string]int{}
	digests := map[string]int{}
	for i := range p.Builds {
		b := &p.Builds[i]
		key := fmt.Sprintf("builds[%d]", i)
		if b.Version != "" {
			if _, dup := versions[b.Version]; dup {
				v.r.errorf(f, key+".version", 0, "duplicate version %s: each build of a product has its own version", b.Version)
			} else {
				versions[b.Version] = i
			}
		}
		if d := b.Digest(); d != "" {
			if j, dup := digests[d]; dup {
				v.r.warnf(f, key+".image", 0, "same digest as build %s: two versions of one image", p.Builds[j].Version)
			} else {
				digests[d] = i
			}
		}
		v.build(p, key, b)
	}
	v.identityAcrossBuilds(p)
}

// productFiles checks the files a product refers to. They are not part of the product file, so
// the load cache does not keep these findings: they are checked on every run.
func (v *validator) productFiles(p *Product) {
	if p.Logo != "" {
		v.asset(p.Path, "logo", p.Publisher, p.Logo, assetLogo)
	}
	for i, s := range p.Screenshots {
		v.asset(p.Path, fmt.Sprintf("screenshots[%d].file", i), p.Publisher, s.File, assetScreenshot)
	}
}

func (v *validator) license(p *Product) {
	f := p.Path
	if p.License == "" {
		v.r.errorf(f, "license", 0, "license is required (an SPDX expression such as \"Apache-2.0\" or \"LicenseRef-Acme-Commercial\")")
		return
	}
	err, seen := v.licenseErrs[p.License]
	if !seen {
		_, err = spdxexp.ExtractLicenses(p.License)
		v.licenseErrs[p.License] = err
	}
	if err != nil {
		v.r.errorf(f, "license", 0, "license %q is not a valid SPDX expression: %v (see https://spdx.org/licenses/; use LicenseRef-<name> for your own)", p.License, err)
		return
	}
	policy := v.c.openLicenses()
	open := v.c.IsOpen(p)
	switch {
	case !open && !p.Evaluation:
		v.r.errorf(f, "license", 0, "license %q is not one of the catalog's open licenses (%s); a product under another license must set evaluation = true, promising its core stays usable for evaluation without a trial period (licensing policy 2, the freemium rule)", p.License, strings.Join(policy, ", "))
	case open && p.Evaluation:
		v.r.warnf(f, "evaluation", 0, "evaluation = true is for licenses outside the open list; %q is open", p.License)
	}
}

func (v *validator) slugs(f, key string, list []string) {
	seen := map[string]bool{}
	for i, s := range list {
		k := fmt.Sprintf("%s[%d]", key, i)
		if !slugPattern.MatchString(s) {
			v.r.errorf(f, k, 0, "%q must be lowercase words joined by hyphens (e.g. \"fhir-server\")", s)
		}
		if seen[s] {
			v.r.errorf(f, k, 0, "duplicate %q", s)
		}
		seen[s] = true
	}
}

func (v *validator) identity(p *Product) {
	f := p.Path
	id := p.Identity
	seen := map[string]bool{}
	for i, s := range id.SSO {
		k := fmt.Sprintf("identity.sso[%d]", i)
		if !slices.Contains(SSOKinds, s) {
			v.r.errorf(f, k, 0, "unknown SSO kind %q, want one of %s", s, strings.Join(SSOKinds, ", "))
		}
		if seen[s] {
			v.r.errorf(f, k, 0, "duplicate SSO kind %q", s)
		}
		seen[s] = true
	}
	switch {
	case id.Tracing == "":
		v.r.warnf(f, "identity", 0, "identity.tracing not declared: say \"opentelemetry\", \"opentracing\" or \"none\" so platforms know whether requests can be traced")
	case !slices.Contains(TracingKinds, id.Tracing):
		v.r.errorf(f, "identity.tracing", 0, "unknown tracing %q, want one of %s", id.Tracing, strings.Join(TracingKinds, ", "))
	}
	// sso = [] says "no user logins"; only a product silent about SSO is reminded.
	if id.SSO == nil && servesHTTP(p) {
		v.r.warnf(f, "identity", 0, "identity.sso not declared: if users log in, declare sso = [\"oidc\"] or [\"saml2\"] with the matching dependency so the login can be configured at deployment")
	}
	if id.PHILogging != "" && !EnvNamePattern.MatchString(id.PHILogging) {
		v.r.errorf(f, "identity.phi_logging", 16, "phi_logging %q is not a parameter name (^[A-Z][A-Z0-9_]*$)", id.PHILogging)
	}
}

// servesHTTP reports whether any task of the latest build listens for HTTP: a product with a web
// interface is the kind that may have user logins.
func servesHTTP(p *Product) bool {
	for _, b := range p.Builds {
		for _, t := range b.Tasks {
			for _, port := range t.Ports {
				if port.Protocol == "http" {
					return true
				}
			}
		}
	}
	return false
}

func (v *validator) build(p *Product, key string, b *Build) {
	f := p.Path
	if b.Version == "" {
		v.r.errorf(f, key+".version", 0, "build version is required (SemVer, e.g. \"1.2.0\")")
	} else if _, err := semver.StrictNewVersion(b.Version); err != nil {
		v.r.errorf(f, key+".version", 0, "version %q is not SemVer (MAJOR.MINOR.PATCH, e.g. \"1.2.0\"): %v", b.Version, err)
	}
	if b.Image == "" {
		v.r.errorf(f, key+".image", 1, "build image is required: an OCI image pinned by digest, e.g. \"ghcr.io/acme/fhir:5.1.0@sha256:<64 hex>\"")
	} else if _, err := ParseImageRef(b.Image); err != nil {
		v.r.errorf(f, key+".image", 0, "%v", err)
	}
	seenPlat := map[string]bool{}
	for i, pl := range b.Platforms {
		k := fmt.Sprintf("%s.platforms[%d]", key, i)
		if !slices.Contains(Platforms, pl) {
			v.r.errorf(f, k, 11, "platform %q is not supported: builds run on x86-64, want linux/amd64 or linux/386", pl)
		}
		if seenPlat[pl] {
			v.r.errorf(f, k, 0, "duplicate platform %q", pl)
		}
		seenPlat[pl] = true
	}

	v.tasks(f, key, b)
	v.parameters(f, key, b)

	for i, e := range b.Exposes {
		k := fmt.Sprintf("%s.exposes[%d]", key, i)
		v.interfaceRef(f, k+".interface", e.Interface)
		if e.Task == "" {
			v.r.errorf(f, k+".task", 0, "exposes needs task: the task that serves %s", e.Interface)
		} else if t := b.Task(e.Task); t == nil {
			v.taskErrorf(f, key, k+".task", "task %q is not a task of this build%s", e.Task, hint(e.Task, taskNames(b)))
		} else if e.Port == 0 {
			v.r.errorf(f, k, 0, "exposes needs port: the port of task %q that serves %s", e.Task, e.Interface)
		} else if !slices.ContainsFunc(t.Ports, func(p Port) bool { return p.Port == e.Port }) {
			v.r.errorf(f, k+".port", 0, "port %d is not declared on task %q (declare it in its ports)", e.Port, e.Task)
		}
		if e.Path != "" && !strings.HasPrefix(e.Path, "/") {
			v.r.errorf(f, k+".path", 0, "path %q must start with \"/\"", e.Path)
		}
		v.exposureProperties(f, k, b, e)
	}
	v.statefulVolumes(p, key, b)
	if len(b.Exposes) > 0 && b.SmokeTest == nil {
		v.r.errorf(f, key, 4, "build %s exposes %s but has no [builds.smoke_test] to exercise it", b.Version, exposedList(b))
	}
	if st := b.SmokeTest; st != nil {
		k := key + ".smoke_test"
		if st.Task == "" {
			v.r.errorf(f, k+".task", 4, "smoke_test needs task: the task whose image runs the smoke test")
		} else if b.Task(st.Task) == nil {
			v.taskErrorf(f, key, k+".task", "smoke_test task %q is not a task of this build%s", st.Task, hint(st.Task, taskNames(b)))
		}
		if len(st.Command) == 0 {
			v.r.errorf(f, k+".command", 4, "smoke_test needs command: the entry point that exercises the declared interfaces and exits 0 on success")
		}
		for i, arg := range st.Command {
			if targetsLoopback(arg) {
				v.r.warnf(f, fmt.Sprintf("%s.command[%d]", k, i), 4, "the smoke test runs beside the task, not inside it, so %q reaches nothing: use $(SMOKE_HOST), $(SMOKE_PORT) or $(SMOKE_URL), the service it tests", arg)
			}
		}
		if st.Timeout < 0 {
			v.r.errorf(f, k+".timeout", 4, "timeout is %d seconds, want at least 0", st.Timeout)
		}
	}

	for i, d := range b.Dependencies {
		k := fmt.Sprintf("%s.dependencies[%d]", key, i)
		in := v.interfaceRef(f, k+".interface", d.Interface)
		for _, name := range sortedKeys(d.Bind) {
			prop := d.Bind[name]
			bk := joinKey(k+".bind", name)
			if b.Parameter(name) == nil {
				v.r.keyErrorf(f, bk, 3, "bind names %s, which is not a parameter of this build; declare it in [[builds.parameters]]", name)
			}
			if in != nil && !slices.Contains(in.Properties, prop) {
				props := "it has no properties"
				if len(in.Properties) > 0 {
					props = "want one of " + strings.Join(in.Properties, ", ")
				}
				v.r.errorf(f, bk, 0, "%q is not a property of interface %s; %s", prop, in.ID, props)
			}
		}
	}
}

// identityAcrossBuilds checks the identity facets against every build, reporting each facet once
// with the builds that break it.
func (v *validator) identityAcrossBuilds(p *Product) {
	f := p.Path
	for i, kind := range p.Identity.SSO {
		if !slices.Contains(SSOKinds, kind) {
			continue
		}
		missing := v.buildsWithout(p, func(b *Build) bool {
			return slices.ContainsFunc(b.Dependencies, func(d Dependency) bool { return v.c.Satisfies(d.Interface, kind) })
		})
		if missing != "" {
			v.r.errorf(f, fmt.Sprintf("identity.sso[%d]", i), 0, "identity.sso says %q but %s no dependency on interface %q (or one that substitutes for it), so the identity provider cannot be configured at deployment", kind, missing, kind)
		}
	}
	if name := p.Identity.PHILogging; name != "" && EnvNamePattern.MatchString(name) {
		if missing := v.buildsWithout(p, func(b *Build) bool { return b.Parameter(name) != nil }); missing != "" {
			v.r.errorf(f, "identity.phi_logging", 16, "phi_logging names %s, but %s no such parameter", name, missing)
		}
	}
}

// buildsWithout names the builds for which ok is false: "build 1.0.0 has", "builds 1.0.0, 2.0.0
// have", or "" when there are none.
func (v *validator) buildsWithout(p *Product, ok func(*Build) bool) string {
	var versions []string
	for i := range p.Builds {
		if !ok(&p.Builds[i]) {
			versions = append(versions, p.Builds[i].Version)
		}
	}
	switch len(versions) {
	case 0:
		return ""
	case 1:
		return "build " + versions[0] + " has"
	}
	return "builds " + strings.Join(versions, ", ") + " have"
}

// taskErrorf reports a reference to a task that does not exist, unless the build's tasks could
// not be decoded (then every lookup would fail and repeat that problem).
func (v *validator) taskErrorf(f, buildKey, key, format string, args ...any) {
	if v.r.failed(f, buildKey+".tasks") {
		return
	}
	v.r.errorf(f, key, 0, format, args...)
}

func (v *validator) tasks(f, key string, b *Build) {
	if len(b.Tasks) == 0 {
		v.r.errorf(f, key+".tasks", 7, "build %s has no [[builds.tasks]]: declare each entry process as a task", b.Version)
		return
	}
	seen := map[string]int{}
	for i := range b.Tasks {
		t := &b.Tasks[i]
		k := fmt.Sprintf("%s.tasks[%d]", key, i)
		switch {
		case t.Name == "":
			v.r.errorf(f, k+".name", 7, "task name is required")
		case !taskPattern.MatchString(t.Name):
			v.r.errorf(f, k+".name", 7, "task name %q must be lowercase letters, digits and hyphens, starting with a letter", t.Name)
		default:
			if _, dup := seen[t.Name]; dup {
				v.r.errorf(f, k+".name", 7, "duplicate task name %q: each task is one entry process with its own name", t.Name)
			} else {
				seen[t.Name] = i
			}
		}
		switch {
		case t.Memory == nil:
			v.r.errorf(f, k+".memory", 10, "task %q has no memory: declare the maximum MiB per instance", t.Name)
		case *t.Memory <= 0:
			v.r.errorf(f, k+".memory", 10, "memory is %d MiB, want more than 0", *t.Memory)
		}
		if t.Min != nil && *t.Min < 0 {
			v.r.errorf(f, k+".min", 5, "min is %d, want at least 0", *t.Min)
		}
		if t.Max != nil && *t.Max < 1 {
			v.r.errorf(f, k+".max", 6, "max is %d, want at least 1", *t.Max)
		} else if t.MinInstances() > t.MaxInstances() {
			v.r.errorf(f, k+".max", 6, "max is %d, less than min %d", t.MaxInstances(), t.MinInstances())
		}
		if t.StopTimeout != nil && (*t.StopTimeout < 0 || *t.StopTimeout > MaxStopTimeout) {
			v.r.errorf(f, k+".stop_timeout", 13, "stop_timeout is %d seconds, want 0 to %d", *t.StopTimeout, MaxStopTimeout)
		}
		paths := map[string]bool{"/tmp": true}
		for j, vol := range t.Volumes {
			vk := fmt.Sprintf("%s.volumes[%d]", k, j)
			switch {
			case vol.Path == "":
				v.r.errorf(f, vk, 0, "volume needs path: where the task mounts it")
			case !strings.HasPrefix(vol.Path, "/") || path.Clean(vol.Path) != vol.Path:
				v.r.errorf(f, vk+".path", 0, "volume path %q must be absolute and clean, e.g. \"/var/lib/data\"", vol.Path)
			case vol.Path == "/tmp":
				v.r.errorf(f, vk+".path", 0, "volume path /tmp: every task already has scratch space there")
			case paths[vol.Path]:
				v.r.errorf(f, vk+".path", 0, "duplicate volume path %s on task %q", vol.Path, t.Name)
			}
			paths[vol.Path] = true
			if vol.Size <= 0 {
				v.r.errorf(f, vk+".size", 0, "volume size is %d MiB, want more than 0", vol.Size)
			}
		}
		if t.FSGroup != nil && *t.FSGroup < 1 {
			v.r.errorf(f, k+".fs_group", 0, "fs_group is %d, want the ID of the image's non-root group (1 or more)", *t.FSGroup)
		}
		ports := map[string]int{}
		for j, p := range t.Ports {
			pk := fmt.Sprintf("%s.ports[%d]", k, j)
			if p.Port < 1 || p.Port > 65535 {
				v.r.errorf(f, pk+".port", 0, "port %d is out of range 1-65535", p.Port)
			}
			proto := p.Protocol
			if proto == "" {
				proto = "tcp"
			} else if !slices.Contains(Protocols, proto) {
				v.r.errorf(f, pk+".protocol", 0, "unknown protocol %q, want one of %s", proto, strings.Join(Protocols, ", "))
			}
			// udp and tcp ports may share a number; two http ports may not.
			pid := fmt.Sprintf("%d/%s", p.Port, map[bool]string{true: "udp", false: "tcp"}[proto == "udp"])
			if _, dup := ports[pid]; dup {
				v.r.errorf(f, pk+".port", 0, "duplicate port %d on task %q", p.Port, t.Name)
			} else {
				ports[pid] = j
			}
			if p.Health != "" {
				if proto != "http" {
					v.r.errorf(f, pk+".health", 15, "health %q is an HTTP path, but the port's protocol is %s", p.Health, proto)
				} else if !strings.HasPrefix(p.Health, "/") {
					v.r.errorf(f, pk+".health", 15, "health %q must be a path starting with \"/\"", p.Health)
				}
			}
		}
	}
}

func (v *validator) parameters(f, key string, b *Build) {
	seen := map[string]int{}
	for i, p := range b.Parameters {
		k := fmt.Sprintf("%s.parameters[%d]", key, i)
		switch {
		case p.Name == "":
			v.r.errorf(f, k+".name", 3, "parameter name is required")
		case !EnvNamePattern.MatchString(p.Name):
			v.r.errorf(f, k+".name", 3, "parameter name %q must use only uppercase A-Z, 0-9 and '_', starting with a letter (try %q)", p.Name, EnvNameFor(p.Name))
		default:
			if _, dup := seen[p.Name]; dup {
				v.r.errorf(f, k+".name", 3, "duplicate parameter %s: a variable has one declaration per build", p.Name)
			} else {
				seen[p.Name] = i
			}
		}
		var re *regexp.Regexp
		if p.Pattern != "" {
			var err error
			if re, err = v.compile(p.Pattern); err != nil {
				v.r.errorf(f, k+".pattern", 0, "pattern does not compile as RE2: %v", err)
			}
		}
		if p.Default != nil {
			if re != nil && !re.MatchString(*p.Default) {
				v.r.errorf(f, k+".default", 0, "default %q does not match pattern %q", *p.Default, p.Pattern)
			}
			if p.Required {
				v.r.warnf(f, k+".default", 0, "%s is required and has a default: a default makes it never missing; drop one of them", p.Name)
			}
			if p.Secret && *p.Default != "" {
				v.r.errorf(f, k+".default", 3, "%s is secret but has a default value: every deployment would share that secret", p.Name)
			}
		}
	}
}

// statefulVolumes checks that only products of a stateful category (policy.stateful_categories)
// keep data on persistent volumes: rule 2 makes application services ephemeral.
func (v *validator) statefulVolumes(p *Product, key string, b *Build) {
	var allowed []string
	if v.c.Index != nil {
		allowed = v.c.Index.Policy.StatefulCategories
	}
	if slices.ContainsFunc(p.Categories, func(c string) bool { return slices.Contains(allowed, c) }) {
		return
	}
	for i, t := range b.Tasks {
		for j, vol := range t.Volumes {
			if !vol.IsPersistent() {
				continue
			}
			which := "the catalog's policy.stateful_categories names none"
			if len(allowed) > 0 {
				which = "the catalog's policy.stateful_categories allows them only for " + strings.Join(allowed, ", ")
			}
			v.r.errorf(p.Path, fmt.Sprintf("%s.tasks[%d].volumes[%d]", key, i, j), 2,
				"task %q keeps data on a persistent volume, but %s: application services keep their data in a database they declare as a dependency, or mark the volume persistent = false for scratch space", t.Name, which)
		}
	}
}

// templateRef finds ${NAME} in an exposure's property template; $$ is a literal $.
var templateRef = regexp.MustCompile(`\$\$|\$\{([^}]*)\}|\$`)

// exposureProperties checks an exposure's property templates: properties of its interface, over
// host, port, path and the build's parameters.
func (v *validator) exposureProperties(f, k string, b *Build, e Exposure) {
	in := v.c.Interface(e.Interface)
	for _, name := range sortedKeys(e.Properties) {
		pk := joinKey(k+".properties", name)
		if in != nil && !slices.Contains(in.Properties, name) {
			props := "it has no properties"
			if len(in.Properties) > 0 {
				props = "want one of " + strings.Join(in.Properties, ", ")
			}
			v.r.keyErrorf(f, pk, 0, "%q is not a property of interface %s; %s", name, in.ID, props)
		}
		for _, m := range templateRef.FindAllStringSubmatch(e.Properties[name], -1) {
			switch ref := m[1]; {
			case m[0] == "$$":
			case m[0] == "$":
				v.r.errorf(f, pk, 0, "a lone \"$\" in a property template: write ${NAME} for a value, $$ for a dollar sign")
			case ref == "host" || ref == "port" || ref == "path":
			case b.Parameter(ref) == nil:
				var names []string
				for _, prm := range b.Parameters {
					names = append(names, prm.Name)
				}
				v.r.errorf(f, pk, 0, "${%s} is neither host, port, path nor a parameter of this build%s", ref, hint(ref, append([]string{"host", "port", "path"}, names...)))
			}
		}
	}
}

// targetsLoopback reports whether a smoke-test argument names the loopback address, which in
// the smoke test's own pod or container is not the service it tests.
func targetsLoopback(arg string) bool {
	for _, host := range []string{"127.0.0.1", "localhost", "[::1]", "::1"} {
		if arg == host || strings.HasPrefix(arg, host+":") || strings.Contains(arg, "://"+host) {
			return true
		}
	}
	return false
}

// interfaceRef checks that id names an interface of index.toml and returns it.
func (v *validator) interfaceRef(f, key, id string) *Interface {
	if id == "" {
		v.r.errorf(f, key, 0, "interface is required")
		return nil
	}
	in := v.c.Interface(id)
	if in == nil && v.c.Index != nil {
		v.r.errorf(f, key, 0, "unknown interface %q: interfaces are declared in index.toml%s", id, hint(id, v.interfaceIDs()))
	}
	return in
}

func taskNames(b *Build) []string {
	var names []string
	for _, t := range b.Tasks {
		names = append(names, t.Name)
	}
	return names
}

func exposedList(b *Build) string {
	var ids []string
	for _, e := range b.Exposes {
		ids = append(ids, e.Interface)
	}
	return strings.Join(ids, ", ")
}

// hint formats a "did you mean" suffix, or "" when nothing is close.
func hint(s string, candidates []string) string {
	if best := suggest(s, candidates); best != "" {
		return fmt.Sprintf("; did you mean %q?", best)
	}
	return ""
}

// EnvNameFor suggests the rule-3 spelling of a parameter name: uppercase, with every other
// character turned into "_", starting with a letter.
func EnvNameFor(s string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		if r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	out := b.String()
	if out == "" || out[0] < 'A' || out[0] > 'Z' {
		out = "X" + out
	}
	return out
}

func isURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && u.Scheme != "" && (u.Host != "" || u.Opaque != "")
}

func isWebURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}
