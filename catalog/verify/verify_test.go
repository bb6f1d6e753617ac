package verify

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/hspc/marketplace/catalog"
)

// fixture is a loopback registry, the publisher's key, another key, and a test CA.
type fixture struct {
	reg   *testRegistry
	key   testKey
	other testKey
	ca    *testCA
}

func newFixture(t *testing.T) *fixture {
	keys := sharedKeys(t)
	return &fixture{reg: newTestRegistry(t), key: keys[0], other: keys[1], ca: newTestCA(t)}
}

// sharedKeys generates the publisher's key and another key once for all tests: cosign encrypts
// private keys with scrypt, which takes most of a second.
var sharedKeys = func() func(t testing.TB) [2]testKey {
	var once sync.Once
	var keys [2]testKey
	return func(t testing.TB) [2]testKey {
		once.Do(func() { keys = [2]testKey{newTestKey(t), newTestKey(t)} })
		return keys
	}
}()

func (f *fixture) options() Options {
	return Options{
		Transport:   f.reg.transport(),
		Keychain:    anonymous,
		TrustedRoot: f.ca.rootFile,
		Timeout:     5 * time.Second,
		Retries:     2,
		Backoff:     time.Millisecond,
	}
}

// lines renders diagnostics as go-vet lines with the run's digests and registry host replaced by
// {names}, so that expectations can be written down.
func lines(ds catalog.Diagnostics, names map[string]string) []string {
	var out []string
	for _, d := range ds {
		s := d.String()
		for value, placeholder := range names {
			s = strings.ReplaceAll(s, value, placeholder)
		}
		out = append(out, s)
	}
	return out
}

