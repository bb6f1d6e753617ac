// Package deploy turns one build of a catalog product into deployment manifests (SPEC §7, §8, and
// MVP story 4, "export my configuration as a set of kubernetes files"): Kubernetes objects and a
// Compose file, each a deterministic function of the build and an optional environment (the
// values of the build's parameters, rule 3).
//
// Both formats carry the packaging rules over to the platform: one workload per task (rule 7),
// its instance range (rules 5, 6), a guaranteed memory limit (rule 10), amd64 scheduling
// (rule 11), the stop timeout (rule 13), health probes on the declared health path (rule 15), a
// read-only root file system (rule 16: logs go to stdout, nothing is written), configuration from
// the environment only (rule 3), and the smoke test as something an operator can trigger
// (rule 4). A header comment says what the manifest still needs: the required parameters without
// a value and the dependencies to bind.
//
// Without an environment (the static site's deploy/ files), secret values are never written:
// Kubernetes gets an empty Secret to fill in, Compose gets ${NAME:?required} interpolations.
package deploy

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/hspc/marketplace/catalog"
	"github.com/hspc/marketplace/catalog/env"
	"github.com/hspc/marketplace/generator/page"
)

// FormatVersion names the shape of the generated manifests. It is part of every page key, so
// changing what Kubernetes or Compose emit for the same build must change it: the next build then
// re-renders every deploy/ file instead of reusing stale ones.
const FormatVersion = "deploy/2"

// Formats lists the manifest formats, in the order the command line names them.
var Formats = []string{"kubernetes", "compose"}

// Render returns the manifest of build b of product p in format ("kubernetes" or "compose"),
// its header naming the file as the site publishes it (see ManifestPath).
func Render(format string, p *catalog.Product, b *catalog.Build, env map[string]string) ([]byte, error) {
	return RenderFile(format, "", p, b, env)
}

// RenderFile is Render for a manifest saved as file (a base name): its header's commands name
// it. "" means the name the site publishes it under.
func RenderFile(format, file string, p *catalog.Product, b *catalog.Build, env map[string]string) ([]byte, error) {
	return renderTo(nil, format, file, p, b, env)
}

// renderTo renders as RenderFile does, into w when it is not nil (see render).
func renderTo(w io.Writer, format, file string, p *catalog.Product, b *catalog.Build, env map[string]string) ([]byte, error) {
	switch format {
	case "kubernetes":
		return kubernetes(w, file, p, b, env)
	case "compose":
		return compose(w, file, p, b, env)
	}
	return nil, fmt.Errorf("unknown format %q (want %s)", format, strings.Join(Formats, " or "))
}

// fileOr returns file, or the base name of the site's file of b of p in format when file is "".
func fileOr(file, format string, p *catalog.Product, b *catalog.Build) string {
	if file != "" {
		return file
	}
	return path.Base(ManifestPath(p.ID, b.Version, format))
}

// Pages returns deploy/<publisher>/<product>/<version>/kubernetes.yaml and compose.yaml for the
// build each product offers for deployment (see Offered), without an environment (placeholders
// for every value the operator must supply), sorted by path. Older builds' manifests come from
// `marketplace deploy PRODUCT@VERSION`: writing two files for every build ever published would
// make them most of the site's files. A page's key is the product (its Sum: see
// catalog.Product.KeyPart), the build's version and FormatVersion (the path tells the formats
// apart): the manifests depend on nothing else, so an unchanged product is not re-rendered.
func Pages(c *catalog.Catalog) []page.Page {
	var pages []page.Page
	for _, id := range c.SortedProductIDs() {
		p := c.Products[id]
		b := Offered(p)
		if b == nil {
			continue
		}
		key := page.Key(p.KeyPart(), b.Version, FormatVersion)
		for _, f := range Formats {
			pages = append(pages, page.Page{
				Path:   ManifestPath(p.ID, b.Version, f),
				Key:    key,
				Stream: func(w io.Writer) error { _, err := renderTo(w, f, "", p, b, nil); return err },
			})
		}
	}
	slices.SortFunc(pages, func(a, b page.Page) int { return cmp.Compare(a.Path, b.Path) })
	return pages
}

