package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// The scripts under .github/scripts are what the workflows run; these tests run them the same
// way, with the marketplace binary built from this tree, on a Git repository holding a copy of
// the example catalog, and with a fake gh that records what it was asked to do. Only the flags
// the scripts document for tests differ: verification is offline, from the signature material.

const repoRoot = "../.."

var (
	binOnce sync.Once
	binDir  string
	binErr  error
)

// buildBinary builds marketplace from this tree, once per test run.
func buildBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		if binDir, binErr = os.MkdirTemp("", "marketplace-scripts-"); binErr != nil {
			return
		}
		out, err := exec.Command("go", "build", "-o", filepath.Join(binDir, "marketplace"), ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return filepath.Join(binDir, "marketplace")
}

// script runs a script of .github/scripts with env added to a clean environment, and returns its
// exit status and combined output.
func script(t *testing.T, dir, name string, env []string, args ...string) (int, string) {
	t.Helper()
	abs, err := filepath.Abs(filepath.Join(repoRoot, ".github", "scripts", name))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(abs, args...)
	cmd.Dir = dir
	home := t.TempDir()
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "XDG_CACHE_HOME=" + filepath.Join(home, "cache")}, env...)
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), string(out)
	}
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return 0, string(out)
}

func git(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=Test", "-c", "user.email=test@example.org", "-c", "commit.gpgsign=false"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// catalogRepo copies the example catalog into a Git repository on branch main; the pull request
// branch pr drops the newest smtp-relay build on main and adds it back, a pure version bump.
func catalogRepo(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"products", "signatures"} {
		if err := os.CopyFS(filepath.Join(dir, name), os.DirFS(filepath.Join(repoRoot, name))); err != nil {
			t.Fatal(err)
		}
	}
	index, err := os.ReadFile(filepath.Join(repoRoot, "index.toml"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "index.toml"), index, 0o644)
	const relay = "products/openhealth/smtp-relay.toml"
	original, err := os.ReadFile(filepath.Join(dir, relay))
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(string(original), "\n[[builds]]\n")
	if len(parts) != 3 {
		t.Fatalf("smtp-relay has %d builds, want 2", len(parts)-1)
	}
	imageRE := regexp.MustCompile(`(?m)^image = .*$`)
	base := strings.Replace(parts[2], `version = "1.5.0"`, `version = "1.4.2"`, 1)
	base = imageRE.ReplaceAllLiteralString(base, imageRE.FindString(parts[1]))
	base = regexp.MustCompile(`(?m)^released = .*\n`).ReplaceAllString(base, "")
	os.WriteFile(filepath.Join(dir, relay), []byte(parts[0]+"\n[[builds]]\n"+base), 0o644)
	git(t, dir, "init", "-q", "-b", "main")
	git(t, dir, "add", "-A")
	git(t, dir, "commit", "-q", "-m", "base")
	git(t, dir, "checkout", "-q", "-b", "pr")
	os.WriteFile(filepath.Join(dir, relay), []byte(parts[0]+"\n[[builds]]\n"+base+"\n[[builds]]\n"+parts[2]), 0o644)
	git(t, dir, "commit", "-q", "-am", "smtp-relay 1.5.0")
	return dir
}

func TestReviewScript(t *testing.T) {
	bin := buildBinary(t)
	dir := catalogRepo(t)
	out := filepath.Join(t.TempDir(), "review")
	ghOut := filepath.Join(t.TempDir(), "github_output")
	env := []string{"MARKETPLACE=" + bin, "VERIFY_FLAGS=--offline", "GITHUB_OUTPUT=" + ghOut}

	code, log := script(t, dir, "review.sh", env, dir, "main", "mkowalski", out)
	if code != 0 {
		t.Fatalf("review.sh: exit %d\n%s", code, log)
	}
	summary, _ := os.ReadFile(filepath.Join(out, "summary.md"))
	if !strings.HasPrefix(string(summary), "<!-- marketplace:summary -->\n") || !strings.Contains(string(summary), "**New build 1.5.0**") ||
		!strings.HasSuffix(string(summary), "<!-- marketplace:auto-approve=true -->\n") {
		t.Errorf("summary.md:\n%s", summary)
	}
	if got, _ := os.ReadFile(ghOut); string(got) != "auto-approve=true\n" {
		t.Errorf("GITHUB_OUTPUT = %q", got)
	}

	// Someone who is not a maintainer: annotations, a failing status, not eligible.
	os.Remove(ghOut)
	code, log = script(t, dir, "review.sh", env, dir, "main", "stranger", out)
	if code != 1 || !strings.Contains(log, "::error file=products/openhealth/publisher.toml,line=4,col=15,title=marketplace::@stranger may not change products/openhealth/smtp-relay.toml") {
		t.Errorf("stranger: exit %d\n%s", code, log)
	}
	if got, _ := os.ReadFile(ghOut); string(got) != "auto-approve=false\n" {
		t.Errorf("stranger: GITHUB_OUTPUT = %q", got)
	}

	// Verification that fails (no material for the new build offline) is never eligible.
	os.Remove(filepath.Join(dir, "signatures", "sha256-a5787c2bf03c612d4eab51c70ab1a7f79654d058824f376e52d4aa515c39b8c1.json"))
	os.Remove(ghOut)
	code, log = script(t, dir, "review.sh", env, dir, "main", "mkowalski", out)
	summary, _ = os.ReadFile(filepath.Join(out, "summary.md"))
	if code != 1 || !strings.Contains(string(summary), "<!-- marketplace:auto-approve=false -->") || !strings.Contains(string(summary), "Online verification of the changed images failed") {
		t.Errorf("failed verification: exit %d\n%s\n%s", code, log, summary)
	}
	if code, log := script(t, dir, "review.sh", env, dir, "main"); code != 2 {
		t.Errorf("usage: exit %d %s", code, log)
	}
}

