package deploy

import (
	"bytes"
	"encoding"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// The manifests are written by a small YAML emitter made for the values this package builds:
// structs with `yaml:"name,omitempty"` tags, ordered mappings, maps with string keys, slices,
// pointers, interfaces, strings, integers and booleans. It writes exactly what
// go.yaml.in/yaml/v3 writes for them (an Encoder with SetIndent(2): block style, two-space
// indentation, sequences indented under their key, keys of maps sorted as yaml.v3 sorts them,
// empty collections as [] and {}, no line folding, and the same choice between plain,
// single-quoted, double-quoted and literal scalars, see scalar.go), in a single pass over the
// values. yaml.v3 costs some thirty times as much: every value goes through its event-driven
// emitter, and each ordered mapping's values went through yaml.Node.Encode (encode to text,
// parse back) before being emitted again.
//
// What the emitter leaves out (strings that are not UTF-8, which yaml.v3 writes as !!binary;
// "<<", the merge key; keys that need the "? key" form; floats, custom marshalers, flow and
// inline fields) does not occur in the manifests. Should it, appendYAML falls back to yaml.v3
// for the document, so the output is the same either way. TestEmitterMatchesYAMLv3,
// TestScalars and FuzzScalar check that the two agree, and TestYAMLv3Failures shows the few
// strings where yaml.v3 fails (with an error, or with text that does not read back) and the
// emitter does not.

// mapping is a YAML mapping that keeps its insertion order, for the places where declaration
// order reads better than sorted keys (services in task order, variables in parameter order).
// Go maps encode with sorted keys, structs in field order: either way the output is stable.
type mapping []keyValue

type keyValue struct {
	Key   string
	Value any
}

func (m *mapping) add(key string, value any) { *m = append(*m, keyValue{key, value}) }

// MarshalYAML encodes the pairs in order. Only yaml.v3 calls it: in appendYAML's fallback, and
// in the tests that compare the emitter with yaml.v3.
func (m mapping) MarshalYAML() (any, error) {
	n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for _, kv := range m {
		var v yaml.Node
		if err := v.Encode(kv.Value); err != nil {
			return nil, fmt.Errorf("encoding %s: %w", kv.Key, err)
		}
		n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: kv.Key}, &v)
	}
	return n, nil
}

// buffers holds the buffers manifests are rendered in, so that rendering one allocates little
// more than its result.
var buffers = sync.Pool{New: func() any { b := make([]byte, 0, 32<<10); return &b }}

// render returns a copy of what f appends to an empty buffer or, when w is not nil, writes it
// to w and returns nil: a site's 20 000 manifests stream into their files with no copy.
func render(w io.Writer, f func(out []byte) ([]byte, error)) ([]byte, error) {
	bp := buffers.Get().(*[]byte)
	out, err := f((*bp)[:0])
	var result []byte
	if err == nil {
		if w != nil {
			_, err = w.Write(out)
		} else {
			result = bytes.Clone(out)
		}
		if cap(out) <= 1<<20 {
			*bp = out[:0]
		}
	}
	buffers.Put(bp)
	return result, err
}

// appendDocument appends a manifest's document: appendYAML, which the tests wrap to compare every
// document with yaml.v3.
var appendDocument = appendYAML

// appendYAML appends v as one YAML document, as encodeYAMLv3 would write it.
func appendYAML(out []byte, v any) ([]byte, error) {
	n := len(out)
	if res, ok := emitYAML(out, v); ok {
		return res, nil
	}
	buf := bytes.NewBuffer(out[:n])
	err := encodeYAMLv3(buf, v)
	return buf.Bytes(), err
}

// encodeYAMLv3 writes v as one YAML document with two-space indentation, with yaml.v3: the
// fallback of appendYAML, and what the tests compare it with.
func encodeYAMLv3(buf *bytes.Buffer, v any) error {
	enc := yaml.NewEncoder(buf)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return err
	}
	return enc.Close()
}

// errFallback aborts the emitter when a value needs yaml.v3.
var errFallback = errors.New("deploy: value needs yaml.v3")

// emitYAML appends the document of v to out. It reports false when v holds something the
// emitter leaves to yaml.v3; what it appended is then to be dropped.
func emitYAML(out []byte, v any) (_ []byte, ok bool) {
	defer func() {
		if r := recover(); r != nil {
			if r != errFallback {
				panic(r)
			}
			ok = false
		}
	}()
	rv := reflect.ValueOf(v)
	if !rv.IsValid() {
		return append(out, "null\n"...), true
	}
	enc := encoderOf(rv.Type())
	if enc.scalar {
		return out, false // a document that is a lone scalar: never written here
	}
	return enc.emit(out, rv, 0, atRoot), true
}

