package catalog

import (
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"testing/fstest"

	"golang.org/x/tools/txtar"
)

// TestHiddenChar pins which characters display text refuses, at the edges of each range.
func TestHiddenChar(t *testing.T) {
	tests := []struct {
		name      string
		s         string
		multiline bool
		want      string // fragment; "" for accepted
	}{
		{"plain", "Acme FHIR Server", false, ""},
		{"accents, CJK and emoji", "Électronique 医疗 🩺", false, ""},
		{"right-to-left with marks", "שרת FHIR \u200F(ישראל)\u200E ومصر\u061C", false, ""},
		{"non-breaking and ideographic space", "a\u00A0b\u3000c", false, ""},
		{"tab and line breaks in multiline text", "a\tb\r\nc", true, ""},
		{"NUL", "a\x00b", false, "control character U+0000 at character 2"},
		{"tab in one-line text", "a\tb", false, "control character U+0009"},
		{"line break in one-line text", "a\nb", false, "control character U+000A"},
		{"unit separator", "a\x1fb", true, "control character U+001F"},
		{"DEL", "a\x7fb", true, "control character U+007F"},
		{"first C1", "a\u0080b", true, "control character U+0080"},
		{"NEL", "a\u0085b", true, "control character U+0085"},
		{"last C1", "a\u009Fb", true, "control character U+009F"},
		{"LRE", "\u202A", false, "U+202A LEFT-TO-RIGHT EMBEDDING at character 1"},
		{"RLO", "x\u202E", false, "U+202E RIGHT-TO-LEFT OVERRIDE at character 2"},
		{"LRI", "\u2066", false, "U+2066 LEFT-TO-RIGHT ISOLATE"},
		{"PDI", "\u2069", false, "U+2069 POP DIRECTIONAL ISOLATE"},
		{"zero width space", "a\u200Bb", false, "U+200B ZERO WIDTH SPACE"},
		{"zero width joiner", "a\u200Db", false, "U+200D ZERO WIDTH JOINER"},
		{"word joiner", "a\u2060b", false, "U+2060 WORD JOINER"},
		{"byte order mark", "\uFEFFa", false, "U+FEFF ZERO WIDTH NO-BREAK SPACE"},
		{"character count, not bytes", "é\u202E", false, "at character 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := hiddenChar(tt.s, tt.multiline, false)
			switch {
			case tt.want == "" && got != "":
				t.Errorf("refused: %s", got)
			case tt.want != "" && !strings.Contains(got, tt.want):
				t.Errorf("got %q, want it to contain %q", got, tt.want)
			}
		})
	}
}

// TestWorkTreeSymlinkOutside reads a catalog from a real directory, as `validate` and `build`
// without --ref do: a product file that is a symlink out of the repository is refused, not read.
func TestWorkTreeSymlinkOutside(t *testing.T) {
	root := filepath.Join(t.TempDir(), "catalog")
	base := readArchive(t, "testdata/base.txtar")
	for _, f := range base.Files {
		p := filepath.Join(root, filepath.FromSlash(f.Name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	secret := filepath.Join(filepath.Dir(root), "secret.toml")
	fhir, _ := os.ReadFile(filepath.Join(root, "products", "acme", "fhir.toml"))
	if err := os.WriteFile(secret, fhir, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../../secret.toml", filepath.Join(root, "products", "acme", "leak.toml")); err != nil {
		t.Fatal(err)
	}
	// A symlink that stays inside the repository is fine.
	if err := os.Symlink("fhir.toml", filepath.Join(root, "products", "acme", "alias.toml")); err != nil {
		t.Fatal(err)
	}
	c, ds := Check(os.DirFS(root))
	var lines []string
	for _, d := range ds {
		if d.Severity == Error {
			lines = append(lines, d.String())
		}
	}
	want := []string{"products/acme/leak.toml: error: symlink to ../../../secret.toml, outside the repository"}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	if c.Products["acme/leak"] != nil {
		t.Error("the product behind the symlink was loaded")
	}
	if c.Products["acme/alias"] == nil {
		t.Error("the product behind a symlink inside the repository was not loaded")
	}
}

// TestValidationGrowsLinearly checks that loading and validating cost time proportional to the
// input, by counting bytes allocated (a measure that does not depend on the machine's speed) for
// inputs of size n and 8n: linear growth gives a ratio of about 8, a quadratic step one near 64.
func TestValidationGrowsLinearly(t *testing.T) {
	base := readArchive(t, "testdata/base.txtar")
	shapes := []struct {
		name string
		file func(n int) string
	}{
		{"long dotted key", func(n int) string { return "name = \"x\"\n" + strings.Repeat("k.", n) + "k = 1\n" }},
		{"long dotted table header", func(n int) string { return "name = \"x\"\n[" + strings.Repeat("k.", n) + "k]\nz = 1\n" }},
		{"long dotted array-of-tables header", func(n int) string {
			return "name = \"x\"\n[[" + strings.Repeat("k.", n) + "k]]\nz = 1\n[[" + strings.Repeat("k.", n) + "k]]\nz = 2\n"
		}},
		{"nested inline tables", func(n int) string {
			return "name = \"x\"\nbind = " + strings.Repeat("{k=", n) + "1" + strings.Repeat("}", n) + "\n"
		}},
		{"nested arrays", func(n int) string {
			return "name = \"x\"\ntags = " + strings.Repeat("[", n) + strings.Repeat("]", n) + "\n"
		}},
		{"many unknown keys", func(n int) string {
			var b strings.Builder
			for i := range n {
				b.WriteString("unknown")
				b.WriteString(strings.Repeat("x", i%7))
				b.WriteString(" = 1\n")
			}
			return b.String()
		}},
	}
	// allocs is the least of three runs: the parser's pools make a cold run allocate more.
	allocs := func(file string) uint64 {
		fsys := overlay(t, base, &txtar.Archive{})
		fsys["products/acme/shape.toml"] = &fstest.MapFile{Data: []byte(file)}
		least := uint64(math.MaxUint64)
		for range 3 {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, ds := Check(fsys)
			runtime.ReadMemStats(&after)
			if !ds.HasErrors() {
				t.Fatalf("no error for the shape; the test would measure nothing")
			}
			least = min(least, after.TotalAlloc-before.TotalAlloc)
		}
		return least
	}
	for _, s := range shapes {
		t.Run(s.name, func(t *testing.T) {
			const n = 1000 // 8n stays under the TOML parser's nesting limit of 10 000
			small, large := allocs(s.file(n)), allocs(s.file(8*n))
			ratio := float64(large) / float64(small)
			t.Logf("%d bytes allocated for n=%d, %d for 8n: ratio %.1f", small, n, large, ratio)
			if ratio > 20 {
				t.Errorf("8 times the input allocates %.1f times the bytes (%d → %d); want about 8 (linear)", ratio, small, large)
			}
		})
	}
}