// Offered returns the build a product offers for deployment, whose manifests the site
// publishes: the highest release by SemVer, or the highest pre-release when there is no release.
func Offered(p *catalog.Product) *catalog.Build {
	builds := p.BuildsNewestFirst()
	for _, b := range builds {
		if v, err := semver.NewVersion(b.Version); err == nil && v.Prerelease() == "" {
			return b
		}
	}
	if len(builds) > 0 {
		return builds[0]
	}
	return nil
}

// Prefix is what the output paths of a build's manifests start with: deploy/PUBLISHER/PRODUCT@VERSION.
// followed by FileName, as `marketplace deploy PUBLISHER/PRODUCT@VERSION` names the build. A
// file, not a folder per product and version: folders were a third of a large site's mkdirs.
func Prefix(productID, version string) string { return page.DeployPrefix(productID, version) }

// ManifestPath is the output path of a build's manifest in format.
func ManifestPath(productID, version, format string) string {
	return Prefix(productID, version) + FileName(format)
}

// FileName is the file name of a manifest in format.
func FileName(format string) string {
	if format == "compose" {
		return "compose.yaml"
	}
	return "kubernetes.yaml"
}

// EnvError lists every problem of an environment given for a build: names that break rule 3,
// names that are not parameters of the build, and values that do not match their parameter's
// pattern. Secret values are never quoted.
type EnvError struct {
	Problems []string
}

func (e *EnvError) Error() string { return strings.Join(e.Problems, "\n") }

// CheckEnv reports whether env is a valid environment for b: every name follows rule 3 and
// is a parameter of b, and every value matches its parameter's pattern. It returns an *EnvError
// listing all the problems at once, or nil.
func CheckEnv(b *catalog.Build, env map[string]string) error {
	var problems, unknown []string
	for _, name := range sortedKeys(env) {
		value := env[name]
		if !catalog.EnvNamePattern.MatchString(name) {
			problems = append(problems, fmt.Sprintf("%s: not a parameter name: names use only uppercase A-Z, 0-9 and '_', starting with a letter (rule 3; try %s)", name, catalog.EnvNameFor(name)))
			continue
		}
		prm := b.Parameter(name)
		if prm == nil {
			unknown = append(unknown, name)
			continue
		}
		if prm.Pattern == "" {
			continue
		}
		re, err := regexp.Compile(prm.Pattern)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: the parameter's pattern %q does not compile: %v", name, prm.Pattern, err))
			continue
		}
		if !re.MatchString(value) {
			shown := fmt.Sprintf("value %q", value)
			if prm.Secret {
				shown = "the secret value" // never echo a secret into a terminal or CI log
			}
			problems = append(problems, fmt.Sprintf("%s: %s does not match the parameter's pattern %s", name, shown, prm.Pattern))
		}
	}
	if len(unknown) > 0 {
		var declared []string
		for _, prm := range b.Parameters {
			declared = append(declared, prm.Name)
		}
		msg := fmt.Sprintf("unknown parameters %s: build %s declares %s", strings.Join(unknown, ", "), b.Version, strings.Join(declared, ", "))
		if len(declared) == 0 {
			msg = fmt.Sprintf("unknown parameters %s: build %s declares no parameters", strings.Join(unknown, ", "), b.Version)
		}
		if len(unknown) == 1 {
			msg = strings.Replace(msg, "unknown parameters", "unknown parameter", 1)
		}
		problems = append(problems, msg)
	}
	if len(problems) > 0 {
		return &EnvError{Problems: problems}
	}
	return nil
}

// MissingRequired returns the required parameters of b that have no value: neither in env nor a
// non-empty default. They are listed in each manifest's header.
func MissingRequired(b *catalog.Build, env map[string]string) []string {
	var missing []string
	for _, prm := range b.Parameters {
		if prm.Required && valueOf(prm, env) == "" {
			missing = append(missing, prm.Name)
		}
	}
	return missing
}

// valueOf returns the value a parameter gets: from env, else its default, else "".
func valueOf(prm catalog.Parameter, env map[string]string) string {
	if v, ok := env[prm.Name]; ok {
		return v
	}
	if prm.Default != nil {
		return *prm.Default
	}
	return ""
}

