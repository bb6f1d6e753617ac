package verify

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	ggcrmutate "github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/hspc/marketplace/catalog"
	"github.com/sigstore/cosign/v2/pkg/cosign"
	"github.com/sigstore/cosign/v2/pkg/oci/mutate"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	"github.com/sigstore/cosign/v2/pkg/oci/static"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/payload"
)

// testRegistry is an in-memory OCI registry on loopback, reached through a transport that
// counts requests, optionally failing them.
type testRegistry struct {
	srv      *httptest.Server
	host     string
	requests atomic.Int64
	// fail, when set, answers a request instead of the registry.
	fail atomic.Pointer[func(w http.ResponseWriter, r *http.Request) bool]
}

func newTestRegistry(t testing.TB) *testRegistry {
	t.Helper()
	tr := &testRegistry{}
	reg := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	tr.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f := tr.fail.Load(); f != nil && (*f)(w, r) {
			return
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(tr.srv.Close)
	tr.host = strings.TrimPrefix(tr.srv.URL, "http://")
	return tr
}

// transport counts every request that verification sends.
func (tr *testRegistry) transport() http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		tr.requests.Add(1)
		return http.DefaultTransport.RoundTrip(r)
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// setFail makes the registry answer with f while f returns true; nil restores it.
func (tr *testRegistry) setFail(f func(w http.ResponseWriter, r *http.Request) bool) {
	if f == nil {
		tr.fail.Store(nil)
		return
	}
	tr.fail.Store(&f)
}

var anonymous = authn.NewMultiKeychain() // no credentials: never reads the user's Docker config

// imageSpec describes a test image's configuration.
type imageSpec struct {
	os, arch    string
	ports       []string // "8080/tcp"
	volumes     []string
	healthcheck bool
	user        string
	layerBytes  int64
}

func okImage() imageSpec {
	return imageSpec{os: "linux", arch: "amd64", ports: []string{"8080/tcp"}, healthcheck: true, user: "app", layerBytes: 512}
}

func makeImage(t testing.TB, s imageSpec) v1.Image {
	t.Helper()
	if s.layerBytes == 0 {
		s.layerBytes = 512
	}
	img, err := random.Image(s.layerBytes, 1)
	if err != nil {
		t.Fatal(err)
	}
	return configure(t, img, s)
}

func configure(t testing.TB, img v1.Image, s imageSpec) v1.Image {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = s.os, s.arch
	cf.Config.User = s.user
	cf.Config.ExposedPorts = map[string]struct{}{}
	for _, p := range s.ports {
		cf.Config.ExposedPorts[p] = struct{}{}
	}
	if len(s.volumes) > 0 {
		cf.Config.Volumes = map[string]struct{}{}
		for _, v := range s.volumes {
			cf.Config.Volumes[v] = struct{}{}
		}
	}
	if s.healthcheck {
		cf.Config.Healthcheck = &v1.HealthConfig{Test: []string{"CMD", "/app/health"}}
	}
	img, err = ggcrmutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// makeIndex builds a multi-platform index from random.Index, one configured image per spec.
func makeIndex(t testing.TB, specs ...imageSpec) v1.ImageIndex {
	t.Helper()
	base, err := random.Index(256, 1, int64(len(specs)))
	if err != nil {
		t.Fatal(err)
	}
	im, err := base.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var adds []ggcrmutate.IndexAddendum
	for i, d := range im.Manifests {
		img, err := base.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		s := specs[i]
		adds = append(adds, ggcrmutate.IndexAddendum{
			Add:        configure(t, img, s),
			Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: s.os, Architecture: s.arch}},
		})
	}
	return ggcrmutate.AppendManifests(empty.Index, adds...)
}

func (tr *testRegistry) push(t testing.TB, repo string, img v1.Image) name.Digest {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.NewDigest(tr.host + "/" + repo + "@" + d.String())
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	return ref
}

