package catalog

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// keyIndex maps indexed key paths of one TOML file ("builds[1].tasks[0].memory") to where the key
// and its value start. It is built only for files that have diagnostics, so valid files pay
// nothing for positions: the decoder works on go-toml's generic values, which carry none.
//
// The scanner assumes the file already parsed as TOML; on anything it does not understand it
// stops, and lookups fall back to the nearest parent that it did index.
type keyIndex struct {
	src     []byte
	entries map[string]keyPos
	lines   []int // byte offset of each line start
}

type keyPos struct {
	key, value int // byte offsets of the key and of its value
}

func newKeyIndex(src []byte) *keyIndex { return newKeyIndexFor(src, nil) }

// newKeyIndexFor indexes only what positioning keys needs: the keys and their parents (where a
// key that is not in the file is positioned). Nil keys index every key. A file is scanned whole
// either way, but the parts that hold none of keys cost no key paths.
func newKeyIndexFor(src []byte, keys []string) *keyIndex {
	ix := &keyIndex{src: src, entries: map[string]keyPos{}, lines: make([]int, 1, 1+bytes.Count(src, []byte("\n")))}
	for i, c := range src {
		if c == '\n' {
			ix.lines = append(ix.lines, i+1)
		}
	}
	s := scanner{ix: ix, aot: map[string]int{}}
	if keys != nil {
		s.want = map[string]bool{"": true}
		for _, k := range keys {
			for ; k != "" && !s.want[k]; k = parentKey(k) {
				s.want[k] = true
			}
		}
	}
	func() {
		defer func() {
			if r := recover(); r != nil && r != errStop {
				panic(r)
			}
		}()
		s.document()
	}()
	return ix
}

// position returns the line and column (1-based, in bytes) for a key path. onValue selects the
// value's position instead of the key's. Paths not in the file resolve to their nearest parent, so
// that a missing key is reported on the table that lacks it.
func (ix *keyIndex) position(path string, onValue bool) (line, col int) {
	for {
		if p, ok := ix.entries[path]; ok {
			off := p.key
			if onValue {
				off = p.value
			}
			return ix.lineCol(off)
		}
		if path == "" {
			return 1, 1
		}
		path = parentKey(path)
	}
}

