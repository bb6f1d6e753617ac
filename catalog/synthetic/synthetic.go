// Package synthetic generates large, valid catalog repositories for benchmarks: the load and
// validate benchmark, and later the site build and search benchmarks, all run on the same data.
//
// A synthetic catalog has the shape of a real one — index.toml with an interface registry,
// publisher.toml files with keyless signers, product files with several builds each, and an SVG
// logo per product — and text drawn from a health-IT vocabulary, so that parsing, rendering and
// indexing costs resemble those of the real marketplace. Every product passes catalog.Check with
// no errors.
//
// Output is a pure function of Options: the same options give the same bytes, whatever the
// machine or the number of CPUs.
package synthetic

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing/fstest"
	"time"
)

// Options says how big a catalog to generate and from which seed.
type Options struct {
	// Products is the number of products; 0 means 10 000.
	Products int
	// BuildsPerProduct is the number of builds of each product; 0 means 3.
	BuildsPerProduct int
	// Publishers is the number of publishers; 0 means Products/50 (at least 1). Every publisher
	// has at least one product when there are enough products; the rest are spread unevenly, as
	// in a real catalog where a few vendors publish many products.
	Publishers int
	// Seed selects the catalog; different seeds give different names, text and structure.
	Seed int64
}

func (o Options) withDefaults() Options {
	if o.Products <= 0 {
		o.Products = 10000
	}
	if o.BuildsPerProduct <= 0 {
		o.BuildsPerProduct = 3
	}
	if o.Publishers <= 0 {
		o.Publishers = max(1, o.Products/50)
	}
	return o
}

// Write writes the catalog repository for opts into dir, creating it if needed. dir should be
// empty: files of an earlier, larger catalog would stay and become part of this one.
func Write(dir string, opts Options) error {
	return generate(opts, func(name string, data []byte) error {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("writing synthetic catalog: %w", err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return fmt.Errorf("writing synthetic catalog: %w", err)
		}
		return nil
	})
}

// MapFS returns the catalog repository for opts in memory, with the same files as Write.
func MapFS(opts Options) fstest.MapFS {
	var mu sync.Mutex
	m := fstest.MapFS{}
	_ = generate(opts, func(name string, data []byte) error {
		mu.Lock()
		m[name] = &fstest.MapFile{Data: data, Mode: 0o644}
		mu.Unlock()
		return nil
	})
	return m
}

// ProductIDs returns the IDs ("<publisher>/<product>") of the products the catalog for opts has,
// in generation order, without generating the files: benchmarks use it to pick pages or queries.
func ProductIDs(opts Options) []string {
	opts = opts.withDefaults()
	_, stubs := plan(opts)
	ids := make([]string, len(stubs))
	for i, s := range stubs {
		ids[i] = s.pub.id + "/" + s.id
	}
	return ids
}

// generate produces every file of the catalog and hands it to emit, which is called from several
// goroutines at once. Each product draws from its own random stream, so the bytes do not depend
// on the order in which goroutines run.
func generate(opts Options, emit func(name string, data []byte) error) error {
	opts = opts.withDefaults()
	pubs, stubs := plan(opts)

	if err := emit("index.toml", indexFile(opts)); err != nil {
		return err
	}
	for _, p := range pubs {
		if err := emit(path.Join("products", p.id, "publisher.toml"), publisherFile(p)); err != nil {
			return err
		}
	}

	var (
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
		next     = make(chan int)
	)
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := range next {
				s := &stubs[i]
				base := path.Join("products", s.pub.id, s.id)
				err := emit(base+".toml", productFile(opts, s))
				if err == nil {
					err = emit(base+"/logo.svg", logoFile(s))
				}
				if err != nil {
					errOnce.Do(func() { firstErr = err })
				}
			}
		})
	}
	for i := range stubs {
		next <- i
	}
	close(next)
	wg.Wait()
	return firstErr
}

// Random streams: every draw comes from a PCG stream keyed by the seed and by what is drawn, so
// adding a field to products does not change publishers, and product i does not depend on i-1.
const (
	streamPublishers = iota
	streamAssign
	streamProduct
)

func stream(opts Options, kind, i int) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(opts.Seed), uint64(i)<<2|uint64(kind)))
}

type publisher struct {
	id, name, domain string
	maintainers      []string
	signers          [][2]string // issuer, subject
}

