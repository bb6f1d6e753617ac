package gitrepo

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-git/go-billy/v5"
)

// TestReferencesReplacedWhole: a reference being written is not visible, to go-git or to git,
// until its file is closed; a write that fails leaves the old reference and no temporary file;
// and the temporary files a killed writer leaves are removed by a later Open once old.
func TestReferencesReplacedWhole(t *testing.T) {
	dir := gitWorkTree(t, map[string]string{"a.txt": "a"})
	first := gitCLI(t, dir, "rev-parse", "HEAD")
	second := gitCommit(t, dir, "second", map[string]string{"a.txt": "b"})
	r := openGit(t, dir)
	if err := r.SetBranch("main", first); err != nil {
		t.Fatal(err)
	}
	if got := gitCLI(t, dir, "rev-parse", "main"); got != first {
		t.Fatalf("git reads main as %s after SetBranch, want %s", got, first)
	}

	fsys := r.storage.Filesystem()
	f, err := fsys.Create("refs/heads/main")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte(second[:20])); err != nil {
		t.Fatal(err)
	}
	// Half written: both clients still read the old commit.
	if got, err := r.Reference("refs/heads/main"); err != nil || got != first {
		t.Fatalf("go-git reads main as %q, %v while it is being written, want %s", got, err, first)
	}
	if got := gitCLI(t, dir, "rev-parse", "main"); got != first {
		t.Fatalf("git reads main as %s while it is being written, want %s", got, first)
	}
	if _, err := f.Write([]byte(second[20:] + "\n")); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if got := gitCLI(t, dir, "rev-parse", "main"); got != second {
		t.Fatalf("git reads main as %s after the write, want %s", got, second)
	}
	if fi, err := os.Stat(filepath.Join(dir, ".git", "refs", "heads", "main")); err != nil || fi.Mode().Perm() != 0o644 {
		t.Fatalf("the replaced reference: %v, %v", fi, err)
	}

	// A write that fails does not replace the reference.
	rf := &renamedFile{File: mustTemp(t, r), fs: fsys.(atomicFS).Filesystem, target: "refs/heads/main"}
	rf.Write([]byte(first + "\n"))
	rf.failed = fmt.Errorf("disk full")
	if err := rf.Close(); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("Close after a failed write: %v", err)
	}
	if got := gitCLI(t, dir, "rev-parse", "main"); got != second {
		t.Fatalf("a failed write moved main to %s", got)
	}
	if left := temporaries(t, dir); len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}

	// Leftovers of a killed writer: removed by Open once older than a minute, not before.
	for i, age := range []time.Duration{time.Hour, time.Second} {
		p := filepath.Join(dir, ".git", fmt.Sprintf("%s%d", tmpPrefix, i))
		if err := os.WriteFile(p, []byte(first[:7]), 0o600); err != nil {
			t.Fatal(err)
		}
		old := time.Now().Add(-age)
		os.Chtimes(p, old, old)
	}
	r2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	r2.Close()
	if left := temporaries(t, dir); len(left) != 1 || left[0] != tmpPrefix+"1" {
		t.Fatalf("temporary files after Open: %v, want only the recent one", left)
	}
}

func mustTemp(t *testing.T, r *Repo) billy.File {
	t.Helper()
	f, err := r.storage.Filesystem().(atomicFS).Filesystem.TempFile("", tmpPrefix)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func temporaries(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, ".git"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), tmpPrefix) {
			names = append(names, e.Name())
		}
	}
	return names
}

// TestReferencesSurviveKill kills, at many moments, a process that moves a branch back and forth
// between two commits; each time, go-git and git read the branch as one of the two and the
// repository takes the next write. go-git on its own truncates a reference before writing it,
// and a kill in between left an empty file that failed every later fetch.
func TestReferencesSurviveKill(t *testing.T) {
	if dir := os.Getenv("GITREPO_SETBRANCH_HELPER"); dir != "" {
		r, err := Open(dir)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		commits := strings.Fields(os.Getenv("GITREPO_SETBRANCH_COMMITS"))
		os.WriteFile(filepath.Join(dir, "started"), nil, 0o644)
		for i := 0; ; i++ {
			if err := r.SetBranch("main", commits[i%2]); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
		}
	}
	dir := gitWorkTree(t, map[string]string{"a.txt": "a"})
	first := gitCLI(t, dir, "rev-parse", "HEAD")
	second := gitCommit(t, dir, "second", map[string]string{"a.txt": "b"})
	kills := 25
	if testing.Short() {
		kills = 8
	}
	for i := range kills {
		os.Remove(filepath.Join(dir, "started"))
		cmd := exec.Command(os.Args[0], "-test.run=^TestReferencesSurviveKill$")
		cmd.Env = append(os.Environ(), "GITREPO_SETBRANCH_HELPER="+dir, "GITREPO_SETBRANCH_COMMITS="+first+" "+second)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
			if _, err := os.Stat(filepath.Join(dir, "started")); err == nil {
				break
			}
		}
		time.Sleep(time.Duration(i%5) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		err := cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
			t.Fatalf("kill %d: the writer ended on its own: %v", i, err)
		}
		r, err := Open(dir)
		if err != nil {
			t.Fatalf("kill %d: %v", i, err)
		}
		got, err := r.Reference("refs/heads/main")
		if err != nil || (got != first && got != second) {
			t.Fatalf("kill %d: go-git reads main as %q, %v", i, got, err)
		}
		if err := r.SetBranch("main", first); err != nil {
			t.Fatalf("kill %d: the next write: %v", i, err)
		}
		r.Close()
		if got := gitCLI(t, dir, "rev-parse", "main"); got != first {
			t.Fatalf("kill %d: git reads main as %s", i, got)
		}
		gitCLI(t, dir, "fsck", "--no-progress")
	}
}

