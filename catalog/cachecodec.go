package catalog

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"
	"unsafe"
)

// The load cache stores decoded products in a compact binary form made by this codec. encoding/gob
// and CBOR (through the json tags' omitempty) were tried first and both lose what the model gives
// meaning to: a nil slice against an empty one (`sso = []` says "no user logins", an absent sso
// says nothing) and a pointer to zero against a nil pointer (`min = 0` against no min). This codec
// keeps both, covers exactly the kinds the model uses, and never panics on damaged input: a
// damaged entry is an error, and the cache ignores it.

var errDamaged = errors.New("damaged cache data")

// encoder appends the binary form of values to buf.
type encoder struct {
	buf []byte
	tab *stringTable // when set, the strings of entries are numbers in it (see str)
}

func (e *encoder) uint(n uint64)  { e.buf = binary.AppendUvarint(e.buf, n) }
func (e *encoder) int(n int64)    { e.buf = binary.AppendVarint(e.buf, n) }
func (e *encoder) bytes(b []byte) { e.uint(uint64(len(b))); e.buf = append(e.buf, b...) }
func (e *encoder) string(s string) {
	e.uint(uint64(len(s)))
	e.buf = append(e.buf, s...)
}

// str writes a string of an entry: its number in the string table, or the string itself when
// there is no table.
func (e *encoder) str(s string) {
	if e.tab == nil {
		e.string(s)
		return
	}
	e.uint(e.tab.id(s))
}

// decoder reads what encoder wrote. data is a string so that decoded strings share its memory
// instead of each being allocated: one copy of the cache file backs every string of the catalog.
type decoderState struct {
	data string
	off  int
	err  error
	tab  []string // when set, the strings of entries are numbers in it (see str)
	ints []int    // where decoded *int point (see buildCodec)
	// maps, when set, holds the maps decoded so far by their encoding, so that equal maps
	// (the same bindings in many products) are one; only with a table, where equal maps
	// have equal encodings.
	maps map[string]map[string]string
}

func (d *decoderState) fail() {
	if d.err == nil {
		d.err = errDamaged
	}
	d.off = len(d.data)
}

func (d *decoderState) uint() uint64 {
	n, k := uvarintString(d.data[d.off:])
	if k <= 0 {
		d.fail()
		return 0
	}
	d.off += k
	return n
}

func (d *decoderState) int() int64 {
	u := d.uint()
	n := int64(u >> 1)
	if u&1 != 0 {
		n = ^n
	}
	return n
}

// length reads a length and checks that at least that many bytes (each element takes one at
// least) remain, so damaged data cannot make the decoder allocate without bound.
func (d *decoderState) length() int {
	n := d.uint()
	if n > uint64(len(d.data)-d.off) {
		d.fail()
		return 0
	}
	return int(n)
}

func (d *decoderState) string() string {
	n := d.length()
	s := d.data[d.off : d.off+n]
	d.off += n
	return s
}

// str reads what encoder.str wrote.
func (d *decoderState) str() string {
	if d.tab == nil {
		return d.string()
	}
	i := d.uint()
	if i >= uint64(len(d.tab)) {
		d.fail()
		return ""
	}
	return d.tab[i]
}

func (d *decoderState) byte() byte {
	if d.off >= len(d.data) {
		d.fail()
		return 0
	}
	b := d.data[d.off]
	d.off++
	return b
}

// uvarintString is binary.Uvarint over a string.
func uvarintString(s string) (uint64, int) {
	var x uint64
	var shift uint
	for i := 0; i < len(s) && i < binary.MaxVarintLen64; i++ {
		b := s[i]
		if b < 0x80 {
			if i == binary.MaxVarintLen64-1 && b > 1 {
				return 0, -1
			}
			return x | uint64(b)<<shift, i + 1
		}
		x |= uint64(b&0x7f) << shift
		shift += 7
	}
	return 0, 0
}

// codec encodes and decodes one Go type, reached through a pointer to a value of it. The
// codecs are built once by reflection, and then work on memory directly: decoding a product is
// a walk over its fields, with no reflect.Value per field.
type codec struct {
	enc func(e *encoder, p unsafe.Pointer)
	dec func(d *decoderState, p unsafe.Pointer)
}

// productCodec encodes the model's Product; built once, read concurrently afterwards.
var productCodec = buildCodec(reflect.TypeFor[Product](), map[reflect.Type]*codec{})

// sliceHeader is the layout of a slice.
type sliceHeader struct {
	data     unsafe.Pointer
	len, cap int
}