// stub is what the sequential planning pass decides about a product: its publisher, ID and kind.
type stub struct {
	index int
	pub   *publisher
	id    string // product ID within the publisher
	name  string
	brand string
	arch  *archetype
}

// plan decides publishers and product IDs. It runs sequentially because IDs must be unique per
// publisher; the expensive part, the file contents, is generated in parallel afterwards.
func plan(opts Options) ([]*publisher, []stub) {
	r := stream(opts, streamPublishers, 0)
	pubs := make([]*publisher, opts.Publishers)
	seen := map[string]int{}
	for i := range pubs {
		// Names never end in a digit, so a numbered name cannot collide with another one.
		name := pick(r, publisherPrefixes) + " " + pick(r, publisherSuffixes)
		base := slug(name)
		if n := seen[base]; n > 0 {
			name = fmt.Sprintf("%s %d", name, n+1)
		}
		seen[base]++
		id := slug(name)
		p := &publisher{id: id, name: name, domain: id + ".example"}
		p.maintainers = []string{id + "-bot"}
		for range 1 + r.IntN(3) {
			h := pick(r, firstNames)[:1+r.IntN(2)] + pick(r, lastNames)
			if !contains(p.maintainers, h) {
				p.maintainers = append(p.maintainers, h)
			}
		}
		p.signers = append(p.signers, [2]string{"https://token.actions.githubusercontent.com",
			"https://github.com/" + id + "/releases/.github/workflows/release.yml@refs/heads/main"})
		if r.IntN(4) == 0 {
			p.signers = append(p.signers, [2]string{"https://gitlab.com",
				"https://gitlab.com/" + id + "/platform//.gitlab-ci.yml@refs/heads/main"})
		}
		pubs[i] = p
	}

	stubs := make([]stub, opts.Products)
	used := make([]map[string]bool, len(pubs))
	for i := range used {
		used[i] = map[string]bool{}
	}
	for i := range stubs {
		r := stream(opts, streamAssign, i)
		// The first products give every publisher one; the rest go mostly to the first
		// publishers (a power law), like real catalogs where a few vendors publish a lot.
		pi := i
		if i >= len(pubs) {
			pi = min(len(pubs)-1, int(float64(len(pubs))*math.Pow(r.Float64(), 2)))
		}
		a := &archetypes[r.IntN(len(archetypes))]
		var brand, name, id string
		for try := 0; ; try++ {
			brand = pick(r, productBrands)
			name = brand + " " + pick(r, a.nouns)
			id = slug(name)
			if try >= 6 {
				id = fmt.Sprintf("%s-%d", id, try-4)
				name = fmt.Sprintf("%s %d", name, try-4)
			}
			if !used[pi][id] {
				break
			}
		}
		used[pi][id] = true
		stubs[i] = stub{index: i, pub: pubs[pi], id: id, name: name, brand: brand, arch: a}
	}
	return pubs, stubs
}

func indexFile(opts Options) []byte {
	var w tomlWriter
	w.table("catalog")
	w.str("name", "HSP Marketplace (synthetic)")
	w.str("description", fmt.Sprintf("Synthetic catalog of %d products from %d publishers (seed %d), generated for benchmarks.",
		opts.Products, opts.Publishers, opts.Seed))
	w.str("base_url", "https://marketplace.example.org/")
	w.nl()
	w.table("policy")
	w.bool("require_signatures", true)
	w.strs("open_licenses", []string{"MIT", "Apache-2.0", "BSD-2-Clause", "BSD-3-Clause",
		"GPL-2.0-only", "GPL-2.0-or-later", "GPL-3.0-only", "GPL-3.0-or-later"})
	for _, in := range interfaces {
		w.nl()
		w.arrayTable("interfaces")
		w.str("id", in.id)
		w.str("name", in.name)
		w.str("uri", in.uri)
		if in.version != "" {
			w.str("version", in.version)
		}
		w.strs("properties", in.properties)
		if len(in.substitutesFor) > 0 {
			w.strs("substitutes_for", in.substitutesFor)
		}
	}
	return w.b
}

func publisherFile(p *publisher) []byte {
	var w tomlWriter
	w.str("name", p.name)
	w.str("url", "https://"+p.domain)
	w.str("contact", "mailto:security@"+p.domain)
	w.strs("maintainers", p.maintainers)
	for _, s := range p.signers {
		w.nl()
		w.arrayTable("signers")
		w.str("issuer", s[0])
		w.str("subject", s[1])
	}
	return w.b
}

