package search

import (
	"html"
	"strings"
	"unicode/utf8"
)

// highlightTerms returns the terms whose matches a hit should mark: those of the clauses that
// select, not of those that exclude.
func (p *plan) highlightTerms() map[string]bool {
	terms := map[string]bool{}
	for _, c := range p.Clauses {
		if c.Occur == mustNot {
			continue
		}
		switch c.Kind {
		case kindTerms:
			for _, l := range c.Leaves {
				terms[l.Term] = true
			}
		case kindPhrase:
			for _, t := range c.Phrase {
				terms[t] = true
			}
		}
	}
	return terms
}

// highlight returns the marked name, summary and description fragment of a hit.
func (ix *Index) highlight(doc int32, h Hit, terms map[string]bool) map[string]string {
	if len(terms) == 0 {
		return nil
	}
	out := map[string]string{}
	if s, ok := fragment(h.Name, ix.matches(doc, 0, h.Name, terms, 0), 0); ok {
		out[FieldName] = s
	}
	if s, ok := fragment(h.Summary, ix.matches(doc, 1, h.Summary, terms, 0), 0); ok {
		out[FieldSummary] = s
	}
	if text, err := ix.description(doc); err == nil {
		if s, ok := fragment(text, ix.matches(doc, 2, text, terms, fragmentLen), fragmentLen); ok {
			out[FieldDescription] = s
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// fragmentLen is the length, in bytes, of a description fragment.
const fragmentLen = 220

// mark returns text as HTML with the words whose terms are in terms in <mark>, and whether any
// was. With limit > 0 it returns a fragment of about limit bytes starting a little before the
// first mark, cleared of Markdown emphasis and line breaks.
func mark(text string, terms map[string]bool, limit int) (string, bool) {
	return fragment(text, matches(text, terms, limit), limit)
}

// fragment marks spans of text, as mark describes.
func fragment(text string, spans []span, limit int) (string, bool) {
	if len(spans) == 0 {
		return "", false
	}
	from, to := 0, len(text)
	if limit > 0 {
		from = max(0, spans[0].start-limit/4)
		if i := strings.LastIndexAny(text[:from], " \n"); from > 0 && i >= 0 {
			from = i + 1
		}
		to = min(len(text), from+limit)
		if i := strings.LastIndexAny(text[spans[0].end:to], " \n"); to < len(text) && i >= 0 {
			to = spans[0].end + i
		}
		for from < to && !utf8.RuneStart(text[from]) {
			from++
		}
	}
	clean := func(s string) string {
		if limit == 0 {
			return html.EscapeString(s)
		}
		s = fragmentCleaner.Replace(s)
		return html.EscapeString(s)
	}
	var b strings.Builder
	if from > 0 {
		b.WriteString("…")
	}
	at := from
	for _, sp := range spans {
		if sp.start < at || sp.end > to {
			continue
		}
		b.WriteString(clean(text[at:sp.start]))
		b.WriteString("<mark>")
		b.WriteString(html.EscapeString(text[sp.start:sp.end]))
		b.WriteString("</mark>")
		at = sp.end
	}
	b.WriteString(clean(text[at:to]))
	if to < len(text) {
		b.WriteString("…")
	}
	return strings.TrimSpace(b.String()), true
}

// fragmentCleaner clears Markdown emphasis and line breaks from a fragment.
var fragmentCleaner = strings.NewReplacer("**", "", "`", "", "\r", "", "\n", " ")

type span struct{ start, end int }

// analysisPiece is how much of a long text matches analyses at a time.
const analysisPiece = 512

// matches returns the byte spans of the words of text whose terms are in terms. With limit > 0
// only the spans up to limit bytes past the first one matter (mark shows a fragment around the
// first), so the text is analysed a piece at a time, cut at white space (where words end anyway,
// so the terms are the same), and analysis stops there: most of a long description is never
// analysed, which was most of a highlighted search's time.
func matches(text string, terms map[string]bool, limit int) []span {
	return matchesFrom(text, terms, limit, nil)
}

// matchesFrom is matches, taking the words of the text's first piece from first when it is
// not nil.
func matchesFrom(text string, terms map[string]bool, limit int, first func(end int) []word) []span {
	var spans []span
	for off := 0; off < len(text); {
		end := len(text)
		if limit > 0 && len(text)-off > analysisPiece {
			end = off + analysisPiece
			if i := strings.LastIndexAny(text[off:end], " \t\r\n"); i > 0 {
				end = off + i + 1
			} else if i := strings.IndexAny(text[end:], " \t\r\n"); i >= 0 {
				end += i + 1
			} else {
				end = len(text)
			}
		}
		if off == 0 && first != nil {
			for _, w := range first(end) {
				if terms[w.term] {
					spans = append(spans, span{int(w.start), int(w.end)})
				}
			}
		} else {
			for _, t := range english.Analyze([]byte(text[off:end])) {
				if terms[string(t.Term)] {
					spans = append(spans, span{off + t.Start, off + t.End})
				}
			}
		}
		off = end
		if len(spans) > 0 && off >= spans[0].start+limit {
			break
		}
	}
	return spans
}

// word is an analysed word of a text: its term and where it is.
type word struct {
	term       string
	start, end int32
}

// wordKey names the first piece of a document's name (0), summary (1) or description (2).
type wordKey struct {
	doc   int32
	field int8
}

// maxCachedWords bounds the words kept for highlights (about 40 bytes each).
const maxCachedWords = 1 << 20

// matches is the package's matches for a hit's field, with the words of its first piece (most
// often all that is needed) analysed once and kept: analysing the text was most of the cost
// of highlighting a page of results.
func (ix *Index) matches(doc int32, field int8, text string, terms map[string]bool, limit int) []span {
	return matchesFrom(text, terms, limit, func(end int) []word {
		k := wordKey{doc, field}
		ix.wmu.RLock()
		ws, ok := ix.words[k]
		ix.wmu.RUnlock()
		if ok {
			return ws
		}
		ws = []word{}
		for _, t := range english.Analyze([]byte(text[:end])) {
			ws = append(ws, word{string(t.Term), int32(t.Start), int32(t.End)})
		}
		ix.wmu.Lock()
		if ix.wordCount+len(ws) > maxCachedWords {
			clear(ix.words)
			ix.wordCount = 0
		}
		ix.words[k] = ws
		ix.wordCount += len(ws)
		ix.wmu.Unlock()
		return ws
	})
}

// description returns a document's stored description, kept in memory up to a budget.
func (ix *Index) description(doc int32) (string, error) {
	ix.mu.RLock()
	text, ok := ix.descs[doc]
	ix.mu.RUnlock()
	if ok {
		return text, nil
	}
	text, err := storedText(ix.reader, ix.ids[doc], FieldDescription)
	if err != nil {
		return "", err
	}
	ix.mu.Lock()
	if ix.descBytes+len(text) <= maxDescriptionBytes {
		ix.descs[doc] = text
		ix.descBytes += len(text)
	}
	ix.mu.Unlock()
	return text, nil
}

// maxDescriptionBytes bounds the descriptions kept for highlights and phrases.
const maxDescriptionBytes = 32 << 20