// buildCodec returns the codec of t. The model has no recursive types, so each codec holds its
// element codecs directly.
func buildCodec(t reflect.Type, built map[reflect.Type]*codec) *codec {
	if c, ok := built[t]; ok {
		return c
	}
	c := &codec{}
	built[t] = c
	switch {
	case t == buildsType:
		buildCodecOfBuilds(c, built)
	case t == timeType:
		c.enc = func(e *encoder, p unsafe.Pointer) {
			b, err := (*time.Time)(p).MarshalBinary()
			if err != nil {
				b = nil // only years outside the int16 range fail; they decode as the zero time
			}
			e.bytes(b)
		}
		c.dec = func(d *decoderState, p unsafe.Pointer) {
			var t time.Time
			if n := d.length(); n > 0 {
				if err := t.UnmarshalBinary([]byte(d.data[d.off : d.off+n])); err != nil {
					d.fail()
					return
				}
				d.off += n
			}
			*(*time.Time)(p) = t
		}
	case t.Kind() == reflect.String:
		c.enc = func(e *encoder, p unsafe.Pointer) { e.str(*(*string)(p)) }
		c.dec = func(d *decoderState, p unsafe.Pointer) { *(*string)(p) = d.str() }
	case t.Kind() == reflect.Bool:
		c.enc = func(e *encoder, p unsafe.Pointer) {
			b := byte(0)
			if *(*bool)(p) {
				b = 1
			}
			e.buf = append(e.buf, b)
		}
		c.dec = func(d *decoderState, p unsafe.Pointer) { *(*bool)(p) = d.byte() == 1 }
	case t.Kind() == reflect.Int:
		c.enc = func(e *encoder, p unsafe.Pointer) { e.int(int64(*(*int)(p))) }
		c.dec = func(d *decoderState, p unsafe.Pointer) { *(*int)(p) = int(d.int()) }
	case t.Kind() == reflect.Pointer:
		elem := t.Elem()
		ec := buildCodec(elem, built)
		c.enc = func(e *encoder, p unsafe.Pointer) {
			q := *(*unsafe.Pointer)(p)
			if q == nil {
				e.buf = append(e.buf, 0)
				return
			}
			e.buf = append(e.buf, 1)
			ec.enc(e, q)
		}
		c.dec = func(d *decoderState, p unsafe.Pointer) {
			if d.byte() == 0 {
				return
			}
			q := reflect.New(elem).UnsafePointer()
			ec.dec(d, q)
			*(*unsafe.Pointer)(p) = q
		}
		if elem == reflect.TypeFor[int]() {
			// The model's optional numbers (min, max, memory…): taken from a slab rather than
			// allocated one by one.
			c.dec = func(d *decoderState, p unsafe.Pointer) {
				if d.byte() == 0 {
					return
				}
				if len(d.ints) == cap(d.ints) {
					d.ints = make([]int, 0, 32)
				}
				d.ints = append(d.ints, int(d.int()))
				*(**int)(p) = &d.ints[len(d.ints)-1]
			}
		}
	case t.Kind() == reflect.Slice:
		elem := t.Elem()
		ec := buildCodec(elem, built)
		size := elem.Size()
		// A nil slice is 0, a slice of n elements n+1.
		c.enc = func(e *encoder, p unsafe.Pointer) {
			h := (*sliceHeader)(p)
			if h.data == nil {
				e.uint(0)
				return
			}
			e.uint(uint64(h.len) + 1)
			for i := range h.len {
				ec.enc(e, unsafe.Add(h.data, uintptr(i)*size))
			}
		}
		c.dec = func(d *decoderState, p unsafe.Pointer) {
			n := d.length()
			if n == 0 {
				return
			}
			n--
			s := reflect.MakeSlice(t, n, n) // never nil, even when empty
			base := s.UnsafePointer()
			for i := range n {
				ec.dec(d, unsafe.Add(base, uintptr(i)*size))
			}
			reflect.NewAt(t, p).Elem().Set(s)
		}
	case t == stringMapType:
		c.enc = func(e *encoder, p unsafe.Pointer) {
			m := *(*map[string]string)(p)
			if m == nil {
				e.uint(0)
				return
			}
			e.uint(uint64(len(m)) + 1)
			for _, k := range slices.Sorted(maps.Keys(m)) {
				e.str(k)
				e.str(m[k])
			}
		}
		c.dec = func(d *decoderState, p unsafe.Pointer) {
			n := d.length()
			if n == 0 {
				return
			}
			n--
			start := d.off
			if d.maps != nil && d.tab != nil {
				for range 2 * n {
					d.uint()
				}
				if d.err != nil {
					return
				}
				if m, ok := d.maps[d.data[start:d.off]]; ok {
					*(*map[string]string)(p) = m
					return
				}
				d.off = start
			}
			m := make(map[string]string, n)
			for range n {
				k := d.str()
				m[k] = d.str()
			}
			if d.err != nil {
				return
			}
			if d.maps != nil && d.tab != nil {
				d.maps[strings.Clone(d.data[start:d.off])] = m
			}
			*(*map[string]string)(p) = m
		}
	case t.Kind() == reflect.Map && t.Key().Kind() == reflect.String:
		elem := t.Elem()
		ec := buildCodec(elem, built)
		c.enc = func(e *encoder, p unsafe.Pointer) {
			v := reflect.NewAt(t, p).Elem()
			if v.IsNil() {
				e.uint(0)
				return
			}
			e.uint(uint64(v.Len()) + 1)
			keys := v.MapKeys()
			slices.SortFunc(keys, func(a, b reflect.Value) int { return cmp.Compare(a.String(), b.String()) })
			val := reflect.New(elem)
			for _, k := range keys {
				e.str(k.String())
				val.Elem().Set(v.MapIndex(k))
				ec.enc(e, val.UnsafePointer())
			}
		}
		c.dec = func(d *decoderState, p unsafe.Pointer) {
			n := d.length()
			if n == 0 {
				return
			}
			n--
			m := reflect.MakeMapWithSize(t, n)
			for range n {
				k := reflect.New(t.Key()).Elem()
				k.SetString(d.str())
				val := reflect.New(elem)
				ec.dec(d, val.UnsafePointer())
				if d.err != nil {
					return
				}
				m.SetMapIndex(k, val.Elem())
			}
			reflect.NewAt(t, p).Elem().Set(m)
		}
	case t.Kind() == reflect.Struct:
		type field struct {
			off uintptr
			c   *codec
		}
		var fields []field
		for i := range t.NumField() {
			if f := t.Field(i); f.IsExported() {
				fields = append(fields, field{f.Offset, buildCodec(f.Type, built)})
			}
		}
		c.enc = func(e *encoder, p unsafe.Pointer) {
			for _, f := range fields {
				f.c.enc(e, unsafe.Add(p, f.off))
			}
		}
		c.dec = func(d *decoderState, p unsafe.Pointer) {
			for _, f := range fields {
				if d.err != nil {
					return
				}
				f.c.dec(d, unsafe.Add(p, f.off))
			}
		}
	default:
		panic(fmt.Sprintf("catalog: the load cache cannot store %s", t))
	}
	return c
}