// build is one generated build, before it is written.
type build struct {
	version  string
	released time.Time
	deps     []string
	params   []param
	binds    map[string][]binding // by dependency
	exposes  []expose
	tcpPorts []int // extra TCP ports of the web task, for exposed non-HTTP interfaces
	oidc     bool
	platform []string
}

func productFile(opts Options, s *stub) []byte {
	r := stream(opts, streamProduct, s.index)
	a := s.arch
	id := s.pub.id + "/" + s.id

	// Product-level decisions, which every build honours.
	phi := r.Float64() < 0.85
	oidc := r.Float64() < a.oidc
	coreParams := 0
	for _, d := range a.core {
		coreParams += len(bindings[d])
	}
	if phi {
		coreParams++
	}
	if oidc && coreParams+len(bindings["oidc"]) > 6 {
		oidc = false // keep builds within six parameters
	}
	license, evaluation := pick(r, openLicenses), false
	if r.IntN(6) == 0 {
		license, evaluation = "LicenseRef-"+strings.ReplaceAll(s.pub.name, " ", "-")+"-Commercial", true
	}

	builds := makeBuilds(r, opts, s, oidc, phi)
	latest := builds[0]

	var w tomlWriter
	w.str("name", s.name)
	w.str("summary", summary(r, a))
	w.multiline("description", description(r, s, latest, evaluation))
	w.str("homepage", "https://"+s.pub.domain+"/products/"+s.id)
	w.str("support", "mailto:support@"+s.pub.domain)
	if !evaluation {
		w.str("source", "https://github.com/"+s.pub.id+"/"+s.id)
	}
	w.str("license", license)
	w.bool("evaluation", evaluation)
	cats := []string{a.categories[0]}
	if len(a.categories) > 1 && r.IntN(2) == 0 {
		cats = append(cats, a.categories[1+r.IntN(len(a.categories)-1)])
	}
	w.strs("categories", cats)
	w.strs("tags", sample(r, a.tags, 3+r.IntN(3)))
	w.str("logo", s.id+"/logo.svg")

	w.nl()
	w.table("identity")
	if oidc {
		w.strs("sso", []string{"oidc"})
	} else {
		w.strs("sso", []string{}) // no user logins: says so, rather than leaving it unsaid
	}
	w.bool("scim", r.IntN(3) == 0)
	w.str("tracing", pickWeighted(r, []string{"opentelemetry", "opentracing", "none"}, []int{7, 2, 1}))
	if phi {
		w.str("phi_logging", phiParam.name)
	}

	bin := "/usr/local/bin/" + s.id
	for _, b := range builds {
		w.nl()
		w.arrayTable("builds")
		w.str("version", b.version)
		digest := sha256.Sum256([]byte(id + "@" + b.version))
		w.str("image", fmt.Sprintf("%s/%s/%s:%s@sha256:%s", registries[s.index%len(registries)], s.pub.id, s.id, b.version, hex.EncodeToString(digest[:])))
		w.date("released", b.released)
		w.multiline("notes", releaseNotes(r, b))
		w.strs("platforms", b.platform)

		webMin := 1 + r.IntN(3)
		w.nl()
		w.indent = "  "
		w.arrayTable("builds.tasks")
		w.str("name", "web")
		w.strs("command", []string{bin, "serve"})
		w.int("min", webMin)
		w.int("max", webMin+r.IntN(9))
		w.int("memory", pick(r, []int{256, 512, 768, 1024, 1536, 2048, 3072, 4096}))
		w.int("stop_timeout", 5+r.IntN(6))
		ports := `[{ port = 8080, protocol = "http", health = "/healthz" }`
		for _, p := range b.tcpPorts {
			ports += fmt.Sprintf(`, { port = %d, protocol = "tcp" }`, p)
		}
		w.raw("ports", ports+"]")

		workerMin := r.IntN(3)
		w.nl()
		w.arrayTable("builds.tasks")
		w.str("name", "worker")
		w.strs("command", []string{bin, "worker"})
		w.int("min", workerMin)
		w.int("max", max(1, workerMin)+r.IntN(4))
		w.int("memory", pick(r, []int{128, 256, 512, 1024, 2048}))
		w.int("stop_timeout", 3+r.IntN(8))

		for _, p := range b.params {
			w.nl()
			w.arrayTable("builds.parameters")
			w.str("name", p.name)
			w.str("description", p.desc)
			if p.required {
				w.bool("required", true)
			}
			if p.hasDefault {
				w.str("default", p.def)
			}
			if p.pattern != "" {
				w.str("pattern", p.pattern)
			}
			if p.secret {
				w.bool("secret", true)
			}
		}

		for _, e := range b.exposes {
			w.nl()
			w.arrayTable("builds.exposes")
			w.str("interface", e.iface)
			w.str("task", "web")
			if e.port != 0 {
				w.int("port", e.port)
			} else {
				w.int("port", 8080)
				w.str("path", e.path)
			}
		}

		for _, d := range b.deps {
			w.nl()
			w.arrayTable("builds.dependencies")
			w.str("interface", d)
			w.bool("required", !optionalDependency(d))
			var kv []string
			for _, bd := range b.binds[d] {
				kv = append(kv, bd.param.name+" = "+quote(bd.property))
			}
			w.raw("bind", "{ "+strings.Join(kv, ", ")+" }")
		}

		w.nl()
		w.table("builds.smoke_test")
		w.str("task", "web")
		// $(SMOKE_URL) is the exposed interface's URL on the task's service, as a reviewed
		// product writes it: a test run beside the task reaches nothing on localhost, which the
		// validator warns about (rule 4).
		w.strs("command", []string{bin, "smoke-test", "--url", "$(SMOKE_URL)"})
		w.int("timeout", pick(r, []int{60, 120, 180, 300}))
		w.indent = ""
	}
	return w.b
}

