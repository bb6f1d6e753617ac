package search

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/tokenizer/unicode"
)

// TestASCIITokenizer checks the ASCII fast path against bleve's unicode tokenizer on the example
// catalog's files and on tricky strings.
func TestASCIITokenizer(t *testing.T) {
	inputs := []string{
		"", "a", "_", "__a__", "a.b", "a.b.", "e.g. this", "1,000.5", "1_000", "_1_", "a1.2", "1.a2",
		"a:b", "1:2", "a'b", "don't", "users'", "FHIR's", "x,y", "3;4", "a..b", ".5", "5.", "a_.b",
		"a._b", "1_.2", "v2.0.1", "hl7-fhir-r4", "$export", "https://acme.example/fhir?x=1&y=2",
		"FHIR_BASE_URL", "'quoted'", "a'", "'a", "1'2", "a'1", "a\r\nb\tc", "ISO-8601 2026-03-01",
		"smtp://user:password@host:587", "e-mail: a.b@c.d", "10.0.0.1:8080", "x;y;1;2", "a__b", "9__9",
	}
	files, _ := filepath.Glob("../../products/*/*.toml")
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, string(data))
	}
	for _, in := range inputs {
		checkTokens(t, in)
	}
}

func FuzzASCIITokenizer(f *testing.F) {
	for _, s := range []string{"a.b", "1,2", "a:b", "x'y", "_1_", "a1.2b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := []byte(s)
		for i := range b {
			b[i] &= 0x7f // the fast path is for ASCII
		}
		checkTokens(t, string(b))
	})
}

func checkTokens(t *testing.T, in string) {
	t.Helper()
	general := unicode.NewUnicodeTokenizer()
	want := describe(general.Tokenize([]byte(in)))
	got := describe(asciiTokenizer{general: general}.Tokenize([]byte(in)))
	if !slices.Equal(got, want) {
		if len(in) > 200 {
			in = in[:200] + "…"
		}
		t.Errorf("tokens of %q:\n got %s\nwant %s", in, strings.Join(got, " "), strings.Join(want, " "))
	}
}

func describe(ts analysis.TokenStream) []string {
	out := make([]string, len(ts))
	for i, tok := range ts {
		out[i] = string(tok.Term) + "@" + itoa(tok.Start) + "-" + itoa(tok.End) + "#" + itoa(tok.Position) + "/" + itoa(int(tok.Type))
	}
	return out
}

func itoa(i int) string { return strconv.Itoa(i) }
