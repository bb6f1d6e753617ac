package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hspc/marketplace/catalog/synthetic"
	"github.com/hspc/marketplace/generator/search"
	"github.com/hspc/marketplace/generator/write"
)

// These tests run the real marketplace binary, built once by TestMain, as CI and users do:
// kill -9 and SIGTERM reach a real `marketplace build` process through main.

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "marketplace-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	binary = filepath.Join(dir, "marketplace")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(2)
	}
	code := m.Run()
	os.RemoveAll(dir)
	if binDir != "" { // the script tests' binary (scripts_test.go)
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// catalogs are two synthetic catalogs (different seeds) and the output each builds into an
// empty folder: every whole output of a build of one of them is byte for byte one of these.
var catalogs = sync.OnceValues(func() ([2]string, [2]map[string]string) {
	var roots [2]string
	var trees [2]map[string]string
	dir := filepath.Join(filepath.Dir(binary), "catalogs") // removed by TestMain
	for i := range roots {
		// The catalogs share a folder of their own, so "a folder holding the catalog" has
		// nothing beside it that other programs change.
		roots[i] = filepath.Join(dir, "repos", fmt.Sprintf("catalog%d", i))
		if err := synthetic.Write(roots[i], synthetic.Options{Products: 60, Seed: int64(i + 1)}); err != nil {
			panic(err)
		}
		out := filepath.Join(dir, fmt.Sprintf("ref%d", i))
		if code, stderr := build(roots[i], out, nil); code != 0 {
			panic(fmt.Sprintf("reference build: exit %d: %s", code, stderr))
		}
		t, err := hashTree(out)
		if err != nil {
			panic(err)
		}
		trees[i] = t
	}
	return roots, trees
})

// build runs `marketplace build` to completion and returns its exit code and standard error.
func build(root, out string, env []string) (int, string) {
	cmd := exec.Command(binary, "build", "-C", root, "--no-verify", "-o", out)
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), stderr.String()
	}
	if err != nil {
		return -1, err.Error()
	}
	return 0, stderr.String()
}

// startAt starts a build that stops at the killpoint stage and returns once it is there.
func startAt(t *testing.T, root, out, stage string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(binary, "build", "-C", root, "--no-verify", "-o", out)
	cmd.Env = append(os.Environ(), write.KillpointEnv+"="+stage)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stderr)
	var said []string
	for lines.Scan() {
		said = append(said, lines.Text())
		if lines.Text() == "killpoint "+stage {
			go io.Copy(io.Discard, stderr)
			return cmd
		}
	}
	cmd.Wait()
	t.Fatalf("build never reached %s: %s", stage, strings.Join(said, "\n"))
	return nil
}

// hashTree hashes every file under dir (following dir itself when it is a link). The bleve
// index's files are not reproducible byte for byte (bleve stamps them), so the index counts as
// one entry, the number of documents it opens with.
func hashTree(dir string) (map[string]string, error) {
	out := map[string]string{}
	if ix, err := search.Open(dir); err == nil {
		out[search.IndexDir] = fmt.Sprint(ix.Documents(), " documents")
		ix.Close()
	}
	err := filepath.WalkDir(dir+string(filepath.Separator), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.Type()&fs.ModeSymlink != 0 {
			link, err := os.Readlink(p)
			out[filepath.ToSlash(rel)] = "link to " + link
			return err
		}
		if d.IsDir() {
			if rel == search.IndexDir {
				return filepath.SkipDir
			}
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if rel == write.ManifestFile { // its list of index files varies with the index: its page keys
			keys, ok := write.Keys(filepath.Dir(p))
			if !ok {
				return fmt.Errorf("%s: not a manifest a build reads", p)
			}
			data, _ = json.Marshal(keys)
		}
		sum := sha256.Sum256(data)
		out[filepath.ToSlash(rel)] = hex.EncodeToString(sum[:])
		return nil
	})
	return out, err
}