// position tells a node where the output stands when it starts.
type position uint8

const (
	atRoot  position = iota // at the start of a line, for the root node
	atValue                 // right after "key:"
	atItem                  // right after a sequence item's "-"
)

// typeEncoder appends values of one Go type to out. ind is the indentation of the node's block
// content (its keys, its sequence items, the lines of a literal scalar): the parent's plus two.
// Every node ends its last line.
type typeEncoder struct {
	emit   func(out []byte, v reflect.Value, ind int, pos position) []byte
	scalar bool // writes a scalar (after a space) rather than a block collection
	str    bool // writes a string kind as a string: struct fields call appendValue directly
}

var (
	encoders      sync.Map // reflect.Type → *typeEncoder
	mappingType   = reflect.TypeFor[mapping]()
	stringMapType = reflect.TypeFor[map[string]string]()
	marshalerType = reflect.TypeFor[yaml.Marshaler]()
	textType      = reflect.TypeFor[encoding.TextMarshaler]()
	zeroerType    = reflect.TypeFor[yaml.IsZeroer]()
	nodeType      = reflect.TypeFor[yaml.Node]()
	durationType  = reflect.TypeFor[time.Duration]()
)

// encoderOf returns the encoder of type t, made once.
func encoderOf(t reflect.Type) *typeEncoder {
	if enc, ok := encoders.Load(t); ok {
		return enc.(*typeEncoder)
	}
	// Encoders are made one type (with the types it holds) at a time, and published whole: a
	// goroutine never sees another's encoder half made.
	buildMu.Lock()
	defer buildMu.Unlock()
	if enc, ok := encoders.Load(t); ok {
		return enc.(*typeEncoder)
	}
	b := &builder{made: map[reflect.Type]*typeEncoder{}}
	enc := b.encoderOf(t)
	for t, e := range b.made {
		encoders.Store(t, e)
	}
	return enc
}

// buildMu serialises the making of encoders.
var buildMu sync.Mutex

// builder makes the encoders of a type and of the types it holds, in one goroutine.
type builder struct {
	made map[reflect.Type]*typeEncoder // made, or being made (a forwarder), by this builder
}

func (b *builder) encoderOf(t reflect.Type) *typeEncoder {
	if enc, ok := encoders.Load(t); ok {
		return enc.(*typeEncoder)
	}
	if enc, ok := b.made[t]; ok {
		return enc
	}
	// A type that contains itself gets this forwarder while its own encoder is being made; it
	// is complete before encoderOf publishes it.
	var enc *typeEncoder
	fwd := &typeEncoder{emit: func(out []byte, v reflect.Value, ind int, pos position) []byte {
		return enc.emit(out, v, ind, pos)
	}}
	b.made[t] = fwd
	enc = b.newEncoder(t)
	fwd.scalar, fwd.str = enc.scalar, enc.str
	b.made[t] = enc
	return enc
}

func fallbackEncoder(scalar bool) *typeEncoder {
	return &typeEncoder{scalar: scalar, emit: func([]byte, reflect.Value, int, position) []byte { panic(errFallback) }}
}

