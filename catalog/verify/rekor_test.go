package verify

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cyberphone/json-canonicalization/go/src/webpki.org/jsoncanonicalizer"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/hspc/marketplace/catalog"
	cbundle "github.com/sigstore/cosign/v2/pkg/cosign/bundle"
	"github.com/sigstore/cosign/v2/pkg/oci/mutate"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	"github.com/sigstore/cosign/v2/pkg/oci/static"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/payload"
)

// rekorLog is a test transparency log: it only signs entry timestamps, as Rekor does for the
// bundles cosign attaches to keyless signatures.
type rekorLog struct {
	key   *ecdsa.PrivateKey
	logID []byte
}

func newRekorLog(t *testing.T) *rekorLog {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	id := sha256.Sum256(der)
	return &rekorLog{key: key, logID: id[:]}
}

// trustedRoot writes a trusted_root.json listing the CA and the log, like the public-good
// Sigstore root (which also lists CT logs and timestamp authorities).
func (l *rekorLog) trustedRoot(t *testing.T, ca *testCA) string {
	der, _ := x509.MarshalPKIXPublicKey(&l.key.PublicKey)
	start := time.Now().Add(-24 * time.Hour).UTC().Format(time.RFC3339)
	root := map[string]any{
		"mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
		"tlogs": []any{map[string]any{
			"baseUrl":       "https://rekor.test",
			"hashAlgorithm": "SHA2_256",
			"publicKey":     map[string]any{"rawBytes": base64.StdEncoding.EncodeToString(der), "keyDetails": "PKIX_ECDSA_P256_SHA_256", "validFor": map[string]any{"start": start}},
			"logId":         map[string]any{"keyId": base64.StdEncoding.EncodeToString(l.logID)},
		}},
		"certificateAuthorities": []any{map[string]any{
			"subject":   map[string]any{"organization": "test", "commonName": "test fulcio"},
			"uri":       "https://fulcio.test",
			"certChain": map[string]any{"certificates": []any{map[string]any{"rawBytes": base64.StdEncoding.EncodeToString(ca.root.Raw)}}},
			"validFor":  map[string]any{"start": start},
		}},
	}
	data, _ := json.Marshal(root)
	file := filepath.Join(t.TempDir(), "trusted_root.json")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// entry logs a hashedrekord entry for the signature and returns the bundle cosign would attach.
func (l *rekorLog) entry(t *testing.T, p, sig, certPEM []byte, integrated time.Time) *cbundle.RekorBundle {
	h := sha256.Sum256(p)
	body, _ := json.Marshal(map[string]any{
		"apiVersion": "0.0.1",
		"kind":       "hashedrekord",
		"spec": map[string]any{
			"data":      map[string]any{"hash": map[string]any{"algorithm": "sha256", "value": hex.EncodeToString(h[:])}},
			"signature": map[string]any{"content": base64.StdEncoding.EncodeToString(sig), "publicKey": map[string]any{"content": base64.StdEncoding.EncodeToString(certPEM)}},
		},
	})
	body, err := jsoncanonicalizer.Transform(body)
	if err != nil {
		t.Fatal(err)
	}
	rp := cbundle.RekorPayload{Body: base64.StdEncoding.EncodeToString(body), IntegratedTime: integrated.Unix(), LogIndex: 42, LogID: hex.EncodeToString(l.logID)}
	contents, _ := json.Marshal(rp)
	canonical, err := jsoncanonicalizer.Transform(contents)
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256(canonical)
	set, err := ecdsa.SignASN1(rand.Reader, l.key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	return &cbundle.RekorBundle{SignedEntryTimestamp: set, Payload: rp}
}

// fulcioCert issues a 10-minute certificate starting at notBefore, as Fulcio does.
func fulcioCert(t *testing.T, ca *testCA, notBefore time.Time) (signature.Signer, []byte) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	u, _ := url.Parse(testSubject)
	tmpl := &x509.Certificate{
		SerialNumber:    big.NewInt(time.Now().UnixNano()),
		NotBefore:       notBefore,
		NotAfter:        notBefore.Add(10 * time.Minute),
		KeyUsage:        x509.KeyUsageDigitalSignature,
		ExtKeyUsage:     []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		URIs:            []*url.URL{u},
		ExtraExtensions: []pkix.Extension{{Id: oidcIssuerOID, Value: []byte(testIssuer)}},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.root, &key.PublicKey, ca.rootKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	certPEM, _ := cryptoutils.MarshalCertificateToPEM(cert)
	s, _ := signature.LoadECDSASignerVerifier(key, crypto.SHA256)
	return s, certPEM
}

// TestKeylessWithRekorBundle checks keyless verification against a trusted root that lists a
// Rekor log, as the public-good one does: the bundle's signed entry timestamp is verified offline
// and proves the certificate, long expired, was valid when the signature was logged.
func TestKeylessWithRekorBundle(t *testing.T) {
	f := newFixture(t)
	log := newRekorLog(t)
	rootFile := log.trustedRoot(t, f.ca)
	used := time.Now().Add(-2 * time.Hour)

	push := func(t *testing.T, repo string, withBundle, breakSET bool) name.Digest {
		ref := f.reg.push(t, repo, makeImage(t, okImage()))
		s, certPEM := fulcioCert(t, f.ca, used.Add(-time.Minute))
		p, _ := payload.Cosign{Image: ref}.MarshalJSON()
		sig, err := s.SignMessage(strings.NewReader(string(p)))
		if err != nil {
			t.Fatal(err)
		}
		opts := []static.Option{static.WithCertChain(certPEM, f.ca.rootPEM)}
		if withBundle {
			b := log.entry(t, p, sig, certPEM, used)
			if breakSET {
				b.SignedEntryTimestamp[len(b.SignedEntryTimestamp)/2] ^= 1
			}
			opts = append(opts, static.WithBundle(b))
		}
		ociSig, err := static.NewSignature(p, base64.StdEncoding.EncodeToString(sig), opts...)
		if err != nil {
			t.Fatal(err)
		}
		se, _ := ociremote.SignedEntity(ref)
		se, _ = mutate.AttachSignatureToEntity(se, ociSig)
		if err := ociremote.WriteSignatures(ref.Context(), se); err != nil {
			t.Fatal(err)
		}
		return ref
	}
	tests := []struct {
		name               string
		withBundle, broken bool
		want               string // the reason, or "" for verified
	}{
		{name: "bundle", withBundle: true},
		{name: "no bundle", want: "signature 1 has no Rekor bundle, which the trusted root requires to show when its certificate was used"},
		{name: "forged entry timestamp", withBundle: true, broken: true, want: "signature 1 does not verify for keyless " + testIssuer + " " + testSubject + ": error verifying bundle: verifying bundle with trusted root: unable to verify SET"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref := push(t, fmt.Sprintf("acme/rekor%d", i), tt.withBundle, tt.broken)
			c := newTestCatalog(nil, "")
			c.addProduct("app", build{version: "1.0.0", image: ref.String()})
			opts := f.options()
			opts.TrustedRoot = rootFile
			report, ds := Verify(context.Background(), c.files, c.load(t), nil, opts)
			res := report.Images[0].Result.Builds[0]
			if tt.want == "" {
				if !res.Verified || len(ds) > 0 {
					t.Fatalf("not verified: %+v\n%s", res, diagText(ds))
				}
				// And again offline, from the material alone.
				dir := t.TempDir()
				if err := report.WriteMaterial(dir); err != nil {
					t.Fatal(err)
				}
				opts.Offline, opts.Material, opts.Transport = true, dir, noNetwork(t)
				if _, ds := Verify(context.Background(), c.files, c.load(t), nil, opts); len(ds) > 0 {
					t.Errorf("offline:\n%s", diagText(ds))
				}
				return
			}
			want := "no signature by a signer of publisher acme verifies: " + tt.want
			if res.Verified || res.Error != want {
				t.Errorf("error = %q, want %q", res.Error, want)
			}
			if len(ds) != 1 || ds[0].Severity != catalog.Error {
				t.Errorf("diagnostics:\n%s", diagText(ds))
			}
		})
	}
}
