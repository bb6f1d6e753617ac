package verify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
)

// registry fetches what verification needs from OCI registries, sharing one authenticated
// transport per repository, and gives up on a registry once it has proved unreachable so that a
// registry that is down costs one bounded wait, not one per build.
type registry struct {
	opts     []remote.Option
	requests atomic.Int64

	mu   sync.Mutex
	down map[string]error // by registry host: the error that made it unavailable
}

func newRegistry(ctx context.Context, o Options) (*registry, error) {
	r := &registry{down: map[string]error{}}
	inner := o.Transport
	if inner == nil {
		inner = remote.DefaultTransport
	}
	keychain := o.Keychain
	if keychain == nil {
		keychain = authn.DefaultKeychain
	}
	opts := []remote.Option{
		remote.WithContext(ctx),
		remote.WithTransport(&timeoutTransport{inner: &countingTransport{inner: inner, n: &r.requests}, timeout: o.Timeout}),
		remote.WithAuthFromKeychain(keychain),
		remote.WithUserAgent("hsp-marketplace"),
		remote.WithRetryBackoff(remote.Backoff{Duration: o.Backoff, Factor: 3, Jitter: 0.1, Steps: o.Retries + 1}),
		remote.WithRetryPredicate(retryable),
		remote.WithRetryStatusCodes(http.StatusRequestTimeout, http.StatusTooManyRequests,
			http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout),
	}
	puller, err := remote.NewPuller(opts...)
	if err != nil {
		return nil, err
	}
	r.opts = append(opts, remote.Reuse(puller))
	return r, nil
}

// allowedPlatform reports whether rule 11 admits the platform: linux on x86-64 or 32-bit x86.
func allowedPlatform(p *v1.Platform) bool {
	return p != nil && p.OS == "linux" && (p.Architecture == "amd64" || p.Architecture == "386")
}

func platformString(p *v1.Platform) string {
	if p == nil {
		return "unknown"
	}
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// facts fetches the manifest at digest and the configurations of its images; for an index, only
// its linux/amd64 and linux/386 images.
func (r *registry) facts(repo, digest string) (*ImageFacts, error) {
	ref, err := name.NewDigest(repo + "@" + digest)
	if err != nil {
		return nil, err
	}
	if err := r.available(ref.Context()); err != nil {
		return nil, err
	}
	desc, err := remote.Get(ref, r.opts...)
	if err != nil {
		return nil, r.fail(ref.Context(), err)
	}
	f := &ImageFacts{MediaType: string(desc.MediaType), Manifest: string(desc.Manifest)}
	switch {
	case desc.MediaType.IsIndex():
		idx, err := v1.ParseIndexManifest(strings.NewReader(f.Manifest))
		if err != nil {
			return nil, fmt.Errorf("parsing the index: %w", err)
		}
		for _, m := range idx.Manifests {
			if !allowedPlatform(m.Platform) || !m.MediaType.IsImage() {
				continue
			}
			child, err := remote.Get(ref.Context().Digest(m.Digest.String()), r.opts...)
			if err != nil {
				return nil, r.fail(ref.Context(), fmt.Errorf("fetching the %s image: %w", platformString(m.Platform), err))
			}
			config, err := rawConfig(child)
			if err != nil {
				return nil, r.fail(ref.Context(), fmt.Errorf("fetching the %s configuration: %w", platformString(m.Platform), err))
			}
			f.Platforms = append(f.Platforms, PlatformImage{
				Platform: platformString(m.Platform),
				Digest:   m.Digest.String(),
				Manifest: string(child.Manifest),
				Config:   config,
			})
		}
	case desc.MediaType.IsImage():
		config, err := rawConfig(desc)
		if err != nil {
			return nil, r.fail(ref.Context(), fmt.Errorf("fetching the configuration: %w", err))
		}
		f.Config = config
	default:
		return nil, fmt.Errorf("the registry serves the digest as %s, neither an image nor an index", desc.MediaType)
	}
	return f, nil
}

func rawConfig(desc *remote.Descriptor) (string, error) {
	img, err := desc.Image()
	if err != nil {
		return "", err
	}
	b, err := img.RawConfigFile()
	return string(b), err
}

// signatures fetches the cosign signatures of digest from the sha256-<hex>.sig tag of repo.
func (r *registry) signatures(repo, digest string) ([]Signature, error) {
	ref, err := name.NewDigest(repo + "@" + digest)
	if err != nil {
		return nil, err
	}
	if err := r.available(ref.Context()); err != nil {
		return nil, err
	}
	ropts := []ociremote.Option{ociremote.WithRemoteOptions(r.opts...)}
	tag, err := ociremote.SignatureTag(ref, ropts...)
	if err != nil {
		return nil, err
	}
	sigs, err := ociremote.Signatures(tag, ropts...)
	if err != nil {
		return nil, r.fail(ref.Context(), fmt.Errorf("fetching signatures from %s: %w", tag, err))
	}
	list, err := sigs.Get()
	if err != nil {
		return nil, r.fail(ref.Context(), fmt.Errorf("fetching signatures from %s: %w", tag, err))
	}
	var out []Signature
	for _, s := range list {
		m, err := signatureFromOCI(s, ref.Context().Name())
		if err != nil {
			return nil, r.fail(ref.Context(), fmt.Errorf("reading a signature from %s: %w", tag, err))
		}
		out = append(out, m)
	}
	return out, nil
}

// unavailableError says that a registry could not be reached at all.
type unavailableError struct {
	host string
	err  error
}

func (e *unavailableError) Error() string {
	return fmt.Sprintf("registry %s is unavailable: %v", e.host, e.err)
}

func (e *unavailableError) Unwrap() error { return e.err }

func (r *registry) available(repo name.Repository) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.down[repo.RegistryStr()]; err != nil {
		return err
	}
	return nil
}

