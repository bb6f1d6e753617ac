package search

import (
	"github.com/blevesearch/bleve/v2/analysis"
)

// asciiTokenizer gives the tokens of bleve's "unicode" tokenizer (blevesearch/segment's UAX #29
// word boundaries) for ASCII text without running the general state machine, which is most of
// the cost of analysis; any other input goes to the general tokenizer. On ASCII, a word is a run
// of letters, digits and '_', in which a single ':', '.' or '\” between two letters, or ',',
// ';', '.' or '\” between two digits, does not break the word. TestASCIITokenizer checks the
// two tokenizers agree on the catalogs and on fuzzed input.
type asciiTokenizer struct {
	general analysis.Tokenizer
}

const (
	chOther = iota
	chLetter
	chDigit
	chUnderscore
	chMidLetter // ':'
	chMidNum    // ',' ';'
	chMidBoth   // '.' '\''
)

var asciiClass = func() (t [128]uint8) {
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = chLetter, chLetter
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = chDigit
	}
	t['_'] = chUnderscore
	t[':'] = chMidLetter
	t[','], t[';'] = chMidNum, chMidNum
	t['.'], t['\''] = chMidBoth, chMidBoth
	return t
}()

// isASCII reports whether input is all ASCII.
func isASCII(input []byte) bool {
	for _, b := range input {
		if b >= 0x80 {
			return false
		}
	}
	return true
}

func isWordClass(c uint8) bool { return c == chLetter || c == chDigit || c == chUnderscore }

// scanASCII calls emit with the bounds of each word of an ASCII input, in order.
func scanASCII(input []byte, emit func(start, end int)) {
	n := len(input)
	for i := 0; i < n; {
		if !isWordClass(asciiClass[input[i]]) {
			i++
			continue
		}
		start := i
		for i < n {
			c := asciiClass[input[i]]
			if isWordClass(c) {
				i++
				continue
			}
			// A separator joins two letters (':', '.', '\'') or two digits (',', ';', '.', '\'').
			if i == 0 || i+1 >= n {
				break
			}
			prev, next := asciiClass[input[i-1]], asciiClass[input[i+1]]
			if !(prev == chLetter && next == chLetter && (c == chMidLetter || c == chMidBoth)) &&
				!(prev == chDigit && next == chDigit && (c == chMidNum || c == chMidBoth)) {
				break
			}
			i += 2
		}
		emit(start, i)
	}
}

func (a asciiTokenizer) Tokenize(input []byte) analysis.TokenStream {
	if !isASCII(input) {
		return a.general.Tokenize(input)
	}
	ta := make([]analysis.Token, 0, len(input)/6+1)
	scanASCII(input, func(start, end int) {
		// Like segment, a word of digits (and '_' or separators) is a number.
		typ, digits := analysis.Numeric, false
		for _, b := range input[start:end] {
			switch asciiClass[b] {
			case chLetter:
				typ = analysis.AlphaNumeric
			case chDigit:
				digits = true
			}
		}
		if !digits {
			typ = analysis.AlphaNumeric
		}
		ta = append(ta, analysis.Token{Term: input[start:end:end], Start: start, End: end, Position: len(ta) + 1, Type: typ})
	})
	rv := make(analysis.TokenStream, len(ta))
	for i := range ta {
		rv[i] = &ta[i]
	}
	return rv
}
