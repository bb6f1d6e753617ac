package search

import (
	"cmp"
	"fmt"
	"regexp"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Bounds of a query: longer queries or more clauses are refused (a QueryError), so that one
// request cannot make a search expensive. A person's query is a few words.
const (
	MaxQueryBytes   = 1024 // bytes of the query string
	MaxQueryClauses = 32   // whitespace-separated clauses
	MaxQueryWords   = 64   // words of all clauses, after analysis ("a,b,c" is one clause, three words)
	maxRegexpBytes  = 256  // bytes of one /regexp/
)

// QueryError is a query that cannot be parsed, or that exceeds the bounds above. Column is
// the 1-based byte offset in the query where the problem is (0: the whole query).
type QueryError struct {
	Query  string
	Column int
	Msg    string
}

func (e *QueryError) Error() string {
	if e.Column > 0 {
		return fmt.Sprintf("query:1:%d: %s", e.Column, e.Msg)
	}
	return "query: " + e.Msg
}

// CheckQuery reports the first problem of a query string, as a *QueryError, or nil when it is
// a query that Search accepts. Search checks queries with it.
func CheckQuery(q string) error {
	_, err := lex(q)
	return err
}

// A query is parsed into clauses, and each clause into explicit leaves — (field, term, boost)
// triples — before bleve sees it. Both engines score a leaf the way bleve's TermQuery does
// (√tf · norm · idf² · boost, up to bleve's uniform query norm) and a clause as the sum of its
// matched leaves times the fraction of them matched (bleve's disjunction coordination), so
// static/search.js, which follows the same rules over the compact index, ranks like bleve.

// occur says how a clause takes part in the query.
type occur int

const (
	should  occur = iota // optional; at least one should clause matches when there is no must
	must                 // required: '+'
	mustNot              // excluded: '-'
)

// clauseKind says how a clause matches.
type clauseKind int

const (
	kindTerms   clauseKind = iota // any of the leaves
	kindPhrase                    // the phrase's terms, consecutive, in one field
	kindKeyword                   // a keyword field's value: a filter that adds no score
)

// leaf is one term in one field.
type leaf struct {
	Field string
	Term  string
	Boost float64
}

// clause is one whitespace-separated part of a query.
type clause struct {
	Occur  occur
	Kind   clauseKind
	Leaves []leaf // kindTerms and kindKeyword: any of them matches
	// kindPhrase: the analyzed terms with their relative positions (stop words leave gaps),
	// looked for in each of Fields.
	Phrase    []string
	Positions []int
	Fields    []string
	Boost     float64
}

// empty reports whether the clause can match nothing.
func (c *clause) empty() bool {
	if c.Kind == kindPhrase {
		return len(c.Phrase) == 0 || len(c.Fields) == 0
	}
	return len(c.Leaves) == 0
}

// plan is a parsed query.
type plan struct {
	Clauses []clause
}

// matchAll reports whether the query has no clauses, and so matches every product.
func (p *plan) matchAll() bool { return len(p.Clauses) == 0 }

// dictionary is what parsing needs to know about an index's terms.
type dictionary interface {
	// docFreq returns the number of documents that have term in a text field.
	docFreq(field, term string) int
	// textTerms returns the distinct terms of all text fields, sorted.
	textTerms() []string
	// keywordValues returns the distinct values of a keyword field, sorted.
	keywordValues(field string) []string
}

// isTextField and isKeywordField classify field names a query may use.
func isTextField(f string) bool    { return slices.Contains(TextFields, f) }
func isKeywordField(f string) bool { return slices.Contains(keywordFields, f) }

// token is one lexed part of a query.
type token struct {
	occur   occur
	field   string // "" or a known field
	text    string // the value, unescaped
	quoted  bool   // a "phrase"
	regex   bool   // a /regexp/
	boost   float64
	fuzzy   int  // -1: none; else the edit distance asked for with ~N
	pattern bool // the bare value holds unescaped * or ?
}

// lex splits a query string into tokens, following bleve's query-string syntax: +/- prefixes,
// field:value, "phrases", /regexps/, value^boost, value~fuzziness, * and ? wildcards, and
// backslash escapes. Anything else is taken as plain words. It refuses, with a *QueryError, a
// query over the bounds, an unterminated "phrase" and an invalid /regexp/.
func lex(q string) ([]token, error) {
	if len(q) > MaxQueryBytes {
		return nil, &QueryError{Query: q, Msg: fmt.Sprintf("the query is %d bytes long, the most is %d", len(q), MaxQueryBytes)}
	}
	if !utf8.ValidString(q) {
		return nil, &QueryError{Query: q, Msg: "the query is not valid UTF-8"}
	}
	fail := func(at int, format string, args ...any) ([]token, error) {
		return nil, &QueryError{Query: q, Column: at + 1, Msg: fmt.Sprintf(format, args...)}
	}
	var out []token
	i := 0
	for i < len(q) {
		for i < len(q) && isSpace(q[i]) {
			i++
		}
		if i >= len(q) {
			break
		}
		start := i
		if len(out) == MaxQueryClauses {
			return fail(start, "more than %d clauses; use fewer words", MaxQueryClauses)
		}
		t := token{boost: 1, fuzzy: -1}
		switch q[i] {
		case '+':
			t.occur, i = must, i+1
		case '-':
			t.occur, i = mustNot, i+1
		}
		// field: — a known field name followed by a colon.
		j := i
		for j < len(q) && (isASCIILetter(q[j]) || q[j] == '_') {
			j++
		}
		if j < len(q) && q[j] == ':' && j > i && (isTextField(q[i:j]) || isKeywordField(q[i:j])) {
			t.field, i = q[i:j], j+1
		}
		switch {
		case i < len(q) && q[i] == '"':
			open := i
			i++
			var b strings.Builder
			for i < len(q) && q[i] != '"' {
				if q[i] == '\\' && i+1 < len(q) {
					i++
				}
				b.WriteByte(q[i])
				i++
			}
			if i >= len(q) {
				return fail(open, "unterminated phrase: add the closing \"")
			}
			i++ // the closing quote
			t.text, t.quoted = b.String(), true
		case i < len(q) && q[i] == '/' && strings.IndexByte(q[i+1:], '/') >= 0:
			end := i + 1 + strings.IndexByte(q[i+1:], '/')
			t.text, t.regex = q[i+1:end], true
			if len(t.text) > maxRegexpBytes {
				return fail(i, "the regular expression is %d bytes long, the most is %d", len(t.text), maxRegexpBytes)
			}
			if _, err := syntax.Parse(t.text, syntax.Perl); err != nil {
				return fail(i, "invalid regular expression /%s/: %v", t.text, err)
			}
			i = end + 1
		default:
			var b strings.Builder
			for i < len(q) && !isSpace(q[i]) {
				c := q[i]
				if c == '\\' && i+1 < len(q) {
					b.WriteByte(q[i+1])
					i += 2
					continue
				}
				if c == '*' || c == '?' {
					t.pattern = true
				}
				b.WriteByte(c)
				i++
			}
			t.text = b.String()
		}
		// Suffixes: ^boost and ~fuzziness, in either order, after the value.
		for {
			if m := suffixRE.FindStringSubmatch(t.text); m != nil && !t.quoted && !t.regex {
				t.text = t.text[:len(t.text)-len(m[0])]
				t.applySuffix(m[0])
				continue
			}
			if (t.quoted || t.regex) && i < len(q) && (q[i] == '^' || q[i] == '~') {
				j := i + 1
				for j < len(q) && (q[j] >= '0' && q[j] <= '9' || q[j] == '.') {
					j++
				}
				t.applySuffix(q[i:j])
				i = j
				continue
			}
			break
		}
		if t.text == "" && !t.quoted {
			continue
		}
		out = append(out, t)
	}
	return out, nil
}

var suffixRE = regexp.MustCompile(`[\^~][0-9]*(\.[0-9]+)?$`)

func (t *token) applySuffix(s string) {
	n := s[1:]
	switch s[0] {
	case '^':
		if b, err := strconv.ParseFloat(n, 64); err == nil && b >= 0 {
			t.boost *= b
		}
	case '~':
		d := 1
		if v, err := strconv.Atoi(n); err == nil {
			d = v
		}
		t.fuzzy = min(max(d, 0), 2)
	}
}

func isSpace(c byte) bool       { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
func isASCIILetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// parse turns a query string into a plan against the terms of dict, or returns the
// *QueryError of a malformed one.
func parse(q string, dict dictionary) (*plan, error) {
	toks, err := lex(q)
	if err != nil {
		return nil, err
	}
	p := &plan{}
	words := 0
	for _, t := range toks {
		if !t.regex && !t.pattern && t.fuzzy < 0 && (t.field == "" || isTextField(t.field)) {
			if words += len(analyze(t.text)); words > MaxQueryWords {
				return nil, &QueryError{Query: q, Msg: fmt.Sprintf("more than %d words; use fewer", MaxQueryWords)}
			}
		}
		c := clause{Occur: t.occur, Boost: t.boost}
		switch {
		case t.field != "" && isKeywordField(t.field):
			c.Kind = kindKeyword
			c.Leaves = keywordLeaves(t, dict)
		case t.quoted:
			fields := TextFields
			if t.field != "" {
				fields = []string{t.field}
			}
			c.Kind = kindPhrase
			c.Phrase, c.Positions = analyzePositions(t.text)
			if len(c.Phrase) == 1 {
				c.Kind = kindTerms
				c.Leaves = termLeaves(dict, fields, []weighted{{c.Phrase[0], 1}}, t.boost)
				c.Phrase, c.Positions = nil, nil
				break
			}
			// Phrases are checked against stored text, which the keywords field has not.
			for _, f := range fields {
				if slices.Contains(phraseFields, f) && allIn(dict, f, c.Phrase) {
					c.Fields = append(c.Fields, f)
				}
			}
		default:
			fields := TextFields
			if t.field != "" {
				fields = []string{t.field}
			}
			c.Leaves = termLeaves(dict, fields, expand(t, dict), t.boost)
		}
		p.Clauses = append(p.Clauses, c)
	}
	return p, nil
}

// weighted is a term and the weight of a match on it.
type weighted struct {
	term   string
	weight float64
}

// expand returns the terms a bare (unquoted) token stands for.
func expand(t token, dict dictionary) []weighted {
	lower := strings.ToLower(t.text)
	switch {
	case t.regex:
		re, err := regexp.Compile("^(?:" + lower + ")$")
		if err != nil {
			return nil
		}
		return matching(dict, dict.textTerms(), re.MatchString, 1)
	case t.pattern:
		re := wildcardRE(lower)
		return matching(dict, dict.textTerms(), re.MatchString, 1)
	case t.fuzzy >= 0:
		return fuzzyTerms(dict, lower, t.fuzzy, maxExpansions, true)
	}
	// Plain words: analyzed like the text, then each term widened.
	var out []weighted
	for _, term := range analyze(t.text) {
		out = append(out, widen(dict, term)...)
	}
	return out
}

// widen returns a plain term with the longer terms that start with it (a person typing
// "postgres" means PostgreSQL too) and, when neither exists, the terms a typo or two away.
func widen(dict dictionary, term string) []weighted {
	out := []weighted{{term, 1}}
	exact := textFreq(dict, term) > 0
	if utf8.RuneCountInString(term) >= prefixMin {
		terms := dict.textTerms()
		lo, _ := slices.BinarySearch(terms, term)
		var cands []weighted
		for _, t := range terms[lo:] {
			if !strings.HasPrefix(t, term) {
				break
			}
			if t != term {
				cands = append(cands, weighted{t, prefixWeight})
			}
		}
		cands = mostFrequent(dict, cands, maxPrefix)
		out = append(out, cands...)
		if exact || len(cands) > 0 {
			return out
		}
	} else if exact {
		return out
	}
	if utf8.RuneCountInString(term) >= fuzzyMin {
		d := 1
		if utf8.RuneCountInString(term) >= fuzzyMin2 {
			d = 2
		}
		out = append(out, fuzzyTerms(dict, term, d, maxFuzzy, false)...)
	}
	return out
}

// fuzzyTerms returns the terms within d edits (insertions, deletions, substitutions and
// transpositions of adjacent letters) of term, closest then most frequent first, at most max.
func fuzzyTerms(dict dictionary, term string, d, limit int, withExact bool) []weighted {
	rt := []rune(term)
	type cand struct {
		term string
		dist int
		freq int
	}
	var cands []cand
	for _, t := range dict.textTerms() {
		if !withExact && t == term {
			continue
		}
		n := utf8.RuneCountInString(t)
		if n < len(rt)-d || n > len(rt)+d {
			continue
		}
		if dist := osa(rt, []rune(t), d); dist <= d {
			cands = append(cands, cand{t, dist, textFreq(dict, t)})
		}
	}
	slices.SortFunc(cands, func(a, b cand) int {
		return cmp.Or(cmp.Compare(a.dist, b.dist), cmp.Compare(b.freq, a.freq), strings.Compare(a.term, b.term))
	})
	var out []weighted
	for _, c := range cands {
		if len(out) == limit {
			break
		}
		if c.freq == 0 {
			continue
		}
		w := 1.0
		switch c.dist {
		case 1:
			w = fuzzyWeight1
		case 2:
			w = fuzzyWeight2
		}
		out = append(out, weighted{c.term, w})
	}
	return out
}

// osa returns the optimal string alignment distance between a and b, or max+1 once it is
// certain to exceed max.
func osa(a, b []rune, limit int) int {
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			v := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				v = min(v, prev2[j-2]+1)
			}
			cur[j] = v
			rowMin = min(rowMin, v)
		}
		if rowMin > limit {
			return limit + 1
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

// matching returns the terms that match, most frequent first, at most maxExpansions.
func matching(dict dictionary, terms []string, match func(string) bool, w float64) []weighted {
	var cands []weighted
	for _, t := range terms {
		if match(t) {
			cands = append(cands, weighted{t, w})
		}
	}
	return mostFrequent(dict, cands, maxExpansions)
}

// mostFrequent keeps the limit candidates with the most documents, ties in term order.
func mostFrequent(dict dictionary, cands []weighted, limit int) []weighted {
	freq := make(map[string]int, len(cands))
	for _, c := range cands {
		freq[c.term] = textFreq(dict, c.term)
	}
	cands = slices.DeleteFunc(cands, func(c weighted) bool { return freq[c.term] == 0 })
	slices.SortStableFunc(cands, func(a, b weighted) int {
		return cmp.Or(cmp.Compare(freq[b.term], freq[a.term]), strings.Compare(a.term, b.term))
	})
	return cands[:min(len(cands), limit)]
}

// textFreq returns the documents that have term in any text field, counted per field.
func textFreq(dict dictionary, term string) int {
	n := 0
	for _, f := range TextFields {
		n += dict.docFreq(f, term)
	}
	return n
}

// termLeaves returns one leaf per term and field where the term occurs, without repeats.
func termLeaves(dict dictionary, fields []string, terms []weighted, boost float64) []leaf {
	var out []leaf
	seen := map[[2]string]bool{}
	for _, t := range terms {
		for _, f := range fields {
			k := [2]string{f, t.term}
			if seen[k] || dict.docFreq(f, t.term) == 0 {
				continue
			}
			seen[k] = true
			out = append(out, leaf{Field: f, Term: t.term, Boost: Boosts[f] * t.weight * boost})
		}
	}
	return out
}

// keywordLeaves returns the values of a keyword field that field:value names: the value
// itself, or values equal to it but for case, or those matching its wildcards or regexp.
func keywordLeaves(t token, dict dictionary) []leaf {
	values := dict.keywordValues(t.field)
	var match func(string) bool
	switch {
	case t.regex:
		re, err := regexp.Compile("^(?:" + t.text + ")$")
		if err != nil {
			return nil
		}
		match = re.MatchString
	case t.pattern:
		match = wildcardRE(t.text).MatchString
	default:
		if _, ok := slices.BinarySearch(values, t.text); ok {
			return []leaf{{Field: t.field, Term: t.text}}
		}
		match = func(v string) bool { return strings.EqualFold(v, t.text) }
	}
	var out []leaf
	for _, v := range values {
		if match(v) && len(out) < maxExpansions {
			out = append(out, leaf{Field: t.field, Term: v})
		}
	}
	return out
}

// wildcardRE turns a pattern with * and ? into an anchored regexp.
func wildcardRE(p string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^")
	for _, r := range p {
		switch r {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

// analyzePositions returns the terms of a phrase and their positions relative to the first.
func analyzePositions(text string) ([]string, []int) {
	tokens := english.Analyze([]byte(text))
	terms := make([]string, len(tokens))
	pos := make([]int, len(tokens))
	for i, t := range tokens {
		terms[i] = string(t.Term)
		pos[i] = t.Position - tokens[0].Position
	}
	return terms, pos
}

// allIn reports whether every term occurs in field somewhere.
func allIn(dict dictionary, field string, terms []string) bool {
	for _, t := range terms {
		if dict.docFreq(field, t) == 0 {
			return false
		}
	}
	return true
}
