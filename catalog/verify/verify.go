package verify

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/hspc/marketplace/catalog"
	"github.com/sigstore/sigstore-go/pkg/root"
)

// Defaults for the zero values of Options.
const (
	DefaultJobs    = 8
	DefaultTimeout = 30 * time.Second
	DefaultRetries = 3
	DefaultBackoff = 500 * time.Millisecond
)

// Options configures Verify. The zero value verifies online, without a cache, with the defaults
// above and the Docker credentials of the user.
type Options struct {
	// Jobs is how many images are verified at once; 0 means DefaultJobs.
	Jobs int
	// Offline verifies from Material and CacheDir only and sends nothing to any registry.
	Offline bool
	// CacheDir keeps one sha256-<hex>.json per digest with the registry's documents and the
	// signatures found, so that a later run asks the registry nothing; "" keeps no cache.
	CacheDir string
	// Material is a folder of sha256-<hex>.json files as WriteMaterial writes them, such as the
	// catalog repository's signatures/: offline, what is verified; online, a read-only cache.
	Material string
	// MaterialFS, when set, is read instead of the Material folder: the signatures/ of a catalog
	// read from Git objects (an upstream at its locked commit). Material then only names it in
	// messages.
	MaterialFS fs.FS
	// TrustedRoot is the path of a Sigstore trusted_root.json, needed to check keyless signers.
	TrustedRoot string
	// Transport sends the registry requests; nil means go-containerregistry's default.
	Transport http.RoundTripper
	// Timeout bounds each registry request, body included; 0 means DefaultTimeout.
	Timeout time.Duration
	// Retries is how often a failed request is tried again; 0 means DefaultRetries, and a
	// negative value none.
	Retries int
	// Backoff is the wait before the first retry, tripled for each next one; 0 means
	// DefaultBackoff.
	Backoff time.Duration
	// Progress receives a progress line redrawn in place when it is a terminal, and one summary
	// line otherwise; nil prints nothing.
	Progress io.Writer
	// Keychain finds registry credentials; nil means the Docker configuration and its credential
	// helpers (authn.DefaultKeychain).
	Keychain authn.Keychain
	// SignedRepository maps the repository of an image being verified to the repository its
	// publisher's signature must name (the payload's docker-reference); nil means the same.
	// MirrorImages sets it: a copy in a private registry carries the signature its publisher made
	// for the original repository.
	SignedRepository func(repo string) string
}

func (o Options) withDefaults() Options {
	if o.Jobs <= 0 {
		o.Jobs = DefaultJobs
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	switch {
	case o.Retries == 0:
		o.Retries = DefaultRetries
	case o.Retries < 0:
		o.Retries = 0
	}
	if o.Backoff <= 0 {
		o.Backoff = DefaultBackoff
	}
	return o
}

// Report is what Verify found: one Material per image digest, in digest order, holding the
// verdict and what WriteMaterial writes.
type Report struct {
	Images []*Material
	// Requests counts the registry requests sent, retries included.
	Requests int64
	// Cached counts the images verified without any registry request.
	Cached int
}

// Image returns the material of a digest, or nil.
func (r *Report) Image(digest string) *Material {
	i, ok := slices.BinarySearchFunc(r.Images, digest, func(m *Material, d string) int { return strings.Compare(m.Digest, d) })
	if !ok {
		return nil
	}
	return r.Images[i]
}

// WriteMaterial writes every image's material into dir as sha256-<hex>.json: the registry's
// documents, the signatures that verified and the verdict, byte for byte the same for the same
// inputs.
func (r *Report) WriteMaterial(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("writing signature material: %w", err)
	}
	for _, m := range r.Images {
		if err := m.WriteFile(dir); err != nil {
			return fmt.Errorf("writing signature material to %s: %w", filepath.Join(dir, FileName(m.Digest)), err)
		}
	}
	return nil
}

// use is one build that pins a digest.
type use struct {
	product *catalog.Product
	index   int // of the build in the product
	repo    string
}

func (u use) build() *catalog.Build { return &u.product.Builds[u.index] }

func (u use) key(sub string) string { return fmt.Sprintf("builds[%d].%s", u.index, sub) }

// prefix starts every message about the build: product, version and digest.
func (u use) prefix(digest string) string {
	return fmt.Sprintf("%s %s (%s): ", u.product.ID, u.build().Version, digest)
}