// whole returns which reference output dir is exactly (0 or 1), or fails the test.
func whole(t *testing.T, dir string) int {
	t.Helper()
	_, refs := catalogs()
	got, err := hashTree(dir)
	if err != nil {
		t.Fatalf("reading the output: %v", err)
	}
	for i, ref := range refs {
		if same(got, ref) {
			return i
		}
	}
	for i, ref := range refs {
		var missing, extra, changed int
		for p, h := range ref {
			switch g, ok := got[p]; {
			case !ok:
				missing++
			case g != h:
				changed++
			}
		}
		for p := range got {
			if _, ok := ref[p]; !ok {
				extra++
			}
		}
		t.Errorf("against catalog %d's output: %d files missing, %d extra, %d changed", i, missing, extra, changed)
	}
	t.Fatalf("%s is not a whole output", dir)
	return -1
}

func same(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for p, h := range a {
		if b[p] != h {
			return false
		}
	}
	return true
}

// leftovers lists what is beside the output in its parent folder, other than the output.
func leftovers(t *testing.T, out string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Dir(out))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	base := filepath.Base(out)
	for _, e := range entries {
		switch e.Name() {
		case base, "." + base + ".a", "." + base + ".b": // the output and its two trees
		default:
			names = append(names, e.Name())
		}
	}
	return names
}

// TestKillDuringBuild kills a real build with SIGKILL at each stage of writing: while rendering
// (before anything is published), just before the swap, and in the cleanup after it. The output
// must be the previous one (or, after the swap, the new one) whole, and the next build must clear
// every leftover.
func TestKillDuringBuild(t *testing.T) {
	roots, _ := catalogs()
	for _, tc := range []struct {
		stage string
		want  int  // which catalog's output must be in place after the kill
		plain bool // the previous output is a plain folder (an earlier version's layout)
	}{{"render", 0, false}, {"swap", 0, false}, {"cleanup", 1, false}, {"cleanup", 1, true}} {
		name := tc.stage
		if tc.plain {
			name += " after taking over a plain folder"
		}
		t.Run(name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "public")
			if code, stderr := build(roots[0], out, nil); code != 0 {
				t.Fatalf("first build: exit %d: %s", code, stderr)
			}
			if tc.plain {
				plainCopy(t, out)
			}
			cmd := startAt(t, roots[1], out, tc.stage)
			cmd.Process.Kill()
			cmd.Wait()
			if got := whole(t, out); got != tc.want {
				t.Errorf("after kill -9 at %s the output is catalog %d's, want %d's", tc.stage, got, tc.want)
			}
			if code, stderr := build(roots[0], out, nil); code != 0 {
				t.Fatalf("build after the kill: exit %d: %s", code, stderr)
			}
			if got := whole(t, out); got != 0 {
				t.Errorf("build after the kill published catalog %d's output", got)
			}
			if l := leftovers(t, out); len(l) != 0 {
				t.Errorf("left beside the output after the next build: %v", l)
			}
		})
	}
}

// TestSIGTERMThroughMain sends SIGTERM to a real build, as a CI runner cancelling a job does:
// interrupted before the swap it exits non-zero and leaves the previous output whole; in the
// cleanup after the swap it finishes. Either way no temporary folder is left.
func TestSIGTERMThroughMain(t *testing.T) {
	roots, _ := catalogs()
	for _, tc := range []struct {
		stage    string
		want     int
		wantExit int
	}{{"render", 0, 2}, {"swap", 0, 2}, {"cleanup", 1, 0}} {
		t.Run(tc.stage, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "public")
			if code, stderr := build(roots[0], out, nil); code != 0 {
				t.Fatalf("first build: exit %d: %s", code, stderr)
			}
			cmd := startAt(t, roots[1], out, tc.stage)
			cmd.Process.Signal(syscall.SIGTERM)
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				cmd.Process.Kill()
				t.Fatal("the build did not exit within 30 s of SIGTERM")
			}
			if code := cmd.ProcessState.ExitCode(); code != tc.wantExit {
				t.Errorf("exit code %d after SIGTERM at %s, want %d", code, tc.stage, tc.wantExit)
			}
			if got := whole(t, out); got != tc.want {
				t.Errorf("after SIGTERM at %s the output is catalog %d's, want %d's", tc.stage, got, tc.want)
			}
			if l := leftovers(t, out); len(l) != 0 {
				t.Errorf("left beside the output: %v", l)
			}
		})
	}
}

