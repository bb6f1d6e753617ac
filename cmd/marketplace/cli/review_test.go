package cli

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// prRepo is a Git repository holding a copy of the example catalog, with the base branch main
// and a pull-request branch pr checked out. Git is driven with the git CLI here, a second client
// beside the go-git the command uses.
type prRepo struct {
	t   *testing.T
	dir string
}

// newPRRepo copies the example catalog (with its signature material, so that signatures verify
// offline), lets base edit it, commits that as main, and checks out a new branch pr.
func newPRRepo(t *testing.T, base func(r *prRepo)) *prRepo {
	t.Helper()
	r := &prRepo{t: t, dir: t.TempDir()}
	if err := os.CopyFS(r.dir, os.DirFS("../../..")); err != nil {
		t.Fatal(err)
	}
	// Only the catalog: the Go code of this repository is not part of the scenario.
	entries, _ := os.ReadDir(r.dir)
	for _, e := range entries {
		switch e.Name() {
		case "index.toml", "products", "signatures":
		default:
			os.RemoveAll(filepath.Join(r.dir, e.Name()))
		}
	}
	r.git("init", "-q", "-b", "main")
	if base != nil {
		base(r)
	}
	r.commit("base")
	r.git("checkout", "-q", "-b", "pr")
	return r
}

func (r *prRepo) git(args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=Test", "-c", "user.email=test@example.org", "-c", "commit.gpgsign=false"}, args...)...)
	cmd.Dir = r.dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (r *prRepo) commit(msg string) {
	r.t.Helper()
	r.git("add", "-A")
	r.git("commit", "-q", "--allow-empty", "-m", msg)
}

func (r *prRepo) read(name string) string {
	r.t.Helper()
	data, err := os.ReadFile(filepath.Join(r.dir, filepath.FromSlash(name)))
	if err != nil {
		r.t.Fatal(err)
	}
	return string(data)
}

func (r *prRepo) write(name, content string) {
	r.t.Helper()
	p := filepath.Join(r.dir, filepath.FromSlash(name))
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		r.t.Fatal(err)
	}
}

// replace replaces old by new in a file, which must contain old.
func (r *prRepo) replace(name, old, new string) {
	r.t.Helper()
	s := r.read(name)
	if !strings.Contains(s, old) {
		r.t.Fatalf("%s does not contain %q", name, old)
	}
	r.write(name, strings.Replace(s, old, new, 1))
}

// validate runs validate --base main in the work tree with extra arguments.
func (r *prRepo) validate(args ...string) (int, string, string) {
	r.t.Helper()
	return run(r.t, append([]string{"-C", r.dir, "validate", "--base", "main", "--cache", ""}, args...)...)
}

// builds splits a product file into its head and its [[builds]] blocks.
func builds(s string) (head string, blocks []string) {
	parts := strings.Split(s, "\n[[builds]]\n")
	for _, p := range parts[1:] {
		blocks = append(blocks, "[[builds]]\n"+strings.TrimRight(p, "\n")+"\n")
	}
	return parts[0] + "\n", blocks
}

const smtpRelay = "products/openhealth/smtp-relay.toml"

// withoutNewestSMTPBuild makes the base branch's smtp-relay end at 1.4.2 with the configuration
// of 1.5.0, so that adding the real 1.5.0 back is a pure version bump.
func withoutNewestSMTPBuild(r *prRepo) {
	head, blocks := builds(r.read(smtpRelay))
	if len(blocks) != 2 {
		r.t.Fatalf("smtp-relay has %d builds, want 2", len(blocks))
	}
	old := regexp.MustCompile(`(?m)^image = .*$`).FindString(blocks[0])
	b := strings.Replace(blocks[1], `version = "1.5.0"`, `version = "1.4.2"`, 1)
	b = regexp.MustCompile(`(?m)^image = .*$`).ReplaceAllLiteralString(b, old)
	b = regexp.MustCompile(`(?m)^released = .*\n`).ReplaceAllString(b, "")
	r.write(smtpRelay, head+"\n"+b)
}

func addNewestSMTPBuild(r *prRepo, original string) {
	_, blocks := builds(original)
	r.write(smtpRelay, r.read(smtpRelay)+"\n"+blocks[1])
}