// job is one digest and the builds that pin it.
type job struct {
	digest string
	uses   []use
}

// repos lists the repositories the digest is pinned in, each once.
func (j *job) repos() []string {
	var out []string
	for _, u := range j.uses {
		if !slices.Contains(out, u.repo) {
			out = append(out, u.repo)
		}
	}
	return out
}

// Verify checks the images of the given products (all when productIDs is empty): registry facts
// against each build's declaration, and cosign signatures against the publisher's signers. Every
// finding is a diagnostic positioned on the build in the product file (or on a signer in
// publisher.toml); a build whose signature does not verify is an error when the policy requires
// signatures, a warning otherwise. fsys is the catalog repository; it supplies the signers' keys
// and the positions.
func Verify(ctx context.Context, fsys fs.FS, c *catalog.Catalog, productIDs []string, opts Options) (*Report, catalog.Diagnostics) {
	opts = opts.withDefaults()
	report := &Report{}
	var ds catalog.Diagnostics
	if c == nil {
		return report, ds
	}
	policy := catalog.Policy{}
	if c.Index != nil {
		policy = c.Index.Policy
	}
	sigSeverity := catalog.Warning
	if policy.SignaturesRequired() {
		sigSeverity = catalog.Error
	}
	maxMiB := policy.MaxImageMiB
	if maxMiB == 0 {
		maxMiB = catalog.DefaultMaxImageMiB
	}

	jobs, pubs, more := collect(c, productIDs)
	ds = append(ds, more...)

	var trusted root.TrustedMaterial
	if opts.TrustedRoot != "" {
		tr, err := root.NewTrustedRootFromPath(opts.TrustedRoot)
		if err != nil {
			ds = append(ds, catalog.Diagnostic{Path: filepath.ToSlash(opts.TrustedRoot), Severity: catalog.Error,
				Message: fmt.Sprintf("cannot use the Sigstore trusted root: %v", err)})
		} else {
			trusted = tr
		}
	}
	signers := map[string]*signerSet{}
	for _, id := range pubs {
		pub := c.Publishers[id]
		if pub == nil {
			signers[id] = &signerSet{publisher: id, skipped: []string{"products/" + id + "/publisher.toml is missing"}}
			continue
		}
		set, more := loadSigners(fsys, pub, trusted)
		signers[id] = set
		ds = append(ds, more...)
	}

	v := &run{
		opts:     opts,
		signers:  signers,
		checker:  &checker{ctx: ctx, trusted: trusted},
		sigSev:   sigSeverity,
		maxMiB:   maxMiB,
		progress: newProgress(opts.Progress, len(jobs)),
	}
	if !opts.Offline {
		reg, err := newRegistry(ctx, opts)
		if err != nil {
			ds = append(ds, catalog.Diagnostic{Path: catalog.IndexFile, Severity: catalog.Error,
				Message: fmt.Sprintf("cannot set up registry access: %v", err)})
			return report, ds
		}
		v.reg = reg
	}

	results := make([]outcome, len(jobs))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(opts.Jobs, max(len(jobs), 1)) {
		wg.Go(func() {
			for i := range next {
				results[i] = v.do(ctx, jobs[i])
				v.progress.step(results[i].diags.HasErrors())
			}
		})
	}
	for i := range jobs {
		next <- i
	}
	close(next)
	wg.Wait()

	for _, r := range results {
		report.Images = append(report.Images, r.material)
		ds = append(ds, r.diags...)
		if r.cached {
			report.Cached++
		}
	}
	if v.reg != nil {
		report.Requests = v.reg.requests.Load()
	}
	v.progress.finish(report, opts.Offline)
	catalog.Locate(fsys, ds)
	ds.Sort()
	return report, ds
}