func digestOf(t *testing.T, img interface{ Digest() (v1.Hash, error) }) string {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

func TestVerify(t *testing.T) {
	f := newFixture(t)
	const file = "products/acme/app.toml"
	tests := []struct {
		name string
		// setup pushes and signs what the case needs and returns the build to declare, and
		// other digests to name in expectations.
		setup      func(t *testing.T, repo string) (build, map[string]string)
		policy     string
		noKey      bool // the publisher declares only the keyless identity
		want       []string
		wantSigner string
	}{
		{
			name: "signed with the declared key",
			setup: func(t *testing.T, repo string) (build, map[string]string) {
				ref := f.reg.push(t, repo, makeImage(t, okImage()))
				sign(t, ref, f.key.signer, signOpts{})
				return build{version: "1.0.0", image: ref.String()}, nil
			},
			wantSigner: "products/acme/cosign.pub",
		},
		{
			name: "unsigned",
			setup: func(t *testing.T, repo string) (build, map[string]string) {
				ref := f.reg.push(t, repo, makeImage(t, okImage()))
				return build{version: "1.0.0", image: ref.String()}, nil
			},
			want: []string{
				file + ":7:9: error: acme/app 1.0.0 ({digest}): the image is not signed: no cosign signature at {host}/{repo}:{tag}",
			},
		},
		{
			name:   "unsigned when signatures are not required",
			policy: "require_signatures = false",
			setup: func(t *testing.T, repo string) (build, map[string]string) {
				ref := f.reg.push(t, repo, makeImage(t, okImage()))
				return build{version: "1.0.0", image: ref.String()}, nil
			},
			want: []string{
				file + ":7:9: warning: acme/app 1.0.0 ({digest}): the image is not signed: no cosign signature at {host}/{repo}:{tag}",
			},
		},
		{
			name: "signed with another key",
			setup: func(t *testing.T, repo string) (build, map[string]string) {
				ref := f.reg.push(t, repo, makeImage(t, okImage()))
				sign(t, ref, f.other.signer, signOpts{})
				return build{version: "1.0.0", image: ref.String()}, nil
			},
			want: []string{
				file + ":7:9: error: acme/app 1.0.0 ({digest}): no signature by a signer of publisher acme verifies: signature 1 does not verify with products/acme/cosign.pub (another key signed it, or its payload or signature was altered)",
			},
		},
		{
			name: "tampered payload",
			setup: func(t *testing.T, repo string) (build, map[string]string) {
				ref := f.reg.push(t, repo, makeImage(t, okImage()))
				sign(t, ref, f.key.signer, signOpts{tamper: true})
				return build{version: "1.0.0", image: ref.String()}, nil
			},
			want: []string{
				file + ":7:9: error: acme/app 1.0.0 ({digest}): no signature by a signer of publisher acme verifies: signature 1 does not verify with products/acme/cosign.pub (another key signed it, or its payload or signature was altered)",
			},
		},
		{
			name: "signature over another digest",
			setup: func(t *testing.T, repo string) (build, map[string]string) {
				ref := f.reg.push(t, repo, makeImage(t, okImage()))
				other := f.reg.push(t, repo, makeImage(t, okImage()))
				sign(t, ref, f.key.signer, signOpts{claim: &other})
				return build{version: "1.0.0", image: ref.String()}, map[string]string{other.DigestStr(): "{other}"}
			},
			want: []string{
				file + ":7:9: error: acme/app 1.0.0 ({digest}): no signature by a signer of publisher acme verifies: signature 1 is by products/acme/cosign.pub but signs {other}, not this digest",
			},
		},
		{
			name: "signature for another repository",
			setup: func(t *testing.T, repo string) (build, map[string]string) {
				// The same image (same digest) signed by the publisher for another repository:
				// a copy there is not what the publisher vouched for here, and vice versa.
				ref := f.reg.push(t, repo, makeImage(t, okImage()))
				elsewhere, err := name.NewDigest(f.reg.host + "/mallory/app@" + ref.DigestStr())
				if err != nil {
					t.Fatal(err)
				}
				sign(t, ref, f.key.signer, signOpts{claim: &elsewhere})
				return build{version: "1.0.0", image: ref.String()}, nil
			},
			want: []string{
				file + ":7:9: error: acme/app 1.0.0 ({digest}): no signature by a signer of publisher acme verifies: signature 1 is by products/acme/cosign.pub but names repository {host}/mallory/app, not {host}/{repo}",
			},
		},
		{
			name:  "keyless with the declared identity",
			noKey: true,
			setup: func(t *testing.T, repo string) (build, map[string]string) {
				ref := f.reg.push(t, repo, makeImage(t, okImage()))
				s, cert := f.ca.issue(t, testIssuer, testSubject)
				sign(t, ref, s, signOpts{certificate: cert, chain: f.ca.rootPEM})
				return build{version: "1.0.0", image: ref.String()}, nil
			},
			wantSigner: "keyless " + testIssuer + " " + testSubject,
		},
		{
			name:  "keyless with another subject",
			noKey: true,
			setup: func(t *testing.T, repo string) (build, map[string]string) {
				ref := f.reg.push(t, repo, makeImage(t, okImage()))
				s, cert := f.ca.issue(t, testIssuer, "https://ci.example/mallory/app/.github/workflows/release.yml@refs/heads/main")
				sign(t, ref, s, signOpts{certificate: cert, chain: f.ca.rootPEM})
				return build{version: "1.0.0", image: ref.String()}, nil
			},
			want: []string{
				file + ":7:9: error: acme/app 1.0.0 ({digest}): no signature by a signer of publisher acme verifies: signature 1 is by certificate identity https://ci.example/mallory/app/.github/workflows/release.yml@refs/heads/main (issuer https://token.actions.example), not by a declared signer",
			},
		},
		{
			name:  "keyless from a CA outside the trusted root",
			noKey: true,
			setup: func(t *testing.T, repo string) (build, map[string]string) {
				ref := f.reg.push(t, repo, makeImage(t, okImage()))
				rogue := newTestCA(t)
				s, cert := rogue.issue(t, testIssuer, testSubject)
				sign(t, ref, s, signOpts{certificate: cert, chain: rogue.rootPEM})
				return build{version: "1.0.0", image: ref.String()}, nil
			},
			want: []string{
				file + ":7:9: error: acme/app 1.0.0 ({digest}): no signature by a signer of publisher acme verifies: signature 1 has a certificate that the trusted root did not issue, or that was not valid when used",
			},
		},
		{
			name: "one good signature among bad ones",
			setup: func(t *testing.T, repo string) (build, map[string]string) {
				ref := f.reg.push(t, repo, makeImage(t, okImage()))
				sign(t, ref, f.other.signer, signOpts{})
				sign(t, ref, f.key.signer, signOpts{})
				return build{version: "1.0.0", image: ref.String()}, nil
			},
			wantSigner: "products/acme/cosign.pub",
		},
		{
			name: "index with linux/amd64 and linux/386",
			setup: func(t *testing.T, repo string) (build, map[string]string) {
				i386 := okImage()
				i386.arch = "386"
				ref := f.reg.pushIndex(t, repo, makeIndex(t, okImage(), i386))
				sign(t, ref, f.key.signer, signOpts{})
				return build{version: "1.0.0", image: ref.String(), platforms: []string{"linux/amd64", "linux/386"}}, nil
			},
			wantSigner: "products/acme/cosign.pub",
		},
		{
			name: "index with an undeclared platform",
			setup: func(t *testing.T, repo string) (build, map[string]string) {
				i386 := okImage()
				i386.arch = "386"
				ref := f.reg.pushIndex(t, repo, makeIndex(t, okImage(), i386))
				sign(t, ref, f.key.signer, signOpts{})
				return build{version: "1.0.0", image: ref.String(), platforms: []string{"linux/amd64"}}, nil
			},
			want: []string{
				file + ":8:13: warning: acme/app 1.0.0 ({digest}): the image index also has a linux/386 image; declare it in platforms (rule 11)",
			},
			wantSigner: "products/acme/cosign.pub",
		},
		{
			name: "arm64-only index",
			setup: func(t *testing.T, repo string) (build, map[string]string) {
				arm := okImage()
				arm.arch = "arm64"
				ref := f.reg.pushIndex(t, repo, makeIndex(t, arm))
				sign(t, ref, f.key.signer, signOpts{})
				return build{version: "1.0.0", image: ref.String(), platforms: []string{"linux/amd64"}}, nil
			},
			want: []string{
				file + ":8:13: error: acme/app 1.0.0 ({digest}): the image index has no linux/amd64 or linux/386 image (it has linux/arm64) (rule 11)",
			},
			wantSigner: "products/acme/cosign.pub",
		},
		{
			name: "single arm64 image",
			setup: func(t *testing.T, repo string) (build, map[string]string) {
				arm := okImage()
				arm.arch = "arm64"
				ref := f.reg.push(t, repo, makeImage(t, arm))
				sign(t, ref, f.key.signer, signOpts{})
				return build{version: "1.0.0", image: ref.String()}, nil
			},
			want: []string{
				file + ":7:9: error: acme/app 1.0.0 ({digest}): the image is built for linux/arm64; only linux/amd64 and linux/386 images are accepted (rule 11)",
			},
			wantSigner: "products/acme/cosign.pub",
		},
		{
			name: "missing digest",
			setup: func(t *testing.T, repo string) (build, map[string]string) {
				img := makeImage(t, okImage())
				return build{version: "1.0.0", image: fmt.Sprintf("%s/%s:1.0.0@%s", f.reg.host, repo, digestOf(t, img))}, nil
			},
			want: []string{
				file + ":7:9: error: acme/app 1.0.0 ({digest}): the image does not exist: {host}/{repo} has no manifest with this digest",
			},
		},
		{
			name:   "image configuration against the declaration",
			policy: "max_image_mib = 1",
			setup: func(t *testing.T, repo string) (build, map[string]string) {
				ref := f.reg.push(t, repo, makeImage(t, imageSpec{os: "linux", arch: "amd64", ports: []string{"9090/tcp"},
					volumes: []string{"/data"}, layerBytes: 3 << 20}))
				sign(t, ref, f.key.signer, signOpts{})
				return build{version: "1.0.0", image: ref.String()}, nil
			},
			want: []string{
				file + ":7:9: warning: acme/app 1.0.0 ({digest}): the image declares VOLUME /data; persistent data belongs in an external service declared as a dependency (rule 2)",
				file + ":7:9: warning: acme/app 1.0.0 ({digest}): the image has no HEALTHCHECK and no task port declares a health path (rule 15)",
				file + ":7:9: warning: acme/app 1.0.0 ({digest}): the image is 3 MiB compressed, over the policy limit of 1 MiB; data payloads belong outside the image",
				file + ":7:9: warning: acme/app 1.0.0 ({digest}): the image runs as root (USER \"\"); run it as an unprivileged user",
				file + ":12:12: error: acme/app 1.0.0 ({digest}): task web declares port 8080/tcp, but the image does not expose it (it exposes 9090/tcp)",
			},
			wantSigner: "products/acme/cosign.pub",
		},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			repo := fmt.Sprintf("acme/app%d", i)
			b, names := tt.setup(t, repo)
			pub := f.key.pub
			if tt.noKey {
				pub = nil
			}
			c := newTestCatalog(pub, tt.policy)
			c.addProduct("app", b)
			ref, err := catalog.ParseImageRef(b.image)
			if err != nil {
				t.Fatal(err)
			}
			if names == nil {
				names = map[string]string{}
			}
			names[ref.Digest] = "{digest}"
			names[f.reg.host] = "{host}"
			names["/"+repo+":"] = "/{repo}:"
			names["/"+repo+" "] = "/{repo} "
			if strings.HasSuffix(tt.name, "another repository") {
				names["/"+repo] = "/{repo}" // ends the message
			}
			names[strings.Replace(ref.Digest, ":", "-", 1)+".sig"] = "{tag}"

			report, ds := Verify(context.Background(), c.files, c.load(t), nil, f.options())
			if diff := cmp.Diff(tt.want, lines(ds, names)); diff != "" {
				t.Errorf("diagnostics (-want +got):\n%s", diff)
			}
			if len(report.Images) != 1 {
				t.Fatalf("report has %d images, want 1", len(report.Images))
			}
			res := report.Images[0].Result
			if got := res.Builds[0].Signer; got != tt.wantSigner {
				t.Errorf("signer = %q, want %q (error %q)", got, tt.wantSigner, res.Builds[0].Error)
			}
			if res.Verified != (tt.wantSigner != "") {
				t.Errorf("verified = %v, want %v", res.Verified, tt.wantSigner != "")
			}
			if n := len(report.Images[0].Signatures); (n > 0) != res.Verified {
				t.Errorf("material keeps %d signatures for verified = %v", n, res.Verified)
			}
		})
	}
}

