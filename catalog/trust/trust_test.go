package trust

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestIsTarget(t *testing.T) {
	for _, tt := range []struct {
		name string
		want bool
	}{
		{"api/v1/catalog.json", true},
		{"api/v1/products/acme/fhir.json", true},
		{"api/v1/search.json", true},
		{"feed.json", true},
		{"deploy/acme/fhir@1.0.0.kubernetes.yaml", true},
		{"signatures/sha256-00.json", true},
		{"index.html", false},
		{"products/acme/fhir/index.html", false},
		{"search.bleve/store/root.bolt", false},
		{"tuf/timestamp.json", false},
	} {
		if got := IsTarget(tt.name); got != tt.want {
			t.Errorf("IsTarget(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestInitRefusesBadThresholdsAndExistingFolders(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	if _, err := Init(dir, KeyOptions{Keys: 2, Threshold: 3}); err == nil || !strings.Contains(err.Error(), "threshold 3 of 2 keys") {
		t.Errorf("threshold 3 of 2: %v", err)
	}
	if _, err := Init(dir, KeyOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := Init(dir, KeyOptions{}); err == nil {
		t.Error("init over an existing key folder succeeded")
	}
}

func TestLoadKeysRefusesAnOnlineKeyTheRootDoesNotName(t *testing.T) {
	a, b := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	for _, d := range []string{a, b} {
		if _, err := Init(d, KeyOptions{Keys: 1, Now: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	// b's timestamp key in a's folder.
	data, err := os.ReadFile(filepath.Join(b, onlineDir, "timestamp.pem"))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(a, onlineDir, "timestamp.pem")
	os.Remove(p)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKeys(a); err == nil || !strings.Contains(err.Error(), "is not in root v1; run marketplace trust rotate --online") {
		t.Errorf("LoadKeys = %v, want a refusal naming the foreign timestamp key", err)
	}
}
