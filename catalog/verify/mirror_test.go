package verify

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	ggcrmutate "github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/hspc/marketplace/catalog"
)

// mirrorFixture is a source registry with three signed images, one of which also has an OCI
// referrer (an attestation attached with the referrers API), and an empty private registry.
type mirrorFixture struct {
	f        *fixture
	c        *testCatalog
	cat      *catalog.Catalog
	refs     []name.Digest
	referrer v1.Hash
	dst      *testRegistry
	uploads  atomic.Int64 // blob upload sessions started at dst
	mu       sync.Mutex
	blobs    map[string]bool // digests of the blobs uploaded to dst
}

func newMirrorFixture(t *testing.T) *mirrorFixture {
	t.Helper()
	m := &mirrorFixture{f: newFixture(t), dst: newTestRegistry(t)}
	m.c = newTestCatalog(m.f.key.pub, "")
	for i, repo := range []string{"acme/app0", "acme/app1", "acme/app2"} {
		ref := m.f.reg.push(t, repo, makeImage(t, okImage()))
		sign(t, ref, m.f.key.signer, signOpts{})
		m.refs = append(m.refs, ref)
		tagged := strings.Replace(ref.String(), "@", ":1.0.0@", 1)
		m.c.addProduct(strings.TrimPrefix(repo, "acme/"), build{version: "1.0.0", image: tagged})
		if i == 0 {
			m.referrer = m.pushReferrer(t, ref)
		}
	}
	m.cat = m.c.load(t)
	m.watchUploads()
	return m
}

// pushReferrer attaches an artifact to ref with the OCI referrers API.
func (m *mirrorFixture) pushReferrer(t *testing.T, ref name.Digest) v1.Hash {
	t.Helper()
	desc, err := remote.Head(ref)
	if err != nil {
		t.Fatal(err)
	}
	art := ggcrmutate.Subject(ggcrmutate.MediaType(makeImage(t, okImage()), types.OCIManifestSchema1), *desc).(v1.Image)
	d, err := art.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref.Context().Digest(d.String()), art); err != nil {
		t.Fatal(err)
	}
	return d
}

func (m *mirrorFixture) watchUploads() {
	m.mu.Lock()
	m.blobs = map[string]bool{}
	m.mu.Unlock()
	m.dst.setFail(func(w http.ResponseWriter, r *http.Request) bool {
		m.count(r)
		return false
	})
}

// count records a blob upload.
func (m *mirrorFixture) count(r *http.Request) {
	if r.Method == http.MethodPost && strings.Contains(r.URL.Path, "/blobs/uploads") {
		m.uploads.Add(1)
	}
	if d := r.URL.Query().Get("digest"); d != "" && r.Method == http.MethodPut {
		m.mu.Lock()
		m.blobs[d] = true
		m.mu.Unlock()
	}
}

// imageBlobs lists the config and layer digests of the image at ref.
func imageBlobs(t *testing.T, ref name.Digest) []string {
	t.Helper()
	img, err := remote.Image(ref)
	if err != nil {
		t.Fatal(err)
	}
	mf, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	out := []string{mf.Config.Digest.String()}
	for _, l := range mf.Layers {
		out = append(out, l.Digest.String())
	}
	return out
}

func (m *mirrorFixture) run(t *testing.T, ctx context.Context, prev *catalog.RegistryMap) (*MirrorReport, catalog.Diagnostics) {
	t.Helper()
	return MirrorImages(ctx, m.c.files, m.cat, nil, MirrorOptions{Options: m.f.options(), To: m.dst.host + "/hsp", Map: prev})
}

