package trust_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"time"

	"github.com/hspc/marketplace/catalog/trust"
)

// An agent reads the catalog of a signed output through go-tuf's updater.
func ExampleClient_Fetch() {
	tmp, _ := os.MkdirTemp("", "trust-example-")
	defer os.RemoveAll(tmp)
	keyDir, out := filepath.Join(tmp, "keys"), filepath.Join(tmp, "public")

	// The publisher: keys, an output, signed.
	trust.Init(keyDir, trust.KeyOptions{Keys: 3, Threshold: 2})
	os.MkdirAll(filepath.Join(out, "api", "v1"), 0o755)
	os.WriteFile(filepath.Join(out, "api", "v1", "catalog.json"), []byte(`{"products":[]}`), 0o644)
	os.WriteFile(filepath.Join(out, "index.html"), []byte("<h1>not signed</h1>"), 0o644)
	keys, _ := trust.LoadKeys(keyDir)
	signed, _ := trust.Sign(out, out, keys, trust.SignOptions{TimestampExpiry: 7 * 24 * time.Hour})
	fmt.Println("signed files:", signed.Files)
	srv := httptest.NewServer(http.FileServer(http.Dir(out)))
	defer srv.Close()

	// The agent, configured with the publisher's root.json.
	root, _ := os.ReadFile(filepath.Join(keyDir, "root.json"))
	data, err := trust.Client{
		MetadataURL: srv.URL + "/tuf/",
		LocalDir:    filepath.Join(tmp, "agent"),
		TrustedRoot: root,
	}.Fetch(context.Background(), "api/v1/catalog.json")
	fmt.Println(string(data), err)

	// Eight days later, with no new signature, the same output is refused.
	_, err = trust.Client{
		MetadataURL: srv.URL + "/tuf/",
		LocalDir:    filepath.Join(tmp, "agent"),
		TrustedRoot: root,
		RefTime:     time.Now().Add(8 * 24 * time.Hour),
	}.Fetch(context.Background(), "api/v1/catalog.json")
	if r, ok := err.(*trust.Refusal); ok {
		fmt.Println("refused:", r.Kind)
	}
	// Output:
	// signed files: 1
	// {"products":[]} <nil>
	// refused: freeze
}
