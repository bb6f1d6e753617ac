package federate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hspc/marketplace/catalog/gitrepo"
)

// tamper changes one character of the first signature in a material file.
func tamper(material string) string {
	const key = `"signature": "`
	i := strings.Index(material, key)
	if i < 0 {
		panic("no signature in the material")
	}
	i += len(key)
	c := byte('A')
	if material[i] == 'A' {
		c = 'B'
	}
	return material[:i] + string(c) + material[i+1:]
}

func TestMirrorCloneSyncStatus(t *testing.T) {
	ctx := context.Background()
	src := newSource(t)
	first := src.head()
	dir := filepath.Join(t.TempDir(), "mirror")
	res, err := Clone(ctx, src.bare, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.State.Commit != first || res.State.Branch != "main" || res.Products != 14 {
		t.Fatalf("Clone: %+v, %d products; want %s on main, 14 products", res.State, res.Products, first)
	}

	s, err := MirrorStatus(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Newer == nil || *s.Newer || s.Commit.Hash != first || s.State.Source != src.bare {
		t.Fatalf("status after clone: %+v", s)
	}

	fhir := src.read("products/acme/fhir.toml")
	second := src.commit("acme/fhir: new summary", map[string]string{
		"products/acme/fhir.toml": strings.Replace(fhir, `summary = "FHIR R4 server`, `summary = "A FHIR R4 server`, 1),
	})
	if s, err = MirrorStatus(ctx, dir, Options{}); err != nil || s.Newer == nil || !*s.Newer || s.Source != second {
		t.Fatalf("status with a newer source commit: %+v, %v", s, err)
	}
	res, err = Sync(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Old != first || res.State.Commit != second {
		t.Fatalf("Sync: %s..%s, want %s..%s", res.Old, res.State.Commit, first, second)
	}

	// Another Git reads the mirror.
	clone := filepath.Join(t.TempDir(), "clone")
	git(t, t.TempDir(), "clone", "-q", dir, clone)
	if got := git(t, clone, "rev-parse", "HEAD"); got != second {
		t.Fatalf("git clone of the mirror: HEAD %s, want %s", got, second)
	}
	git(t, clone, "fsck", "--full")

	// Unreachable source: status says so, the mirror is still usable.
	os.RemoveAll(src.bare)
	if s, err = MirrorStatus(ctx, dir, Options{}); err != nil || s.SourceErr == "" || s.Commit.Hash != second {
		t.Fatalf("status with the source gone: %+v, %v", s, err)
	}
	if _, err := Sync(ctx, dir, Options{}); err == nil {
		t.Fatal("Sync from a missing source succeeded")
	}
	if st, _ := ReadState(dir); st.Commit != second {
		t.Fatalf("after a failed sync the mirror is at %s, want %s", st.Commit, second)
	}
}

func TestMirrorRefusesTamperedMaterial(t *testing.T) {
	ctx := context.Background()
	src := newSource(t)
	first := src.head()
	dir := filepath.Join(t.TempDir(), "mirror")
	if _, err := Clone(ctx, src.bare, dir, Options{}); err != nil {
		t.Fatal(err)
	}
	sig := src.firstSignatureFile()
	bad := src.commit("tamper with a signature", map[string]string{sig: tamper(src.read(sig))})
	_, err := Sync(ctx, dir, Options{})
	var ce *CheckError
	if !errors.As(err, &ce) {
		t.Fatalf("Sync of a tampered commit: err = %v, want a CheckError", err)
	}
	if ce.Commit != bad || !ce.Diagnostics.HasErrors() {
		t.Fatalf("CheckError: %+v", ce)
	}
	found := false
	for _, d := range ce.Diagnostics {
		if d.Severity == 0 && strings.HasPrefix(d.Path, bad[:12]+":products/") && d.Line > 0 && strings.Contains(d.Message, "signature") {
			found = true
		}
	}
	if !found {
		t.Fatalf("no positioned signature error among:\n%v", ce.Diagnostics)
	}
	st, _ := ReadState(dir)
	repo, _ := gitrepo.Open(dir)
	defer repo.Close()
	if got, _ := repo.Reference("refs/heads/main"); st.Commit != first || got != first {
		t.Fatalf("after a refused sync: state %s, branch %s; want both %s", st.Commit, got, first)
	}

	// A clone of the tampered catalog leaves nothing behind.
	dir2 := filepath.Join(t.TempDir(), "mirror2")
	if _, err := Clone(ctx, src.bare, dir2, Options{}); !errors.As(err, &ce) {
		t.Fatalf("Clone of a tampered catalog: err = %v", err)
	}
	if _, err := os.Stat(dir2); !os.IsNotExist(err) {
		t.Fatalf("a failed clone left %s behind (%v)", dir2, err)
	}
}

func TestMirrorRewrite(t *testing.T) {
	ctx := context.Background()
	src := newSource(t)
	dir := filepath.Join(t.TempDir(), "mirror")
	fhir := src.read("products/acme/fhir.toml")
	old := src.commit("one", map[string]string{"products/acme/fhir.toml": fhir + "\n# one\n"})
	if _, err := Clone(ctx, src.bare, dir, Options{}); err != nil {
		t.Fatal(err)
	}
	git(t, src.work, "reset", "-q", "--hard", "HEAD~1")
	rewritten := src.commit("two", map[string]string{"products/acme/fhir.toml": fhir + "\n# two\n"})
	_, err := Sync(ctx, dir, Options{})
	var re *RewriteError
	if !errors.As(err, &re) {
		t.Fatalf("Sync of a rewritten history: err = %v", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, old[:12]) || !strings.Contains(msg, rewritten[:12]) || !strings.Contains(msg, "--allow-rewrite") {
		t.Fatalf("the rewrite error does not name both commits and the way out: %s", msg)
	}
	if st, _ := ReadState(dir); st.Commit != old {
		t.Fatalf("the mirror moved to %s on a refused rewrite", st.Commit)
	}
	res, err := Sync(ctx, dir, Options{AllowRewrite: true})
	if err != nil || !res.Rewritten || res.State.Commit != rewritten {
		t.Fatalf("Sync --allow-rewrite: %+v, %v", res, err)
	}
}

func TestMirrorBundles(t *testing.T) {
	ctx := context.Background()
	src := newSource(t, "acme", "hspc")
	dir := filepath.Join(t.TempDir(), "mirror")
	if _, err := Clone(ctx, src.bundle(), dir, Options{}); err != nil {
		t.Fatal(err)
	}
	fhir := src.read("products/acme/fhir.toml")
	next := src.commit("next", map[string]string{"products/acme/fhir.toml": fhir + "\n# next\n"})
	res, err := Sync(ctx, dir, Options{From: src.bundle()})
	if err != nil || res.State.Commit != next {
		t.Fatalf("Sync --from bundle: %+v, %v", res, err)
	}
	out := filepath.Join(t.TempDir(), "export.bundle")
	info, err := Export(dir, out, "")
	if err != nil || info.Hash != next {
		t.Fatalf("Export: %+v, %v", info, err)
	}
	clone := filepath.Join(t.TempDir(), "clone")
	git(t, t.TempDir(), "clone", "-q", out, clone)
	if got := git(t, clone, "rev-parse", "HEAD"); got != next {
		t.Fatalf("git clone of the exported bundle: HEAD %s, want %s", got, next)
	}
	// The exported bundle makes a mirror too.
	if _, err := Clone(ctx, out, filepath.Join(t.TempDir(), "m2"), Options{}); err != nil {
		t.Fatal(err)
	}
}

// TestMirrorKilledSync kills a sync with SIGKILL at several moments; each time the mirror is on
// a checked commit (the old one or the new one) with its branch and state agreeing, and the next
// sync completes.
func TestMirrorKilledSync(t *testing.T) {
	if dir := os.Getenv("FEDERATE_SYNC_HELPER"); dir != "" {
		if _, err := Sync(context.Background(), dir, Options{}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	ctx := context.Background()
	src := newSource(t)
	dir := filepath.Join(t.TempDir(), "mirror")
	if _, err := Clone(ctx, src.bare, dir, Options{}); err != nil {
		t.Fatal(err)
	}
	fhir := src.read("products/acme/fhir.toml")
	for i, delay := range []time.Duration{0, 5 * time.Millisecond, 20 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond} {
		before, _ := ReadState(dir)
		next := src.commit(fmt.Sprintf("change %d", i), map[string]string{"products/acme/fhir.toml": fhir + fmt.Sprintf("\n# %d\n", i)})
		cmd := exec.Command(os.Args[0], "-test.run=^TestMirrorKilledSync$")
		cmd.Env = append(os.Environ(), "FEDERATE_SYNC_HELPER="+dir)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(delay)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()

		st, err := ReadState(dir)
		if err != nil {
			t.Fatalf("kill after %s: %v", delay, err)
		}
		if st.Commit != before.Commit && st.Commit != next {
			t.Fatalf("kill after %s: mirror at %s, want %s or %s", delay, st.Commit, before.Commit, next)
		}
		repo, err := gitrepo.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		ds, err := CheckCommit(ctx, repo, st.Commit, "")
		repo.Close()
		if err != nil || ds.HasErrors() {
			t.Fatalf("kill after %s: the recorded commit does not check: %v %v", delay, err, ds)
		}
		res, err := Sync(ctx, dir, Options{})
		if err != nil || res.State.Commit != next {
			t.Fatalf("kill after %s: the next sync: %+v, %v", delay, res, err)
		}
		clone := filepath.Join(t.TempDir(), "clone")
		git(t, t.TempDir(), "clone", "-q", dir, clone)
		if got := git(t, clone, "rev-parse", "HEAD"); got != next {
			t.Fatalf("kill after %s: git clone HEAD %s, want %s", delay, got, next)
		}
	}
	// A mirror that an earlier version, killed, left with empty references (it truncated a
	// reference's file before writing it) syncs again.
	before, _ := ReadState(dir)
	next := src.commit("after the empty references", map[string]string{"products/acme/fhir.toml": fhir + "\n# empty\n"})
	for _, ref := range []string{StagingRef, "refs/heads/" + before.Branch} {
		p := filepath.Join(dir, filepath.FromSlash(ref))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if res, err := Sync(ctx, dir, Options{}); err != nil || res.State.Commit != next {
		t.Fatalf("sync of a mirror with empty references: %+v, %v", res, err)
	}
	if got := git(t, dir, "rev-parse", "refs/heads/"+before.Branch); got != next {
		t.Fatalf("git reads the branch as %s after the sync, want %s", got, next)
	}
}

// TestMirrorChecksChangedProducts: a sync whose commit only changes product files checks just
// those products, and still refuses one that does not validate.
func TestMirrorChecksChangedProducts(t *testing.T) {
	ctx := context.Background()
	src := newSource(t)
	dir := filepath.Join(t.TempDir(), "mirror")
	first := src.head()
	if _, err := Clone(ctx, src.bare, dir, Options{}); err != nil {
		t.Fatal(err)
	}
	fhir := src.read("products/acme/fhir.toml")
	bad := src.commit("break acme/fhir", map[string]string{
		"products/acme/fhir.toml": strings.Replace(fhir, "memory = ", "memory = -", 1),
	})
	_, err := Sync(ctx, dir, Options{})
	var ce *CheckError
	if !errors.As(err, &ce) {
		t.Fatalf("Sync of an invalid product: err = %v", err)
	}
	got := messages(ce.Diagnostics)
	if !strings.Contains(got, bad[:12]+":products/acme/fhir.toml:") || !strings.Contains(got, "memory") {
		t.Fatalf("diagnostics:\n%s", got)
	}
	if st, _ := ReadState(dir); st.Commit != first {
		t.Fatalf("the mirror moved to %s", st.Commit)
	}
	if got, ok := changedProducts([]string{"products/acme/fhir.toml", "products/acme/fhir/logo.svg"}); !ok || len(got) != 1 || !got["acme/fhir"] {
		t.Fatalf("changedProducts = %v, %v", got, ok)
	}
	for _, p := range []string{"index.toml", "products/acme/publisher.toml", "products/acme/cosign.pub", "signatures/sha256-x.json"} {
		if _, ok := changedProducts([]string{"products/acme/fhir.toml", p}); ok {
			t.Errorf("changedProducts with %s: incremental, want a full check", p)
		}
	}
}

// TestMirrorIncrementalExport: an incremental bundle from export --since syncs a mirror at the
// base commit, git reads it too, and a bundle the mirror already has imports nothing.
func TestMirrorIncrementalExport(t *testing.T) {
	ctx := context.Background()
	src := newSource(t, "acme", "hspc")
	first := src.head()
	upstreamMirror := filepath.Join(t.TempDir(), "outside")
	if _, err := Clone(ctx, src.bare, upstreamMirror, Options{}); err != nil {
		t.Fatal(err)
	}
	full := filepath.Join(t.TempDir(), "full.bundle")
	if _, err := Export(upstreamMirror, full, ""); err != nil {
		t.Fatal(err)
	}
	inside := filepath.Join(t.TempDir(), "inside")
	if _, err := Clone(ctx, full, inside, Options{}); err != nil {
		t.Fatal(err)
	}
	fhir := src.read("products/acme/fhir.toml")
	next := src.commit("next", map[string]string{"products/acme/fhir.toml": fhir + "\n# next\n"})
	if _, err := Sync(ctx, upstreamMirror, Options{}); err != nil {
		t.Fatal(err)
	}
	inc := filepath.Join(t.TempDir(), "inc.bundle")
	if _, err := Export(upstreamMirror, inc, first); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(inc)
	ff, _ := os.Stat(full)
	if fi.Size() >= ff.Size()/4 {
		t.Errorf("incremental bundle is %d bytes, the full one %d", fi.Size(), ff.Size())
	}
	res, err := Sync(ctx, inside, Options{From: inc})
	if err != nil || res.State.Commit != next {
		t.Fatalf("Sync from the incremental bundle: %+v, %v", res, err)
	}
	clone := filepath.Join(t.TempDir(), "clone")
	git(t, t.TempDir(), "clone", "-q", full, clone)
	git(t, clone, "bundle", "verify", inc)
	git(t, clone, "pull", "-q", inc, "main")
	if got := git(t, clone, "rev-parse", "HEAD"); got != next {
		t.Fatalf("git pull of the incremental bundle: HEAD %s, want %s", got, next)
	}
	// Last week's bundle again: nothing to import, nothing moves.
	res, err = Sync(ctx, inside, Options{From: full})
	if err != nil || res.State.Commit != next || res.Behind != first {
		t.Fatalf("Sync from an older bundle: %+v, %v; want to stay at %s", res, err, next)
	}
	if _, err := Export(upstreamMirror, filepath.Join(t.TempDir(), "x.bundle"), strings.Repeat("0", 40)); err == nil {
		t.Fatal("Export --since an unknown commit succeeded")
	}
}
