package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAgentOnceFromABuiltSite runs `marketplace agent --once` the way an operator would: against
// the output of `marketplace build` on disk, publishing into a folder, then again with nothing to
// do; and checks the usage errors.
func TestAgentOnceFromABuiltSite(t *testing.T) {
	tmp := t.TempDir()
	site := filepath.Join(tmp, "public")
	if code, _, stderr := run(t, "-C", "../../..", "build", "--offline", "--cache", "", "-o", site); code != 0 {
		t.Fatalf("build: exit %d\n%s", code, stderr)
	}
	out := filepath.Join(tmp, "deploy")
	args := []string{"agent", "--catalog", site, "--env", "../../../environments/fhir.toml", "--out", out,
		"--state", filepath.Join(tmp, "agent.json"), "--once"}
	code, stdout, stderr := run(t, args...)
	if code != 0 || !strings.Contains(stdout, "agent: published: fhir acme/fhir 5.1.0 (new); db openhealth/postgres 17.7.0 (new)") {
		t.Fatalf("first run: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	for _, f := range []string{"kustomization.yaml", "fhir.yaml", "db.yaml", "environment.lock"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	code, stdout, _ = run(t, args...)
	if code != 0 || !strings.Contains(stdout, "agent: unchanged: ") {
		t.Fatalf("second run: exit %d\n%s", code, stdout)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"agent", "--env", "x.toml", "--out", out, "--once"}, "agent needs --catalog and --env"},
		{[]string{"agent", "--catalog", site, "--env", "../../../environments/fhir.toml", "--once"}, "exactly one of --out DIR and --git REPO"},
		{[]string{"agent", "--catalog", tmp, "--env", "../../../environments/fhir.toml", "--out", out, "--once"}, "no built catalog there"},
	} {
		code, _, stderr := run(t, tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
}