// TestReferencesInLinkedWorkTree: a branch set through a linked work tree (git worktree add)
// lands in the repository's common git directory, where git finds it from either work tree.
func TestReferencesInLinkedWorkTree(t *testing.T) {
	dir := gitWorkTree(t, map[string]string{"a.txt": "a"})
	first := gitCLI(t, dir, "rev-parse", "HEAD")
	linked := filepath.Join(t.TempDir(), "linked")
	gitCLI(t, dir, "worktree", "add", "-q", "-b", "side", linked)
	r := openGit(t, linked)
	if err := r.SetBranch("other", first); err != nil {
		t.Fatal(err)
	}
	if got := gitCLI(t, dir, "rev-parse", "refs/heads/other"); got != first {
		t.Fatalf("git in the main work tree reads other as %s, want %s", got, first)
	}
	if got := gitCLI(t, linked, "symbolic-ref", "HEAD"); got != "refs/heads/other" {
		t.Fatalf("the linked work tree's HEAD is %s", got)
	}
	if got := gitCLI(t, dir, "symbolic-ref", "HEAD"); got != "refs/heads/main" {
		t.Fatalf("the main work tree's HEAD moved to %s", got)
	}
}

// TestPushIntoLocalRepositoryWritesByRename: a push into a local bare repository (a GitOps
// target on a shared disk) goes through the same wrapped git directory: the leftovers of a
// killed writer are cleared, and git reads the pushed branch.
func TestPushIntoLocalRepositoryWritesByRename(t *testing.T) {
	bare := filepath.Join(t.TempDir(), "gitops.git")
	gitCLI(t, t.TempDir(), "init", "-q", "--bare", "-b", "main", bare)
	stale := filepath.Join(bare, tmpPrefix+"left")
	if err := os.WriteFile(stale, []byte("0123"), 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	os.Chtimes(stale, old, old)
	hash, changed, err := PublishFolder(context.Background(), bare, Commit{
		Branch: "main", Folder: "prod", Files: map[string][]byte{"app.yaml": []byte("kind: List\n")},
		Message: "publish", Author: "Agent <agent@example.org>", When: t0,
	})
	if err != nil || !changed {
		t.Fatalf("PublishFolder: %v, %v", changed, err)
	}
	if got := gitCLI(t, bare, "rev-parse", "refs/heads/main"); got != hash {
		t.Fatalf("git reads main as %s, want %s", got, hash)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Fatalf("the stale temporary file is still there: %v", err)
	}
	gitCLI(t, bare, "fsck", "--no-progress")
}

// TestReplacedReferencesKeepPermissions: a replaced reference keeps its file's permissions, and
// a new one takes HEAD's, so that a group-writable repository (core.sharedRepository) stays
// writable by its group.
func TestReplacedReferencesKeepPermissions(t *testing.T) {
	dir := gitWorkTree(t, map[string]string{"a.txt": "a"})
	first := gitCLI(t, dir, "rev-parse", "HEAD")
	gitDir := filepath.Join(dir, ".git")
	for _, name := range []string{"HEAD", "refs/heads/main"} {
		if err := os.Chmod(filepath.Join(gitDir, filepath.FromSlash(name)), 0o664); err != nil {
			t.Fatal(err)
		}
	}
	r := openGit(t, dir)
	if err := r.SetBranch("main", first); err != nil {
		t.Fatal(err)
	}
	if err := r.SetBranch("new", first); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"HEAD", "refs/heads/main", "refs/heads/new"} {
		fi, err := os.Stat(filepath.Join(gitDir, filepath.FromSlash(name)))
		if err != nil || fi.Mode().Perm() != 0o664 {
			t.Errorf("%s: %v, %v, want mode 0664", name, fi.Mode(), err)
		}
	}
}

// openGit opens the repository at dir for the rest of the test.
func openGit(t *testing.T, dir string) *Repo {
	t.Helper()
	r, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}
