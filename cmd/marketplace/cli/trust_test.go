package cli

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hspc/marketplace/catalog"
)

// TestTrustSignAndMirrorSite runs what an operator does: create keys, build and sign, re-sign,
// then mirror the published site over HTTP and sync it.
func TestTrustSignAndMirrorSite(t *testing.T) {
	tmp := t.TempDir()
	keys, out := filepath.Join(tmp, "keys"), filepath.Join(tmp, "public")

	code, stdout, stderr := run(t, "trust", "init", keys, "--keys", "3", "--threshold", "2")
	if code != ExitOK {
		t.Fatalf("trust init: exit %d\n%s%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "created root v1: 2 of 3 root keys must sign") || strings.Contains(stdout, "PRIVATE") {
		t.Errorf("trust init printed:\n%s", stdout)
	}
	code, stdout, stderr = run(t, "trust", "init", keys)
	if code != ExitUsage || !strings.Contains(stderr, "not empty") {
		t.Errorf("trust init over an existing folder: exit %d\n%s", code, stderr)
	}

	code, stdout, stderr = run(t, "-C", "../../..", "build", "--offline", "-o", out, "--sign", keys)
	if code != ExitOK {
		t.Fatalf("build --sign: exit %d\n%s%s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "timestamp v1") {
		t.Errorf("build --sign printed:\n%s", stderr)
	}
	code, _, stderr = run(t, "-C", "../../..", "sign", out, "--keys", keys)
	if code != ExitOK || !strings.Contains(stderr, "timestamp v2") {
		t.Fatalf("sign: exit %d\n%s", code, stderr)
	}

	// The output checked from a folder, as from media, at reference times.
	root := filepath.Join(keys, "root.json")
	code, stdout, stderr = run(t, "trust", "verify", out, "--root", root)
	if code != ExitOK || !strings.Contains(stdout, "signed files verified") || !strings.Contains(stdout, "timestamp v2") {
		t.Fatalf("trust verify: exit %d\n%s%s", code, stdout, stderr)
	}
	code, _, stderr = run(t, "trust", "verify", out, "--root", root, "--at", time.Now().Add(30*24*time.Hour).UTC().Format(time.RFC3339))
	if code != ExitProblems || !strings.Contains(stderr, "refused (freeze)") {
		t.Fatalf("trust verify a month later: exit %d\n%s", code, stderr)
	}

	srv := httptest.NewServer(http.FileServer(http.Dir(out)))
	defer srv.Close()
	mirror := filepath.Join(tmp, "mirror")
	code, _, stderr = run(t, "mirror", "clone", srv.URL+"/", mirror, "--root", root)
	if code != ExitOK || !strings.Contains(stderr, "timestamp v2") {
		t.Fatalf("mirror clone: exit %d\n%s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(mirror, "site", "api", "v1", "catalog.json")); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = run(t, "mirror", "sync", mirror)
	if code != ExitOK || !strings.Contains(stderr, "up to date at timestamp v2") {
		t.Fatalf("mirror sync: exit %d\n%s", code, stderr)
	}

	// A root rotation is published by the next signing; the mirror follows it.
	code, stdout, stderr = run(t, "trust", "rotate", keys, "--online")
	if code != ExitOK || !strings.Contains(stdout, "rotated to root v2") {
		t.Fatalf("trust rotate: exit %d\n%s%s", code, stdout, stderr)
	}
	if code, _, stderr = run(t, "sign", out, "--keys", keys, "-C", "../../.."); code != ExitOK {
		t.Fatalf("sign after rotation: exit %d\n%s", code, stderr)
	}
	code, _, stderr = run(t, "mirror", "sync", mirror)
	if code != ExitOK || !strings.Contains(stderr, "timestamp v3") {
		t.Fatalf("mirror sync after rotation: exit %d\n%s", code, stderr)
	}
}

func TestDeployWithRegistryMap(t *testing.T) {
	// The map marketplace mirror images writes, for the latest build of hspc/fhir-api.
	code, manifest, stderr := run(t, "-C", "../../..", "deploy", "hspc/fhir-api", "--format", "compose")
	if code != ExitOK {
		t.Fatalf("deploy: exit %d\n%s", code, stderr)
	}
	var image string
	for _, line := range strings.Split(manifest, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "image: ") {
			image = strings.TrimPrefix(strings.TrimSpace(line), "image: ")
			break
		}
	}
	ref, err := catalog.ParseImageRef(image)
	if err != nil {
		t.Fatalf("the manifest's image %q: %v", image, err)
	}
	m := catalog.NewRegistryMap("registry.hospital.internal/hsp")
	m.Add(ref, "registry.hospital.internal/hsp/fhir-api")
	data, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	mapFile := filepath.Join(t.TempDir(), "registry-map.json")
	if err := os.WriteFile(mapFile, data, 0o644); err != nil {
		t.Fatal(err)
	}
	code, manifest, stderr = run(t, "-C", "../../..", "deploy", "hspc/fhir-api", "--format", "compose", "--registry-map", mapFile)
	want := "image: registry.hospital.internal/hsp/fhir-api:" + ref.Tag + "@" + ref.Digest
	if code != ExitOK || !strings.Contains(manifest, want) {
		t.Fatalf("deploy --registry-map: exit %d, want %q in\n%s%s", code, want, manifest, stderr)
	}
	// An older build the map lacks keeps its reference, with a note.
	code, manifest, stderr = run(t, "-C", "../../..", "deploy", "hspc/fhir-api@3.8.0", "--format", "compose", "--registry-map", mapFile)
	if code != ExitOK || !strings.Contains(stderr, "is not in "+mapFile) || strings.Contains(manifest, "registry.hospital.internal") {
		t.Errorf("deploy of an unmapped build: exit %d, want the publisher's reference and a note\n%s", code, stderr)
	}

	code, _, stderr = run(t, "-C", "../../..", "mirror", "images")
	if code != ExitUsage || !strings.Contains(stderr, "--to REGISTRY is required") {
		t.Errorf("mirror images without --to: exit %d\n%s", code, stderr)
	}
}

// TestEnvExportWithRegistryMap exports the FHIR environment pulling from a private registry:
// every image of the manifests is the copy (same digest), the lock beside the environment keeps
// the publishers' references, and a map without a copy of a service's image is refused.
func TestEnvExportWithRegistryMap(t *testing.T) {
	dir := t.TempDir()
	envFile := filepath.Join(dir, "fhir.toml")
	data, err := os.ReadFile("../../../environments/fhir.toml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(envFile, data, 0o644); err != nil {
		t.Fatal(err)
	}
	c, ds := catalog.Load(os.DirFS("../../.."))
	if ds.HasErrors() {
		t.Fatal(ds)
	}
	full := catalog.NewRegistryMap("registry.hospital.internal/hsp")
	partial := catalog.NewRegistryMap("registry.hospital.internal/hsp")
	for _, id := range []string{"acme/fhir", "openhealth/postgres"} {
		for _, b := range c.Products[id].Builds {
			ref, err := catalog.ParseImageRef(b.Image)
			if err != nil {
				t.Fatal(err)
			}
			full.Add(ref, "registry.hospital.internal/hsp/"+id)
			if id == "acme/fhir" {
				partial.Add(ref, "registry.hospital.internal/hsp/"+id)
			}
		}
	}
	write := func(m *catalog.RegistryMap, name string) string {
		data, err := m.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	out := filepath.Join(dir, "out")
	code, _, stderr := run(t, "-C", "../../..", "env", "export", envFile, "-o", out, "--registry-map", write(full, "full.json"))
	if code != ExitOK {
		t.Fatalf("env export --registry-map: exit %d\n%s", code, stderr)
	}
	for _, f := range []string{"fhir.yaml", "db.yaml"} {
		manifest, err := os.ReadFile(filepath.Join(out, f))
		if err != nil {
			t.Fatal(err)
		}
		images := regexp.MustCompile(`image: (\S+)`).FindAllStringSubmatch(string(manifest), -1)
		if len(images) == 0 {
			t.Fatalf("%s has no image", f)
		}
		for _, m := range images {
			if !strings.HasPrefix(m[1], "registry.hospital.internal/hsp/") || !strings.Contains(m[1], "@sha256:") {
				t.Errorf("%s pulls %s, not the private registry's copy", f, m[1])
			}
		}
	}
	lock, err := os.ReadFile(filepath.Join(dir, "fhir.lock"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(lock), "registry.hospital.internal") {
		t.Errorf("the lock records the copies instead of the publishers' images:\n%s", lock)
	}
	code, _, stderr = run(t, "-C", "../../..", "env", "export", envFile, "-o", out, "--registry-map", write(partial, "partial.json"))
	if code != ExitProblems || !strings.Contains(stderr, "has no copy of ghcr.io/openhealth-community/postgres") {
		t.Errorf("a map without the database's image: exit %d\n%s", code, stderr)
	}
}

// TestDeployHeaderNamesTheFile: the command in a manifest's header applies the file it is in:
// the one -o names (quoted for the shell when it must be), else the name the site publishes.
func TestDeployHeaderNamesTheFile(t *testing.T) {
	code, manifest, stderr := run(t, "-C", "../../..", "deploy", "hspc/fhir-api@3.8.0", "--format", "kubernetes")
	if code != ExitOK {
		t.Fatalf("deploy: exit %d\n%s", code, stderr)
	}
	if !strings.Contains(manifest, "# Apply with: kubectl apply -f fhir-api@3.8.0.kubernetes.yaml ") {
		t.Errorf("standard output: the header does not apply the site's file name:\n%s", manifest[:min(len(manifest), 1500)])
	}
	out := filepath.Join(t.TempDir(), "fhir api.compose.yaml")
	if code, _, stderr := run(t, "-C", "../../..", "deploy", "hspc/fhir-api@3.8.0", "--format", "compose", "-o", out); code != ExitOK {
		t.Fatalf("deploy -o: exit %d\n%s", code, stderr)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "# Run with: docker compose -f 'fhir api.compose.yaml' up -d\n") {
		t.Errorf("-o %q: the header does not run that file:\n%s", out, data[:min(len(data), 1500)])
	}
}