// source is what both formats are made from: the build, checked, with the names it deploys as.
type source struct {
	product   string // "acme/fhir"
	publisher string // "acme"
	slug      string // "fhir"
	base      string // "acme-fhir": the prefix of every Kubernetes object name
	build     *catalog.Build
	ref       catalog.ImageRef
	env       map[string]string
	smoke     string // name of the smoke-test workload, distinct from every task name
	partOf    string // the app.kubernetes.io/part-of label: base, or the environment's name

	// For a service of an environment: the resolved service and the environment file's path.
	svc        *env.Resolved
	envPath    string
	bindingsTo []*env.Bound // the environment's bindings this service provides

	labelSets map[string]map[string]string // labels by component, made once
}

// image returns the image reference every manifest runs: the one place where it is written, so
// that a mapping to a mirror registry applies to every format and every export.
func (s *source) image() string { return s.ref.String() }

// taskName returns the name of a task's objects: "<base>-<task>", which is also the host name
// other services reach the task on.
func (s *source) taskName(task string) string { return dnsLabel(s.base, task) }

// smokeTarget is where a smoke test reaches the service it tests: the Service (Kubernetes) or
// service (Compose) of its task, on the port of the interface the task exposes (or its first
// port). The test gets it as SMOKE_HOST, SMOKE_PORT and, for HTTP, SMOKE_URL; $(NAME) in its
// command is replaced by these values.
type smokeTarget struct {
	host string
	port int
	url  string
}

func (s *source) smokeTarget(t *catalog.Task, host string) smokeTarget {
	for _, e := range s.build.Exposes {
		if e.Task != t.Name {
			continue
		}
		for _, pt := range t.Ports {
			if pt.Port == e.Port {
				st := smokeTarget{host: host, port: pt.Port}
				if protocolOf(pt) == "http" {
					st.url = "http://" + host + ":" + strconv.Itoa(pt.Port) + e.Path
				}
				return st
			}
		}
	}
	for _, pt := range t.Ports {
		if protocolOf(pt) != "udp" {
			st := smokeTarget{host: host, port: pt.Port}
			if protocolOf(pt) == "http" {
				st.url = "http://" + host + ":" + strconv.Itoa(pt.Port)
			}
			return st
		}
	}
	return smokeTarget{}
}

// env returns the smoke test's variables as name, value pairs; none when the task has no port.
func (st smokeTarget) env() [][2]string {
	if st.host == "" {
		return nil
	}
	out := [][2]string{{"SMOKE_HOST", st.host}, {"SMOKE_PORT", strconv.Itoa(st.port)}}
	if st.url != "" {
		out = append(out, [2]string{"SMOKE_URL", st.url})
	}
	return out
}

// expand replaces $(NAME) in a command with the smoke test's variables, as Kubernetes does: for
// Compose, which runs the command as it is written.
func (st smokeTarget) expand(command []string) []string {
	vars := st.env()
	if len(vars) == 0 {
		return command
	}
	out := make([]string, len(command))
	for i, arg := range command {
		for _, kv := range vars {
			arg = strings.ReplaceAll(arg, "$("+kv[0]+")", kv[1])
		}
		out[i] = arg
	}
	return out
}

func newSource(p *catalog.Product, b *catalog.Build, env map[string]string) (*source, error) {
	if p == nil || b == nil {
		return nil, errors.New("deploy: no product or build")
	}
	pub, slug, ok := strings.Cut(p.ID, "/")
	if !ok || pub == "" || slug == "" {
		return nil, fmt.Errorf("product ID %q is not PUBLISHER/PRODUCT", p.ID)
	}
	ref, err := catalog.ParseImageRef(b.Image)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", p.ID, b.Version, err)
	}
	if len(b.Tasks) == 0 {
		return nil, fmt.Errorf("%s %s has no tasks to deploy (rule 7)", p.ID, b.Version)
	}
	for _, t := range b.Tasks {
		if t.MemoryMiB() <= 0 {
			return nil, fmt.Errorf("%s %s: task %q declares no memory (rule 10)", p.ID, b.Version, t.Name)
		}
	}
	if b.SmokeTest != nil && b.Task(b.SmokeTest.Task) == nil {
		return nil, fmt.Errorf("%s %s: smoke_test task %q is not a task of the build", p.ID, b.Version, b.SmokeTest.Task)
	}
	if err := CheckEnv(b, env); err != nil {
		return nil, err
	}
	smoke := "smoke-test"
	for b.Task(smoke) != nil {
		smoke += "-run"
	}
	base := dnsLabel(pub, slug)
	return &source{
		product: p.ID, publisher: pub, slug: slug, base: base, partOf: base,
		build: b, ref: ref, env: env, smoke: smoke,
	}, nil
}

