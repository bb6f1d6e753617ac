// Package generator is the build pipeline of `marketplace build`: it turns a catalog repository
// into the static site, the JSON API and feed, deployment manifests, badges and signature
// material that consumers, platform agents and mirrors use.
//
// The stages run in the order Build lists them — Source → Load and validate → Federate (merge
// the upstreams at their locked commits) → Verify → Render → Write (with the search Index built
// into the same output) — each a typed input to a typed output, testable alone.
package generator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"sync"
	"time"

	"github.com/hspc/marketplace/catalog"
	"github.com/hspc/marketplace/catalog/federate"
	"github.com/hspc/marketplace/catalog/gitrepo"
	"github.com/hspc/marketplace/catalog/trust"
	"github.com/hspc/marketplace/catalog/verify"
	"github.com/hspc/marketplace/generator/api"
	"github.com/hspc/marketplace/generator/badge"
	"github.com/hspc/marketplace/generator/deploy"
	"github.com/hspc/marketplace/generator/feed"
	"github.com/hspc/marketplace/generator/headers"
	"github.com/hspc/marketplace/generator/page"
	"github.com/hspc/marketplace/generator/search"
	"github.com/hspc/marketplace/generator/site"
	"github.com/hspc/marketplace/generator/write"
)

// Options configure a build.
type Options struct {
	Root     string // the catalog repository (a Git work tree, or a plain folder)
	Ref      string // Git revision to build; "" builds the work tree as it is
	Out      string // output folder: a link switched atomically between two trees
	Jobs     int    // parallel workers; 0 means GOMAXPROCS
	Theme    fs.FS  // nil means the embedded theme
	Verify   VerifyMode
	Material string // signature material folder read by verification; "" means <Root>/signatures if present
	CacheDir string // verification cache; "" means none
	// TrustedRoot is a Sigstore trusted_root.json for keyless signers.
	TrustedRoot string
	// Log receives one line per notable event ("not a Git repository: …") and the summary.
	Log io.Writer
	// Progress receives verification progress (redrawn on a terminal).
	Progress io.Writer
	// Hooks add output that is not made of pages, after rendering.
	Hooks []write.Hook
	// Upstreams says where the upstreams of index.toml are cached and whether they may be
	// fetched; they are read at the commits upstreams.lock pins.
	Upstreams federate.UpstreamOptions
	// LoadCache keeps product files' load and validation results between builds (see
	// catalog.Cache); nil means none. The caller saves it.
	LoadCache *catalog.Cache
	// NoSearch leaves out the search stage (search.bleve/ and api/v1/search.json): for
	// benchmarks that measure the rest of the pipeline.
	NoSearch bool
	// Sign, when set, signs the output with TUF metadata (catalog/trust) after the pages and the
	// search index are written, before the output replaces the previous one; versions continue
	// the previous output's and the timestamp expires after the policy's timestamp_expiry_days.
	Sign *trust.Keys
	// SignTime is the signing time; zero means now (tests set it).
	SignTime time.Time
	// RegistryMap, when set, makes the deploy manifests pull images from the private registry
	// it names (marketplace mirror images); the site and API keep the publishers' references.
	RegistryMap *catalog.RegistryMap
}

// MemoryLimit is the soft memory limit (runtime/debug.SetMemoryLimit) `marketplace build` runs
// a build of a whole site under, unless GOMEMLIMIT is set: the garbage collector works harder
// as the heap nears it instead of letting it double. Measured on the synthetic 10 000-product
// catalog with search (2 cores, output on tmpfs): with no limit to speak of (800 MiB, GOGC=400)
// 16.1 s user CPU and 829 MiB peak; in six runs paired with 384 MiB on a busy machine, 352 MiB
// took 20.7–22.9 s and 389–397 MiB, 384 MiB 1.1–1.4 s less in four pairs and 0.3–0.5 s more in
// two, at 414–424 MiB. The peak is the limit plus about 40 MiB (the binary and the runtime's
// own), so 384 MiB keeps under the 455 MiB target with a margin.
const MemoryLimit = 384 << 20

// MemoryLimitFor returns the soft memory limit for a build into out: MemoryLimit when out holds
// no earlier build (the whole site is rendered), and none (math.MaxInt64) for a rebuild, which
// renders little but holds the previous manifests besides the catalog: a heap that cannot shrink
// below the limit would only make the collector run without end (measured at 10 000 products:
// a one-product rebuild took 2.6 times the CPU under the limit).
func MemoryLimitFor(out string) int64 {
	if write.HasOutput(out) {
		return math.MaxInt64
	}
	return MemoryLimit
}

