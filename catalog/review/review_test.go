package review

import (
	"bytes"
	"flag"
	"os"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"github.com/hspc/marketplace/catalog"
)

var update = flag.Bool("update", false, "rewrite testdata/*.md")

const indexTOML = `[catalog]
name = "T"
owners = ["owner"]

[[interfaces]]
id = "fhir"
name = "FHIR"
properties = ["url"]

[[interfaces]]
id = "postgresql"
name = "PostgreSQL"
properties = ["url"]

[[interfaces]]
id = "smtp"
name = "SMTP"
properties = ["url"]
`

const publisherTOML = "name = \"Acme\"\nmaintainers = [\"jdoe\"]\n" + signer

const signer = "[[signers]]\nissuer = \"https://issuer.example\"\nsubject = \"release\"\n"

const digest1 = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
const digest2 = "sha256:2222222222222222222222222222222222222222222222222222222222222222"

// product writes a product file with a build per version; extra is added to the last build.
func product(summary string, versions []string, digests []string, extra string) string {
	var b strings.Builder
	b.WriteString("name = \"FHIR\"\nsummary = \"" + summary + "\"\nlicense = \"MIT\"\n[identity]\ntracing = \"none\"\n")
	for i, v := range versions {
		b.WriteString("\n[[builds]]\nversion = \"" + v + "\"\nimage = \"ghcr.io/acme/fhir@" + digests[i] + "\"\n")
		b.WriteString("  [[builds.tasks]]\n  name = \"web\"\n  memory = 512\n")
		b.WriteString("  [[builds.parameters]]\n  name = \"DATABASE_URL\"\n  required = true\n")
		b.WriteString("  [[builds.dependencies]]\n  interface = \"postgresql\"\n  bind = { DATABASE_URL = \"url\" }\n")
		if i == len(versions)-1 {
			b.WriteString(extra)
		}
	}
	return b.String()
}

func load(t *testing.T, files fstest.MapFS) (*catalog.Catalog, catalog.Diagnostics) {
	t.Helper()
	return catalog.Check(files)
}

func catalogFS(files map[string]string) fstest.MapFS {
	fsys := fstest.MapFS{}
	for k, v := range files {
		fsys[k] = &fstest.MapFile{Data: []byte(v)}
	}
	return fsys
}

// reviewOf reviews the change from old to cur; the rules are old's.
func reviewOf(t *testing.T, old, cur map[string]string, author string, sigs map[string]Signature) *Result {
	t.Helper()
	ofs, nfs := catalogFS(old), catalogFS(cur)
	oc, _ := load(t, ofs)
	nc, checks := load(t, nfs)
	var files []string
	for k, v := range cur {
		if old[k] != v {
			files = append(files, k)
		}
	}
	for k := range old {
		if _, ok := cur[k]; !ok {
			files = append(files, k)
		}
	}
	return Review(Input{Old: oc, New: nc, OldFS: ofs, NewFS: nfs, Rules: oc, Files: files, Author: author, Checks: checks, Signatures: sigs})
}

func base() map[string]string {
	return map[string]string{
		"index.toml":                   indexTOML,
		"products/acme/publisher.toml": publisherTOML,
		"products/acme/fhir.toml":      product("FHIR server", []string{"1.0.0"}, []string{digest1}, ""),
	}
}

func with(m map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(out, kv[i])
		} else {
			out[kv[i]] = kv[i+1]
		}
	}
	return out
}