// header appends the comment both formats start with: what this is, what it runs, and what the
// operator still has to provide. Each entry of notes becomes a paragraph of its own.
func (s *source) header(w []byte, title, format string, where func(catalog.Parameter) string, notes ...[]string) []byte {
	b := s.build
	var c comment
	c.w = w
	c.line(s.product, " ", b.Version, ": ", title, ", generated by marketplace from the HSP Marketplace catalog.")
	c.line("Image:     ", b.Image)
	c.line("Digest:    ", s.ref.Digest)
	c.start("Platforms: ")
	for i, p := range b.PlatformsOrDefault() {
		if i > 0 {
			c.add(", ")
		}
		c.add(p)
	}
	c.add(" (rule 11)")
	c.end()
	if s.svc != nil {
		c.line("Generate again rather than edit: marketplace env export ", s.envPath, " --format ", format, " -o DIR")
	} else {
		c.line("Generate again rather than edit: marketplace deploy ", s.product, "@", b.Version, " --format ", format, " --env FILE")
	}
	c.line()
	c.line("Tasks, one entry process each (rule 7):")
	for i := range b.Tasks {
		t := &b.Tasks[i]
		c.start("  ", t.Name, ": ")
		c.int(t.MinInstances())
		c.add(" to ")
		c.int(t.MaxInstances())
		c.add(" instances, ")
		c.int(t.MemoryMiB())
		c.add(" MiB each, stops within ")
		c.int(t.StopSeconds())
		c.add(" s")
		for _, pt := range t.Ports {
			c.add(", port ")
			c.int(pt.Port)
			c.add("/", protocolOf(pt))
			if pt.Health != "" {
				c.add(" health ", pt.Health)
			}
		}
		c.end()
	}
	if len(b.Exposes) > 0 {
		c.line()
		c.line("Provides:")
		for _, e := range b.Exposes {
			c.start("  ", e.Interface, ": task ", e.Task, ", port ")
			c.int(e.Port)
			if e.Path != "" {
				c.add(", path ", e.Path)
			}
			c.end()
		}
	}
	if s.svc != nil {
		s.envSection(&c, where)
	} else {
		if len(b.Dependencies) > 0 {
			c.line()
			c.line("Needs (bind each provider property to the parameter shown):")
			for _, d := range b.Dependencies {
				req := "required"
				if !d.IsRequired() {
					req = "optional"
				}
				c.start("  ", d.Interface, " (", req, "): ")
				s.bindings(&c, d)
				c.end()
			}
		}
		c.line()
		if missing := MissingRequired(b, s.env); len(missing) > 0 {
			c.line("Required parameters without a value; set them before deploying (--env FILE):")
			for _, name := range missing {
				prm := b.Parameter(name)
				c.start("  ", name, where(*prm))
				if prm.Description != "" {
					c.add(":")
					for f := range strings.FieldsSeq(prm.Description) { // on one line
						c.add(" ", f)
					}
				}
				c.end()
			}
		} else {
			c.line("Every required parameter has a value.")
		}
		for _, prm := range b.Parameters {
			if prm.Secret && s.env[prm.Name] != "" {
				c.line("This file holds secret values from the environment it was generated with: keep it out of version control.")
				break
			}
		}
	}
	for _, paragraph := range notes {
		if len(paragraph) == 0 {
			continue
		}
		c.line()
		for _, text := range paragraph {
			c.line(text)
		}
	}
	return c.w
}

// comment appends comment lines to w: "# " and the text without its trailing spaces, or "#"
// alone for an empty line.
type comment struct {
	w     []byte
	begin int // where the current line starts
}

func (c *comment) start(parts ...string) {
	c.begin = len(c.w)
	c.w = append(c.w, "# "...)
	c.add(parts...)
}

func (c *comment) add(parts ...string) {
	for _, p := range parts {
		c.w = append(c.w, p...)
	}
}

func (c *comment) int(n int) { c.w = strconv.AppendInt(c.w, int64(n), 10) }

