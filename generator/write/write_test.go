package write

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/hspc/marketplace/generator/page"
)

func pages(version string, n int) []page.Page {
	var ps []page.Page
	for i := range n {
		body := fmt.Sprintf("page %d of %s", i, version)
		if i%2 == 0 { // even pages do not change between versions
			body = fmt.Sprintf("page %d", i)
		}
		ps = append(ps, page.Static(fmt.Sprintf("p/%03d/index.html", i), []byte(body)))
	}
	return ps
}

func readAll(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	filepath.WalkDir(dir+string(filepath.Separator), func(p string, d os.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		if !d.IsDir() && d.Name() != ManifestFile {
			data, _ := os.ReadFile(p)
			rel, _ := filepath.Rel(dir+string(filepath.Separator), p)
			out[filepath.ToSlash(rel)] = string(data)
		}
		return nil
	})
	return out
}

func TestWriteIsIncremental(t *testing.T) {
	out := filepath.Join(t.TempDir(), "public")
	st, err := Write(context.Background(), out, pages("v1", 10), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Rendered != 10 || st.Reused != 0 {
		t.Errorf("first build: %+v, want 10 rendered", st)
	}
	st, err = Write(context.Background(), out, pages("v2", 10), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Rendered != 5 || st.Reused != 5 {
		t.Errorf("second build: %+v, want 5 rendered and 5 reused", st)
	}
	got := readAll(t, out)
	if len(got) != 10 || got["p/001/index.html"] != "page 1 of v2" || got["p/000/index.html"] != "page 0" {
		t.Errorf("output after second build = %v", got)
	}
	// A page that disappears from the build disappears from the output.
	if _, err := Write(context.Background(), out, pages("v2", 3), Options{}); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, out); len(got) != 3 {
		t.Errorf("output has %d files, want 3", len(got))
	}
	if l := leftovers(t, out); len(l) != 0 {
		t.Errorf("leftovers beside the output: %v", l)
	}
}

// leftovers lists the names beside out other than its two trees.
func leftovers(t *testing.T, out string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Dir(out))
	if err != nil {
		t.Fatal(err)
	}
	var l []string
	for _, e := range entries {
		switch e.Name() {
		case filepath.Base(out), treeName(filepath.Base(out), "a"), treeName(filepath.Base(out), "b"):
		default:
			l = append(l, e.Name())
		}
	}
	return l
}

// TestOnlyChangesAreWritten: the inactive tree holds the build before last; bringing it up to
// date renders only pages changed since the last build and links those changed before it.
func TestOnlyChangesAreWritten(t *testing.T) {
	out := filepath.Join(t.TempDir(), "public")
	for i, step := range []struct {
		version        string
		n              int
		rendered, kept int
	}{
		{"v1", 10, 10, 0}, // into .public.a
		{"v2", 10, 5, 5},  // into .public.b: odd pages changed, even ones linked from a
		{"v2", 10, 0, 10}, // into .public.a: odd pages linked from b, even ones already there
		{"v3", 6, 3, 3},   // into .public.b: odd pages rendered, 4 pages removed
	} {
		st, err := Write(context.Background(), out, pages(step.version, step.n), Options{})
		if err != nil {
			t.Fatal(err)
		}
		if st.Rendered != step.rendered || st.Reused != step.kept || st.Pages != step.n {
			t.Errorf("build %d: %+v, want %d rendered and %d reused", i, st, step.rendered, step.kept)
		}
		fresh := filepath.Join(t.TempDir(), "fresh")
		if _, err := Write(context.Background(), fresh, pages(step.version, step.n), Options{}); err != nil {
			t.Fatal(err)
		}
		if got, want := readAll(t, out), readAll(t, fresh); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("build %d: output %v, a fresh build gives %v", i, got, want)
		}
	}
	// The file of an unchanged page is shared by both trees, never written in place.
	a, _ := os.Stat(filepath.Join(filepath.Dir(out), ".public.a", "p/000/index.html"))
	b, _ := os.Stat(filepath.Join(filepath.Dir(out), ".public.b", "p/000/index.html"))
	if !os.SameFile(a, b) {
		t.Error("an unchanged page is not shared between the trees")
	}
	if link, err := os.Readlink(out); err != nil || link != ".public.b" {
		t.Errorf("the output links to %q (%v), want .public.b", link, err)
	}
}

