package cli

import (
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// gitIn runs the git program (a second client, in tests only) in dir with fixed identities.
func gitIn(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=Ann", "GIT_AUTHOR_EMAIL=ann@example.org",
		"GIT_COMMITTER_NAME=Ann", "GIT_COMMITTER_EMAIL=ann@example.org", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	if out, err := exec.Command("cp", "-R", from, to).CombinedOutput(); err != nil {
		t.Fatalf("cp %s: %v\n%s", from, err, out)
	}
}

// TestPrivateMarketplaceResigns runs what a hospital's operator does with a partner that
// publishes a signed output: the partner builds and signs its catalog; the hospital's upstreams
// update verifies that site and pins only what it signed (also from media, at a reference
// time); and the hospital signs its merged output with its own root, which its agents trust.
func TestPrivateMarketplaceResigns(t *testing.T) {
	tmp := t.TempDir()
	// The partner: the example catalog in a Git repository, built and signed with its root.
	up := filepath.Join(tmp, "partner")
	os.MkdirAll(up, 0o755)
	for _, f := range []string{"index.toml", "signatures", "products"} {
		copyDir(t, filepath.Join("../../..", f), filepath.Join(up, f))
	}
	gitIn(t, up, "init", "-q", "-b", "main")
	gitIn(t, up, "add", "-A")
	gitIn(t, up, "commit", "-q", "-m", "partner catalog")
	partnerKeys, site := filepath.Join(tmp, "partner-keys"), filepath.Join(tmp, "partner-site")
	if code, out, errOut := run(t, "trust", "init", partnerKeys, "--keys", "1", "--threshold", "1"); code != ExitOK {
		t.Fatalf("trust init: %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := run(t, "-C", up, "build", "--offline", "-o", site, "--sign", partnerKeys); code != ExitOK {
		t.Fatalf("partner build --sign: %d\n%s%s", code, out, errOut)
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(site)))
	defer srv.Close()

	// The hospital: a catalog federating the partner, with its site and its root.
	hosp := filepath.Join(tmp, "hospital")
	os.MkdirAll(hosp, 0o755)
	root, err := os.ReadFile(filepath.Join(partnerKeys, "root.json"))
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(hosp, "upstreams"), 0o755)
	os.MkdirAll(filepath.Join(hosp, "products"), 0o755)
	os.WriteFile(filepath.Join(hosp, "upstreams", "partner-root.json"), root, 0o644)
	os.WriteFile(filepath.Join(hosp, "index.toml"), []byte(`[catalog]
name = "Riverside Hospital"
base_url = "https://marketplace.riverside.example/"

[[upstreams]]
name = "partner"
url = "`+up+`"
publishers = ["*"]
site = "`+srv.URL+`/"
root = "upstreams/partner-root.json"
`), 0o644)
	cache := filepath.Join(tmp, "cache")
	update := func(extra ...string) (int, string) {
		code, out, errOut := run(t, append([]string{"-C", hosp, "upstreams", "update", "--upstreams-cache", cache}, extra...)...)
		return code, out + errOut
	}
	code, out := update()
	if code != ExitOK || !strings.Contains(out, "partner: verified against its signed site (timestamp v1)") {
		t.Fatalf("upstreams update: exit %d\n%s", code, out)
	}

	// Offline: the partner's output carried in on media, checked at a reference time.
	media := filepath.Join(tmp, "media")
	copyDir(t, site, media)
	code, out = update("--site", "partner="+media, "--at", time.Now().Add(48*time.Hour).UTC().Format(time.RFC3339))
	if code != ExitOK {
		t.Fatalf("upstreams update from media: exit %d\n%s", code, out)
	}
	code, out = update("--site", "partner="+media, "--at", time.Now().Add(30*24*time.Hour).UTC().Format(time.RFC3339))
	if code != ExitProblems || !strings.Contains(out, "index.toml:9:8: error: upstream \"partner\": signed site "+media+": refused (freeze)") {
		t.Fatalf("upstreams update from media a month later: exit %d\n%s", code, out)
	}

	// The partner's Git repository gains a product its signed site does not carry.
	fhir, _ := os.ReadFile(filepath.Join(up, "products", "acme", "fhir.toml"))
	os.WriteFile(filepath.Join(up, "products", "acme", "fhir-next.toml"), fhir, 0o644)
	gitIn(t, up, "add", "-A")
	gitIn(t, up, "commit", "-q", "-m", "unpublished product")
	code, out = update()
	if code != ExitProblems || !strings.Contains(out, "partner:products/acme/fhir-next.toml:1:1: error: upstream partner: product acme/fhir-next is not in its signed catalog (timestamp v1)") {
		t.Fatalf("upstreams update of an unsigned product: exit %d\n%s", code, out)
	}
	gitIn(t, up, "rm", "-q", "products/acme/fhir-next.toml")
	gitIn(t, up, "commit", "-q", "-m", "withdrawn")
	if code, out = update(); code != ExitOK {
		t.Fatalf("upstreams update after the product is withdrawn: exit %d\n%s", code, out)
	}

	// The hospital signs its merged output with its own root; its agents trust that root only.
	hospKeys, public := filepath.Join(tmp, "hospital-keys"), filepath.Join(tmp, "public")
	if code, out, errOut := run(t, "trust", "init", hospKeys, "--keys", "1", "--threshold", "1"); code != ExitOK {
		t.Fatalf("trust init: %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := run(t, "-C", hosp, "build", "--offline", "--upstreams-cache", cache, "-o", public, "--sign", hospKeys); code != ExitOK {
		t.Fatalf("hospital build --sign: %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := run(t, "trust", "verify", public, "--root", filepath.Join(hospKeys, "root.json"), "--state", filepath.Join(tmp, "agent-a")); code != ExitOK {
		t.Fatalf("trust verify with the hospital's root: %d\n%s%s", code, out, errOut)
	}
	code, _, errOut := run(t, "trust", "verify", public, "--root", filepath.Join(partnerKeys, "root.json"), "--state", filepath.Join(tmp, "agent-b"))
	if code != ExitProblems || !strings.Contains(errOut, "refused (wrong key)") {
		t.Fatalf("trust verify of the hospital's output with the partner's root: exit %d\n%s", code, errOut)
	}
}
