package catalog

import (
	"cmp"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/bidi"
)

// Input bounds. A catalog is reviewed by people and rendered into pages, so every file, text
// field and list has a limit: one oversized product must not take the build's memory or produce a
// page nobody can load. The limits are generous for real products; CONTRIBUTING and the JSON
// Schemas (maxLength, maxItems) document the same numbers, and a test keeps them equal.
const (
	// MaxProductFileBytes is the largest product file; larger files are refused before parsing.
	MaxProductFileBytes = 1 << 20
	// MaxPublisherFileBytes is the largest publisher.toml.
	MaxPublisherFileBytes = 64 << 10
	// MaxIndexFileBytes is the largest index.toml.
	MaxIndexFileBytes = 1 << 20

	// DefaultMaxText is the length limit, in characters, of a text field with no limit of its own.
	DefaultMaxText = 2048
	// DefaultMaxItems is the limit of a list or table with no limit of its own.
	DefaultMaxItems = 100
)

// Limit bounds one field. Path is the field's key path without indices ("builds.tasks.name";
// "builds.tasks.command[]" for the items of a list of strings).
type Limit struct {
	Path string
	// Chars is the longest text, in characters (code points); 0 for DefaultMaxText.
	Chars int
	// Items is the longest list, or the most entries of a table; 0 for DefaultMaxItems.
	Items int
	// Display marks text shown to visitors: it may not hold control, bidi-control or zero-width
	// characters. Multiline display text may hold tabs and line breaks.
	Display, Multiline bool
}

// FileLimits lists the fields of each file kind with a limit other than the defaults, or that
// are display text. Every other string is limited to DefaultMaxText characters and every other
// list to DefaultMaxItems entries.
var FileLimits = map[string][]Limit{
	IndexFile: {
		{Path: "catalog.name", Chars: 100, Display: true},
		{Path: "catalog.description", Chars: 1000, Display: true, Multiline: true},
		{Path: "interfaces", Items: 500},
		{Path: "interfaces.id", Chars: 63},
		{Path: "interfaces.name", Chars: 100, Display: true},
		{Path: "interfaces.version", Chars: 64, Display: true},
		{Path: "interfaces.properties", Items: 32},
		{Path: "interfaces.properties[]", Chars: 63},
		{Path: "interfaces.substitutes_for", Items: 32},
	},
	PublisherFile: {
		{Path: "name", Chars: 100, Display: true},
		{Path: "maintainers[]", Chars: 39},
		{Path: "signers", Items: 20},
	},
	"product": {
		{Path: "name", Chars: 100, Display: true},
		{Path: "summary", Chars: MaxSummary, Display: true},
		{Path: "description", Chars: 20000, Display: true, Multiline: true},
		{Path: "categories", Items: 5},
		{Path: "categories[]", Chars: 50, Display: true},
		{Path: "tags", Items: 20},
		{Path: "tags[]", Chars: 50, Display: true},
		{Path: "screenshots", Items: 10},
		{Path: "screenshots.caption", Chars: 200, Display: true},
		{Path: "builds", Items: 200},
		{Path: "builds.version", Chars: 128},
		{Path: "builds.image", Chars: 512},
		{Path: "builds.notes", Chars: 10000, Display: true, Multiline: true},
		{Path: "builds.tasks", Items: 20},
		{Path: "builds.tasks.name", Chars: 63},
		{Path: "builds.tasks.command[]", Chars: 4096},
		{Path: "builds.tasks.ports", Items: 20},
		{Path: "builds.parameters", Items: 100},
		{Path: "builds.parameters.name", Chars: 128},
		{Path: "builds.parameters.description", Chars: 500, Display: true},
		{Path: "builds.parameters.default", Chars: 4096},
		{Path: "builds.parameters.pattern", Chars: 1024},
		{Path: "builds.exposes", Items: 20},
		{Path: "builds.dependencies", Items: 20},
		{Path: "builds.dependencies.bind", Items: 50},
		{Path: "builds.smoke_test.command[]", Chars: 4096},
	},
}