// makeBuilds returns the builds of a product, newest first, with increasing SemVer versions and
// release dates.
func makeBuilds(r *rand.Rand, opts Options, s *stub, oidc, phi bool) []build {
	a := s.arch
	n := opts.BuildsPerProduct
	builds := make([]build, n)

	major, minor, patch := r.IntN(6), r.IntN(12), r.IntN(5)
	if major == 0 {
		minor++ // no 0.0.x
	}
	day := time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, r.IntN(5*365))
	platform := []string{"linux/amd64"}
	if r.IntN(5) == 0 {
		platform = append(platform, "linux/386")
	}
	// Oldest first here; written newest first.
	for i := n - 1; i >= 0; i-- {
		b := &builds[i]
		if i < n-1 {
			switch x := r.IntN(20); {
			case x < 11:
				patch++
			case x < 18:
				minor, patch = minor+1, 0
			default:
				major, minor, patch = major+1, 0, 0
			}
			day = day.AddDate(0, 0, 14+r.IntN(120))
		}
		b.version = fmt.Sprintf("%d.%d.%d", major, minor, patch)
		if i == 0 && r.IntN(20) == 0 {
			major, minor, patch = major+1, 0, 0
			b.version = fmt.Sprintf("%d.0.0-rc.%d", major, 1+r.IntN(3))
		}
		b.released = day
		b.platform = platform
		b.oidc = oidc

		// Dependencies and parameters: the core, OIDC when the product signs users in, then
		// optional dependencies and extra parameters up to four to six parameters in all.
		want := 4 + r.IntN(3)
		b.binds = map[string][]binding{}
		addDep := func(d string) {
			if contains(b.deps, d) {
				return
			}
			b.deps = append(b.deps, d)
			b.binds[d] = bindings[d]
			for _, bd := range bindings[d] {
				b.params = append(b.params, bd.param)
			}
		}
		for _, d := range a.core {
			addDep(d)
		}
		if oidc {
			addDep("oidc")
		}
		reserve := 0
		if phi {
			reserve = 1
		}
		for _, d := range a.optional {
			if r.IntN(2) == 0 && len(b.params)+len(bindings[d])+reserve <= want {
				addDep(d)
			}
		}
		for _, p := range sampleParams(r, extraParams, want-len(b.params)-reserve, b.params) {
			b.params = append(b.params, p)
		}
		if phi {
			b.params = append(b.params, phiParam)
		}

		for _, e := range a.exposes {
			if e.prob >= 1 || r.Float64() < e.prob {
				b.exposes = append(b.exposes, e)
				if e.port != 0 {
					b.tcpPorts = append(b.tcpPorts, e.port)
				}
			}
		}
	}
	return builds
}

func summary(r *rand.Rand, a *archetype) string {
	s := pick(r, a.heads)
	if r.IntN(4) != 0 {
		s += " " + pick(r, a.tails)
	}
	if len(s) > 140 {
		s = pick(r, a.heads)
	}
	return s
}

