package verify

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	"github.com/hspc/marketplace/catalog"
)

// noNetwork fails any request: offline verification must not send one.
func noNetwork(t *testing.T) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		t.Errorf("offline verification sent %s %s", r.Method, r.URL)
		return nil, errors.New("offline")
	})
}

func TestOfflineReverification(t *testing.T) {
	f := newFixture(t)
	c := newTestCatalog(f.key.pub, "")
	keyRef := f.reg.push(t, "acme/app", makeImage(t, okImage()))
	sign(t, keyRef, f.key.signer, signOpts{})
	s, cert := f.ca.issue(t, testIssuer, testSubject)
	i386 := okImage()
	i386.arch = "386"
	keylessRef := f.reg.pushIndex(t, "acme/app", makeIndex(t, okImage(), i386))
	sign(t, keylessRef, s, signOpts{certificate: cert, chain: f.ca.rootPEM})
	c.addProduct("app",
		build{version: "1.0.0", image: keyRef.String()},
		build{version: "2.0.0", image: keylessRef.String(), platforms: []string{"linux/amd64", "linux/386"}})
	cat := c.load(t)

	online, ds := Verify(context.Background(), c.files, cat, nil, f.options())
	if len(ds) > 0 {
		t.Fatalf("online:\n%s", diagText(ds))
	}
	material := t.TempDir()
	if err := online.WriteMaterial(material); err != nil {
		t.Fatal(err)
	}
	offline := func(t *testing.T, dir string, files fstest.MapFS) (*Report, []string) {
		t.Helper()
		opts := f.options()
		opts.Offline, opts.Material, opts.Transport = true, dir, noNetwork(t)
		cat, lds := catalog.Load(files)
		if lds.HasErrors() {
			t.Fatal(diagText(lds))
		}
		r, ds := Verify(context.Background(), files, cat, nil, opts)
		return r, lines(ds, map[string]string{keyRef.DigestStr(): "{key}", keylessRef.DigestStr(): "{keyless}", dir: "{dir}"})
	}

	t.Run("untouched material verifies", func(t *testing.T) {
		r, got := offline(t, material, c.files)
		if len(got) > 0 {
			t.Fatalf("diagnostics:\n%s", strings.Join(got, "\n"))
		}
		for _, m := range r.Images {
			if !m.Result.Verified || m.Image == nil {
				t.Errorf("%s: verified %v, facts %v", m.Digest, m.Result.Verified, m.Image != nil)
			}
		}
		// Offline material re-written is byte for byte what the online run wrote.
		again := t.TempDir()
		if err := r.WriteMaterial(again); err != nil {
			t.Fatal(err)
		}
		for _, m := range r.Images {
			a, _ := os.ReadFile(filepath.Join(material, FileName(m.Digest)))
			b, _ := os.ReadFile(filepath.Join(again, FileName(m.Digest)))
			if !bytes.Equal(a, b) {
				t.Errorf("%s: offline material differs from online material", m.Digest)
			}
		}
	})

	// edit copies the material, changes one file and verifies offline.
	edit := func(t *testing.T, digest string, change func(m *Material)) []string {
		t.Helper()
		dir := t.TempDir()
		entries, _ := os.ReadDir(material)
		for _, e := range entries {
			data, _ := os.ReadFile(filepath.Join(material, e.Name()))
			if e.Name() == FileName(digest) {
				var m Material
				if err := json.Unmarshal(data, &m); err != nil {
					t.Fatal(err)
				}
				change(&m)
				var err error
				if data, err = m.Marshal(); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(filepath.Join(dir, e.Name()), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		_, got := offline(t, dir, c.files)
		return got
	}
	flip := func(b64 string) string {
		raw, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			t.Fatal(err)
		}
		raw[len(raw)/2] ^= 1
		return base64.StdEncoding.EncodeToString(raw)
	}
	const keyFail = "products/acme/app.toml:7:9: error: acme/app 1.0.0 ({key}): no signature by a signer of publisher acme verifies: signature 1 does not verify with products/acme/cosign.pub (another key signed it, or its payload or signature was altered)"

	tests := []struct {
		name   string
		digest string
		change func(m *Material)
		want   []string
	}{
		{
			name: "one signature byte flipped", digest: keyRef.DigestStr(),
			change: func(m *Material) { m.Signatures[0].Signature = flip(m.Signatures[0].Signature) },
			want:   []string{keyFail},
		},
		{
			name: "one payload byte flipped", digest: keyRef.DigestStr(),
			change: func(m *Material) { m.Signatures[0].Payload = flip(m.Signatures[0].Payload) },
			want:   []string{keyFail},
		},
		{
			name: "payload rewritten to name the digest of another build", digest: keyRef.DigestStr(),
			change: func(m *Material) {
				p, _ := base64.StdEncoding.DecodeString(m.Signatures[0].Payload)
				p = bytes.ReplaceAll(p, []byte(keyRef.DigestStr()), []byte(keylessRef.DigestStr()))
				m.Signatures[0].Payload = base64.StdEncoding.EncodeToString(p)
			},
			want: []string{keyFail},
		},
		{
			name: "keyless certificate swapped for another identity's", digest: keylessRef.DigestStr(),
			change: func(m *Material) {
				_, other := f.ca.issue(t, testIssuer, "https://ci.example/mallory/x@refs/heads/main")
				m.Signatures[0].Certificate = string(other)
			},
			want: []string{"products/acme/app.toml:16:9: error: acme/app 2.0.0 ({keyless}): no signature by a signer of publisher acme verifies: signature 1 is by certificate identity https://ci.example/mallory/x@refs/heads/main (issuer https://token.actions.example), not by a declared signer"},
		},
		{
			name: "a verdict copied without signatures", digest: keyRef.DigestStr(),
			change: func(m *Material) { m.Signatures = nil },
			want:   []string{"products/acme/app.toml:7:9: error: acme/app 1.0.0 ({key}): the verification material holds no signature for this digest"},
		},
		{
			name: "manifest edited", digest: keylessRef.DigestStr(),
			change: func(m *Material) { m.Image.Manifest = strings.Replace(m.Image.Manifest, "386", "arm64", 1) },
			want: []string{"products/acme/app.toml:16:9: error: acme/app 2.0.0 ({keyless}): the verification material in {dir}/" + FileName(keylessRef.DigestStr()) +
				" does not match the digest: the recorded manifest hashes to sha256:"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := edit(t, tt.digest, tt.change)
			// The hash in the last case is not known in advance.
			for i := range got {
				if j := strings.Index(got[i], "hashes to sha256:"); j >= 0 {
					got[i] = got[i][:j+len("hashes to sha256:")]
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("diagnostics (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("signer no longer declared", func(t *testing.T) {
		files := fstest.MapFS{}
		for k, v := range c.files {
			files[k] = v
		}
		files["products/acme/cosign.pub"] = &fstest.MapFile{Data: f.other.pub}
		_, got := offline(t, material, files)
		if diff := cmp.Diff([]string{keyFail}, got); diff != "" {
			t.Errorf("diagnostics (-want +got):\n%s", diff)
		}
	})

	t.Run("the same digest declared in another repository", func(t *testing.T) {
		// Someone copies the signed image to a repository of their own and declares it: the
		// material's signature names the original repository, so it vouches for nothing here.
		files := fstest.MapFS{}
		for k, v := range c.files {
			files[k] = v
		}
		copied := f.reg.host + "/mallory/app@" + keyRef.DigestStr()
		data := bytes.Replace(files["products/acme/app.toml"].Data, []byte(keyRef.String()), []byte(copied), 1)
		files["products/acme/app.toml"] = &fstest.MapFile{Data: data}
		_, got := offline(t, material, files)
		want := []string{"products/acme/app.toml:7:9: error: acme/app 1.0.0 ({key}): no signature by a signer of publisher acme verifies: signature 1 is by products/acme/cosign.pub but names repository " +
			f.reg.host + "/acme/app, not " + f.reg.host + "/mallory/app"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("diagnostics (-want +got):\n%s", diff)
		}
	})

	t.Run("no material", func(t *testing.T) {
		_, got := offline(t, t.TempDir(), c.files)
		if len(got) != 2 || !strings.Contains(got[0], "no verification material for this digest in {dir}; verify online to record it") {
			t.Errorf("diagnostics:\n%s", strings.Join(got, "\n"))
		}
	})
}