// GCPercent is the collector's target (runtime/debug.SetGCPercent) for a build of a whole site,
// under MemoryLimit: the heap may grow to three times what is live before a collection rather
// than twice, until the limit. The live heap of a full build is a third of the limit or more,
// so the default collected too often. Measured on the synthetic 10 000-product catalog (2 cores,
// output on tmpfs, bench/scale in turns): 200 took 16.1–16.2 s CPU and 8.7 s wall against
// 16.7–17.2 s and 9.0–9.3 s, at the same peak (423–425 MiB: the limit sets it). At 100 000
// products, where the raised limit binds earlier, the peak was 1636 MiB against 1653.
const GCPercent = 200

// SetMemoryPolicy sets the soft memory limit (MemoryLimitFor) and the collector's target
// (GCPercent under a finite limit, Go's default of 100 without one) that `marketplace build`
// runs a build into out under, leaving alone what the GOMEMLIMIT and GOGC environment
// variables set.
func SetMemoryPolicy(out string) {
	limit := MemoryLimitFor(out)
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(limit)
	}
	if os.Getenv("GOGC") == "" {
		percent := 100
		if limit != math.MaxInt64 {
			percent = GCPercent
		}
		debug.SetGCPercent(percent)
	}
}

// MaxMemoryLimit is the most raiseMemoryLimit raises the limit to: the 1.5 GiB a build of
// 100 000 products is given, less what the process holds that the limit does not count (its
// binary; the search index's files are counted while it is built, see countingFiles).
// Measured there (bench/scale, 2 cores, output on tmpfs, back to back on an idle machine): a
// peak of 1493 MiB, 4m23s wall and 8m16s CPU, against 1648 MiB, 3m38s and 6m50s under twice the
// live heap (about 1509 MiB). The limit is soft: a catalog whose live heap is near it or above it still builds, the collector taking
// more of the CPU (at most half). A GOMEMLIMIT set above it is left alone: that is how a
// machine with memory to spare buys time with it.
const MaxMemoryLimit = 1400 << 20

// maxMemoryLimit is MaxMemoryLimit, but for the tests.
var maxMemoryLimit int64 = MaxMemoryLimit