// TestRegexpSubject checks that subject_regexp matches whole subjects only.
func TestRegexpSubject(t *testing.T) {
	f := newFixture(t)
	ref := f.reg.push(t, "acme/app", makeImage(t, okImage()))
	s, cert := f.ca.issue(t, testIssuer, "https://ci.example/acme/app/.github/workflows/release.yml@refs/tags/v1.0.0")
	sign(t, ref, s, signOpts{certificate: cert, chain: f.ca.rootPEM})
	for _, tc := range []struct {
		name, regexp string
		ok           bool
	}{
		{"matches", `https://ci\.example/acme/app/\.github/workflows/release\.yml@refs/tags/v.*`, true},
		{"matches only a part", `https://ci\.example/acme/`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newTestCatalog(nil, "")
			c.files["products/acme/publisher.toml"].Data = fmt.Appendf(nil, "name = \"Acme\"\n\n[[signers]]\nissuer = %q\nsubject_regexp = %q\n", testIssuer, tc.regexp)
			c.addProduct("app", build{version: "1.0.0", image: ref.String()})
			report, ds := Verify(context.Background(), c.files, c.load(t), nil, f.options())
			if got := report.Images[0].Result.Verified; got != tc.ok {
				t.Errorf("verified = %v, want %v; diagnostics:\n%s", got, tc.ok, diagText(ds))
			}
		})
	}
}

