package catalog

import (
	"maps"
	"reflect"
	"slices"
	"strings"
)

// A large catalog is mostly text, and much of it repeats: the builds of one product share their
// parameters, tasks and dependencies, and products share parameter descriptions, commands,
// release notes and licence names. Loading keeps one copy of each (see interner and shareBuilds),
// which is what bounds the memory of a 100 000-product catalog.

// interner keeps one copy of each distinct string. It belongs to one loading worker. (The
// strings of the load cache are one copy each already: see stringTable.)
type interner struct {
	m    map[string]string
	maps map[string]map[string]string // by their sorted keys and values
	ints map[int]*int
}

func newInterner() *interner {
	return &interner{m: map[string]string{}, maps: map[string]map[string]string{}, ints: map[int]*int{}}
}

// internInt returns a pointer to n that in keeps: the model's optional numbers are read-only
// once loaded, and at 100 000 products 2.4 million of them were 19 MB, one allocation each.
func (in *interner) internInt(n int) *int {
	if p, ok := in.ints[n]; ok {
		return p
	}
	p := new(int)
	*p = n
	in.ints[n] = p
	return p
}

// internMap returns the map equal to m that in keeps (m itself the first time). Nil stays nil.
func (in *interner) internMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(m)) {
		b.WriteString(k)
		b.WriteByte(0)
		b.WriteString(m[k])
		b.WriteByte(0)
	}
	key := b.String()
	if kept, ok := in.maps[key]; ok {
		return kept
	}
	in.maps[key] = m
	return m
}

// shareMaps makes p's bindings and exposed properties the maps in keeps when equal: products
// mostly bind the same parameters to the same properties.
func shareMaps(p *Product, in *interner) {
	for i := range p.Builds {
		b := &p.Builds[i]
		for j := range b.Dependencies {
			b.Dependencies[j].Bind = in.internMap(b.Dependencies[j].Bind)
		}
		for j := range b.Exposes {
			b.Exposes[j].Properties = in.internMap(b.Exposes[j].Properties)
		}
	}
}

func (in *interner) intern(s string) string {
	if in == nil || s == "" {
		return s
	}
	if v, ok := in.m[s]; ok {
		return v
	}
	in.m[s] = s
	return s
}

// shareBuilds makes the builds of p share the lists that are equal to an earlier build's, so
// that a product with many builds holds its unchanged tasks, parameters and dependencies once.
// Products are read-only once loaded, so sharing is invisible to readers.
func shareBuilds(p *Product) {
	bs := p.Builds
	for i := 1; i < len(bs); i++ {
		b := &bs[i]
		for j := i - 1; j >= 0; j-- {
			o := &bs[j]
			shareSlice(&b.Platforms, o.Platforms)
			shareSlice(&b.Tasks, o.Tasks)
			shareSlice(&b.Parameters, o.Parameters)
			shareSlice(&b.Exposes, o.Exposes)
			shareSlice(&b.Dependencies, o.Dependencies)
			if b.SmokeTest != nil && o.SmokeTest != nil && b.SmokeTest != o.SmokeTest && reflect.DeepEqual(*b.SmokeTest, *o.SmokeTest) {
				b.SmokeTest = o.SmokeTest
			}
		}
		// Tasks that differ (a new memory figure) mostly keep their command and ports.
		for k := range b.Tasks {
			t := &b.Tasks[k]
			for j := i - 1; j >= 0; j-- {
				for _, o := range bs[j].Tasks {
					if o.Name == t.Name {
						shareSlice(&t.Command, o.Command)
						shareSlice(&t.Ports, o.Ports)
						shareSlice(&t.Volumes, o.Volumes)
					}
				}
			}
		}
	}
}

// shareSlice points *s at o when both hold the same values (nil and empty stay distinct).
func shareSlice[T any](s *[]T, o []T) {
	if len(*s) == 0 || len(*s) != len(o) || &(*s)[0] == &o[0] {
		return
	}
	if reflect.DeepEqual(*s, o) {
		*s = o
	}
}