func TestMirrorImagesCopiesSignaturesAndReferrers(t *testing.T) {
	m := newMirrorFixture(t)
	rep, ds := m.run(t, context.Background(), nil)
	if ds.HasErrors() {
		t.Fatalf("mirror:\n%s", diagText(ds))
	}
	if rep.Images != 3 || rep.Copied != 3 || rep.Present != 0 || rep.Verified != 3 || rep.Signatures != 3 || rep.Referrers != 1 {
		t.Fatalf("report = %+v, want 3 images copied and verified, 3 signature tags, 1 referrer", rep)
	}
	for _, ref := range m.refs {
		repo := m.dst.host + "/hsp/" + ref.Context().RepositoryStr()
		// The map rewrites the tagged reference to the copy, digest unchanged.
		src := strings.Replace(ref.String(), "@", ":1.0.0@", 1)
		got, ok := rep.Map.Rewrite(src)
		if want := repo + ":1.0.0@" + ref.DigestStr(); !ok || got != want {
			t.Errorf("Rewrite(%s) = %s, %v; want %s", src, got, ok, want)
		}
		if _, err := remote.Head(parseRef(t, repo+":1.0.0")); err != nil {
			t.Errorf("the copy's tag: %v", err)
		}
		sigTag := repo + ":sha256-" + strings.TrimPrefix(ref.DigestStr(), "sha256:") + ".sig"
		srcSig, err := remote.Head(parseRef(t, ref.Context().String()+":sha256-"+strings.TrimPrefix(ref.DigestStr(), "sha256:")+".sig"))
		if err != nil {
			t.Fatal(err)
		}
		dstSig, err := remote.Head(parseRef(t, sigTag))
		if err != nil || dstSig.Digest != srcSig.Digest {
			t.Errorf("signature tag %s: %v (digest %v, want %v)", sigTag, err, dstSig, srcSig.Digest)
		}
	}
	idx, err := remote.Referrers(parseRef(t, m.dst.host+"/hsp/acme/app0@"+m.refs[0].DigestStr()).(name.Digest))
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 || im.Manifests[0].Digest != m.referrer {
		t.Errorf("referrers of the copy = %v, want %v", im.Manifests, m.referrer)
	}

	// A second run is idempotent: everything is present, nothing is uploaded.
	m.uploads.Store(0)
	rep, ds = m.run(t, context.Background(), rep.Map)
	if ds.HasErrors() || rep.Copied != 0 || rep.Present != 3 || len(rep.Map.Images) != 3 {
		t.Fatalf("second run: %+v\n%s", rep, diagText(ds))
	}
	if n := m.uploads.Load(); n != 0 {
		t.Errorf("the second run started %d blob uploads, want 0", n)
	}
}

func TestMirrorImagesResumesAnInterruptedCopy(t *testing.T) {
	m := newMirrorFixture(t)
	// The private registry goes down for app2 after its blobs are uploaded: the manifest PUT fails.
	m.dst.setFail(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/hsp/acme/app2/manifests/") {
			http.Error(w, "connection reset", http.StatusServiceUnavailable)
			return true
		}
		return false
	})
	rep, ds := m.run(t, context.Background(), nil)
	if !ds.HasErrors() || rep.Copied != 2 || len(rep.Map.Images) != 2 {
		t.Fatalf("interrupted run: %+v\n%s", rep, diagText(ds))
	}
	if !strings.Contains(diagText(ds), "copying "+m.refs[2].Context().String()) || ds[0].Path != "products/acme/app2.toml" || ds[0].Line == 0 {
		t.Errorf("the error does not name the image at its position in the product file:\n%s", diagText(ds))
	}
	t.Logf("interrupted run:\n%s", diagText(ds))
	// Resumed: the two copied images are skipped, app2's blobs are already there (only its
	// manifest and its signature, never reached before, are sent).
	m.watchUploads()
	rep, ds = m.run(t, context.Background(), rep.Map)
	if ds.HasErrors() {
		t.Fatalf("resumed run:\n%s", diagText(ds))
	}
	if rep.Copied != 1 || rep.Present != 2 || len(rep.Map.Images) != 3 || rep.Verified != 3 {
		t.Fatalf("resumed run = %+v, want 1 copied, 2 present, 3 mapped", rep)
	}
	for _, d := range imageBlobs(t, m.refs[2]) {
		if m.blobs[d] {
			t.Errorf("the resumed run uploaded blob %s of the interrupted image again", d)
		}
	}
	if len(m.blobs) == 0 {
		t.Error("the resumed run uploaded nothing: the interrupted image's signature is missing")
	}

	// A cancelled run stops and says how to resume.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, ds = m.run(t, ctx, nil)
	if !strings.Contains(diagText(ds), "run the command again to resume") {
		t.Errorf("cancelled run:\n%s", diagText(ds))
	}
}

func TestMirrorImagesMapsOnlyVerifiedCopies(t *testing.T) {
	m := newMirrorFixture(t)
	unsigned := m.f.reg.push(t, "acme/unsigned", makeImage(t, okImage()))
	m.c.addProduct("unsigned", build{version: "1.0.0", image: unsigned.String()})
	m.cat = m.c.load(t)
	rep, ds := m.run(t, context.Background(), nil)
	if rep.Copied != 4 || rep.Verified != 3 || len(rep.Map.Images) != 3 {
		t.Fatalf("report = %+v, want 4 copied, 3 verified and mapped", rep)
	}
	if _, ok := rep.Map.Rewrite(unsigned.String()); ok {
		t.Error("the unsigned image's copy is in the map")
	}
	if !strings.Contains(diagText(ds), "in "+m.dst.host+"/hsp: ") {
		t.Errorf("the verification error does not name the private registry:\n%s", diagText(ds))
	}
}

func parseRef(t *testing.T, s string) name.Reference {
	t.Helper()
	ref, err := name.ParseReference(s)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}