func (b *builder) newEncoder(t reflect.Type) *typeEncoder {
	switch {
	case t == mappingType:
		return &typeEncoder{emit: appendMapping}
	case t == nodeType || t == reflect.PointerTo(nodeType) || t == durationType:
		return fallbackEncoder(true)
	case t.Kind() != reflect.Pointer && (t.Implements(marshalerType) || t.Implements(textType)):
		return fallbackEncoder(true)
	case t.Kind() == reflect.Pointer && (t.Implements(marshalerType) || t.Implements(textType)) &&
		!t.Elem().Implements(marshalerType) && !t.Elem().Implements(textType):
		return fallbackEncoder(true) // a method of the pointer only: yaml.v3 calls it
	}
	switch t.Kind() {
	case reflect.String:
		return &typeEncoder{scalar: true, str: true, emit: func(out []byte, v reflect.Value, ind int, pos position) []byte {
			return appendValue(append(out, ' '), v.String(), ind)
		}}
	case reflect.Bool:
		return &typeEncoder{scalar: true, emit: func(out []byte, v reflect.Value, ind int, pos position) []byte {
			return append(strconv.AppendBool(append(out, ' '), v.Bool()), '\n')
		}}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return &typeEncoder{scalar: true, emit: func(out []byte, v reflect.Value, ind int, pos position) []byte {
			return append(strconv.AppendInt(append(out, ' '), v.Int(), 10), '\n')
		}}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return &typeEncoder{scalar: true, emit: func(out []byte, v reflect.Value, ind int, pos position) []byte {
			return append(strconv.AppendUint(append(out, ' '), v.Uint(), 10), '\n')
		}}
	case reflect.Pointer:
		elem := b.encoderOf(t.Elem())
		return &typeEncoder{scalar: elem.scalar, emit: func(out []byte, v reflect.Value, ind int, pos position) []byte {
			if v.IsNil() {
				return appendNull(out, pos)
			}
			return elem.emit(out, v.Elem(), ind, pos)
		}}
	case reflect.Interface:
		return &typeEncoder{emit: func(out []byte, v reflect.Value, ind int, pos position) []byte {
			if v.IsNil() {
				return appendNull(out, pos)
			}
			v = v.Elem()
			return encoderOf(v.Type()).emit(out, v, ind, pos)
		}}
	case reflect.Slice, reflect.Array:
		elem := b.encoderOf(t.Elem())
		return &typeEncoder{emit: func(out []byte, v reflect.Value, ind int, pos position) []byte {
			n := v.Len()
			if n == 0 {
				return appendEmpty(out, "[]", pos)
			}
			for i := range n {
				out = append(appendIndent(out, ind, pos, i == 0), '-')
				out = elem.emit(out, v.Index(i), ind+2, atItem)
			}
			return out
		}}
	case reflect.Map:
		if t.Key().Kind() != reflect.String || t.Key().Implements(textType) {
			return fallbackEncoder(false)
		}
		return b.mapEncoder(t)
	case reflect.Struct:
		return b.structEncoder(t)
	}
	// Floats, complex numbers, channels, functions: yaml.v3 decides.
	return fallbackEncoder(true)
}

// appendIndent starts a line of a block collection: a new line, unless the node is the first of
// a sequence item, which stays on the item's line ("- key: value").
func appendIndent(out []byte, ind int, pos position, first bool) []byte {
	switch {
	case first && pos == atItem:
		return append(out, ' ')
	case first && pos == atValue:
		out = append(out, '\n')
	}
	return appendSpaces(out, ind)
}

func appendSpaces(out []byte, n int) []byte {
	const spaces = "                                                                "
	for n > len(spaces) {
		out = append(out, spaces...)
		n -= len(spaces)
	}
	return append(out, spaces[:n]...)
}

// appendNull writes a nil pointer or interface.
func appendNull(out []byte, pos position) []byte {
	if pos != atRoot {
		out = append(out, ' ')
	}
	return append(out, "null\n"...)
}

// appendEmpty writes an empty sequence or mapping, which yaml.v3 writes in flow style.
func appendEmpty(out []byte, flow string, pos position) []byte {
	if pos != atRoot {
		out = append(out, ' ')
	}
	return append(append(out, flow...), '\n')
}

// appendKey writes a mapping key and its colon, in the style styleOf gives, or falls back when
// the key needs the "? key" form.
func appendKey(out []byte, k string, styleOf func(string) scalarStyle) []byte {
	if len(k) <= 128 && isPlainWord(k) {
		return append(append(out, k...), ':')
	}
	switch styleOf(k) {
	case plain:
		out = append(out, k...)
	case singleQuoted:
		out = appendSingleQuoted(out, k, 0)
	case doubleQuoted:
		out = appendDoubleQuoted(out, k)
	default:
		panic(errFallback)
	}
	return append(out, ':')
}

// appendMapping writes a mapping: its keys as yaml.v3 writes the key nodes MarshalYAML makes,
// its values as yaml.v3 writes them (yaml.Node.Encode and back gives the same text).
func appendMapping(out []byte, v reflect.Value, ind int, pos position) []byte {
	m := v.Interface().(mapping)
	if len(m) == 0 {
		return appendEmpty(out, "{}", pos)
	}
	for i, kv := range m {
		out = appendKey(appendIndent(out, ind, pos, i == 0), kv.Key, nodeKeyStyle)
		switch value := kv.Value.(type) {
		case nil:
			out = appendNull(out, atValue)
		case string:
			out = appendValue(append(out, ' '), value, ind+2)
		default:
			rv := reflect.ValueOf(value)
			out = encoderOf(rv.Type()).emit(out, rv, ind+2, atValue)
		}
	}
	return out
}

// mapEntry is an entry of a map being written: a string value, or any other.
type mapEntry struct {
	key   string
	str   string
	value reflect.Value
}