// limitsByPath indexes FileLimits for lookups by file kind and path.
var limitsByPath = func() map[string]map[string]Limit {
	m := map[string]map[string]Limit{}
	for kind, list := range FileLimits {
		m[kind] = map[string]Limit{}
		for _, l := range list {
			m[kind][l.Path] = l
		}
	}
	return m
}()

// limitKind is the FileLimits key for a file.
func limitKind(file string) string {
	switch {
	case file == IndexFile:
		return IndexFile
	case strings.HasSuffix(file, "/"+PublisherFile):
		return PublisherFile
	}
	return "product"
}

// bounds checks every string and list of a decoded file (a pointer to Index, Publisher or
// Product) against its limits, in one pass over the value: linear in the file's size.
func (v *validator) bounds(file string, model any) {
	w := boundsWalker{v: v, file: file, limits: limitsByPath[limitKind(file)]}
	w.walk(reflect.ValueOf(model).Elem(), nil, "")
}

type boundsWalker struct {
	v      *validator
	file   string
	limits map[string]Limit
}

// walkKey is the key of the value being walked, as a chain to its parent: its text (for a
// message) is made only when there is a problem to report. Most files have none, and making
// every key's text was most of the cost of the walk.
type walkKey struct {
	parent *walkKey
	name   string // a field name or map key; "" for a list entry
	index  int    // the entry's index, when name is ""
}

func (k *walkKey) String() string {
	if k == nil {
		return ""
	}
	if k.name == "" {
		return k.parent.String() + "[" + strconv.Itoa(k.index) + "]"
	}
	return joinKey(k.parent.String(), k.name)
}

// walk visits rv at key (indexed, for messages) and path (unindexed, for limits).
func (w *boundsWalker) walk(rv reflect.Value, key *walkKey, path string) {
	switch rv.Kind() {
	case reflect.Pointer:
		if !rv.IsNil() {
			w.walk(rv.Elem(), key, path)
		}
	case reflect.Struct:
		if rv.Type() == timeType {
			return
		}
		fields := structFields(rv.Type())
		for _, name := range fields.names {
			w.walk(rv.Field(fields.index[name]), &walkKey{parent: key, name: name}, joinPath(path, name))
		}
	case reflect.Slice:
		limit := cmp.Or(w.limits[path].Items, DefaultMaxItems)
		if rv.Len() > limit {
			w.v.r.errorf(w.file, key.String(), 0, "%s has %d entries, want at most %d", lastKey(path), rv.Len(), limit)
			return // one problem for the list, not one per entry
		}
		itemPath := path
		if rv.Type().Elem().Kind() == reflect.String {
			itemPath = suffixPath(path, "[]")
		}
		for i := range rv.Len() {
			w.walk(rv.Index(i), &walkKey{parent: key, index: i}, itemPath)
		}
	case reflect.Map:
		limit := cmp.Or(w.limits[path].Items, DefaultMaxItems)
		if rv.Len() > limit {
			w.v.r.errorf(w.file, key.String(), 0, "%s has %d entries, want at most %d", lastKey(path), rv.Len(), limit)
			return
		}
		keys, values := suffixPath(path, "{}"), suffixPath(path, "[]")
		for _, k := range sortedKeys(rv.Interface().(map[string]string)) {
			mk := &walkKey{parent: key, name: k}
			w.text(mk, keys, k)
			w.text(mk, values, rv.MapIndex(reflect.ValueOf(k)).String())
		}
	case reflect.String:
		w.text(key, path, rv.String())
	}
}

// text checks one string's length and, for display text, its characters.
func (w *boundsWalker) text(key *walkKey, path, s string) {
	l := w.limits[path]
	limit := cmp.Or(l.Chars, DefaultMaxText)
	// Bytes bound characters from above, so most strings are never counted.
	if len(s) > limit && path != "summary" { // validator.product reports the summary's length
		if n := utf8.RuneCountInString(s); n > limit {
			w.v.r.errorf(w.file, key.String(), 0, "%s is %d characters, want at most %d", lastKey(path), n, limit)
			return
		}
	}
	if l.Display {
		// A line break in the summary has its own message ("summary must be one line").
		if msg := hiddenChar(s, l.Multiline, path == "summary"); msg != "" {
			w.v.r.errorf(w.file, key.String(), 0, "%s %s: display text may not hold control, bidi-control or zero-width characters", lastKey(path), msg)
		}
	}
}