// description returns about 1.5 KB of Markdown describing the product: two or three paragraphs
// and a bullet list of features.
func description(r *rand.Rand, s *stub, latest build, evaluation bool) string {
	a := s.arch
	var b strings.Builder

	adj := pick(r, adjectives)
	fmt.Fprintf(&b, "**%s** is %s %s %s for %s. ", s.name, article(adj), adj, a.kind, pick(r, audiences))
	intros := sample(r, a.intros, 2+r.IntN(2))
	b.WriteString(strings.Join(intros, " "))
	fmt.Fprintf(&b, " %s is developed by %s and has been tested with %s", s.brand, s.pub.name, pick(r, testbeds))
	if r.IntN(2) == 0 {
		fmt.Fprintf(&b, "; it is in production at %s", pick(r, adopters))
	}
	b.WriteString(".\n\n")

	b.WriteString(pick(r, []string{"Key capabilities:", "Highlights:", "What it offers:", "Features:"}))
	b.WriteString("\n\n")
	for _, f := range sample(r, a.features, 4+r.IntN(3)) {
		b.WriteString("- " + f + "\n")
	}
	b.WriteString("\n")

	b.WriteString(pick(r, opsSentences))
	var needs []string
	for _, d := range latest.deps {
		needs = append(needs, interfaceByID(d).phrase)
	}
	if len(needs) > 0 {
		fmt.Fprintf(&b, " It needs %s.", joinAnd(needs))
	}
	if latest.oidc {
		b.WriteString(" Sign-in is delegated to it, so the service keeps no passwords of its own.")
	}
	b.WriteString(" " + pick(r, scaleSentences))
	// The closing sentences are a paragraph of their own in about half of the products.
	if r.IntN(2) == 0 {
		b.WriteString("\n\n")
	} else {
		b.WriteString(" ")
	}

	if evaluation {
		fmt.Fprintf(&b, "Production use needs a commercial license from %s; the image runs without one for evaluation and integration testing, limited to 50 users. ", s.pub.name)
	}
	b.WriteString(pick(r, closings))
	if r.IntN(2) == 0 {
		fmt.Fprintf(&b, " See the [administrator guide](https://%s/products/%s/docs) for details.", s.pub.domain, s.id)
	}
	b.WriteString("\n")
	return b.String()
}

func releaseNotes(r *rand.Rand, b build) string {
	var sb strings.Builder
	switch {
	case strings.Contains(b.version, "-rc."):
		sb.WriteString("Release candidate for the next major version; not for production.\n\n")
	case strings.HasSuffix(b.version, ".0.0"):
		sb.WriteString("Major release. Read the upgrade notes before updating.\n\n")
	case strings.HasSuffix(b.version, ".0"):
		sb.WriteString("Feature release.\n\n")
	default:
		sb.WriteString("Maintenance release.\n\n")
	}
	for _, n := range sample(r, noteAdds, r.IntN(3)) {
		sb.WriteString("- " + n + "\n")
	}
	for _, n := range sample(r, noteFixes, 1+r.IntN(2)) {
		sb.WriteString("- " + n + "\n")
	}
	if r.IntN(4) == 0 {
		fmt.Fprintf(&sb, "- Updated the base image for CVE-%d-%d.\n", 2023+r.IntN(3), 1000+r.IntN(49000))
	}
	return sb.String()
}

// logoFile returns a small SVG logo: the product's initials on a coloured rounded square.
func logoFile(s *stub) []byte {
	h := sha256.Sum256([]byte(s.pub.id + "/" + s.id))
	initials := ""
	for _, word := range strings.Fields(s.name) {
		if c := word[0]; c >= 'A' && c <= 'Z' && len(initials) < 2 {
			initials += string(c)
		}
	}
	shape := `<rect width="64" height="64" rx="14"`
	if h[1]%3 == 0 {
		shape = `<circle cx="32" cy="32" r="32"`
	}
	return fmt.Appendf(nil, `<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 64 64" role="img" aria-label="%s">`+
		`%s fill="%s"/><text x="32" y="41" font-family="sans-serif" font-size="24" font-weight="700" text-anchor="middle" fill="#ffffff">%s</text></svg>`+"\n",
		s.name, shape, colors[int(h[0])%len(colors)], initials)
}

// tomlWriter writes TOML in the layout of the specification's examples.
type tomlWriter struct {
	b      []byte
	indent string
}