// TestSecondBuildIsRefusedWhileOneWrites starts a build, holds it while it renders, and runs a
// second into the same output: it must fail clearly and touch nothing.
func TestSecondBuildIsRefusedWhileOneWrites(t *testing.T) {
	roots, _ := catalogs()
	out := filepath.Join(t.TempDir(), "public")
	if code, stderr := build(roots[0], out, nil); code != 0 {
		t.Fatalf("first build: exit %d: %s", code, stderr)
	}
	first := startAt(t, roots[1], out, "render")
	before := leftovers(t, out)
	code, stderr := build(roots[1], out, nil)
	if code != 2 || !strings.Contains(stderr, "another build (pid ") || !strings.Contains(stderr, "is writing "+out) {
		t.Errorf("second build: exit %d, %q; want exit 2 and \"another build … is writing %s\"", code, stderr, out)
	}
	if after := leftovers(t, out); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("the second build changed what is beside the output: %v, was %v", after, before)
	}
	first.Process.Kill()
	first.Wait()
	if got := whole(t, out); got != 0 {
		t.Errorf("output is catalog %d's", got)
	}
}

// TestConcurrentBuildsAndKills runs rounds of overlapping real builds of either catalog into one
// output, killing some at random moments with SIGKILL. After every round the output must be
// one catalog's output, whole.
func TestConcurrentBuildsAndKills(t *testing.T) {
	roots, _ := catalogs()
	out := filepath.Join(t.TempDir(), "public")
	if code, stderr := build(roots[0], out, nil); code != 0 {
		t.Fatalf("first build: exit %d: %s", code, stderr)
	}
	start := time.Now()
	build(roots[1], out, nil)
	full := time.Since(start)
	rng := rand.New(rand.NewPCG(1, uint64(time.Now().UnixNano())))
	var succeeded, refused, killed int
	for round := range 8 {
		var wg sync.WaitGroup
		var mu sync.Mutex
		for b := range 3 {
			wg.Go(func() {
				time.Sleep(time.Duration(rng.Int64N(int64(full / 2))))
				cmd := exec.Command(binary, "build", "-C", roots[(round+b)%2], "--no-verify", "-o", out)
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				if err := cmd.Start(); err != nil {
					t.Error(err)
					return
				}
				if b == 0 || rng.IntN(2) == 0 {
					time.AfterFunc(time.Duration(rng.Int64N(int64(full*3/2))), func() { cmd.Process.Kill() })
				}
				cmd.Wait()
				mu.Lock()
				defer mu.Unlock()
				switch code := cmd.ProcessState.ExitCode(); {
				case code == 0:
					succeeded++
				case code == 2 && strings.Contains(stderr.String(), "another build"):
					refused++
				case code == -1:
					killed++
				default:
					t.Errorf("build exited %d: %s", code, stderr.String())
				}
			})
		}
		wg.Wait()
		whole(t, out)
	}
	t.Logf("%d builds succeeded, %d refused by the lock, %d killed", succeeded, refused, killed)
	if succeeded == 0 || killed == 0 {
		t.Errorf("the rounds did not exercise both outcomes: %d succeeded, %d killed", succeeded, killed)
	}
	if code, stderr := build(roots[1], out, nil); code != 0 {
		t.Fatalf("final build: exit %d: %s", code, stderr)
	}
	if got := whole(t, out); got != 1 {
		t.Errorf("final output is catalog %d's", got)
	}
	if l := leftovers(t, out); len(l) != 0 {
		t.Errorf("left beside the output: %v", l)
	}
}