// TestPlainOutputFolderIsTakenOver: the output of an earlier version (a plain folder with a
// manifest) or an empty folder becomes the link, atomically, and its content the other tree.
func TestPlainOutputFolderIsTakenOver(t *testing.T) {
	out := filepath.Join(t.TempDir(), "public")
	os.MkdirAll(filepath.Join(out, "p/000"), 0o755)
	os.WriteFile(filepath.Join(out, "p/000/index.html"), []byte("page 0"), 0o644)
	old := `{"version": 1, "keys": {"p/000/index.html": "` + page.Static("", []byte("page 0")).Key + `"}}`
	os.WriteFile(filepath.Join(out, ManifestFile), []byte(old), 0o644)
	st, err := Write(context.Background(), out, pages("v1", 4), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Rendered != 3 {
		t.Errorf("%+v, want 3 rendered (page 0 linked from the old output)", st)
	}
	if got := readAll(t, out); len(got) != 4 || got["p/000/index.html"] != "page 0" {
		t.Errorf("output = %v", got)
	}
	if _, ok := ours(out); !ok {
		t.Error("the output is not a link to a tree")
	}
	if l := leftovers(t, out); len(l) != 0 {
		t.Errorf("leftovers beside the output: %v", l)
	}
}

// TestHooksWriteAfresh: a hook finds no output of its own in the tree, whichever build wrote it
// last (a plain folder of an earlier version holds an index its manifest does not list).
func TestHooksWriteAfresh(t *testing.T) {
	out := filepath.Join(t.TempDir(), "public")
	os.MkdirAll(filepath.Join(out, "index.db"), 0o755)
	os.WriteFile(filepath.Join(out, "index.db", "old"), []byte("old index"), 0o644)
	os.WriteFile(filepath.Join(out, ManifestFile), []byte(`{"version": 1, "keys": {}}`), 0o644)
	hook := func(n int) Hook {
		return func(ctx context.Context, dir, prev string) error {
			if _, err := os.Stat(filepath.Join(dir, "index.db")); err == nil {
				return errors.New("index.db is there already")
			}
			os.Mkdir(filepath.Join(dir, "index.db"), 0o755)
			return os.WriteFile(filepath.Join(dir, "index.db", "seg"+strconv.Itoa(n)), []byte("index"), 0o644)
		}
	}
	for n := range 4 {
		if _, err := Write(context.Background(), out, pages("v1", 2), Options{Hooks: []Hook{hook(n)}}); err != nil {
			t.Fatalf("build %d: %v", n, err)
		}
		got := readAll(t, out)
		if len(got) != 3 || got["index.db/seg"+strconv.Itoa(n)] != "index" {
			t.Errorf("build %d: output %v", n, got)
		}
	}
}

func TestFailedWriteLeavesOutputUntouched(t *testing.T) {
	out := filepath.Join(t.TempDir(), "public")
	if _, err := Write(context.Background(), out, pages("v1", 10), Options{}); err != nil {
		t.Fatal(err)
	}
	before := readAll(t, out)
	bad := append(pages("v2", 10), page.Page{Path: "broken.html", Key: "x", Render: func() ([]byte, error) {
		return nil, errors.New("template exploded")
	}})
	if _, err := Write(context.Background(), out, bad, Options{}); err == nil || !strings.Contains(err.Error(), "template exploded") {
		t.Fatalf("Write error = %v, want the render error", err)
	}
	if after := readAll(t, out); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("output changed by a failed build")
	}
	if l := leftovers(t, out); len(l) != 0 {
		t.Errorf("leftovers beside the output: %v", l)
	}
	// The failed build left its tree half updated; the next build must still publish exactly
	// its pages.
	if _, err := Write(context.Background(), out, pages("v3", 10), Options{}); err != nil {
		t.Fatal(err)
	}
	fresh := filepath.Join(t.TempDir(), "fresh")
	if _, err := Write(context.Background(), fresh, pages("v3", 10), Options{}); err != nil {
		t.Fatal(err)
	}
	if got, want := readAll(t, out), readAll(t, fresh); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("after a failed build: output %v, want %v", got, want)
	}
}

func TestRejectsBadPaths(t *testing.T) {
	for _, p := range []string{"../escape", "/abs", "a/../b", "", ManifestFile} {
		_, err := Write(context.Background(), filepath.Join(t.TempDir(), "o"), []page.Page{page.Static(p, nil)}, Options{})
		if err == nil {
			t.Errorf("path %q accepted", p)
		}
	}
	dup := []page.Page{page.Static("a", nil), page.Static("a", nil)}
	if _, err := Write(context.Background(), filepath.Join(t.TempDir(), "o"), dup, Options{}); err == nil {
		t.Error("duplicate path accepted")
	}
}