// zeroWidth are the invisible characters that change no glyph but can make two different texts
// look the same: zero width space, non-joiner and joiner, word joiner, zero width no-break space
// (byte order mark).
var zeroWidth = map[rune]string{
	0x200B: "ZERO WIDTH SPACE",
	0x200C: "ZERO WIDTH NON-JOINER",
	0x200D: "ZERO WIDTH JOINER",
	0x2060: "WORD JOINER",
	0xFEFF: "ZERO WIDTH NO-BREAK SPACE",
}

// bidiControls are the explicit directional embeddings, overrides and isolates (Unicode Bidi
// classes LRE, RLE, LRO, RLO, PDF, LRI, RLI, FSI, PDI), with their names.
var bidiControls = map[bidi.Class]string{
	bidi.LRE: "LEFT-TO-RIGHT EMBEDDING", bidi.RLE: "RIGHT-TO-LEFT EMBEDDING",
	bidi.LRO: "LEFT-TO-RIGHT OVERRIDE", bidi.RLO: "RIGHT-TO-LEFT OVERRIDE",
	bidi.PDF: "POP DIRECTIONAL FORMATTING",
	bidi.LRI: "LEFT-TO-RIGHT ISOLATE", bidi.RLI: "RIGHT-TO-LEFT ISOLATE",
	bidi.FSI: "FIRST STRONG ISOLATE", bidi.PDI: "POP DIRECTIONAL ISOLATE",
}

// hiddenChar describes the first character of s that display text may not hold: a control
// character (Unicode category Cc: C0, DEL and C1; tab and line breaks are allowed in multiline
// text), a bidi embedding, override or isolate, or a zero-width character. "" when there is none.
func hiddenChar(s string, multiline, skipLineBreaks bool) string {
	pos := 0
	for _, r := range s {
		pos++
		if r >= 0x20 && r < 0x7f {
			continue // printable ASCII, most of any catalog: no table or map to look up
		}
		switch {
		case unicode.Is(unicode.Cc, r):
			if multiline && (r == '\t' || r == '\n' || r == '\r') || skipLineBreaks && (r == '\n' || r == '\r') {
				continue
			}
			return fmt.Sprintf("has the control character U+%04X at character %d", r, pos)
		case zeroWidth[r] != "":
			return fmt.Sprintf("has U+%04X %s at character %d", r, zeroWidth[r], pos)
		}
		if r >= utf8.RuneSelf {
			p, _ := bidi.LookupRune(r)
			if name, ok := bidiControls[p.Class()]; ok {
				return fmt.Sprintf("has U+%04X %s at character %d", r, name, pos)
			}
		}
	}
	return ""
}

func joinPath(parent, name string) string {
	if parent == "" {
		return name
	}
	k := [2]string{parent, name}
	if p, ok := joinedPaths.Load(k); ok {
		return p.(string)
	}
	p, _ := joinedPaths.LoadOrStore(k, parent+"."+name)
	return p.(string)
}

// joinedPaths and suffixedPaths hold the limit paths made so far (a few hundred): the walk
// makes the same ones for every file.
var joinedPaths, suffixedPaths sync.Map // [2]string → string

// suffixPath returns path+suffix.
func suffixPath(path, suffix string) string {
	k := [2]string{path, suffix}
	if p, ok := suffixedPaths.Load(k); ok {
		return p.(string)
	}
	p, _ := suffixedPaths.LoadOrStore(k, path+suffix)
	return p.(string)
}

func lastKey(path string) string {
	path = strings.TrimSuffix(strings.TrimSuffix(path, "[]"), "{}")
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[i+1:]
	}
	return path
}
