package federate

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The tests work on real repositories: bare repositories and work trees in temporary folders,
// made with the git program, which also checks what this package writes as a second client.

// exampleRoot is the repository's own example catalog, signed with committed material.
const exampleRoot = "../.."

// git runs the git program in dir with fixed identities and dates.
func git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"GIT_AUTHOR_NAME=Ann Author", "GIT_AUTHOR_EMAIL=ann@example.org",
		"GIT_COMMITTER_NAME=Ann Author", "GIT_COMMITTER_EMAIL=ann@example.org",
		"GIT_AUTHOR_DATE=2025-03-01T09:00:00Z", "GIT_COMMITTER_DATE=2025-03-01T09:00:00Z",
		"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// source is a catalog work tree and the bare repository it pushes to.
type source struct {
	t    testing.TB
	work string
	bare string
}

// newSource makes a catalog repository holding a copy of the example catalog's files under
// the given publishers (all when none), committed and pushed to a bare repository.
func newSource(t testing.TB, publishers ...string) *source {
	t.Helper()
	s := &source{t: t, work: t.TempDir(), bare: filepath.Join(t.TempDir(), "catalog.git")}
	copyTree(t, filepath.Join(exampleRoot, "index.toml"), filepath.Join(s.work, "index.toml"))
	copyTree(t, filepath.Join(exampleRoot, "signatures"), filepath.Join(s.work, "signatures"))
	entries, err := os.ReadDir(filepath.Join(exampleRoot, "products"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if len(publishers) == 0 || contains(publishers, e.Name()) {
			copyTree(t, filepath.Join(exampleRoot, "products", e.Name()), filepath.Join(s.work, "products", e.Name()))
		}
	}
	git(t, s.work, "init", "-q", "-b", "main")
	git(t, s.work, "add", "-A")
	git(t, s.work, "commit", "-q", "-m", "the example catalog")
	git(t, t.TempDir(), "init", "-q", "--bare", "-b", "main", s.bare)
	git(t, s.work, "remote", "add", "origin", s.bare)
	git(t, s.work, "push", "-q", "origin", "main")
	return s
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// commit writes files (by slash path; "" removes one), commits and pushes; it returns the commit.
func (s *source) commit(msg string, files map[string]string) string {
	s.t.Helper()
	for name, content := range files {
		p := filepath.Join(s.work, filepath.FromSlash(name))
		if content == "" {
			os.RemoveAll(p)
			continue
		}
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			s.t.Fatal(err)
		}
	}
	git(s.t, s.work, "add", "-A")
	git(s.t, s.work, "commit", "-q", "-m", msg)
	git(s.t, s.work, "push", "-q", "-f", "origin", "main")
	return s.head()
}

func (s *source) head() string { return git(s.t, s.work, "rev-parse", "HEAD") }

// read returns a file of the work tree.
func (s *source) read(name string) string {
	s.t.Helper()
	data, err := os.ReadFile(filepath.Join(s.work, filepath.FromSlash(name)))
	if err != nil {
		s.t.Fatal(err)
	}
	return string(data)
}

// bundle writes a bundle of the whole repository with the git program.
func (s *source) bundle() string {
	s.t.Helper()
	f := filepath.Join(s.t.TempDir(), "catalog.bundle")
	git(s.t, s.work, "bundle", "create", "-q", f, "--all")
	return f
}

func copyTree(t testing.TB, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// firstSignatureFile returns the slash path of one signature material file of the source.
func (s *source) firstSignatureFile() string {
	s.t.Helper()
	m, _ := filepath.Glob(filepath.Join(s.work, "signatures", "sha256-*.json"))
	if len(m) == 0 {
		s.t.Fatal("no signature material")
	}
	return "signatures/" + filepath.Base(m[0])
}