func (ix *keyIndex) lineCol(off int) (int, int) {
	lo, hi := 0, len(ix.lines)-1
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if ix.lines[mid] <= off {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo + 1, off - ix.lines[lo] + 1
}

// parentKey strips the last piece of a key path: "a[1].b" → "a[1]" → "a" → "".
func parentKey(path string) string {
	if strings.HasSuffix(path, "]") {
		if i := strings.LastIndexByte(path, '['); i >= 0 {
			return path[:i]
		}
	}
	// Find the last '.' outside quotes.
	inQuote := false
	last := -1
	for i := 0; i < len(path); i++ {
		switch path[i] {
		case '\\':
			if inQuote {
				i++
			}
		case '"':
			inQuote = !inQuote
		case '.':
			if !inQuote {
				last = i
			}
		}
	}
	if last < 0 {
		return ""
	}
	return path[:last]
}

var errStop = fmt.Errorf("stop")

type scanner struct {
	ix         *keyIndex
	pos        int
	table      string          // resolved path of the current [table], or tooDeep
	tableDepth int             // at most how many segments (keys and indices) table has
	aot        map[string]int  // resolved path of each array of tables → index of its last element
	want       map[string]bool // the paths worth recording (nil: all); see newKeyIndexFor
}

// wanted reports whether path, or a path below it, is worth recording.
func (s *scanner) wanted(path string) bool {
	return path != tooDeep && (s.want == nil || s.want[path])
}

// maxIndexDepth bounds the key paths the index records, in segments (keys and array indices).
// The model's deepest path, builds[0].tasks[0].ports[0].port, has 7; a deeper path is an unknown
// key anyway, positioned on its nearest indexed parent. The bound keeps indexing linear in the
// file's size: building a path costs its length, and without a bound a key of n dotted parts (or
// n nested arrays or inline tables) would build n paths of up to n parts each.
const maxIndexDepth = 24

// tooDeep is the path of values below maxIndexDepth: scanned, but not recorded.
const tooDeep = "\x00too deep"

func (s *scanner) peek() byte {
	if s.pos >= len(s.ix.src) {
		return 0
	}
	return s.ix.src[s.pos]
}

func (s *scanner) hasPrefix(p string) bool {
	return strings.HasPrefix(string(s.ix.src[s.pos:min(len(s.ix.src), s.pos+len(p))]), p)
}

func (s *scanner) expect(c byte) {
	if s.peek() != c {
		panic(errStop)
	}
	s.pos++
}

// skip passes spaces, and with newlines also line breaks and comments.
func (s *scanner) skip(newlines bool) {
	for s.pos < len(s.ix.src) {
		switch c := s.ix.src[s.pos]; {
		case c == ' ' || c == '\t':
			s.pos++
		case c == '#':
			for s.pos < len(s.ix.src) && s.ix.src[s.pos] != '\n' {
				s.pos++
			}
		case newlines && (c == '\n' || c == '\r'):
			s.pos++
		default:
			return
		}
	}
}

func (s *scanner) document() {
	for {
		s.skip(true)
		if s.pos >= len(s.ix.src) {
			return
		}
		start := s.pos
		if s.hasPrefix("[[") {
			s.pos += 2
			s.skip(false)
			at := s.pos
			parts := s.key()
			s.skip(false)
			s.expect(']')
			s.expect(']')
			s.table, s.tableDepth = tooDeep, 2*len(parts)
			if s.tableDepth <= maxIndexDepth {
				arr := s.resolve(parts)
				s.aot[arr]++
				idx := s.aot[arr] - 1
				s.table = fmt.Sprintf("%s[%d]", arr, idx)
				s.record(s.table, at, start)
				if _, ok := s.ix.entries[arr]; !ok {
					s.record(arr, at, start)
				}
				if !s.wanted(s.table) {
					s.table = tooDeep
				}
			}
		} else if s.peek() == '[' {
			s.pos++
			s.skip(false)
			at := s.pos
			parts := s.key()
			s.table, s.tableDepth = tooDeep, 2*len(parts)
			if s.tableDepth <= maxIndexDepth {
				s.table = s.resolve(parts)
			}
			s.skip(false)
			s.expect(']')
			s.record(s.table, at, start)
			if !s.wanted(s.table) {
				s.table = tooDeep
			}
		} else {
			s.keyval(s.table, s.tableDepth)
		}
	}
}

// resolve turns header key parts into a path, indexing arrays of tables seen so far.
func (s *scanner) resolve(parts []string) string {
	path := ""
	for _, p := range parts {
		path = joinKey(path, p)
		if n, ok := s.aot[path]; ok {
			path = fmt.Sprintf("%s[%d]", path, n-1)
		}
	}
	// The last part of a [[header]] names the array itself, without its (new) index.
	if n, ok := s.aot[trimIndex(path)]; ok && strings.HasSuffix(path, fmt.Sprintf("[%d]", n-1)) {
		return trimIndex(path)
	}
	return path
}

func trimIndex(path string) string {
	if strings.HasSuffix(path, "]") {
		if i := strings.LastIndexByte(path, '['); i >= 0 {
			return path[:i]
		}
	}
	return path
}

func (s *scanner) record(path string, key, value int) {
	if !s.wanted(path) {
		return
	}
	if _, ok := s.ix.entries[path]; !ok {
		s.ix.entries[path] = keyPos{key: key, value: value}
	}
}

// keyval scans `key = value` within the table at path base, which has depth segments.
func (s *scanner) keyval(base string, depth int) {
	at := s.pos
	parts := s.key()
	depth += len(parts)
	path := tooDeep
	if base != tooDeep && depth <= maxIndexDepth {
		path = base
		for _, p := range parts {
			path = joinKey(path, p)
		}
	}
	s.skip(false)
	s.expect('=')
	s.skip(false)
	s.record(path, at, s.pos)
	if !s.wanted(path) {
		path = tooDeep // nothing below it is wanted: scanned, no paths built
	}
	s.value(path, depth)
}

// key scans a possibly dotted, possibly quoted key.
func (s *scanner) key() []string {
	var parts []string
	for {
		s.skip(false)
		switch s.peek() {
		case '"':
			raw := s.basicString()
			v, err := strconv.Unquote(raw)
			if err != nil {
				v = raw[1 : len(raw)-1]
			}
			parts = append(parts, v)
		case '\'':
			start := s.pos
			s.pos++
			for s.peek() != '\'' && s.peek() != 0 {
				s.pos++
			}
			s.expect('\'')
			parts = append(parts, string(s.ix.src[start+1:s.pos-1]))
		default:
			start := s.pos
			for c := s.peek(); c != 0 && isBareKey(string(c)); c = s.peek() {
				s.pos++
			}
			if s.pos == start {
				panic(errStop)
			}
			parts = append(parts, string(s.ix.src[start:s.pos]))
		}
		s.skip(false)
		if s.peek() != '.' {
			return parts
		}
		s.pos++
	}
}

func (s *scanner) value(path string, depth int) {
	switch {
	case s.hasPrefix(`"""`):
		s.multiline(`"""`)
	case s.hasPrefix(`'''`):
		s.multiline(`'''`)
	case s.peek() == '"':
		s.basicString()
	case s.peek() == '\'':
		s.pos++
		for s.peek() != '\'' && s.peek() != 0 {
			s.pos++
		}
		s.expect('\'')
	case s.peek() == '[':
		s.pos++
		for i := 0; ; i++ {
			s.skip(true)
			if s.peek() == ']' {
				s.pos++
				return
			}
			elem := tooDeep
			if path != tooDeep && depth < maxIndexDepth {
				elem = fmt.Sprintf("%s[%d]", path, i)
			}
			s.record(elem, s.pos, s.pos)
			s.value(elem, depth+1)
			s.skip(true)
			if s.peek() == ',' {
				s.pos++
			}
		}
	case s.peek() == '{':
		s.pos++
		for {
			s.skip(true)
			if s.peek() == '}' {
				s.pos++
				return
			}
			s.keyval(path, depth)
			s.skip(true)
			if s.peek() == ',' {
				s.pos++
			}
		}
	default:
		start := s.pos
		for c := s.peek(); c != 0 && !strings.ContainsRune(",]}#\n\r", rune(c)); c = s.peek() {
			// Dates may contain one space ("1979-05-27 07:32:00"); trailing spaces are harmless.
			s.pos++
		}
		if s.pos == start {
			panic(errStop)
		}
	}
}

// basicString scans a "..." string and returns it raw, quotes included.
func (s *scanner) basicString() string {
	start := s.pos
	s.pos++
	for {
		switch s.peek() {
		case 0, '\n':
			panic(errStop)
		case '\\':
			s.pos += 2
		case '"':
			s.pos++
			return string(s.ix.src[start:s.pos])
		default:
			s.pos++
		}
	}
}

func (s *scanner) multiline(delim string) {
	s.pos += 3
	for s.pos < len(s.ix.src) {
		if delim == `"""` && s.peek() == '\\' {
			s.pos += 2
			continue
		}
		if s.hasPrefix(delim) {
			s.pos += 3
			// Up to two more quotes may belong to the content ("""a"""" ends with a quote).
			for range 2 {
				if s.peek() == delim[0] {
					s.pos++
				}
			}
			return
		}
		s.pos++
	}
	panic(errStop)
}
