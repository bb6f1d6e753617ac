package verify

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/hspc/marketplace/catalog"
)

// TestExampleCatalogOffline verifies the repository's own example catalog from its committed
// signature material (signatures/, written by internal/signexamples), as a fresh clone would
// without a network, and checks that one flipped byte makes it fail.
func TestExampleCatalogOffline(t *testing.T) {
	root := filepath.Join("..", "..")
	material := filepath.Join(root, "signatures")
	if _, err := os.Stat(material); err != nil {
		t.Skipf("the example catalog is not signed yet (no %s): run go run ./catalog/verify/internal/signexamples", material)
	}
	fsys := os.DirFS(root)
	c, lds := catalog.Load(fsys)
	if lds.HasErrors() {
		t.Fatalf("loading the example catalog:\n%s", diagText(lds))
	}
	opts := Options{Offline: true, Material: material, Transport: noNetwork(t)}
	report, ds := Verify(context.Background(), fsys, c, nil, opts)
	for _, d := range ds {
		if d.Severity == catalog.Error {
			t.Errorf("%s", d)
		}
	}
	if len(report.Images) == 0 {
		t.Fatal("the example catalog pins no image")
	}
	for _, m := range report.Images {
		if !m.Result.Verified {
			t.Errorf("%s does not verify: %+v", m.Digest, m.Result)
		}
	}

	// Flip one byte of the first signature.
	flipped := t.TempDir()
	entries, err := os.ReadDir(material)
	if err != nil {
		t.Fatal(err)
	}
	target := report.Images[0].Digest
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(material, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if e.Name() == FileName(target) {
			var m Material
			if err := json.Unmarshal(data, &m); err != nil {
				t.Fatal(err)
			}
			sig, err := base64.StdEncoding.DecodeString(m.Signatures[0].Signature)
			if err != nil {
				t.Fatal(err)
			}
			sig[len(sig)/2] ^= 0x01
			m.Signatures[0].Signature = base64.StdEncoding.EncodeToString(sig)
			if data, err = m.Marshal(); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(flipped, e.Name()), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	opts.Material = flipped
	report, ds = Verify(context.Background(), fsys, c, nil, opts)
	if report.Image(target).Result.Verified || !ds.HasErrors() {
		t.Errorf("%s still verifies with a flipped signature byte", target)
	}
}