// TestManifestVersions: a tree's manifest is written as version 4 and read back whole (unknown
// keys too); versions 2 and 3 of earlier builds are still read; damaged ones are not trusted.
func TestManifestVersions(t *testing.T) {
	tree := t.TempDir()
	keys := map[string]string{"a/index.html": "k1", "b c/d.json": "asset k2", "e.svg": ""}
	if err := writeManifest(tree, manifest{Version: manifestVersion, Keys: keys, Extra: []string{"x/seg"}}); err != nil {
		t.Fatal(err)
	}
	m, ok := readTreeManifest(tree)
	if !ok || len(m.Keys) != 3 || m.Keys["a/index.html"] != "k1" || m.Keys["b c/d.json"] != "asset k2" || m.Keys["e.svg"] != "" || len(m.Extra) != 1 {
		t.Fatalf("read back %+v, %v; want %v", m, ok, keys)
	}
	for name, data := range map[string]string{
		"version 2":           `{"version": 2, "keys": {"a/index.html": "k1", "e.svg": ""}}`,
		"version 2, indented": "{\n  \"version\": 2,\n  \"keys\": {\"a/index.html\": \"k1\", \"e.svg\": \"\"}\n}\n",
		"version 3":           `{"version":3,"pages":"k1\ta/index.html\n-\te.svg\n"}` + "\n",
		"version 4":           `{"version":4}` + "\nk1\ta/index.html\n-\te.svg\n",
	} {
		os.WriteFile(filepath.Join(tree, ManifestFile), []byte(data), 0o644)
		if m, ok := readTreeManifest(tree); !ok || m.Keys["a/index.html"] != "k1" || len(m.Keys) != 2 {
			t.Errorf("%s: read %+v, %v", name, m, ok)
		}
	}
	for name, data := range map[string]string{
		"no tab":         `{"version": 3, "pages": "k1a/index.html\n"}`,
		"empty path":     `{"version": 3, "pages": "k1\t\n"}`,
		"keys and pages": `{"version": 3, "keys": {}, "pages": "k1\ta\n"}`,
		"future":         `{"version": 5, "pages": "k1\ta\n"}`,
		"not JSON":       `k1 a`,
		"4, no tab":      `{"version":4}` + "\nk1 a/index.html\n",
		"4, empty path":  `{"version":4}` + "\nk1\t\n",
		"4 with pages":   `{"version":4,"pages":"k1\ta\n"}` + "\nk1\ta\n",
		"4, head broken": `{"version":4` + "\nk1\ta\n",
		"3, then lines":  `{"version":3,"pages":"k1\ta\n"}` + "\nk2\tb\n",
	} {
		os.WriteFile(filepath.Join(tree, ManifestFile), []byte(data), 0o644)
		if m, ok := readTreeManifest(tree); ok {
			t.Errorf("%s: trusted %+v", name, m)
		}
	}
}

