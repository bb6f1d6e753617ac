package catalog

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"time"
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

// codec encodes and decodes one Go type.
type codec struct {
	enc func(e *encoder, v reflect.Value)
	dec func(d *decoderState, v reflect.Value)
}

// productCodec encodes the model's Product; built once, read concurrently afterwards.
var productCodec = buildCodec(reflect.TypeFor[Product](), map[reflect.Type]*codec{})

// buildCodec returns the codec of t. The model has no recursive types, so each codec holds its
// element codecs directly.
func buildCodec(t reflect.Type, built map[reflect.Type]*codec) *codec {
	if c, ok := built[t]; ok {
		return c
	}
	c := &codec{}
	built[t] = c
	switch {
	case t == timeType:
		c.enc = func(e *encoder, v reflect.Value) {
			b, err := v.Interface().(time.Time).MarshalBinary()
			if err != nil {
				b = nil // only years outside the int16 range fail; they decode as the zero time
			}
			e.bytes(b)
		}
		c.dec = func(d *decoderState, v reflect.Value) {
			var t time.Time
			if n := d.length(); n > 0 {
				if err := t.UnmarshalBinary([]byte(d.data[d.off : d.off+n])); err != nil {
					d.fail()
					return
				}
				d.off += n
			}
			v.Set(reflect.ValueOf(t))
		}
	case t.Kind() == reflect.String:
		c.enc = func(e *encoder, v reflect.Value) { e.str(v.String()) }
		c.dec = func(d *decoderState, v reflect.Value) { v.SetString(d.str()) }
	case t.Kind() == reflect.Bool:
		c.enc = func(e *encoder, v reflect.Value) {
			b := byte(0)
			if v.Bool() {
				b = 1
			}
			e.buf = append(e.buf, b)
		}
		c.dec = func(d *decoderState, v reflect.Value) { v.SetBool(d.byte() == 1) }
	case t.Kind() == reflect.Int:
		c.enc = func(e *encoder, v reflect.Value) { e.int(v.Int()) }
		c.dec = func(d *decoderState, v reflect.Value) { v.SetInt(d.int()) }
	case t.Kind() == reflect.Pointer:
		elem := t.Elem()
		ec := buildCodec(elem, built)
		c.enc = func(e *encoder, v reflect.Value) {
			if v.IsNil() {
				e.buf = append(e.buf, 0)
				return
			}
			e.buf = append(e.buf, 1)
			ec.enc(e, v.Elem())
		}
		c.dec = func(d *decoderState, v reflect.Value) {
			if d.byte() == 0 {
				return
			}
			p := reflect.New(elem)
			ec.dec(d, p.Elem())
			v.Set(p)
		}
	case t.Kind() == reflect.Slice:
		ec := buildCodec(t.Elem(), built)
		// A nil slice is 0, a slice of n elements n+1.
		c.enc = func(e *encoder, v reflect.Value) {
			if v.IsNil() {
				e.uint(0)
				return
			}
			e.uint(uint64(v.Len()) + 1)
			for i := range v.Len() {
				ec.enc(e, v.Index(i))
			}
		}
		c.dec = func(d *decoderState, v reflect.Value) {
			n := d.length()
			if n == 0 {
				return
			}
			n--
			s := reflect.MakeSlice(t, n, n)
			for i := range n {
				ec.dec(d, s.Index(i))
			}
			v.Set(s)
		}
	case t.Kind() == reflect.Map && t.Key().Kind() == reflect.String:
		elem := t.Elem()
		ec := buildCodec(elem, built)
		c.enc = func(e *encoder, v reflect.Value) {
			if v.IsNil() {
				e.uint(0)
				return
			}
			e.uint(uint64(v.Len()) + 1)
			keys := v.MapKeys()
			slices.SortFunc(keys, func(a, b reflect.Value) int { return cmp.Compare(a.String(), b.String()) })
			for _, k := range keys {
				e.str(k.String())
				ec.enc(e, v.MapIndex(k))
			}
		}
		c.dec = func(d *decoderState, v reflect.Value) {
			n := d.length()
			if n == 0 {
				return
			}
			n--
			m := reflect.MakeMapWithSize(t, n)
			for range n {
				k := reflect.New(t.Key()).Elem()
				k.SetString(d.str())
				val := reflect.New(elem).Elem()
				ec.dec(d, val)
				if d.err != nil {
					return
				}
				m.SetMapIndex(k, val)
			}
			v.Set(m)
		}
	case t.Kind() == reflect.Struct:
		type field struct {
			index int
			c     *codec
		}
		var fields []field
		for i := range t.NumField() {
			if f := t.Field(i); f.IsExported() {
				fields = append(fields, field{i, buildCodec(f.Type, built)})
			}
		}
		c.enc = func(e *encoder, v reflect.Value) {
			for _, f := range fields {
				f.c.enc(e, v.Field(f.index))
			}
		}
		c.dec = func(d *decoderState, v reflect.Value) {
			for _, f := range fields {
				if d.err != nil {
					return
				}
				f.c.dec(d, v.Field(f.index))
			}
		}
	default:
		panic(fmt.Sprintf("catalog: the load cache cannot store %s", t))
	}
	return c
}