// collect groups the builds of the selected products by digest, and lists their publishers.
func collect(c *catalog.Catalog, productIDs []string) (jobs []*job, publishers []string, ds catalog.Diagnostics) {
	ids := productIDs
	if len(ids) == 0 {
		ids = c.SortedProductIDs()
	}
	byDigest := map[string]*job{}
	for _, id := range ids {
		p := c.Products[id]
		if p == nil {
			ds = append(ds, catalog.Diagnostic{Path: catalog.ProductsDir + "/" + id + ".toml", Severity: catalog.Error,
				Message: fmt.Sprintf("unknown product %s", id)})
			continue
		}
		if !slices.Contains(publishers, p.Publisher) {
			publishers = append(publishers, p.Publisher)
		}
		for i := range p.Builds {
			ref, err := catalog.ParseImageRef(p.Builds[i].Image)
			if err != nil {
				continue // validation reports it
			}
			j := byDigest[ref.Digest]
			if j == nil {
				j = &job{digest: ref.Digest}
				byDigest[ref.Digest] = j
				jobs = append(jobs, j)
			}
			j.uses = append(j.uses, use{product: p, index: i, repo: ref.Repository})
		}
	}
	slices.SortFunc(jobs, func(a, b *job) int { return strings.Compare(a.digest, b.digest) })
	slices.Sort(publishers)
	return jobs, publishers, ds
}

// run is the state shared by the workers of one Verify call.
type run struct {
	opts     Options
	reg      *registry
	signers  map[string]*signerSet
	checker  *checker
	sigSev   catalog.Severity
	maxMiB   int
	progress *progress
}

// outcome is what one job produced.
type outcome struct {
	material *Material
	diags    catalog.Diagnostics
	cached   bool // no registry request was needed
}

// do verifies one digest: it gathers the facts and signatures (from the material folder, the
// cache, and the registry for whatever those lack or cannot vouch for), checks the image against
// each build, and each build's signature against its publisher's signers.
func (v *run) do(ctx context.Context, j *job) outcome {
	out := outcome{material: &Material{Schema: MaterialSchema, Digest: j.digest, Signatures: []Signature{}}}
	errorf := func(u use, key string, sev catalog.Severity, rule int, format string, args ...any) {
		out.diags = append(out.diags, catalog.Diagnostic{
			Path: u.product.Path, Key: u.key(key), Severity: sev, Rule: rule,
			Message: u.prefix(j.digest) + fmt.Sprintf(format, args...),
		})
	}
	fail := func(sev catalog.Severity, format string, args ...any) outcome {
		msg := fmt.Sprintf(format, args...)
		res := &Result{}
		for _, u := range j.uses {
			errorf(u, "image", sev, 0, "%s", msg)
			res.Builds = append(res.Builds, BuildResult{Product: u.product.ID, Version: u.build().Version, Image: u.build().Image, Error: msg})
		}
		sortBuilds(res.Builds)
		out.material.Result = res
		return out
	}
	if err := ctx.Err(); err != nil {
		return fail(catalog.Error, "not verified: %v", context.Cause(ctx))
	}

	// Gather what is already known. Everything in it is checked below, so its origin does not
	// matter: a stale or forged file can only fail. Offline, the material folder is the
	// evidence and its problems are reported; the cache is a convenience, and a damaged entry
	// is treated as missing.
	var known []*Material
	var facts *ImageFacts
	var verdicts []verdict // per use, once the signatures are final
	var sigs []Signature
	for _, src := range []struct {
		dir       string
		fsys      fs.FS
		authority bool
	}{{v.opts.Material, v.opts.MaterialFS, v.opts.Offline}, {v.opts.CacheDir, nil, false}} {
		m, err := readMaterial(src.fsys, src.dir, j.digest)
		if err != nil && src.authority {
			return fail(v.sigSev, "cannot read the verification material: %v", err)
		}
		if m == nil {
			continue
		}
		known = append(known, m)
		sigs = mergeSignatures(sigs, m.Signatures)
		if facts == nil && m.Image != nil {
			if err := m.Image.check(j.digest); err != nil {
				if src.authority {
					return fail(catalog.Error, "the verification material in %s does not match the digest: %v", filepath.Join(src.dir, FileName(j.digest)), err)
				}
				continue // fetch it again
			}
			facts = m.Image
		}
	}

	if v.opts.Offline {
		if len(known) == 0 {
			if v.opts.Material == "" && v.opts.MaterialFS == nil && v.opts.CacheDir == "" {
				return fail(v.sigSev, "no verification material: offline verification needs a material folder")
			}
			return fail(v.sigSev, "no verification material for this digest in %s; verify online to record it",
				cmp.Or(v.opts.Material, v.opts.CacheDir))
		}
	} else {
		out.cached = true
		fetched := false
		if facts == nil {
			out.cached = false
			f, err := v.reg.facts(j.uses[0].repo, j.digest)
			if err != nil {
				return fail(catalog.Error, "%s", registryProblem(j.uses[0].repo, err))
			}
			facts, fetched = f, true
		}
		if verdicts = v.verdicts(j, sigs); !allVerified(verdicts) {
			verdicts = nil
			out.cached = false
			for _, repo := range j.repos() {
				got, err := v.reg.signatures(repo, j.digest)
				if err != nil {
					return fail(catalog.Error, "%s", registryProblem(repo, err))
				}
				sigs = mergeSignatures(sigs, got)
			}
			fetched = true
		}
		if fetched && v.opts.CacheDir != "" {
			cache := &Material{Schema: MaterialSchema, Digest: j.digest, Image: facts, Signatures: sigs}
			if err := cache.WriteFile(v.opts.CacheDir); err != nil {
				errorf(j.uses[0], "image", catalog.Warning, 0, "cannot write the verification cache: %v", err)
			}
		}
	}
	out.material.Image = facts

	if facts != nil {
		pf, err := parseFacts(facts)
		if err != nil {
			for _, u := range j.uses {
				errorf(u, "image", catalog.Error, 0, "cannot read the image: %v", err)
			}
		} else {
			for _, u := range j.uses {
				for _, f := range checkImage(pf, u.build(), v.maxMiB) {
					errorf(u, f.key, f.severity, f.rule, "%s", f.msg)
				}
			}
		}
	}

	if verdicts == nil {
		verdicts = v.verdicts(j, sigs)
	}
	res := &Result{Verified: true}
	keep := map[int]bool{}
	for ui, u := range j.uses {
		br := BuildResult{Product: u.product.ID, Version: u.build().Version, Image: u.build().Image}
		vd := verdicts[ui]
		if vd.signer != "" {
			br.Verified, br.Signer = true, vd.signer
			for _, i := range vd.verified {
				keep[i] = true
			}
		} else {
			br.Error = vd.reason
			res.Verified = false
			errorf(u, "image", v.sigSev, 0, "%s", vd.reason)
		}
		res.Builds = append(res.Builds, br)
	}
	sortBuilds(res.Builds)
	for i, s := range sigs {
		if keep[i] {
			out.material.Signatures = append(out.material.Signatures, s)
		}
	}
	out.material.Result = res
	return out
}