// TestManifestNamingOutsideIsNotTrusted: a tree's manifest (or journal) lists the files a build
// removes from the tree; one that names a file outside it was not written by a build, and a
// build must not remove that file.
func TestManifestNamingOutsideIsNotTrusted(t *testing.T) {
	for _, planted := range []string{ManifestFile, journalFile} {
		t.Run(planted, func(t *testing.T) {
			parent := t.TempDir()
			out := filepath.Join(parent, "public")
			for _, v := range []string{"v1", "v2"} { // both trees exist after two builds
				if _, err := Write(context.Background(), out, pages(v, 4), Options{}); err != nil {
					t.Fatal(err)
				}
			}
			victim := filepath.Join(parent, "victim.txt")
			if err := os.WriteFile(victim, []byte("not the build's"), 0o644); err != nil {
				t.Fatal(err)
			}
			active, _ := ours(out)
			inactive := filepath.Join(parent, ".public.a")
			if active == inactive {
				inactive = filepath.Join(parent, ".public.b")
			}
			data := `["../victim.txt"]`
			if planted == ManifestFile {
				data = `{"version": 3, "pages": "k\t../victim.txt\n"}`
			}
			if err := os.WriteFile(filepath.Join(inactive, planted), []byte(data), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := Write(context.Background(), out, pages("v3", 4), Options{}); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(victim); err != nil {
				t.Errorf("a file outside the output was removed: %v", err)
			}
			if got := readAll(t, out); len(got) != 4 {
				t.Errorf("output = %v", got)
			}
		})
	}
}

// TestUpdateReadsOnlyPublishedFiles: a page's Update gets the published file when there is one,
// and a symbolic link planted in its place (to /dev/zero, say) is not read: Stream is used.
func TestUpdateReadsOnlyPublishedFiles(t *testing.T) {
	parent := t.TempDir()
	out := filepath.Join(parent, "public")
	var gotPrev []string
	doc := func(v string) page.Page {
		return page.Page{Path: "doc.json", Key: v,
			Stream: func(w io.Writer) error { _, err := io.WriteString(w, "streamed "+v); return err },
			Update: func(w io.Writer, prev io.Reader, keys map[string]string) error {
				data, err := io.ReadAll(prev)
				if err != nil {
					return err
				}
				gotPrev = append(gotPrev, string(data))
				_, err = io.WriteString(w, "updated "+v)
				return err
			}}
	}
	for _, v := range []string{"v1", "v2"} {
		if _, err := Write(context.Background(), out, []page.Page{doc(v)}, Options{}); err != nil {
			t.Fatal(err)
		}
	}
	if len(gotPrev) != 1 || gotPrev[0] != "streamed v1" {
		t.Fatalf("Update saw %q, want the published file once", gotPrev)
	}
	published, _ := ours(out)
	os.Remove(filepath.Join(published, "doc.json"))
	if err := os.Symlink("/dev/zero", filepath.Join(published, "doc.json")); err != nil {
		t.Fatal(err)
	}
	if _, err := Write(context.Background(), out, []page.Page{doc("v3")}, Options{}); err != nil {
		t.Fatal(err)
	}
	if len(gotPrev) != 1 {
		t.Errorf("Update read a planted link: %d calls", len(gotPrev))
	}
	if got := readAll(t, out)["doc.json"]; got != "streamed v3" {
		t.Errorf("doc.json = %q, want it streamed", got)
	}
}

// A page that streams writes into its file as it renders: one that fails halfway leaves part
// of a file in the tree being brought up to date. Neither that build nor the next may publish
// it, even when the next build gives the page the same key.
func TestFailedStreamIsNotReused(t *testing.T) {
	out := filepath.Join(t.TempDir(), "public")
	if _, err := Write(context.Background(), out, pages("v1", 4), Options{}); err != nil {
		t.Fatal(err)
	}
	streamed := func(fail bool) page.Page {
		return page.Page{Path: "s/index.html", Key: "same", Stream: func(w io.Writer) error {
			if _, err := io.WriteString(w, "<p>first half"); err != nil {
				return err
			}
			if fail {
				return errors.New("template exploded halfway")
			}
			_, err := io.WriteString(w, ", second half</p>")
			return err
		}}
	}
	before := readAll(t, out)
	if _, err := Write(context.Background(), out, append(pages("v2", 4), streamed(true)), Options{}); err == nil || !strings.Contains(err.Error(), "halfway") {
		t.Fatalf("Write error = %v, want the stream's error", err)
	}
	if after := readAll(t, out); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("output changed by a failed build: %v", after)
	}
	for range 2 { // into the tree the failed build left, then into the other
		if _, err := Write(context.Background(), out, append(pages("v2", 4), streamed(false)), Options{}); err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, out)["s/index.html"]; got != "<p>first half, second half</p>" {
			t.Fatalf("s/index.html = %q after a build that streamed it whole", got)
		}
	}
}

// encodePages returns keys as version 3's "pages", whole: a line per page, sorted by path. An unknown
// key ("") is written as "-".
func encodePages(keys map[string]string) string {
	paths := slices.Sorted(maps.Keys(keys))
	n := 0
	for _, p := range paths {
		n += len(keys[p]) + len(p) + 3
	}
	var b strings.Builder
	b.Grow(n)
	for _, p := range paths {
		k := keys[p]
		if k == "" {
			k = "-"
		}
		b.WriteString(k)
		b.WriteByte('\t')
		b.WriteString(p)
		b.WriteByte('\n')
	}
	return b.String()
}

// TestManifestStreams: the manifest streamed into its file is its head as encoding/json makes
// it, then a line for each page, whatever the paths hold; it reads back the same; and a key that
// a line cannot hold is refused.
func TestManifestStreams(t *testing.T) {
	keys := map[string]string{"a/index.html": "k1", "e.svg": "", `q"uote\\back/x.json`: "k2",
		"<script>&amp;/\u2028é\t.html": "k3", "b c/d.json": "asset k2"}
	for _, extra := range [][]string{nil, {"search.bleve/store", "x/<seg>"}} {
		var got bytes.Buffer
		if err := encodeManifest(&got, manifest{Keys: keys, Extra: extra}); err != nil {
			t.Fatal(err)
		}
		head, err := json.Marshal(manifest{Version: manifestVersion, Extra: extra})
		if err != nil {
			t.Fatal(err)
		}
		if want := string(head) + "\n" + encodePages(keys); got.String() != want {
			t.Errorf("streamed\n%s\nwant\n%s", got.String(), want)
		}
		tree := t.TempDir()
		os.WriteFile(filepath.Join(tree, ManifestFile), got.Bytes(), 0o644)
		if m, ok := readTreeManifest(tree); !ok || !maps.Equal(m.Keys, keys) || !slices.Equal(m.Extra, extra) {
			t.Errorf("read back %+v, %v", m, ok)
		}
	}
	for _, k := range []string{"a\tb", "a\nb"} {
		if err := encodeManifest(io.Discard, manifest{Keys: map[string]string{"a": k}}); err == nil {
			t.Errorf("key %q written", k)
		}
	}
}