// fakeGH writes a gh that appends its arguments to calls.txt and answers list requests with
// the given output.
func fakeGH(t *testing.T, listOutput string) (pathEnv, calls string) {
	t.Helper()
	bin := t.TempDir()
	calls = filepath.Join(bin, "calls.txt")
	sh := "#!/bin/sh\necho \"$*\" >> " + calls + "\ncase \"$*\" in\n  *--paginate*|*\"issue list\"*) printf '%s' '" + listOutput + "' ;;\nesac\n"
	if err := os.WriteFile(filepath.Join(bin, "gh"), []byte(sh), 0o755); err != nil {
		t.Fatal(err)
	}
	return "PATH=" + bin + ":" + os.Getenv("PATH"), calls
}

func TestCommentScript(t *testing.T) {
	summary := filepath.Join(t.TempDir(), "summary.md")
	os.WriteFile(summary, []byte("<!-- marketplace:summary -->\nhello\n"), 0o644)
	for _, tc := range []struct {
		name, existing, approve string
		want                    []string
	}{
		{"first run posts", "", "true", []string{
			"api --method POST repos/o/r/issues/7/comments -F body=@" + summary,
			"api --method POST repos/o/r/issues/7/labels -f labels[]=auto-approvable",
		}},
		{"later runs update", "4242\n", "false", []string{
			"api --method PATCH repos/o/r/issues/comments/4242 -F body=@" + summary,
			"api --method DELETE repos/o/r/issues/7/labels/auto-approvable",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pathEnv, calls := fakeGH(t, tc.existing)
			code, log := script(t, t.TempDir(), "comment.sh", []string{pathEnv, "REPO=o/r", "PR=7", "AUTO_APPROVE=" + tc.approve}, summary)
			if code != 0 {
				t.Fatalf("exit %d\n%s", code, log)
			}
			got, _ := os.ReadFile(calls)
			lines := strings.Split(strings.TrimSpace(string(got)), "\n")
			if len(lines) != 3 || !strings.HasPrefix(lines[0], "api --paginate repos/o/r/issues/7/comments --jq") {
				t.Fatalf("gh calls:\n%s", got)
			}
			for i, want := range tc.want {
				if lines[i+1] != want {
					t.Errorf("call %d = %q, want %q", i+1, lines[i+1], want)
				}
			}
		})
	}
}

func TestReverifyAndIssueScripts(t *testing.T) {
	bin := buildBinary(t)
	dir := catalogRepo(t)
	out := filepath.Join(t.TempDir(), "reverify")
	ghOut := filepath.Join(t.TempDir(), "github_output")
	env := []string{"MARKETPLACE=" + bin, "VERIFY_FLAGS=--offline", "GITHUB_OUTPUT=" + ghOut}
	if code, log := script(t, dir, "reverify.sh", env, dir, out); code != 0 {
		t.Fatalf("reverify.sh: exit %d\n%s", code, log)
	}
	if got, _ := os.ReadFile(ghOut); string(got) != "failed=false\n" {
		t.Errorf("GITHUB_OUTPUT = %q", got)
	}

	os.Remove(filepath.Join(dir, "signatures", "sha256-a5787c2bf03c612d4eab51c70ab1a7f79654d058824f376e52d4aa515c39b8c1.json"))
	os.Remove(ghOut)
	code, log := script(t, dir, "reverify.sh", env, dir, out)
	body, _ := os.ReadFile(filepath.Join(out, "issue.md"))
	if code != 1 || !strings.Contains(string(body), "products/openhealth/smtp-relay.toml:") || !strings.Contains(string(body), "```text\n") {
		t.Errorf("reverify.sh on a missing signature: exit %d\n%s\nissue.md:\n%s", code, log, body)
	}
	if got, _ := os.ReadFile(ghOut); string(got) != "failed=true\n" {
		t.Errorf("GITHUB_OUTPUT = %q", got)
	}

	issueFile := filepath.Join(out, "issue.md")
	for _, tc := range []struct{ name, open, want string }{
		{"opens one", "", "issue create --repo o/r --title Re-verification failed --label reverify --body-file " + issueFile},
		{"comments on the open one", "12", "issue comment 12 --repo o/r --body-file " + issueFile},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pathEnv, calls := fakeGH(t, tc.open)
			code, log := script(t, dir, "issue.sh", []string{pathEnv, "REPO=o/r", "TITLE=Re-verification failed", "LABEL=reverify"}, issueFile)
			if code != 0 {
				t.Fatalf("exit %d\n%s", code, log)
			}
			got, _ := os.ReadFile(calls)
			lines := strings.Split(strings.TrimSpace(string(got)), "\n")
			if len(lines) != 3 || !strings.HasPrefix(lines[0], "label create reverify --repo o/r") || lines[2] != tc.want {
				t.Errorf("gh calls:\n%s\nwant last %q", got, tc.want)
			}
		})
	}
}

func TestPublishScript(t *testing.T) {
	bin := buildBinary(t)
	dir := catalogRepo(t)
	out := filepath.Join(t.TempDir(), "public")
	code, log := script(t, dir, "publish.sh", []string{"MARKETPLACE=" + bin, "BUILD_FLAGS=--offline"}, dir, out)
	if code != 0 {
		t.Fatalf("publish.sh: exit %d\n%s", code, log)
	}
	for _, f := range []string{"index.html", "api/v1/catalog.json", "products/openhealth/smtp-relay/index.html"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
}