// raiseMemoryLimit raises a finite soft memory limit (debug.SetMemoryLimit, GOMEMLIMIT) that is
// below twice the live heap, once the catalog is loaded, up to MaxMemoryLimit, and returns the
// new limit (0 when it left it alone). The catalog and the pages planned from it are the floor
// of what a build holds: under a limit near that floor the collector runs without end — a
// 100 000-product catalog under MemoryLimit spent 42 % of the CPU collecting before it had
// planned a page — and the build only gets slower, not smaller.
func raiseMemoryLimit() int64 {
	limit := debug.SetMemoryLimit(-1)
	if limit == math.MaxInt64 {
		return 0
	}
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(sample)
	if sample[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	want := min(int64(2*sample[0].Value.Uint64()), maxMemoryLimit)
	if want <= limit {
		return 0
	}
	debug.SetMemoryLimit(want)
	return want
}

// VerifyMode says how images are verified.
type VerifyMode int

const (
	// VerifyOnline asks the registries (with the cache and material as caches).
	VerifyOnline VerifyMode = iota
	// VerifyOffline re-verifies from signature material only, sending nothing.
	VerifyOffline
	// VerifySkip marks every image unchecked (for theme work; never for publishing).
	VerifySkip
)

// Result is what a build did.
type Result struct {
	Catalog     *catalog.Catalog
	History     *catalog.History
	Diagnostics catalog.Diagnostics // warnings, and errors when the build failed on the input
	Images      map[string]catalog.ImageStatus
	Stats       write.Stats
	Signed      *trust.Signed // the TUF metadata written, when Options.Sign was set
	Elapsed     time.Duration
}

// ErrInvalid is returned (wrapped) when the catalog or its images have errors; Result holds the
// diagnostics and nothing was written.
var ErrInvalid = errors.New("the catalog has errors")

// Build runs the pipeline. The order listed matches the order of execution.
func Build(ctx context.Context, opts Options) (*Result, error) {
	start := time.Now()
	logf := func(format string, args ...any) {
		if opts.Log != nil {
			fmt.Fprintf(opts.Log, format+"\n", args...)
		}
	}
	res := &Result{}

	// 0. The output: refused before any work when it is not a folder a build may replace.
	if _, err := write.Check(opts.Out, opts.Root); err != nil {
		return res, err
	}

	// 1. Source: the files at the revision, and what Git says about their history.
	fsys, history, closeSource, err := source(opts, logf)
	if err != nil {
		return res, err
	}
	defer closeSource() // the Git object store backs fsys until the last page is written
	res.History = history

	// 2. Load and validate: nothing is written for an invalid catalog.
	local, ds := catalog.CheckCached(fsys, opts.LoadCache)
	res.Catalog, res.Diagnostics = local, ds
	if ds.HasErrors() {
		return res, fmt.Errorf("%w: %d errors", ErrInvalid, ds.Errors())
	}

	// 2b. Federate: read the upstreams at their locked commits and merge them in.
	upstreams := opts.Upstreams
	if upstreams.Root == "" {
		upstreams.Root = opts.Root
	}
	fed, fds := federate.Federate(ctx, fsys, local, upstreams)
	defer fed.Close()
	res.Diagnostics = append(res.Diagnostics, fds...)
	res.Diagnostics.Sort()
	if fds.HasErrors() {
		return res, fmt.Errorf("%w: %d errors in the upstreams", ErrInvalid, fds.Errors())
	}
	c := fed.Catalog
	res.Catalog = c
	if raised := raiseMemoryLimit(); raised > 0 {
		logf("note: the soft memory limit is %d MiB, for what the loaded catalog holds", raised>>20)
	}
	history = fed.History(history)
	res.History = history
	files := fed.Files()

	// 3. Verify images and signatures.
	images, material, vds := verifyImages(ctx, fed, opts)
	res.Images = images
	res.Diagnostics = append(res.Diagnostics, vds...)
	res.Diagnostics.Sort()
	if vds.HasErrors() {
		return res, fmt.Errorf("%w: %d errors in image verification", ErrInvalid, vds.Errors())
	}

	// 4. Render every output page.
	var assetSum func(string) ([32]byte, bool, bool)
	if opts.LoadCache != nil && len(fed.Upstreams) == 0 {
		// The validator stamped the local work tree's assets; upstreams' come from elsewhere.
		assetSum = func(path string) ([32]byte, bool, bool) { return opts.LoadCache.AssetSum(fsys, path) }
	}
	pages, err := render(c, history, images, material, files, opts.Theme, !opts.NoSearch, opts.RegistryMap, assetSum)
	if err != nil {
		return res, err
	}

	// 5. Write atomically, into the output's inactive tree, writing only what changed; the search
	// index is built (incrementally, from the published one) into the same tree.
	hooks := slices.Clone(opts.Hooks)
	if !opts.NoSearch {
		hooks = append(hooks, countingFiles(search.Hook(search.Input{Catalog: c, Images: images}), search.IndexDir))
	}
	if opts.Sign != nil { // last: it signs what the other hooks wrote
		hooks = append(hooks, trust.Hook(opts.Sign, signOptions(c, opts.SignTime), func(s *trust.Signed) { res.Signed = s }))
	}
	res.Stats, err = write.Write(ctx, opts.Out, pages, write.Options{Jobs: opts.Jobs, Hooks: hooks, Protect: []string{opts.Root}})
	if err != nil {
		return res, fmt.Errorf("writing %s: %w", opts.Out, err)
	}
	res.Elapsed = time.Since(start)
	return res, nil
}

// signOptions are the signing options the catalog's policy sets.
func signOptions(c *catalog.Catalog, now time.Time) trust.SignOptions {
	days := c.Index.Policy.TimestampExpiryDays
	if days == 0 {
		days = catalog.DefaultTimestampExpiryDays
	}
	return trust.SignOptions{TimestampExpiry: time.Duration(days) * 24 * time.Hour, Now: now}
}

// source returns the catalog files to build and their history. The work tree is read from
// disk; a Ref is read from Git objects without a checkout. Outside Git there is no history.
func source(opts Options, logf func(string, ...any)) (fsys fs.FS, h *catalog.History, closeFn func(), err error) {
	repo, err := gitrepo.Open(opts.Root)
	if errors.Is(err, gitrepo.ErrNotRepository) {
		if opts.Ref != "" {
			return nil, nil, nil, fmt.Errorf("--ref %s: %s is not in a Git repository", opts.Ref, opts.Root)
		}
		logf("note: %s is not a Git repository: dates come from the builds' released dates", opts.Root)
		return os.DirFS(opts.Root), &catalog.History{}, func() {}, nil
	}
	if err != nil {
		return nil, nil, nil, err
	}
	closeFn = func() { repo.Close() }
	defer func() {
		if err != nil {
			repo.Close()
		}
	}()
	rev := opts.Ref
	if rev == "" {
		rev = "HEAD"
	}
	history, err := repo.History(rev)
	if err != nil {
		if opts.Ref != "" {
			return nil, nil, nil, fmt.Errorf("reading history at %s: %w", rev, err)
		}
		// A repository without commits yet: build the work tree without dates.
		logf("note: no Git history (%v): dates come from the builds' released dates", err)
		history = &catalog.History{}
	}
	if opts.Ref == "" {
		return os.DirFS(opts.Root), history, closeFn, nil
	}
	fsys, _, err = repo.FS(opts.Ref)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("reading %s at %s: %w", opts.Root, opts.Ref, err)
	}
	return fsys, history, closeFn, nil
}