func (b *builder) mapEncoder(t reflect.Type) *typeEncoder {
	if t == stringMapType {
		return &typeEncoder{emit: func(out []byte, v reflect.Value, ind int, pos position) []byte {
			m := v.Interface().(map[string]string)
			if len(m) == 0 {
				return appendEmpty(out, "{}", pos)
			}
			var buf [16]mapEntry
			entries := buf[:0]
			for k, v := range m {
				entries = append(entries, mapEntry{key: k, str: v})
			}
			sortEntries(entries)
			for i, en := range entries {
				out = appendKey(appendIndent(out, ind, pos, i == 0), en.key, keyStyle)
				out = appendValue(append(out, ' '), en.str, ind+2)
			}
			return out
		}}
	}
	elem := b.encoderOf(t.Elem())
	return &typeEncoder{emit: func(out []byte, v reflect.Value, ind int, pos position) []byte {
		if v.Len() == 0 {
			return appendEmpty(out, "{}", pos)
		}
		var entries []mapEntry
		for it := v.MapRange(); it.Next(); {
			entries = append(entries, mapEntry{key: it.Key().String(), value: it.Value()})
		}
		sortEntries(entries)
		for i, en := range entries {
			out = appendKey(appendIndent(out, ind, pos, i == 0), en.key, keyStyle)
			out = elem.emit(out, en.value, ind+2, atValue)
		}
		return out
	}}
}

// structField is what the encoder of a struct knows of a field, from its `yaml` tag as yaml.v3
// reads it: "name", "name,omitempty", "-", or nothing for the lowercased field name.
type structField struct {
	index     int
	key       []byte // the key as written, with its colon
	omitEmpty bool
	zero      func(reflect.Value) bool
	enc       *typeEncoder
}

