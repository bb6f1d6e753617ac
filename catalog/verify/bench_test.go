package verify

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/cosign/v2/pkg/oci/mutate"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	"github.com/sigstore/cosign/v2/pkg/oci/static"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/payload"
)

// BenchmarkVerify1000 verifies 1 000 signed images on a loopback registry: once cold, with an
// empty cache, and once warm, which must send no registry request.
//
//	go test -run XXX -bench Verify1000 -benchtime 1x ./catalog/verify/
func BenchmarkVerify1000(b *testing.B) {
	const n = 1000
	f := &fixture{reg: newTestRegistry(b), key: newTestKey(b), ca: newTestCA(b)}
	c := newTestCatalog(f.key.pub, "")
	refs := make([]name.Digest, n)
	setup := time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	sem := make(chan struct{}, 8)
	for i := range n {
		img := makeImage(b, okImage())
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			ref, err := pushSigned(f.reg.host, fmt.Sprintf("bench/app%d", i), img, f.key.signer)
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = err
			}
			refs[i] = ref
		})
	}
	wg.Wait()
	if firstErr != nil {
		b.Fatal(firstErr)
	}
	for i, ref := range refs {
		c.addProduct(fmt.Sprintf("app%d", i), build{version: "1.0.0", image: ref.String()})
	}
	cat := c.load(b)
	b.Logf("setup: pushed and signed %d images in %v", n, time.Since(setup).Round(time.Millisecond))

	var cold, warm time.Duration
	var coldReq, warmReq int64
	for b.Loop() {
		opts := f.options()
		opts.CacheDir = b.TempDir()

		f.reg.requests.Store(0)
		start := time.Now()
		_, ds := Verify(context.Background(), c.files, cat, nil, opts)
		cold = time.Since(start)
		coldReq = f.reg.requests.Load()
		if len(ds) > 0 {
			b.Fatalf("cold run:\n%s", diagText(ds[:min(len(ds), 5)]))
		}

		f.reg.requests.Store(0)
		start = time.Now()
		report, ds := Verify(context.Background(), c.files, cat, nil, opts)
		warm = time.Since(start)
		warmReq = f.reg.requests.Load()
		if len(ds) > 0 || report.Cached != n {
			b.Fatalf("warm run: %d from cache\n%s", report.Cached, diagText(ds[:min(len(ds), 5)]))
		}
	}
	b.ReportMetric(cold.Seconds(), "cold-s")
	b.ReportMetric(float64(coldReq), "cold-requests")
	b.ReportMetric(warm.Seconds(), "warm-s")
	b.ReportMetric(float64(warmReq), "warm-requests")
	fmt.Printf("verify %d signed images: cold %v (%d registry requests), warm %v (%d registry requests)\n",
		n, cold.Round(time.Millisecond), coldReq, warm.Round(time.Millisecond), warmReq)
	if cold > 10*time.Second || warm > 500*time.Millisecond || warmReq != 0 {
		b.Errorf("over budget: cold %v (≤ 10s), warm %v (≤ 0.5s) with %d requests (0)", cold, warm, warmReq)
	}
}

// pushSigned pushes img and signs it as sign does, returning errors instead of failing, for
// use from several goroutines.
func pushSigned(host, repo string, img v1.Image, s signature.Signer) (name.Digest, error) {
	d, err := img.Digest()
	if err != nil {
		return name.Digest{}, err
	}
	ref, err := name.NewDigest(host + "/" + repo + "@" + d.String())
	if err != nil {
		return name.Digest{}, err
	}
	if err := remote.Write(ref, img); err != nil {
		return name.Digest{}, err
	}
	p, err := payload.Cosign{Image: ref}.MarshalJSON()
	if err != nil {
		return name.Digest{}, err
	}
	sig, err := s.SignMessage(bytes.NewReader(p))
	if err != nil {
		return name.Digest{}, err
	}
	ociSig, err := static.NewSignature(p, base64.StdEncoding.EncodeToString(sig))
	if err != nil {
		return name.Digest{}, err
	}
	se, err := ociremote.SignedEntity(ref)
	if err != nil {
		return name.Digest{}, err
	}
	if se, err = mutate.AttachSignatureToEntity(se, ociSig); err != nil {
		return name.Digest{}, err
	}
	return ref, ociremote.WriteSignatures(ref.Context(), se)
}
