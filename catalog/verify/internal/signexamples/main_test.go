package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hspc/marketplace/catalog"
	"github.com/hspc/marketplace/catalog/verify"
)

const (
	digest1 = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	digest2 = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
)

// smallCatalog is a catalog with two publishers, one of which declared a keyless signer.
var smallCatalog = map[string]string{
	"index.toml": "[catalog]\nname = \"Example\"\n\n[policy]\nrequire_signatures = true\n",
	"products/acme/publisher.toml": `name = "Acme Health"
url = "https://acme.example"
maintainers = ["acme-bot"]

[[signers]]                            # keyless
issuer = "https://token.actions.githubusercontent.com"
subject = "https://github.com/acme/fhir/.github/workflows/release.yml@refs/heads/main"
`,
	"products/acme/fhir.toml": `name = "Acme FHIR"
summary = "FHIR server"
license = "Apache-2.0"

[[builds]]
version = "1.0.0"
image = "ghcr.io/acme/fhir:1.0.0@` + digest1 + `"

[[builds]]
version = "1.1.0"
image = "ghcr.io/acme/fhir@` + digest2 + `"
`,
	"products/beta/publisher.toml": "name = \"Beta\"\nsigners = [\n  { issuer = \"https://x\", subject = \"y\" },\n]\ncontact = \"mailto:b@example\"\n",
	"products/beta/app.toml":       "name = \"Beta app\"\nsummary = \"x\"\nlicense = \"MIT\"\n\n[[builds]]\nversion = \"0.1.0\"\nimage = \"beta/app@" + digest1 + "\"\n",
}

func TestSignExamples(t *testing.T) {
	root := t.TempDir()
	for name, data := range smallCatalog {
		file := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var out bytes.Buffer
	if err := run(context.Background(), root, &out); err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), "signed 2 digests of 2 publishers into "+filepath.Join(root, "signatures")+"\n"; got != want {
		t.Errorf("output = %q, want %q", got, want)
	}

	got, _ := os.ReadFile(filepath.Join(root, "products/acme/publisher.toml"))
	want := "name = \"Acme Health\"\nurl = \"https://acme.example\"\nmaintainers = [\"acme-bot\"]\n\n[[signers]]\nkey = \"cosign.pub\"\n"
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("acme publisher.toml (-want +got):\n%s", diff)
	}
	got, _ = os.ReadFile(filepath.Join(root, "products/beta/publisher.toml"))
	want = "name = \"Beta\"\ncontact = \"mailto:b@example\"\n\n[[signers]]\nkey = \"cosign.pub\"\n"
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("beta publisher.toml (-want +got):\n%s", diff)
	}

	// No private key anywhere in the catalog.
	filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, _ := os.ReadFile(path)
		if bytes.Contains(data, []byte("PRIVATE KEY")) {
			t.Errorf("%s holds a private key", path)
		}
		return nil
	})

	// A fresh clone verifies every build offline from the committed material.
	fsys := os.DirFS(root)
	material := filepath.Join(root, "signatures")
	verifyOffline := func(dir string) (*verify.Report, catalog.Diagnostics) {
		c, ds := catalog.Load(fsys)
		if ds.HasErrors() {
			t.Fatal(ds)
		}
		return verify.Verify(context.Background(), fsys, c, nil, verify.Options{Offline: true, Material: dir})
	}
	report, ds := verifyOffline(material)
	if len(ds) > 0 {
		t.Fatalf("offline verification of the signed copy:\n%v", ds)
	}
	for _, m := range report.Images {
		for _, b := range m.Result.Builds {
			if !b.Verified || !strings.HasSuffix(b.Signer, "/cosign.pub") {
				t.Errorf("%s %s: %+v", b.Product, b.Version, b)
			}
		}
	}
	// digest1 is pinned by both publishers, each signature verifying with its own key.
	if m := report.Image(digest1); m == nil || len(m.Signatures) != 2 {
		t.Errorf("material of %s: %+v", digest1, m)
	}

	// Flip one byte of one signature: that build fails, the others still verify.
	flipped := t.TempDir()
	entries, _ := os.ReadDir(material)
	for _, e := range entries {
		data, _ := os.ReadFile(filepath.Join(material, e.Name()))
		if e.Name() == verify.FileName(digest2) {
			var m verify.Material
			if err := json.Unmarshal(data, &m); err != nil {
				t.Fatal(err)
			}
			sig, _ := base64.StdEncoding.DecodeString(m.Signatures[0].Signature)
			sig[10] ^= 0x01
			m.Signatures[0].Signature = base64.StdEncoding.EncodeToString(sig)
			data, _ = m.Marshal()
		}
		os.WriteFile(filepath.Join(flipped, e.Name()), data, 0o644)
	}
	_, ds = verifyOffline(flipped)
	if len(ds) != 1 || !strings.Contains(ds[0].String(), "products/acme/fhir.toml:11:9: error: acme/fhir 1.1.0 ("+digest2+"): no signature by a signer of publisher acme verifies") {
		t.Errorf("after flipping a byte:\n%v", ds)
	}
}
