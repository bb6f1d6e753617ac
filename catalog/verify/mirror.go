package verify

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/term"

	"github.com/hspc/marketplace/catalog"
)

// MirrorOptions configure MirrorImages. Registry access (both registries), Jobs, Progress,
// TrustedRoot and Keychain come from Options.
type MirrorOptions struct {
	Options
	// To is the private registry and optional path prefix, e.g. "registry.internal/hsp": the
	// copy of ghcr.io/acme/fhir is registry.internal/hsp/acme/fhir.
	To string
	// Map is a mapping from an earlier run to extend; nil starts a new one.
	Map *catalog.RegistryMap
}

// MirrorReport is what MirrorImages did.
type MirrorReport struct {
	// Map lists every image that is now in the private registry with its signatures, and verified there.
	Map                     *catalog.RegistryMap
	Images, Copied, Present int // digests in scope; copied now; already there (skipped)
	Signatures, Referrers   int // signature tags and OCI referrers copied or already there
	Verified                int // copies whose signatures verified in the private registry
	Requests                int64
}

// mirrorJob is one digest to copy.
type mirrorJob struct {
	ref  catalog.ImageRef // the source, as the catalog pins it
	dst  string           // the destination repository
	path string           // the product file of a build that pins it, for messages
	key  string           // that build's image key, e.g. builds[1].image
}

// MirrorImages copies the image of every build of the given products (all when productIDs is
// empty) to the private registry opts.To with go-containerregistry: the manifest or index at its
// pinned digest with every layer, its tag, its cosign signatures (the sha256-<hex>.sig and .att
// tags) and its OCI referrers. Digests already present are not copied again, so an interrupted
// run resumes where it stopped and a repeated run sends only HEAD requests. The copies are
// then verified in the private registry against the publisher's signers, by the same checks
// as Verify, and only verified copies enter the mapping.
func MirrorImages(ctx context.Context, fsys fs.FS, c *catalog.Catalog, productIDs []string, opts MirrorOptions) (*MirrorReport, catalog.Diagnostics) {
	o := opts.Options.withDefaults()
	rep := &MirrorReport{Map: opts.Map}
	if rep.Map == nil {
		rep.Map = catalog.NewRegistryMap(opts.To)
	}
	var ds catalog.Diagnostics
	to := strings.TrimSuffix(opts.To, "/")
	if _, err := name.NewRepository(to + "/x"); err != nil || to == "" {
		ds = append(ds, catalog.Diagnostic{Path: catalog.IndexFile, Severity: catalog.Error, Message: fmt.Sprintf("--to %q is not a registry (host[:port][/prefix]): %v", opts.To, err)})
		return rep, ds
	}
	jobs, more := mirrorJobs(c, productIDs, to)
	ds = append(ds, more...)
	rep.Images = len(jobs)
	reg, err := newRegistry(ctx, o)
	if err != nil {
		ds = append(ds, catalog.Diagnostic{Path: catalog.IndexFile, Severity: catalog.Error, Message: fmt.Sprintf("cannot set up registry access: %v", err)})
		return rep, ds
	}

	prog := newCopyProgress(o.Progress, len(jobs))
	var mu sync.Mutex
	copied := map[string]bool{} // source repo@digest
	next := make(chan *mirrorJob)
	var wg sync.WaitGroup
	for range min(o.Jobs, max(len(jobs), 1)) {
		wg.Go(func() {
			for j := range next {
				st, err := reg.copyImage(j)
				mu.Lock()
				if err != nil {
					ds = append(ds, catalog.Diagnostic{Path: j.path, Key: j.key, Severity: catalog.Error,
						Message: fmt.Sprintf("copying %s to %s: %v", j.ref, j.dst, err)})
				} else {
					copied[j.ref.Repository+"@"+j.ref.Digest] = true
					if st.present {
						rep.Present++
					} else {
						rep.Copied++
					}
					rep.Signatures += st.signatures
					rep.Referrers += st.referrers
				}
				mu.Unlock()
				prog.step(j.ref.Repository, err != nil)
			}
		})
	}
	for _, j := range jobs {
		if ctx.Err() != nil {
			break
		}
		next <- j
	}
	close(next)
	wg.Wait()
	prog.finish()
	rep.Requests = reg.requests.Load()
	catalog.Locate(fsys, ds)
	if err := ctx.Err(); err != nil {
		ds = append(ds, catalog.Diagnostic{Path: catalog.IndexFile, Severity: catalog.Error, Message: fmt.Sprintf("interrupted: %v; run the command again to resume", err)})
		return rep, ds
	}

	// Verify the copies where they now are, with the publisher's signers, and nothing cached.
	byCopy, bySource := map[string]*mirrorJob{}, map[string]*mirrorJob{}
	for _, j := range jobs {
		if copied[j.ref.Repository+"@"+j.ref.Digest] {
			byCopy[j.dst+"@"+j.ref.Digest] = j
			bySource[j.ref.Repository+"@"+j.ref.Digest] = j
		}
	}
	vc := copiesCatalog(c, bySource)
	vo := o
	vo.Offline, vo.CacheDir, vo.Material, vo.Progress = false, "", "", nil
	sourceOf := map[string]string{} // copy repository → the publisher's repository
	for _, j := range byCopy {
		sourceOf[j.dst] = j.ref.Repository
	}
	vo.SignedRepository = func(repo string) string {
		if src, ok := sourceOf[repo]; ok {
			return src
		}
		return repo
	}
	report, vds := Verify(ctx, fsys, vc, nil, vo)
	rep.Requests += report.Requests
	for _, d := range vds {
		if d.Severity == catalog.Error {
			d.Message = "in " + to + ": " + d.Message
			ds = append(ds, d)
		}
	}
	for _, m := range report.Images {
		if m.Result == nil || !m.Result.Verified {
			continue
		}
		for _, r := range m.Result.Builds {
			if ref, err := catalog.ParseImageRef(r.Image); err == nil {
				if j := byCopy[ref.Repository+"@"+ref.Digest]; j != nil {
					rep.Map.Add(j.ref, j.dst)
				}
			}
		}
		rep.Verified++
	}
	ds.Sort()
	return rep, ds
}