// fail classifies err; when it shows the registry as unreachable (after the retries), later
// requests to that registry are not sent.
func (r *registry) fail(repo name.Repository, err error) error {
	if !unreachable(err) {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	host := repo.RegistryStr()
	if prev := r.down[host]; prev != nil {
		return prev
	}
	ue := &unavailableError{host: host, err: err}
	r.down[host] = ue
	return ue
}

// unreachable reports whether err means the registry as a whole did not answer usefully: no
// connection, no response in time, or a server error.
func unreachable(err error) bool {
	var te *timeoutError
	var oe *net.OpError
	var he *transport.Error
	switch {
	case errors.As(err, &te), errors.As(err, &oe), errors.Is(err, syscall.ECONNREFUSED):
		return true
	case errors.As(err, &he):
		return he.StatusCode >= 500 || he.StatusCode == http.StatusTooManyRequests
	}
	return false
}

// notFound reports whether err is the registry saying that the manifest does not exist.
func notFound(err error) bool {
	var he *transport.Error
	if errors.As(err, &he) {
		if he.StatusCode == http.StatusNotFound {
			return true
		}
		for _, d := range he.Errors {
			if d.Code == transport.ManifestUnknownErrorCode || d.Code == transport.NameUnknownErrorCode {
				return true
			}
		}
	}
	return false
}

// denied reports whether the registry refused access.
func denied(err error) bool {
	var he *transport.Error
	return errors.As(err, &he) && (he.StatusCode == http.StatusUnauthorized || he.StatusCode == http.StatusForbidden)
}

// retryable is the retry predicate: what a second attempt may cure. Timeouts of a single request
// are retried; the caller's own cancellation is not.
func retryable(err error) bool {
	if err == nil {
		return false
	}
	var te *timeoutError
	if errors.As(err, &te) {
		return true
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var tmp interface{ Temporary() bool }
	if errors.As(err, &tmp) && tmp.Temporary() {
		return true
	}
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed)
}

// countingTransport counts the requests it sends, retries included.
type countingTransport struct {
	inner http.RoundTripper
	n     *atomic.Int64
}

func (t *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.n.Add(1)
	return t.inner.RoundTrip(req)
}

// timeoutTransport bounds each request, body included, by its own deadline, and reports a missed
// deadline as a timeoutError that the retry predicate recognises.
type timeoutTransport struct {
	inner   http.RoundTripper
	timeout time.Duration
}

type timeoutError struct {
	method, url string
	timeout     time.Duration
}

func (e *timeoutError) Error() string {
	return fmt.Sprintf("%s %s: no response within %v", e.method, e.url, e.timeout)
}

func (e *timeoutError) Timeout() bool   { return true }
func (e *timeoutError) Temporary() bool { return true }

var errRequestTimeout = errors.New("request timeout")

func (t *timeoutTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithTimeoutCause(req.Context(), t.timeout, errRequestTimeout)
	resp, err := t.inner.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel()
		if req.Context().Err() == nil && errors.Is(context.Cause(ctx), errRequestTimeout) {
			return nil, &timeoutError{method: req.Method, url: req.URL.Redacted(), timeout: t.timeout}
		}
		return nil, err
	}
	resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}