// TestSignerDeclarations checks that unusable signers are reported on publisher.toml.
func TestSignerDeclarations(t *testing.T) {
	f := newFixture(t)
	ref := f.reg.push(t, "acme/app", makeImage(t, okImage()))
	sign(t, ref, f.key.signer, signOpts{})
	c := newTestCatalog(nil, "")
	c.files["products/acme/publisher.toml"].Data = []byte("name = \"Acme\"\n\n[[signers]]\nkey = \"missing.pub\"\n\n[[signers]]\nkey = \"../other/cosign.pub\"\n\n[[signers]]\nkey = \"notakey.pub\"\n")
	c.files["products/acme/notakey.pub"] = &fstest.MapFile{Data: []byte("hello")}
	c.addProduct("app", build{version: "1.0.0", image: ref.String()})
	_, ds := Verify(context.Background(), c.files, c.load(t), nil, f.options())
	want := []string{
		"products/acme/app.toml:7:9: error: acme/app 1.0.0 ({digest}): publisher acme declares no usable signer (cannot use signing key products/acme/missing.pub: file does not exist; signing key \"../other/cosign.pub\" must be a file inside products/acme/; cannot use signing key products/acme/notakey.pub: not a PEM public key: PEM decoding failed)",
		"products/acme/publisher.toml:4:7: error: cannot use signing key products/acme/missing.pub: file does not exist",
		"products/acme/publisher.toml:7:7: error: signing key \"../other/cosign.pub\" must be a file inside products/acme/",
		"products/acme/publisher.toml:10:7: error: cannot use signing key products/acme/notakey.pub: not a PEM public key: PEM decoding failed",
	}
	if diff := cmp.Diff(want, lines(ds, map[string]string{ref.DigestStr(): "{digest}"})); diff != "" {
		t.Errorf("diagnostics (-want +got):\n%s", diff)
	}
}