func (tr *testRegistry) pushIndex(t testing.TB, repo string, idx v1.ImageIndex) name.Digest {
	t.Helper()
	d, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.NewDigest(tr.host + "/" + repo + "@" + d.String())
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(ref, idx); err != nil {
		t.Fatal(err)
	}
	return ref
}

// testKey is a cosign key pair generated by cosign's own code, encrypted and loaded back the way
// `cosign generate-key-pair` and `cosign sign --key` do.
type testKey struct {
	signer signature.SignerVerifier
	pub    []byte // PEM
}

func newTestKey(t testing.TB) testKey {
	t.Helper()
	pass := func(bool) ([]byte, error) { return []byte("test"), nil }
	kb, err := cosign.GenerateKeyPair(pass)
	if err != nil {
		t.Fatal(err)
	}
	sv, err := cosign.LoadPrivateKey(kb.PrivateBytes, []byte("test"), nil)
	if err != nil {
		t.Fatal(err)
	}
	return testKey{signer: sv, pub: kb.PublicBytes}
}

// signOpts varies a signature for the failure cases.
type signOpts struct {
	claim       *name.Digest // the digest the payload names; default the signed image
	tamper      bool         // change the payload after signing
	certificate []byte       // keyless: PEM certificate and chain
	chain       []byte
}

// sign signs ref the way `cosign sign` does: a simple-signing payload naming the digest, signed,
// attached to the image's signatures and pushed to its sha256-<hex>.sig tag.
func sign(t testing.TB, ref name.Digest, s signature.Signer, o signOpts) {
	t.Helper()
	claim := ref
	if o.claim != nil {
		claim = *o.claim
	}
	p, err := payload.Cosign{Image: claim}.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	sig, err := s.SignMessage(bytes.NewReader(p))
	if err != nil {
		t.Fatal(err)
	}
	if o.tamper {
		p = bytes.Replace(p, []byte(`"optional":null`), []byte(`"optional":{"x":"y"}`), 1)
	}
	var opts []static.Option
	if o.certificate != nil {
		opts = append(opts, static.WithCertChain(o.certificate, o.chain))
	}
	ociSig, err := static.NewSignature(p, base64.StdEncoding.EncodeToString(sig), opts...)
	if err != nil {
		t.Fatal(err)
	}
	se, err := ociremote.SignedEntity(ref)
	if err != nil {
		t.Fatal(err)
	}
	se, err = mutate.AttachSignatureToEntity(se, ociSig)
	if err != nil {
		t.Fatal(err)
	}
	if err := ociremote.WriteSignatures(ref.Context(), se); err != nil {
		t.Fatal(err)
	}
}

// testCA is a private Fulcio-like certificate authority and the trusted root that lists it.
type testCA struct {
	root     *x509.Certificate
	rootKey  *ecdsa.PrivateKey
	rootPEM  []byte
	rootFile string // trusted_root.json
}

var oidcIssuerOID = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 1}

func newTestCA(t testing.TB) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "test fulcio", Organization: []string{"test"}},
		NotBefore:             time.Now().Add(-24 * time.Hour),
		NotAfter:              time.Now().Add(10 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pemBytes, err := cryptoutils.MarshalCertificateToPEM(cert)
	if err != nil {
		t.Fatal(err)
	}
	trustedRoot := map[string]any{
		"mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
		"certificateAuthorities": []any{map[string]any{
			"subject":   map[string]any{"organization": "test", "commonName": "test fulcio"},
			"uri":       "https://fulcio.test",
			"certChain": map[string]any{"certificates": []any{map[string]any{"rawBytes": base64.StdEncoding.EncodeToString(der)}}},
			"validFor":  map[string]any{"start": time.Now().Add(-24 * time.Hour).UTC().Format(time.RFC3339)},
		}},
	}
	data, err := json.Marshal(trustedRoot)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "trusted_root.json")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return &testCA{root: cert, rootKey: key, rootPEM: pemBytes, rootFile: file}
}