func TestBuildOnlyIsEligibleOnlyWhenSigned(t *testing.T) {
	cur := with(base(), "products/acme/fhir.toml", product("FHIR server", []string{"1.0.0", "1.1.0"}, []string{digest1, digest2}, ""))
	signed := map[string]Signature{digest2: {Verified: true, Signer: "products/acme/cosign.pub"}}

	res := reviewOf(t, base(), cur, "jdoe", signed)
	if !res.Eligible || res.Diagnostics.HasErrors() {
		t.Fatalf("eligible = %v, reasons %v, diagnostics %v", res.Eligible, res.Reasons, res.Diagnostics)
	}
	pc := res.Products[0]
	if pc.Kind != Modified || !pc.BuildsOnly || len(pc.NewBuilds) != 1 || pc.NewBuilds[0].Digest != digest2 || pc.NewBuilds[0].Signature.Signer != "products/acme/cosign.pub" {
		t.Errorf("product change = %+v", pc)
	}

	for _, tc := range []struct {
		name, author string
		sigs         map[string]Signature
		reason       string
	}{
		{"unsigned", "jdoe", nil, "acme/fhir 1.1.0: no verified signature"},
		{"bad signature", "jdoe", map[string]Signature{digest2: {Error: "no signature"}}, "acme/fhir 1.1.0: no verified signature"},
		{"no author", "", signed, "no pull request author given (--author)"},
		{"not a maintainer", "eve", signed, "@eve may not make every change without a review"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := reviewOf(t, base(), cur, tc.author, tc.sigs)
			if res.Eligible || !contains(res.Reasons, tc.reason) {
				t.Errorf("eligible = %v, reasons %q; want %q", res.Eligible, res.Reasons, tc.reason)
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestBreakingChangesAreCalledOut(t *testing.T) {
	smtp := "  [[builds.parameters]]\n  name = \"SMTP_URL\"\n  required = true\n  [[builds.dependencies]]\n  interface = \"smtp\"\n  bind = { SMTP_URL = \"url\" }\n"
	cur := with(base(), "products/acme/fhir.toml",
		product("FHIR R4 server", []string{"1.1.0"}, []string{digest2}, smtp))
	res := reviewOf(t, base(), cur, "jdoe", nil)
	pc := res.Products[0]
	want := &ProductChange{
		ID: "acme/fhir", Kind: Modified, Maintainers: []string{"jdoe"},
		NewBuilds:     []BuildChange{{Version: "1.1.0", Image: "ghcr.io/acme/fhir@" + digest2, Digest: digest2}},
		RemovedBuilds: []string{"1.0.0"},
		Fields:        []FieldChange{{Key: "summary", Old: `"FHIR server"`, New: `"FHIR R4 server"`}},
		Breaking: []string{
			"parameter `SMTP_URL` added, required: deployments must set it",
			"dependency on `smtp` added, required: deployments must provide it",
		},
	}
	if diff := cmp.Diff(want, pc); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if res.Eligible {
		t.Error("a change with removed builds and new parameters is eligible")
	}
}

func TestNewPublisherNeedsAnOwner(t *testing.T) {
	cur := with(base(),
		"products/newco/publisher.toml", "name = \"NewCo\"\nmaintainers = [\"neo\"]\n"+signer,
		"products/newco/app.toml", product("App", []string{"1.0.0"}, []string{digest2}, ""))
	res := reviewOf(t, base(), cur, "neo", nil)
	var got []string
	for _, d := range res.Diagnostics {
		if !strings.Contains(d.Message, "no logo") {
			got = append(got, d.String())
		}
	}
	want := []string{"products/newco/publisher.toml:1:1: warning: new publisher newco: a catalog owner (@owner) must review it before it is merged"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if !cmp.Equal(res.Approvers, []string{"owner"}) || res.Products[0].Kind != Added {
		t.Errorf("approvers %v, products %+v", res.Approvers, res.Products[0])
	}
	// The owner adds it without a word.
	if res := reviewOf(t, base(), cur, "owner", nil); len(res.Diagnostics) != 1 || !strings.Contains(res.Diagnostics[0].Message, "no logo") {
		t.Errorf("owner: %v", res.Diagnostics)
	}
}

func TestEditedPublishedBuildAndMarkdown(t *testing.T) {
	// A published build's image changes, a note is added to the catalog: both show, with
	// warnings, and the summary is the golden one.
	edited := strings.Replace(base()["products/acme/fhir.toml"], digest1, digest2, 1)
	cur := with(base(), "products/acme/fhir.toml", edited, "index.toml", strings.Replace(indexTOML, `properties = ["url"]`+"\n\n[[interfaces]]\nid = \"postgresql\"", `properties = ["url", "version"]`+"\n\n[[interfaces]]\nid = \"postgresql\"", 1))
	res := reviewOf(t, base(), cur, "jdoe", nil)
	if !cmp.Equal(res.Interfaces, []string{"fhir"}) || res.PolicyChanged {
		t.Errorf("interfaces %v, policy %v", res.Interfaces, res.PolicyChanged)
	}
	var b bytes.Buffer
	if err := res.WriteMarkdown(&b, "main"); err != nil {
		t.Fatal(err)
	}
	golden(t, "testdata/edited-build.md", b.String())
}

func TestCatalogFilesNeedAnOwner(t *testing.T) {
	cur := with(base(), "upstreams.lock", "# lock\n", ".github/workflows/validate.yml", "on: push\n")
	res := reviewOf(t, base(), cur, "jdoe", nil)
	want := "index.toml:3:10: error: @jdoe may not change .github/workflows/validate.yml, upstreams.lock: only the catalog owners as of the base branch (@owner) may"
	if len(res.Diagnostics) != 1 || res.Diagnostics[0].String() != want {
		t.Errorf("diagnostics %v\nwant %s", res.Diagnostics, want)
	}
	if !cmp.Equal(res.Catalog, []string{".github/workflows/validate.yml", "upstreams.lock"}) || res.Eligible {
		t.Errorf("catalog files %v, eligible %v", res.Catalog, res.Eligible)
	}
	if res := reviewOf(t, base(), cur, "OWNER", nil); len(res.Diagnostics) != 0 {
		t.Errorf("owner (handles ignore case): %v", res.Diagnostics)
	}
}

func TestCodeOwners(t *testing.T) {
	files := with(base(), "products/nobody/publisher.toml", "name = \"Nobody\"\n")
	c, _ := load(t, catalogFS(files))
	want := "# Generated by `marketplace codeowners` from index.toml's owners and each publisher's\n" +
		"# maintainers. Do not edit: change those files and run the command again.\n" +
		"* @owner\n/products/acme/ @jdoe\n/products/nobody/ @owner\n"
	if got := string(CodeOwners(c)); got != want {
		t.Errorf("CodeOwners:\n%s\nwant\n%s", got, want)
	}
	fsys := catalogFS(with(files, CodeOwnersFile, want))
	if ds := CheckCodeOwners(fsys, c); len(ds) != 0 {
		t.Errorf("up to date: %v", ds)
	}
	fsys = catalogFS(with(files, CodeOwnersFile, strings.Replace(want, "@jdoe", "@someone", 1)))
	ds := CheckCodeOwners(fsys, c)
	if len(ds) != 1 || ds[0].String() != `.github/CODEOWNERS:4:1: error: out of date: want "/products/acme/ @jdoe" here; run `+"`marketplace codeowners`"+` to write it from the maintainers and owners` {
		t.Errorf("out of date: %v", ds)
	}
	if ds := CheckCodeOwners(catalogFS(files), c); len(ds) != 0 {
		t.Errorf("no file: %v", ds)
	}
}

func golden(t *testing.T, file, got string) {
	t.Helper()
	if *update {
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", file, diff)
	}
}

func TestUndecodableFileIsNeitherAddedNorRemoved(t *testing.T) {
	cur := with(base(), "products/acme/fhir.toml", "name = \"FHIR\nsummary = broken\n")
	res := reviewOf(t, base(), cur, "jdoe", nil)
	if len(res.Products) != 1 || res.Products[0].Kind != Modified || !res.Diagnostics.HasErrors() {
		t.Errorf("products %+v, diagnostics %v", res.Products, res.Diagnostics)
	}
	if res := reviewOf(t, cur, base(), "jdoe", nil); res.Products[0].Kind != Modified {
		t.Errorf("fixed file: %+v", res.Products[0])
	}
}

func TestHugeSummaryFitsAComment(t *testing.T) {
	res := &Result{Author: "jdoe", Files: []string{"x"}}
	for i := range 3000 {
		id := "acme/p" + strings.Repeat("x", 10) + string(rune('a'+i%26)) + strings.Repeat("0", i%7)
		res.Products = append(res.Products, &ProductChange{ID: id, Kind: Added, Maintainers: []string{"jdoe"},
			NewBuilds: []BuildChange{{Version: "1.0.0", Image: "ghcr.io/acme/p@" + digest1, Digest: digest1}}})
		res.Diagnostics = append(res.Diagnostics, catalog.Diagnostic{Path: "products/" + id + ".toml", Line: 1, Col: 1, Message: "no logo"})
		res.Affected = append(res.Affected, id)
	}
	var b bytes.Buffer
	if err := res.WriteMarkdown(&b, "main"); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if len(out) > 65536 || !strings.Contains(out, "more, not shown here.") || !strings.Contains(out, "… and 2900 more: see the annotations") ||
		!strings.HasSuffix(out, "<!-- marketplace:auto-approve=false -->\n") {
		t.Errorf("%d characters:\n%s", len(out), out[len(out)-2000:])
	}
}