func TestReviewMaintainerAddsBuildIsEligible(t *testing.T) {
	original, _ := os.ReadFile(filepath.Join("../../..", smtpRelay))
	r := newPRRepo(t, withoutNewestSMTPBuild)
	addNewestSMTPBuild(r, string(original))
	r.commit("smtp-relay 1.5.0")

	code, out, errOut := r.validate("--author", "mkowalski")
	if code != ExitOK {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{
		"openhealth/smtp-relay: modified: new build 1.5.0 (sha256:a5787c2bf03c612d4eab51c70ab1a7f79654d058824f376e52d4aa515c39b8c1)\n",
		"may approve: @adaeze-o, @mkowalski, @openhealth-bot, @tferreira\n",
		"automatic approval: eligible\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	code, md, errOut := r.validate("--author", "mkowalski", "--ref", "HEAD", "--format", "markdown")
	if code != ExitOK {
		t.Fatalf("markdown: exit %d\n%s", code, errOut)
	}
	golden(t, "testdata/review/maintainer-adds-build.md", md)
	if !strings.Contains(md, "<!-- marketplace:auto-approve=true -->\n") {
		t.Error("the summary does not carry the machine-readable verdict")
	}

	// The same build by someone else is refused, and positioned on the maintainers line.
	code, out, _ = r.validate("--author", "stranger")
	if code != ExitProblems || !strings.Contains(out, "products/openhealth/publisher.toml:4:15: error: @stranger may not change products/openhealth/smtp-relay.toml: only the maintainers of openhealth as of the base branch (@openhealth-bot, @mkowalski, @adaeze-o, @tferreira) or a catalog owner may\n") {
		t.Errorf("stranger: exit %d\n%s", code, out)
	}
}

func TestReviewStrangerEditingAnotherPublisherIsRefused(t *testing.T) {
	r := newPRRepo(t, nil)
	r.replace("products/acme/fhir.toml", `summary = "`, `summary = "Now with more FHIR. `)
	r.commit("edit acme's product")
	code, out, errOut := r.validate("--author", "mkowalski")
	if code != ExitProblems {
		t.Fatalf("exit %d, want 1\n%s%s", code, out, errOut)
	}
	want := "products/acme/publisher.toml:4:15: error: @mkowalski may not change products/acme/fhir.toml: only the maintainers of acme as of the base branch (@acme-bot, @jdoe, @priya-raman) or a catalog owner may\n"
	if !strings.HasPrefix(out, want) {
		t.Errorf("output does not start with %q:\n%s", want, out)
	}
	if !strings.Contains(out, "acme/fhir: modified: summary: ") || !strings.Contains(out, "automatic approval: not eligible") {
		t.Errorf("output lacks the change or the verdict:\n%s", out)
	}
	// In GitHub's format the refusal is an annotation on the same line.
	_, gh, _ := r.validate("--author", "mkowalski", "--format", "github")
	if !strings.Contains(gh, "::error file=products/acme/publisher.toml,line=4,col=15,title=marketplace::@mkowalski may not change") {
		t.Errorf("github format:\n%s", gh)
	}
	// A catalog owner may change any file.
	if code, out, _ := r.validate("--author", "hspc-admin"); code != ExitOK {
		t.Errorf("owner: exit %d\n%s", code, out)
	}
}

func TestReviewAuthorAddingThemselvesToMaintainersIsRefused(t *testing.T) {
	r := newPRRepo(t, nil)
	r.replace("products/acme/publisher.toml", `maintainers = ["acme-bot"`, `maintainers = ["mallory", "acme-bot"`)
	r.replace("products/acme/fhir.toml", `summary = "`, `summary = "Mine now. `)
	r.commit("make me a maintainer")
	code, out, _ := r.validate("--author", "mallory")
	if code != ExitProblems {
		t.Fatalf("exit %d, want 1\n%s", code, out)
	}
	if !strings.Contains(out, "products/acme/publisher.toml:4:15: error: @mallory may not change products/acme/fhir.toml, products/acme/publisher.toml: only the maintainers of acme as of the base branch (@acme-bot, @jdoe, @priya-raman) or a catalog owner may; a pull request cannot add its own author to maintainers\n") {
		t.Errorf("output:\n%s", out)
	}
}

func TestReviewIndexChangedByNonOwner(t *testing.T) {
	r := newPRRepo(t, nil)
	r.replace("index.toml", "require_signatures = true", "require_signatures = false")
	r.commit("relax the policy")
	code, out, _ := r.validate("--author", "jdoe")
	if code != ExitProblems {
		t.Fatalf("exit %d, want 1\n%s", code, out)
	}
	for _, want := range []string{
		"index.toml:9:10: error: @jdoe may not change index.toml: only the catalog owners as of the base branch (@hspc-admin) may\n",
		"index.toml: changed\n",
		"may approve: @hspc-admin\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// A policy change re-checks every product.
	if !strings.Contains(out, "re-checked: acme/fhir, acme/sandbox-emr,") {
		t.Errorf("a policy change does not re-check the products:\n%s", out)
	}
	if code, _, _ := r.validate("--author", "hspc-admin"); code != ExitOK {
		t.Errorf("owner: exit %d", code)
	}
}

func TestReviewRenamedAndRemovedProducts(t *testing.T) {
	r := newPRRepo(t, nil)
	r.git("mv", smtpRelay, "products/openhealth/mail-relay.toml")
	r.git("mv", "products/openhealth/smtp-relay", "products/openhealth/mail-relay")
	r.write("products/openhealth/mail-relay.toml", strings.ReplaceAll(r.read("products/openhealth/mail-relay.toml"), `"smtp-relay/`, `"mail-relay/`))
	r.git("rm", "-q", "-r", "products/openhealth/directory.toml", "products/openhealth/directory")
	r.commit("rename smtp-relay, drop directory")
	code, out, errOut := r.validate("--author", "tferreira")
	if code != ExitOK {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{
		"openhealth/directory: removed\n",
		"openhealth/mail-relay: renamed: from openhealth/smtp-relay; logo: \"smtp-relay/logo.svg\" → \"mail-relay/logo.svg\";",
		"automatic approval: not eligible: openhealth/directory is removed; openhealth/mail-relay is renamed",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	_, md, _ := r.validate("--author", "tferreira", "--format", "markdown")
	golden(t, "testdata/review/rename-remove.md", md)
}

func TestReviewInterfaceChangeRechecksItsUsers(t *testing.T) {
	r := newPRRepo(t, nil)
	r.replace("index.toml", `properties = ["url", "host", "port", "username", "password", "from"]`, `properties = ["uri", "host", "port", "username", "password", "from"]`)
	r.commit("smtp: url is now uri")
	code, out, _ := r.validate("--author", "hspc-admin")
	if code != ExitProblems {
		t.Fatalf("exit %d, want 1\n%s", code, out)
	}
	for _, want := range []string{
		"re-checked: acme/fhir, hspc/fhir-subscriptions, meridian-systems/identity, openhealth/smtp-relay\n",
		`products/acme/fhir.toml:141:23: error: "url" is not a property of interface smtp; want one of uri, host, port, username, password, from`,
		`products/meridian-systems/identity.toml:`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "products/openhealth/postgres.toml") {
		t.Errorf("a product that does not use smtp was re-checked:\n%s", out)
	}
}

func TestCodeOwnersCommittedAndOutOfDate(t *testing.T) {
	r := newPRRepo(t, func(r *prRepo) {
		if code, _, errOut := run(r.t, "-C", r.dir, "codeowners"); code != ExitOK {
			r.t.Fatalf("codeowners: exit %d %s", code, errOut)
		}
	})
	if got := r.read(".github/CODEOWNERS"); !strings.Contains(got, "\n* @hspc-admin\n/products/acme/ @acme-bot @jdoe @priya-raman\n") {
		t.Errorf("CODEOWNERS:\n%s", got)
	}
	if code, out, errOut := run(t, "-C", r.dir, "validate"); code != ExitOK {
		t.Fatalf("fresh CODEOWNERS: exit %d\n%s%s", code, out, errOut)
	}
	r.replace("products/acme/publisher.toml", `maintainers = ["acme-bot"`, `maintainers = ["acme-release", "acme-bot"`)
	code, out, _ := run(t, "-C", r.dir, "validate")
	want := ".github/CODEOWNERS:4:1: error: out of date: want \"/products/acme/ @acme-release @acme-bot @jdoe @priya-raman\" here; run `marketplace codeowners` to write it from the maintainers and owners\n"
	if code != ExitProblems || out != want {
		t.Errorf("exit %d\n%s\nwant\n%s", code, out, want)
	}
	if code, _, _ := run(t, "-C", r.dir, "codeowners"); code != ExitOK {
		t.Fatal("codeowners failed")
	}
	if code, out, _ := run(t, "-C", r.dir, "validate"); code != ExitOK {
		t.Errorf("after codeowners: exit %d\n%s", code, out)
	}
}

func TestValidateBaseUsage(t *testing.T) {
	r := newPRRepo(t, nil)
	for _, args := range [][]string{
		{"validate", "--author", "x"},
		{"validate", "--format", "markdown"},
		{"validate", "--base", "no-such-branch"},
		{"validate", "--base", "main", "products"},
	} {
		if code, _, errOut := run(t, append([]string{"-C", r.dir}, args...)...); code != ExitUsage {
			t.Errorf("%v: exit %d, want 2: %s", args, code, errOut)
		}
	}
	// Nothing changed: nothing to approve, nothing eligible.
	code, out, _ := r.validate("--author", "jdoe")
	if code != ExitOK || !strings.Contains(out, "automatic approval: not eligible: no product changed") {
		t.Errorf("empty change: exit %d\n%s", code, out)
	}
}

func golden(t *testing.T, file, got string) {
	t.Helper()
	if *update {
		os.MkdirAll(filepath.Dir(file), 0o755)
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
		t.Errorf("%s differs (-want +got):\n%s", file, diff)
	}
}

func TestVerifyChangedSince(t *testing.T) {
	original, _ := os.ReadFile(filepath.Join("../../..", smtpRelay))
	r := newPRRepo(t, withoutNewestSMTPBuild)
	code, _, errOut := run(t, "-C", r.dir, "verify", "--changed-since", "main", "--offline", "--cache", "")
	if code != ExitOK || !strings.Contains(errOut, "verify: no product changed since the merge base with main; nothing to verify") {
		t.Errorf("no change: exit %d %s", code, errOut)
	}
	addNewestSMTPBuild(r, string(original))
	// Uncommitted work counts: verify runs before a commit too.
	code, out, errOut := run(t, "-C", r.dir, "verify", "--changed-since", "main", "--offline", "--cache", "")
	if code != ExitOK || !strings.Contains(errOut, "2 of 2 images signed by a declared signer") {
		t.Errorf("one product changed: exit %d\n%s%s", code, out, errOut)
	}
	if code, _, _ := run(t, "-C", r.dir, "verify", "--changed-since", "main", "acme/fhir"); code != ExitUsage {
		t.Errorf("--changed-since with products: exit %d, want 2", code)
	}
}

// A pull request's symlink to a file outside the catalog must not bring that file's content into
// the checks' output, which a workflow posts publicly: with --ref the catalog is read from Git
// objects, where such a link is refused.
func TestReviewReadsThePullRequestFromGit(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "secret.txt")
	os.WriteFile(secret, []byte("TOKEN = \"hunter2\"\n[x\n"), 0o644)
	r := newPRRepo(t, nil)
	if err := os.Symlink(secret, filepath.Join(r.dir, "products/acme/leak.toml")); err != nil {
		t.Fatal(err)
	}
	r.commit("a link out")
	for _, format := range []string{"text", "markdown"} {
		code, out, errOut := r.validate("--author", "jdoe", "--ref", "HEAD", "--format", format)
		if code != ExitProblems || strings.Contains(out+errOut, "hunter2") || strings.Contains(out+errOut, "TOKEN") {
			t.Errorf("%s: exit %d\n%s%s", format, code, out, errOut)
		}
		if !strings.Contains(out, "products/acme/leak.toml") || !strings.Contains(out, "outside the repository") {
			t.Errorf("%s: the link is not reported:\n%s", format, out)
		}
	}
	code, out, errOut := run(t, "-C", r.dir, "verify", "--changed-since", "main", "--ref", "HEAD", "--offline", "--cache", "")
	if code != ExitProblems || strings.Contains(out+errOut, "hunter2") {
		t.Errorf("verify: exit %d\n%s%s", code, out, errOut)
	}
}