func (c *comment) end() {
	text := c.begin + len("# ")
	for len(c.w) > text && c.w[len(c.w)-1] == ' ' {
		c.w = c.w[:len(c.w)-1]
	}
	if len(c.w) == text {
		c.w = c.w[:text-1]
	}
	c.w = append(c.w, '\n')
}

// line writes a line made of parts.
func (c *comment) line(parts ...string) {
	c.start(parts...)
	c.end()
}

// bindings writes a dependency's bound parameters in their declaration order (then any others
// by name): "DATABASE_URL ← url, SMTP_FROM ← from".
func (s *source) bindings(c *comment, d catalog.Dependency) {
	if len(d.Bind) == 0 {
		c.add("no parameters bound")
		return
	}
	names := sortedKeys(d.Bind)
	if len(names) > 1 {
		order := func(name string) int {
			for i, prm := range s.build.Parameters {
				if prm.Name == name {
					return i
				}
			}
			return len(s.build.Parameters)
		}
		slices.SortStableFunc(names, func(a, b string) int { return cmp.Compare(order(a), order(b)) })
	}
	for i, name := range names {
		if i > 0 {
			c.add(", ")
		}
		c.add(name, " ← ", d.Bind[name])
	}
}

// protocolOf returns a port's protocol, tcp when undeclared.
func protocolOf(p catalog.Port) string {
	if p.Protocol == "" {
		return "tcp"
	}
	return p.Protocol
}

// configChecksum hashes every parameter value, so that a pod template changes (and pods roll)
// when the configuration it reads changes.
func (s *source) configChecksum() string {
	h := sha256.New()
	var line []byte
	for _, prm := range s.build.Parameters {
		line = append(append(line[:0], prm.Name...), '=')
		line = append(strconv.AppendQuote(line, valueOf(prm, s.env)), '\n') // fmt's %q
		h.Write(line)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// dnsLabel joins parts into an RFC 1123 label of at most 63 characters: env.DNSLabel, so that
// object names and the host names environments bind are the same.
func dnsLabel(parts ...string) string { return env.DNSLabel(parts...) }

// labelValue makes s a valid Kubernetes label value: at most 63 characters of alphanumerics,
// '-', '_' and '.', starting and ending with an alphanumeric. SemVer build metadata's '+' becomes
// '_'.
func labelValue(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	v := b.String()
	if len(v) > 63 {
		v = v[:63]
	}
	return strings.TrimFunc(v, func(r rune) bool { return r == '-' || r == '_' || r == '.' })
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// MapImages returns c with the image of every build that registry mapping m has rewritten to
// its copy in the private registry (same tag, same digest), and the images m lacks. c is not
// changed. Render and Pages of the result write manifests that pull from the private registry.
func MapImages(c *catalog.Catalog, m *catalog.RegistryMap) (*catalog.Catalog, []string) {
	if m == nil {
		return c, nil
	}
	mapped := &catalog.Catalog{Index: c.Index, Publishers: c.Publishers, Products: make(map[string]*catalog.Product, len(c.Products))}
	var missing []string
	for id, p := range c.Products {
		np := *p
		np.Builds = slices.Clone(p.Builds)
		for i := range np.Builds {
			img, ok := m.Rewrite(np.Builds[i].Image)
			if !ok {
				missing = append(missing, np.Builds[i].Image)
			}
			np.Builds[i].Image = img
		}
		if np.Sum != "" { // the product is no longer what its file says: its images moved
			h := sha256.New()
			h.Write([]byte(np.Sum))
			for _, b := range np.Builds {
				h.Write([]byte("\x00" + b.Image))
			}
			np.Sum = hex.EncodeToString(h.Sum(nil))
		}
		mapped.Products[id] = &np
	}
	slices.Sort(missing)
	return mapped, missing
}

// MapResolution rewrites the image of every service of res to its copy in the private registry
// that m names (same digest), after resolution, so the environment's lock keeps the publishers'
// references. It returns the images m has no copy of, which stay as they were.
func MapResolution(res *env.Resolution, m *catalog.RegistryMap) []string {
	if m == nil {
		return nil
	}
	var missing []string
	for _, rs := range res.Services {
		img, ok := m.Rewrite(rs.Build.Image)
		if !ok {
			missing = append(missing, rs.Build.Image)
			continue
		}
		b := *rs.Build // the catalog's build is shared: never write into it
		b.Image = img
		rs.Build = &b
	}
	return missing
}