// verdict checks the signatures for one build, and says where signatures were looked for when
// there are none.
func (v *run) verdict(j *job, u use, sigs []Signature) verdict {
	if len(sigs) == 0 {
		if v.opts.Offline {
			return verdict{reason: "the verification material holds no signature for this digest"}
		}
		tag := strings.Replace(j.digest, ":", "-", 1) + ".sig"
		return verdict{reason: fmt.Sprintf("the image is not signed: no cosign signature at %s:%s", u.repo, tag)}
	}
	repo := u.repo
	if v.opts.SignedRepository != nil {
		repo = v.opts.SignedRepository(repo)
	}
	return v.checker.check(v.signers[u.product.Publisher], sigs, j.digest, repo)
}

// verdicts checks the signatures for every build of the job.
func (v *run) verdicts(j *job, sigs []Signature) []verdict {
	out := make([]verdict, len(j.uses))
	for i, u := range j.uses {
		out[i] = v.verdict(j, u, sigs)
	}
	return out
}

// allVerified reports whether a signature verified for every build, so that the registry need
// not be asked for newer signatures.
func allVerified(vs []verdict) bool {
	for _, vd := range vs {
		if vd.signer == "" {
			return false
		}
	}
	return true
}

// registryProblem words a registry failure for the person who has to act on it, on one line.
func registryProblem(repo string, err error) string {
	return strings.Join(strings.Fields(describeRegistryError(repo, err)), " ")
}

func describeRegistryError(repo string, err error) string {
	switch {
	case notFound(err):
		return fmt.Sprintf("the image does not exist: %s has no manifest with this digest", repo)
	case denied(err):
		return fmt.Sprintf("access to %s was denied; log in with docker login or a credential helper: %v", repo, err)
	}
	var ue *unavailableError
	if errors.As(err, &ue) {
		return fmt.Sprintf("cannot check the image: %v", ue)
	}
	return fmt.Sprintf("cannot check the image in %s: %v", repo, err)
}

func sortBuilds(bs []BuildResult) {
	slices.SortFunc(bs, func(a, b BuildResult) int {
		if c := strings.Compare(a.Product, b.Product); c != 0 {
			return c
		}
		return strings.Compare(a.Version, b.Version)
	})
}