// TestBuildRefusesToReplace: an output folder that is not a build output, a file, or the catalog
// repository (or a folder holding it) is refused with exit 2 and left exactly as it was.
func TestBuildRefusesToReplace(t *testing.T) {
	roots, _ := catalogs()
	root := roots[0]
	home := t.TempDir()
	os.WriteFile(filepath.Join(home, "notes.txt"), []byte("mine"), 0o644)
	os.Mkdir(filepath.Join(home, "photos"), 0o755)
	file := filepath.Join(t.TempDir(), "public")
	os.WriteFile(file, []byte("a file"), 0o644)
	linkToHome := filepath.Join(t.TempDir(), "public")
	os.Symlink(home, linkToHome)
	for name, out := range map[string]string{
		"a folder with files":          home,
		"a regular file":               file,
		"the catalog repository":       root,
		"a folder holding the catalog": filepath.Dir(root),
		"a folder of the catalog":      filepath.Join(root, "products"),
		"a link to a folder of files":  linkToHome,
	} {
		t.Run(name, func(t *testing.T) {
			before, beside := snapshot(t, out)
			code, stderr := build(root, out, nil)
			if code != 2 || !strings.Contains(stderr, "output refused") {
				t.Errorf("exit %d, %q; want exit 2 and a refusal", code, stderr)
			}
			after, besideAfter := snapshot(t, out)
			if !same(before, after) || fmt.Sprint(beside) != fmt.Sprint(besideAfter) {
				t.Errorf("the refused build changed %s or what is beside it", out)
			}
		})
	}
}

// snapshot returns the hashes of what out holds (the file itself, or the files under it) and the
// names beside it.
func snapshot(t *testing.T, out string) (map[string]string, []string) {
	t.Helper()
	tree := map[string]string{}
	if fi, err := os.Stat(out); err == nil && !fi.IsDir() {
		data, _ := os.ReadFile(out)
		tree["."] = string(data)
	} else if tree, err = hashTree(out); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(filepath.Dir(out))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return tree, names
}

// TestBuildIntoAcceptedOutputs: an absent folder, an empty one, a previous output, and a link
// to any of them (followed: the link stays a link to the same place).
func TestBuildIntoAcceptedOutputs(t *testing.T) {
	roots, _ := catalogs()
	empty := t.TempDir()
	target := filepath.Join(t.TempDir(), "site")
	os.Mkdir(target, 0o755)
	link := filepath.Join(t.TempDir(), "public")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{
		"absent": filepath.Join(t.TempDir(), "a", "public"),
		"empty":  empty,
		"link":   link,
	} {
		t.Run(name, func(t *testing.T) {
			for i := range 2 { // the second build replaces the first's output
				if code, stderr := build(roots[i], out, nil); code != 0 {
					t.Fatalf("build %d: exit %d: %s", i, code, stderr)
				}
				if got := whole(t, out); got != i {
					t.Errorf("build %d published catalog %d's output", i, got)
				}
			}
		})
	}
	if got, err := os.Readlink(link); err != nil || got != target {
		t.Errorf("the link now points to %q (%v), want %s", got, err, target)
	}
	if got := whole(t, target); got != 1 {
		t.Errorf("the link's target holds catalog %d's output", got)
	}
}

// plainCopy replaces the output link out with a plain folder holding a copy of its tree, as an
// earlier version of the build wrote it.
func plainCopy(t *testing.T, out string) {
	t.Helper()
	src := out + string(filepath.Separator)
	plain := out + ".plain"
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(plain, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(plain, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{out, filepath.Join(filepath.Dir(out), ".public.a"), filepath.Join(filepath.Dir(out), ".public.b")} {
		if err := os.RemoveAll(name); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Rename(plain, out); err != nil {
		t.Fatal(err)
	}
}