// issue returns a short-lived-style signing certificate for an OIDC identity, as Fulcio would,
// and a signer holding its key.
func (ca *testCA) issue(t testing.TB, issuer, subject string) (signature.Signer, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(subject)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:    big.NewInt(time.Now().UnixNano()),
		NotBefore:       time.Now().Add(-time.Hour),
		NotAfter:        time.Now().Add(365 * 24 * time.Hour),
		KeyUsage:        x509.KeyUsageDigitalSignature,
		ExtKeyUsage:     []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		URIs:            []*url.URL{u},
		ExtraExtensions: []pkix.Extension{{Id: oidcIssuerOID, Value: []byte(issuer)}},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.root, &key.PublicKey, ca.rootKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, err := cryptoutils.MarshalCertificateToPEM(cert)
	if err != nil {
		t.Fatal(err)
	}
	s, err := signature.LoadECDSASignerVerifier(key, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	return s, certPEM
}

// testCatalog is a catalog repository in memory.
type testCatalog struct {
	files fstest.MapFS
}

const (
	testIssuer  = "https://token.actions.example"
	testSubject = "https://ci.example/acme/app/.github/workflows/release.yml@refs/heads/main"
)

// newTestCatalog makes a catalog with publisher acme, whose signers are key (if any) and the
// keyless identity testIssuer/testSubject.
func newTestCatalog(pub []byte, policy string) *testCatalog {
	c := &testCatalog{files: fstest.MapFS{}}
	c.files["index.toml"] = &fstest.MapFile{Data: []byte("[catalog]\nname = \"Test\"\n\n[policy]\n" + policy + "\n")}
	signers := fmt.Sprintf("[[signers]]\nissuer = %q\nsubject = %q\n", testIssuer, testSubject)
	if pub != nil {
		signers = "[[signers]]\nkey = \"cosign.pub\"\n\n" + signers
		c.files["products/acme/cosign.pub"] = &fstest.MapFile{Data: pub}
	}
	c.files["products/acme/publisher.toml"] = &fstest.MapFile{Data: []byte("name = \"Acme\"\n\n" + signers)}
	return c
}

// build is a build of a test product file.
type build struct {
	version   string
	image     string
	platforms []string
	port      int // 0: 8080
	health    string
}

// addProduct writes products/acme/<id>.toml with the builds.
func (c *testCatalog) addProduct(id string, builds ...build) string {
	var b strings.Builder
	fmt.Fprintf(&b, "name = %q\nsummary = \"A test product\"\nlicense = \"MIT\"\n", id)
	for _, bd := range builds {
		port := bd.port
		if port == 0 {
			port = 8080
		}
		fmt.Fprintf(&b, "\n[[builds]]\nversion = %q\nimage = %q\n", bd.version, bd.image)
		if bd.platforms != nil {
			q := make([]string, len(bd.platforms))
			for i, p := range bd.platforms {
				q[i] = fmt.Sprintf("%q", p)
			}
			fmt.Fprintf(&b, "platforms = [%s]\n", strings.Join(q, ", "))
		}
		fmt.Fprintf(&b, "\n  [[builds.tasks]]\n  name = \"web\"\n  memory = 256\n")
		if bd.health != "" {
			fmt.Fprintf(&b, "  ports = [{ port = %d, protocol = \"http\", health = %q }]\n", port, bd.health)
		} else {
			fmt.Fprintf(&b, "  ports = [{ port = %d, protocol = \"http\" }]\n", port)
		}
	}
	p := "products/acme/" + id + ".toml"
	c.files[p] = &fstest.MapFile{Data: []byte(b.String())}
	return p
}

func (c *testCatalog) load(t testing.TB) *catalog.Catalog {
	t.Helper()
	cat, ds := catalog.Load(c.files)
	if ds.HasErrors() {
		t.Fatalf("loading the test catalog:\n%s", diagText(ds))
	}
	return cat
}

func diagText(ds catalog.Diagnostics) string {
	var b strings.Builder
	for _, d := range ds {
		b.WriteString(d.String())
		b.WriteString("\n")
	}
	return b.String()
}
