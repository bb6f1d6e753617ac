package catalog

import (
	"cmp"
	"fmt"
	"reflect"
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
	kind := limitKind(file)
	rv := reflect.ValueOf(model).Elem()
	w := boundsWalker{v: v, file: file}
	w.walk(rv, boundsPlanFor(kind, rv.Type()))
}

// A boundsPlan is what bounds checks at one place of a model type: its limits, and the plans of
// what it holds. It is made once per file kind and type, so that the walk of each file looks
// up no limit and joins no path (the walk was a sixth of BenchmarkCheck10k's CPU profile).
type boundsPlan struct {
	kind   reflect.Kind
	path   string // the key path without indices, as in Limit.Path
	items  int    // a list's or map's most entries
	text   Limit  // a string's limit (Chars set)
	elem   *boundsPlan
	fields []fieldPlan
	keys   *boundsPlan // a map's keys; elem is its values
}

type fieldPlan struct {
	index int
	name  string
	plan  *boundsPlan
}

// boundsPlans holds the plans made so far, by file kind and type.
var boundsPlans sync.Map // boundsPlanKey → *boundsPlan

type boundsPlanKey struct {
	kind string
	t    reflect.Type
}

func boundsPlanFor(kind string, t reflect.Type) *boundsPlan {
	k := boundsPlanKey{kind, t}
	if p, ok := boundsPlans.Load(k); ok {
		return p.(*boundsPlan)
	}
	p, _ := boundsPlans.LoadOrStore(k, planBounds(limitsByPath[kind], t, "", 0))
	return p.(*boundsPlan)
}

// planBounds makes the plan of type t at path. The model types are not recursive; depth
// guards against one that would become so.
func planBounds(limits map[string]Limit, t reflect.Type, path string, depth int) *boundsPlan {
	if depth > 32 {
		panic(fmt.Sprintf("catalog: the model type %s nests too deep at %q", t, path))
	}
	p := &boundsPlan{kind: t.Kind(), path: path}
	switch t.Kind() {
	case reflect.Pointer:
		p.elem = planBounds(limits, t.Elem(), path, depth+1)
	case reflect.Struct:
		if t == timeType {
			p.kind = reflect.Invalid // nothing to check
			break
		}
		fields := structFields(t)
		for _, name := range fields.names {
			i := fields.index[name]
			child := name
			if path != "" {
				child = path + "." + name
			}
			p.fields = append(p.fields, fieldPlan{index: i, name: name, plan: planBounds(limits, t.Field(i).Type, child, depth+1)})
		}
	case reflect.Slice:
		p.items = cmp.Or(limits[path].Items, DefaultMaxItems)
		itemPath := path
		if t.Elem().Kind() == reflect.String {
			itemPath = path + "[]"
		}
		p.elem = planBounds(limits, t.Elem(), itemPath, depth+1)
	case reflect.Map:
		if t.Key().Kind() != reflect.String || t.Elem().Kind() != reflect.String {
			panic(fmt.Sprintf("catalog: bounds checks maps of strings to strings, not %s at %q", t, path))
		}
		p.items = cmp.Or(limits[path].Items, DefaultMaxItems)
		p.keys = planBounds(limits, t.Key(), path+"{}", depth+1)
		p.elem = planBounds(limits, t.Elem(), path+"[]", depth+1)
	case reflect.String:
		p.text = limits[path]
		p.text.Chars = cmp.Or(p.text.Chars, DefaultMaxText)
	}
	return p
}

type boundsWalker struct {
	v    *validator
	file string
	key  keyPath // of the value being walked
}

// walk visits rv, of the type p was planned for.
func (w *boundsWalker) walk(rv reflect.Value, p *boundsPlan) {
	switch p.kind {
	case reflect.Pointer:
		if !rv.IsNil() {
			w.walk(rv.Elem(), p.elem)
		}
	case reflect.Struct:
		for _, f := range p.fields {
			w.key.push(f.name)
			w.walk(rv.Field(f.index), f.plan)
			w.key.pop()
		}
	case reflect.Slice:
		if rv.Len() > p.items {
			w.v.r.errorf(w.file, w.key.String(), 0, "%s has %d entries, want at most %d", lastKey(p.path), rv.Len(), p.items)
			return // one problem for the list, not one per entry
		}
		for i := range rv.Len() {
			w.key.pushIndex(i)
			w.walk(rv.Index(i), p.elem)
			w.key.pop()
		}
	case reflect.Map:
		if rv.Len() > p.items {
			w.v.r.errorf(w.file, w.key.String(), 0, "%s has %d entries, want at most %d", lastKey(p.path), rv.Len(), p.items)
			return
		}
		m := rv.Interface().(map[string]string)
		for _, k := range sortedKeys(m) {
			w.key.push(k)
			w.text(p.keys, k)
			w.text(p.elem, m[k])
			w.key.pop()
		}
	case reflect.String:
		w.text(p, rv.String())
	}
}

// text checks one string's length and, for display text, its characters.
func (w *boundsWalker) text(p *boundsPlan, s string) {
	l := p.text
	// Bytes bound characters from above, so most strings are never counted.
	if len(s) > l.Chars && p.path != "summary" { // validator.product reports the summary's length
		if n := utf8.RuneCountInString(s); n > l.Chars {
			w.v.r.errorf(w.file, w.key.String(), 0, "%s is %d characters, want at most %d", lastKey(p.path), n, l.Chars)
			return
		}
	}
	if l.Display {
		// A line break in the summary has its own message ("summary must be one line").
		if msg := hiddenChar(s, l.Multiline, p.path == "summary"); msg != "" {
			w.v.r.errorf(w.file, w.key.String(), 0, "%s %s: display text may not hold control, bidi-control or zero-width characters", lastKey(p.path), msg)
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

func lastKey(path string) string {
	path = strings.TrimSuffix(strings.TrimSuffix(path, "[]"), "{}")
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[i+1:]
	}
	return path
}