// mirrorJobs lists the digests to copy, once each, with their destination repositories.
func mirrorJobs(c *catalog.Catalog, productIDs []string, to string) ([]*mirrorJob, catalog.Diagnostics) {
	var ds catalog.Diagnostics
	ids := productIDs
	if len(ids) == 0 {
		ids = c.SortedProductIDs()
	}
	seen := map[string]bool{}
	owner := map[string]string{} // destination repository → source repository
	var jobs []*mirrorJob
	for _, id := range ids {
		p := c.Products[id]
		if p == nil {
			ds = append(ds, catalog.Diagnostic{Path: catalog.IndexFile, Severity: catalog.Error, Message: fmt.Sprintf("no product %s in the catalog", id)})
			continue
		}
		for i, b := range p.Builds {
			ref, err := catalog.ParseImageRef(b.Image)
			if err != nil {
				continue // validation reports it
			}
			key := ref.Repository + "@" + ref.Digest
			if seen[key] {
				continue
			}
			seen[key] = true
			src, err := name.NewRepository(ref.Repository)
			if err != nil {
				continue
			}
			dst := to + "/" + src.RepositoryStr()
			if prev, ok := owner[dst]; ok && prev != ref.Repository {
				ds = append(ds, catalog.Diagnostic{Path: p.Path, Key: fmt.Sprintf("builds[%d].image", i), Severity: catalog.Error,
					Message: fmt.Sprintf("%s and %s would both be copied to %s; mirror them in separate runs with different --to prefixes", prev, ref.Repository, dst)})
				continue
			}
			owner[dst] = ref.Repository
			jobs = append(jobs, &mirrorJob{ref: ref, dst: dst, path: p.Path, key: fmt.Sprintf("builds[%d].image", i)})
		}
	}
	return jobs, ds
}

// copiesCatalog returns c restricted to the builds whose images were copied (bySource, by
// source repository@digest), pointing at the copies.
func copiesCatalog(c *catalog.Catalog, bySource map[string]*mirrorJob) *catalog.Catalog {
	vc := &catalog.Catalog{Index: c.Index, Publishers: c.Publishers, Products: map[string]*catalog.Product{}}
	for id, p := range c.Products {
		np := *p
		np.Builds = nil
		for _, b := range p.Builds {
			ref, err := catalog.ParseImageRef(b.Image)
			if err != nil {
				continue
			}
			if j := bySource[ref.Repository+"@"+ref.Digest]; j != nil {
				ref.Repository = j.dst
				b.Image = ref.String()
				np.Builds = append(np.Builds, b)
			}
		}
		if len(np.Builds) > 0 {
			vc.Products[id] = &np
		}
	}
	return vc
}

// copyStatus is what copying one image did.
type copyStatus struct {
	present               bool // the digest was already in the private registry
	signatures, referrers int
}