// verifyImages runs catalog/verify and turns its report into statuses and material pages.
func verifyImages(ctx context.Context, fed *federate.Federation, opts Options) (map[string]catalog.ImageStatus, []page.Page, catalog.Diagnostics) {
	images := map[string]catalog.ImageStatus{}
	if opts.Verify == VerifySkip {
		return images, nil, nil
	}
	materialDir := opts.Material
	if materialDir == "" {
		materialDir = verify.DefaultMaterial(opts.Root)
	}
	report, ds := fed.Verify(ctx, nil, verify.Options{
		Jobs:        opts.Jobs,
		Offline:     opts.Verify == VerifyOffline,
		CacheDir:    opts.CacheDir,
		Material:    materialDir,
		TrustedRoot: opts.TrustedRoot,
		Progress:    opts.Progress,
	})
	var pages []page.Page
	for _, m := range report.Images {
		images[m.Digest] = statusOf(m)
		data, err := m.Marshal()
		if err != nil {
			ds = append(ds, catalog.Diagnostic{Path: "signatures", Severity: catalog.Error, Message: fmt.Sprintf("encoding material of %s: %v", m.Digest, err)})
			continue
		}
		pages = append(pages, page.Static(verify.MaterialDir+"/"+verify.FileName(m.Digest), data))
	}
	return images, pages, ds
}

// statusOf summarises an image's verdict for the outputs.
func statusOf(m *verify.Material) catalog.ImageStatus {
	if m.Result == nil {
		return catalog.ImageStatus{State: catalog.ImageUnchecked}
	}
	st := catalog.ImageStatus{State: catalog.ImageVerified}
	for _, b := range m.Result.Builds {
		switch {
		case b.Verified && st.Signer == "":
			st.Signer = b.Signer
		case !b.Verified:
			st.State, st.Detail = catalog.ImageFailed, b.Error
			if len(m.Signatures) == 0 {
				st.State = catalog.ImageUnsigned
			}
		}
	}
	return st
}

// render collects the pages of every output. The stages plan their pages (and compute their
// keys) concurrently: they only read the catalog, and planning is most of a rebuild's work.
func render(c *catalog.Catalog, h *catalog.History, images map[string]catalog.ImageStatus, material []page.Page, fsys, theme fs.FS, withSearch bool, registryMap *catalog.RegistryMap, assetSum func(string) ([32]byte, bool, bool)) ([]page.Page, error) {
	var sitePages, apiPages, badgePages, deployPages, searchPages []page.Page
	var builderPage, feedPage page.Page
	var siteErr error
	// The static search goes first, alone: inverting every product's text is the largest
	// transient heap of a build (about 520 MB at 100 000 products), and beside the other
	// stages' planning it set the peak. It analyzes on every core.
	if withSearch {
		searchPages = search.Pages(search.Input{Catalog: c, Images: images})
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		sitePages, siteErr = site.Pages(site.Input{Catalog: c, History: h, Images: images, Theme: theme, Files: fsys, AssetSum: assetSum})
	})
	wg.Go(func() {
		apiPages = api.Pages(api.Input{Catalog: c, History: h, Images: images})
		builderPage = api.BuilderPage(c)
		feedPage = feed.Page(c, h)
		badgePages = badge.Pages(c, images)
	})
	wg.Go(func() {
		deployed, _ := deploy.MapImages(c, registryMap)
		deployPages = deploy.Pages(deployed)
	})
	wg.Wait()
	if siteErr != nil {
		return nil, fmt.Errorf("rendering the site: %w", siteErr)
	}
	// The static search's files and the headers file are made whole here and held until
	// written: they go first, so that the writer lets go of them first (the static search of
	// 10 000 products is 31 MB) rather than carrying them while it renders the site.
	pages := slices.Concat(searchPages, sitePages, apiPages, []page.Page{builderPage, feedPage}, badgePages, deployPages, material)
	// The response headers static hosts should send (serve sends the same itself).
	var svgs []string
	for _, p := range pages {
		if headers.IsSVG(p.Path) {
			svgs = append(svgs, p.Path)
		}
	}
	slices.Sort(svgs)
	// It streams (28 MB at 100 000 products), keyed by what it is made of: its fixed part and
	// the SVG images it names.
	hp := page.Page{Path: headers.FileName, Key: page.Key("headers", string(headers.File(nil)), svgs),
		Stream: func(w io.Writer) error { return headers.Write(w, svgs) }}
	return slices.Insert(pages, 0, hp), nil
}