func (w *tomlWriter) nl() { w.b = append(w.b, '\n') }

func (w *tomlWriter) key(k string) {
	w.b = append(w.b, w.indent...)
	w.b = append(w.b, k...)
	w.b = append(w.b, " = "...)
}

func (w *tomlWriter) table(name string) {
	w.b = append(w.b, w.indent...)
	w.b = append(w.b, "["+name+"]\n"...)
}

func (w *tomlWriter) arrayTable(name string) {
	w.b = append(w.b, w.indent...)
	w.b = append(w.b, "[["+name+"]]\n"...)
}

func (w *tomlWriter) str(k, v string) {
	w.key(k)
	w.b = appendQuoted(w.b, v)
	w.nl()
}

func (w *tomlWriter) raw(k, v string) {
	w.key(k)
	w.b = append(w.b, v...)
	w.nl()
}

func (w *tomlWriter) int(k string, v int) {
	w.key(k)
	w.b = strconv.AppendInt(w.b, int64(v), 10)
	w.nl()
}

func (w *tomlWriter) bool(k string, v bool) {
	w.key(k)
	w.b = strconv.AppendBool(w.b, v)
	w.nl()
}

func (w *tomlWriter) date(k string, t time.Time) {
	w.key(k)
	w.b = t.AppendFormat(w.b, time.DateOnly)
	w.nl()
}

func (w *tomlWriter) strs(k string, vs []string) {
	w.key(k)
	w.b = append(w.b, '[')
	for i, v := range vs {
		if i > 0 {
			w.b = append(w.b, ", "...)
		}
		w.b = appendQuoted(w.b, v)
	}
	w.b = append(w.b, ']')
	w.nl()
}

// multiline writes v as a multi-line basic string; v ends with a newline.
func (w *tomlWriter) multiline(k, v string) {
	w.key(k)
	w.b = append(w.b, `"""`+"\n"...)
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case '\\', '"':
			w.b = append(w.b, '\\', c)
		default:
			w.b = append(w.b, c)
		}
	}
	w.b = append(w.b, `"""`...)
	w.nl()
}

func quote(s string) string { return string(appendQuoted(nil, s)) }

// appendQuoted appends s as a TOML basic string.
func appendQuoted(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\n':
			b = append(b, `\n`...)
		case c == '\t':
			b = append(b, `\t`...)
		case c < 0x20 || c == 0x7f:
			b = fmt.Appendf(b, `\u%04X`, c)
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// Small helpers over the random stream.

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

func pickWeighted(r *rand.Rand, xs []string, weights []int) string {
	total := 0
	for _, w := range weights {
		total += w
	}
	n := r.IntN(total)
	for i, w := range weights {
		if n < w {
			return xs[i]
		}
		n -= w
	}
	return xs[len(xs)-1]
}

// sample returns n distinct elements of xs in a random order (all of them when n ≥ len(xs)).
func sample(r *rand.Rand, xs []string, n int) []string {
	idx := r.Perm(len(xs))
	out := make([]string, 0, min(n, len(xs)))
	for _, i := range idx[:min(n, len(xs))] {
		out = append(out, xs[i])
	}
	return out
}

// sampleParams returns up to n parameters of xs whose names are not among have.
func sampleParams(r *rand.Rand, xs []param, n int, have []param) []param {
	var out []param
	for _, i := range r.Perm(len(xs)) {
		if len(out) >= n {
			break
		}
		taken := false
		for _, h := range have {
			taken = taken || h.name == xs[i].name
		}
		if !taken {
			out = append(out, xs[i])
		}
	}
	return out
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// slug turns a name into an ID: lowercase letters and digits, words joined by hyphens.
func slug(s string) string {
	var b strings.Builder
	hyphen := false
	for _, c := range strings.ToLower(s) {
		switch {
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9':
			if hyphen && b.Len() > 0 {
				b.WriteByte('-')
			}
			hyphen = false
			b.WriteRune(c)
		default:
			hyphen = true
		}
	}
	return b.String()
}

func article(word string) string {
	if strings.ContainsRune("aeiou", rune(word[0])) {
		return "an"
	}
	return "a"
}

func joinAnd(xs []string) string {
	switch len(xs) {
	case 0:
		return ""
	case 1:
		return xs[0]
	}
	return strings.Join(xs[:len(xs)-1], ", ") + " and " + xs[len(xs)-1]
}