// copyImage copies one pinned image, then its tag, signatures and referrers. The tag is moved
// only once the digest is complete, so it never names a half-copied image.
func (r *registry) copyImage(j *mirrorJob) (copyStatus, error) {
	var st copyStatus
	src, err := name.NewDigest(j.ref.Repository + "@" + j.ref.Digest)
	if err != nil {
		return st, err
	}
	dstRepo, err := name.NewRepository(j.dst)
	if err != nil {
		return st, err
	}
	dst := dstRepo.Digest(j.ref.Digest)
	if _, err := remote.Head(dst, r.opts...); err == nil {
		st.present = true
	} else if !notFound(err) {
		return st, fmt.Errorf("checking %s: %w", dst, err)
	} else if err := r.copyManifest(src, dst); err != nil {
		return st, err
	}
	if j.ref.Tag != "" {
		if err := r.copyTag(dstRepo.Tag(j.ref.Tag), dst); err != nil {
			return st, err
		}
	}
	// cosign's tag-based signatures and attestations.
	hex := strings.TrimPrefix(j.ref.Digest, "sha256:")
	for _, suffix := range []string{".sig", ".att"} {
		tag := "sha256-" + hex + suffix
		ok, err := r.copyTagged(src.Context().Tag(tag), dstRepo.Tag(tag))
		if err != nil {
			return st, err
		}
		if ok {
			st.signatures++
		}
	}
	// OCI referrers (signatures and attestations attached with the referrers API).
	idx, err := remote.Referrers(src, r.opts...)
	if err != nil && !notFound(err) {
		return st, fmt.Errorf("listing the referrers of %s: %w", src, err)
	}
	if idx != nil {
		im, err := idx.IndexManifest()
		if err != nil {
			return st, err
		}
		for _, d := range im.Manifests {
			from := src.Context().Digest(d.Digest.String())
			to := dstRepo.Digest(d.Digest.String())
			if _, err := remote.Head(to, r.opts...); err == nil {
				st.referrers++
				continue
			}
			if err := r.copyManifest(from, to); err != nil {
				return st, fmt.Errorf("copying referrer %s: %w", d.Digest, err)
			}
			st.referrers++
		}
	}
	return st, nil
}

// copyManifest copies the image or index at src to dst with every blob it needs (blobs the
// destination has are not sent again).
func (r *registry) copyManifest(src name.Reference, dst name.Reference) error {
	desc, err := remote.Get(src, r.opts...)
	if err != nil {
		return fmt.Errorf("reading %s: %w", src, err)
	}
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err != nil {
			return err
		}
		if err := remote.WriteIndex(dst, idx, r.opts...); err != nil {
			return fmt.Errorf("writing %s: %w", dst, err)
		}
		return nil
	}
	img, err := desc.Image()
	if err != nil {
		return err
	}
	if err := remote.Write(dst, img, r.opts...); err != nil {
		return fmt.Errorf("writing %s: %w", dst, err)
	}
	return nil
}

// copyTag points tag at the manifest at dst (in the same repository).
func (r *registry) copyTag(tag name.Tag, dst name.Digest) error {
	if d, err := remote.Head(tag, r.opts...); err == nil && d.Digest.String() == dst.DigestStr() {
		return nil
	}
	desc, err := remote.Get(dst, r.opts...)
	if err != nil {
		return err
	}
	return remote.Tag(tag, desc, r.opts...)
}

// copyTagged copies what tag src names to tag dst unless dst already names the same digest;
// it reports whether src exists.
func (r *registry) copyTagged(src, dst name.Tag) (bool, error) {
	sd, err := remote.Head(src, r.opts...)
	if notFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("checking %s: %w", src, err)
	}
	if dd, err := remote.Head(dst, r.opts...); err == nil && dd.Digest == sd.Digest {
		return true, nil
	}
	at := dst.Context().Digest(sd.Digest.String())
	if err := r.copyManifest(src.Context().Digest(sd.Digest.String()), at); err != nil {
		return true, err
	}
	return true, r.copyTag(dst, at)
}

// copyProgress shows how far a mirror run is on a terminal, and a summary elsewhere.
type copyProgress struct {
	mu                  sync.Mutex
	w                   io.Writer
	tty                 bool
	total, done, failed int
}

func newCopyProgress(w io.Writer, total int) *copyProgress {
	p := &copyProgress{w: w, total: total}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.tty = true
		fmt.Fprintf(w, "\rmirror: 0/%d images", total)
	}
	return p
}

func (p *copyProgress) step(repo string, failed bool) {
	if p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done++
	if failed {
		p.failed++
	}
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[Kmirror: %d/%d images, %d failed (%s)", p.done, p.total, p.failed, path.Base(repo))
	}
}

func (p *copyProgress) finish() {
	if p.w != nil && p.tty {
		fmt.Fprintln(p.w)
	}
}