var (
	buildsType    = reflect.TypeFor[[]Build]()
	stringMapType = reflect.TypeFor[map[string]string]()
)

// buildCodecOfBuilds makes the codec of a product's builds, which keeps what shareBuilds shares:
// a list (or smoke test) of a build that is the same as an earlier build's is written as the
// number of that build, and decoded as the same list, neither allocated nor compared again.
func buildCodecOfBuilds(c *codec, built map[reflect.Type]*codec) {
	t := reflect.TypeFor[Build]()
	size := t.Size()
	type field struct {
		off   uintptr
		kind  reflect.Kind // Slice and Pointer fields may be shared
		c     *codec
		share bool
	}
	var fields []field
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		k := f.Type.Kind()
		fields = append(fields, field{off: f.Offset, kind: k, c: buildCodec(f.Type, built), share: k == reflect.Slice || k == reflect.Pointer})
	}
	same := func(kind reflect.Kind, a, b unsafe.Pointer) bool {
		if kind == reflect.Slice {
			x, y := (*sliceHeader)(a), (*sliceHeader)(b)
			return x.data != nil && x.len > 0 && x.data == y.data && x.len == y.len
		}
		x := *(*unsafe.Pointer)(a)
		return x != nil && x == *(*unsafe.Pointer)(b)
	}
	c.enc = func(e *encoder, p unsafe.Pointer) {
		h := (*sliceHeader)(p)
		if h.data == nil {
			e.uint(0)
			return
		}
		e.uint(uint64(h.len) + 1)
		for i := range h.len {
			b := unsafe.Add(h.data, uintptr(i)*size)
			for _, f := range fields {
				fp := unsafe.Add(b, f.off)
				if f.share {
					ref := 0
					for j := range i {
						if same(f.kind, fp, unsafe.Add(h.data, uintptr(j)*size+f.off)) {
							ref = j + 1
							break
						}
					}
					e.uint(uint64(ref))
					if ref > 0 {
						continue
					}
				}
				f.c.enc(e, fp)
			}
		}
	}
	c.dec = func(d *decoderState, p unsafe.Pointer) {
		n := d.length()
		if n == 0 {
			return
		}
		n--
		s := make([]Build, n)
		base := unsafe.Pointer(unsafe.SliceData(s))
		for i := range n {
			b := unsafe.Add(base, uintptr(i)*size)
			for _, f := range fields {
				if d.err != nil {
					return
				}
				fp := unsafe.Add(b, f.off)
				if f.share {
					ref := d.uint()
					if ref > uint64(i) {
						d.fail()
						return
					}
					if ref > 0 {
						op := unsafe.Add(base, uintptr(ref-1)*size+f.off)
						if f.kind == reflect.Slice {
							*(*sliceHeader)(fp) = *(*sliceHeader)(op)
						} else {
							*(*unsafe.Pointer)(fp) = *(*unsafe.Pointer)(op)
						}
						continue
					}
				}
				f.c.dec(d, fp)
			}
		}
		*(*[]Build)(p) = s
	}
}
