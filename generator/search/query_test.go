package search

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestQueryErrors: a malformed or oversized query is an error that says what is wrong and
// where, not a search that finds nothing.
func TestQueryErrors(t *testing.T) {
	idx := exampleIndex(t)
	tests := []struct {
		name, query, want string
	}{
		{"unterminated phrase", `fhir "bulk data`, `query:1:6: unterminated phrase`},
		{"invalid regexp", `fhir /post(gres/`, `query:1:6: invalid regular expression /post(gres/: error parsing regexp: missing closing )`},
		{"huge regexp repeat", `/a{5000}/`, `query:1:1: invalid regular expression /a{5000}/`},
		{"too long", strings.Repeat("fhir ", MaxQueryBytes/5+1), `query: the query is 1025 bytes long, the most is 1024`},
		{"too many clauses", strings.Repeat("a ", MaxQueryClauses+1), `query:1:65: more than 32 clauses`},
		{"too many words in one clause", strings.Repeat("fhir,", MaxQueryWords+1), `query: more than 64 words`},
		{"not UTF-8", "fhir \xff", `query: the query is not valid UTF-8`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := idx.Search(context.Background(), Request{Query: tt.query})
			var qe *QueryError
			if !errors.As(err, &qe) {
				t.Fatalf("search %q: got %v, want a *QueryError", tt.query, err)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("search %q:\n got %s\nwant %s…", tt.query, err, tt.want)
			}
			if CheckQuery(tt.query) == nil && !strings.Contains(tt.name, "words") {
				t.Errorf("CheckQuery(%q) = nil", tt.query)
			}
		})
	}
	// The bounds themselves are fine.
	for _, q := range []string{strings.Repeat("a ", MaxQueryClauses), `"bulk data" /post.*/`, strings.Repeat("x", MaxQueryBytes)} {
		if _, err := idx.Search(context.Background(), Request{Query: q}); err != nil {
			t.Errorf("search %.40q: %v", q, err)
		}
	}
}

// FuzzQuery searches the example index with arbitrary queries: parsing never panics, refuses
// with a *QueryError or answers, and no query takes long (.ci/run runs it briefly).
func FuzzQuery(f *testing.F) {
	for _, q := range []string{
		"fhir postgres", `+license:MIT -tag:demo "bulk data"^2 fihr~ fhir* name:smart^1.5 /post.*/ a\:b`,
		`"unterminated`, "/(/", "~2^", `\`, "-", "+", "*?*", "tag:*", "exposes:/hl7.*/", "postgres~9",
		"日本語のテキスト ＦＨＩＲ’s", "a,b,c,d,e", `"a b c"~2^0`, "name:", "license_status:OPEN",
	} {
		f.Add(q)
	}
	idx := exampleIndex(f)
	f.Fuzz(func(t *testing.T, q string) {
		start := time.Now()
		res, err := idx.Search(context.Background(), Request{Query: q, Highlight: true})
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("search %q took %s", q, took)
		}
		if err != nil {
			var qe *QueryError
			if !errors.As(err, &qe) {
				t.Fatalf("search %q: %v (not a *QueryError)", q, err)
			}
			if CheckQuery(q) == nil && !strings.Contains(err.Error(), "words") {
				t.Errorf("search %q refused (%v), CheckQuery accepts it", q, err)
			}
			return
		}
		if len(q) > MaxQueryBytes {
			t.Errorf("search of %d bytes accepted", len(q))
		}
		if res.Total < len(res.Hits) || res.Total > idx.Documents() {
			t.Errorf("search %q: %d hits of %d total, %d documents", q, len(res.Hits), res.Total, idx.Documents())
		}
	})
}