// TestSharedDigest checks that builds of two publishers pinning one digest are each checked
// against their own publisher's signers.
func TestSharedDigest(t *testing.T) {
	f := newFixture(t)
	ref := f.reg.push(t, "acme/app", makeImage(t, okImage()))
	sign(t, ref, f.key.signer, signOpts{})
	c := newTestCatalog(f.key.pub, "")
	c.addProduct("app", build{version: "1.0.0", image: ref.String()}, build{version: "1.0.1", image: ref.String()})
	c.files["products/beta/publisher.toml"] = &fstest.MapFile{Data: []byte("name = \"Beta\"\n\n[[signers]]\nkey = \"cosign.pub\"\n")}
	c.files["products/beta/cosign.pub"] = &fstest.MapFile{Data: f.other.pub}
	c.files["products/beta/mirror.toml"] = c.files["products/acme/app.toml"]
	report, ds := Verify(context.Background(), c.files, c.load(t), nil, f.options())
	want := []string{
		"products/beta/mirror.toml:7:9: error: beta/mirror 1.0.0 ({digest}): no signature by a signer of publisher beta verifies: signature 1 does not verify with products/beta/cosign.pub (another key signed it, or its payload or signature was altered)",
		"products/beta/mirror.toml:16:9: error: beta/mirror 1.0.1 ({digest}): no signature by a signer of publisher beta verifies: signature 1 does not verify with products/beta/cosign.pub (another key signed it, or its payload or signature was altered)",
	}
	if diff := cmp.Diff(want, lines(ds, map[string]string{ref.DigestStr(): "{digest}"})); diff != "" {
		t.Errorf("diagnostics (-want +got):\n%s", diff)
	}
	if len(report.Images) != 1 || len(report.Images[0].Result.Builds) != 4 {
		t.Fatalf("want one image pinned by four builds, got %+v", report.Images)
	}
}
