package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Execute(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestValidateExampleCatalog(t *testing.T) {
	code, out, errOut := run(t, "-C", "../../..", "validate")
	if code != ExitOK || out != "" {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if !strings.Contains(errOut, "0 errors, 0 warnings") {
		t.Errorf("summary = %q", errOut)
	}
}

func TestValidateReportsProblems(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("index.toml", "[catalog]\nname = \"T\"\n")
	write("products/acme/publisher.toml", "name = \"Acme\"\nmaintainers = [\"acme\"]\n[[signers]]\nissuer = \"https://issuer.example\"\nsubject = \"me\"\n")
	write("products/acme/x.toml", "name = \"X\"\nsummary = \"x\"\nlicense = \"MIT\"\n[[builds]]\nversion = \"1.0.0\"\nimage = \"r/x:1.0.0\"\n  [[builds.tasks]]\n  name = \"web\"\n  memroy = 5\n")

	code, out, _ := run(t, "-C", dir, "validate")
	if code != ExitProblems {
		t.Fatalf("exit %d, want 1\n%s", code, out)
	}
	for _, want := range []string{
		"products/acme/x.toml:6:9: error: image \"r/x:1.0.0\" is pinned by tag only",
		"products/acme/x.toml:9:3: error: unknown key \"memroy\"; did you mean \"memory\"?",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = run(t, "-C", dir, "validate", "--format", "github", "products/acme/x.toml")
	if code != ExitProblems || !strings.Contains(out, "::error file=products/acme/x.toml,line=6,col=9,title=marketplace::image") {
		t.Errorf("github format: exit %d\n%s", code, out)
	}
	// Only the named files count: publisher.toml is clean, so the exit status is 0.
	code, out, _ = run(t, "-C", dir, "validate", "products/acme/publisher.toml")
	if code != ExitOK || strings.Contains(out, "x.toml") {
		t.Errorf("a PATH filter still shows other files: exit %d\n%s", code, out)
	}
	if code, _, errOut := run(t, "-C", dir, "validate", "--format", "xml"); code != ExitUsage || !strings.Contains(errOut, "unknown --format") {
		t.Errorf("bad format: exit %d, %s", code, errOut)
	}
	if code, _, _ := run(t, "-C", filepath.Join(dir, "nowhere"), "validate"); code != ExitUsage {
		t.Errorf("missing catalog: exit %d, want 2", code)
	}
}

func TestNewScaffoldsAValidProduct(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "index.toml"), []byte("[catalog]\nname = \"T\"\n"), 0o644)
	os.Mkdir(filepath.Join(dir, "products"), 0o755)
	code, out, errOut := run(t, "-C", dir, "new", "acme/fhir")
	if code != ExitOK {
		t.Fatalf("new: exit %d: %s", code, errOut)
	}
	for _, f := range []string{"products/acme/fhir.toml", "products/acme/publisher.toml", "products/acme/fhir/logo.svg"} {
		if !strings.Contains(out, "created "+f) {
			t.Errorf("new did not report %s:\n%s", f, out)
		}
	}
	if code, out, errOut := run(t, "-C", dir, "validate"); code != ExitOK || out != "" || !strings.Contains(errOut, "0 warnings") {
		t.Errorf("scaffold does not validate clean: exit %d\n%s%s", code, out, errOut)
	}
	before, _ := os.ReadFile(filepath.Join(dir, "products/acme/fhir.toml"))
	if code, _, errOut := run(t, "-C", dir, "new", "acme/fhir"); code != ExitUsage || !strings.Contains(errOut, "already exists") {
		t.Errorf("second new: exit %d: %s", code, errOut)
	}
	after, _ := os.ReadFile(filepath.Join(dir, "products/acme/fhir.toml"))
	if !bytes.Equal(before, after) {
		t.Error("new overwrote a file")
	}
	if code, _, _ := run(t, "-C", dir, "new", "Acme/Bad_Name"); code != ExitUsage {
		t.Errorf("bad ID: exit %d, want 2", code)
	}
}

func TestVerifyOfflineExampleCatalog(t *testing.T) {
	code, out, errOut := run(t, "-C", "../../..", "verify", "--offline", "--cache", "")
	if code != ExitOK || out != "" {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	if !strings.Contains(errOut, "images signed by a declared signer; 0 errors, 0 warnings") {
		t.Errorf("summary = %q", errOut)
	}
	if code, _, errOut := run(t, "-C", "../../..", "verify", "--offline", "no/such"); code != ExitUsage {
		t.Errorf("unknown product: exit %d %s", code, errOut)
	}
}