func (b *builder) structEncoder(t reflect.Type) *typeEncoder {
	var fields []structField
	seen := map[string]bool{}
	for i := range t.NumField() {
		f := t.Field(i)
		if f.PkgPath != "" && !f.Anonymous {
			continue
		}
		tag := f.Tag.Get("yaml")
		if tag == "" && !strings.Contains(string(f.Tag), ":") {
			tag = string(f.Tag)
		}
		if tag == "-" {
			continue
		}
		name, flags, _ := strings.Cut(tag, ",")
		sf := structField{index: i}
		if flags != "" {
			for flag := range strings.SplitSeq(flags, ",") {
				if flag != "omitempty" {
					return fallbackEncoder(false) // flow, inline, or an error yaml.v3 reports
				}
				sf.omitEmpty = true
			}
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		if seen[name] {
			return fallbackEncoder(false) // an error yaml.v3 reports
		}
		seen[name] = true
		if style := keyStyle(name); style != plain && style != singleQuoted && style != doubleQuoted {
			return fallbackEncoder(false)
		}
		sf.key = appendKey(nil, name, keyStyle)
		if sf.omitEmpty {
			sf.zero = zeroOf(f.Type)
		}
		sf.enc = b.encoderOf(f.Type)
		fields = append(fields, sf)
	}
	return &typeEncoder{emit: func(out []byte, v reflect.Value, ind int, pos position) []byte {
		first := true
		for i := range fields {
			f := &fields[i]
			fv := v.Field(f.index)
			if f.enc.str {
				s := fv.String()
				if f.omitEmpty && s == "" {
					continue
				}
				out = append(appendIndent(out, ind, pos, first), f.key...)
				out = appendValue(append(out, ' '), s, ind+2)
				first = false
				continue
			}
			if f.omitEmpty && f.zero(fv) {
				continue
			}
			out = append(appendIndent(out, ind, pos, first), f.key...)
			out = f.enc.emit(out, fv, ind+2, atValue)
			first = false
		}
		if first {
			return appendEmpty(out, "{}", pos)
		}
		return out
	}}
}

// zeroOf returns yaml.v3's omitempty test for type t.
func zeroOf(t reflect.Type) func(reflect.Value) bool {
	if t.Implements(zeroerType) {
		return func(v reflect.Value) bool {
			if (v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface) && v.IsNil() {
				return true
			}
			return v.Interface().(yaml.IsZeroer).IsZero()
		}
	}
	switch t.Kind() {
	case reflect.String, reflect.Slice, reflect.Map:
		return func(v reflect.Value) bool { return v.Len() == 0 }
	case reflect.Interface, reflect.Pointer:
		return reflect.Value.IsNil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return func(v reflect.Value) bool { return v.Int() == 0 }
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return func(v reflect.Value) bool { return v.Uint() == 0 }
	case reflect.Float32, reflect.Float64:
		return func(v reflect.Value) bool { return v.Float() == 0 }
	case reflect.Bool:
		return func(v reflect.Value) bool { return !v.Bool() }
	case reflect.Struct:
		type field struct {
			index int
			zero  func(reflect.Value) bool
		}
		var fields []field
		for i := range t.NumField() {
			if t.Field(i).PkgPath == "" {
				fields = append(fields, field{i, zeroOf(t.Field(i).Type)})
			}
		}
		return func(v reflect.Value) bool {
			for _, f := range fields {
				if !f.zero(v.Field(f.index)) {
					return false
				}
			}
			return true
		}
	}
	return func(reflect.Value) bool { return false }
}

// sortEntries sorts map entries by key as yaml.v3 does (keyLess). Maps in manifests have a
// handful of keys: insertion sort.
func sortEntries(entries []mapEntry) {
	for i := 1; i < len(entries); i++ {
		for j := i; j > 0 && keyLess(entries[j].key, entries[j-1].key); j-- {
			entries[j], entries[j-1] = entries[j-1], entries[j]
		}
	}
}

// keyLess is yaml.v3's keyList.Less for string keys: runs of digits compare as numbers, and
// letters come before other characters (after other characters, following a digit).
func keyLess(a, b string) bool {
	if less, ok := keyLessASCII(a, b); ok {
		return less
	}
	ar, br := []rune(a), []rune(b)
	digits := false
	for i := 0; i < len(ar) && i < len(br); i++ {
		if ar[i] == br[i] {
			digits = unicode.IsDigit(ar[i])
			continue
		}
		al := unicode.IsLetter(ar[i])
		bl := unicode.IsLetter(br[i])
		if al && bl {
			return ar[i] < br[i]
		}
		if al || bl {
			if digits {
				return al
			}
			return bl
		}
		var ai, bi int
		var an, bn int64
		if ar[i] == '0' || br[i] == '0' {
			for j := i - 1; j >= 0 && unicode.IsDigit(ar[j]); j-- {
				if ar[j] != '0' {
					an = 1
					bn = 1
					break
				}
			}
		}
		for ai = i; ai < len(ar) && unicode.IsDigit(ar[ai]); ai++ {
			an = an*10 + int64(ar[ai]-'0')
		}
		for bi = i; bi < len(br) && unicode.IsDigit(br[bi]); bi++ {
			bn = bn*10 + int64(br[bi]-'0')
		}
		if an != bn {
			return an < bn
		}
		if ai != bi {
			return ai < bi
		}
		return ar[i] < br[i]
	}
	return len(ar) < len(br)
}

// keyLessASCII is keyLess without converting a and b to runes, when what decides between them
// is ASCII (ok is false otherwise): the first byte where they differ, the byte before it, and
// the digits around it. Both are taken to be UTF-8, so a prefix in bytes is one in runes.
func keyLessASCII(a, b string) (less, ok bool) {
	isDigit := func(c byte) bool { return c >= '0' && c <= '9' }
	isLetter := func(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	if i == len(a) || i == len(b) {
		return len(a) < len(b), true
	}
	if a[i] >= utf8.RuneSelf || b[i] >= utf8.RuneSelf || i > 0 && a[i-1] >= utf8.RuneSelf {
		return false, false
	}
	digits := i > 0 && isDigit(a[i-1])
	al, bl := isLetter(a[i]), isLetter(b[i])
	if al && bl {
		return a[i] < b[i], true
	}
	if al || bl {
		if digits {
			return al, true
		}
		return bl, true
	}
	var ai, bi int
	var an, bn int64
	if a[i] == '0' || b[i] == '0' {
		j := i - 1
		for ; j >= 0 && isDigit(a[j]); j-- {
			if a[j] != '0' {
				an, bn = 1, 1
				break
			}
		}
		if j >= 0 && a[j] >= utf8.RuneSelf {
			return false, false // perhaps a digit of another script
		}
	}
	for ai = i; ai < len(a) && isDigit(a[ai]); ai++ {
		an = an*10 + int64(a[ai]-'0')
	}
	for bi = i; bi < len(b) && isDigit(b[bi]); bi++ {
		bn = bn*10 + int64(b[bi]-'0')
	}
	if ai < len(a) && a[ai] >= utf8.RuneSelf || bi < len(b) && b[bi] >= utf8.RuneSelf {
		return false, false
	}
	if an != bn {
		return an < bn, true
	}
	if ai != bi {
		return ai < bi, true
	}
	return a[i] < b[i], true
}
