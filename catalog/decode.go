package catalog

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"
)

// problem is a finding at a key path of one file, positioned later (see keyIndex) so that
// valid files never pay for position bookkeeping.
type problem struct {
	key      string // e.g. builds[0].tasks[1].memory; "" for the whole file
	severity Severity
	rule     int
	msg      string
	// line and col are set when the finding already has a position: TOML syntax errors, and
	// the findings a load cache keeps (positioned once, when the file was first checked).
	line, col int
	// syntax marks a TOML syntax error: the file decoded to nothing.
	syntax bool
	// atKey positions the finding on the key rather than on its value (unknown keys).
	atKey bool
	// suggested is the key an unknown key was probably meant to be: checks on it are skipped,
	// so a misspelt [identiy] table is not also reported as a missing identity.
	suggested string
}

// decodeFile parses TOML data into v (a pointer to a model struct). Unlike toml.Decode it does not
// stop at the first wrong type: every unknown key and every mismatched type is returned as a
// problem with its indexed key path. A syntax error is returned alone, positioned.
func decodeFile(data []byte, v any) []problem {
	return decodeFileInterned(data, v, nil)
}

// decodeFileInterned is decodeFile keeping one copy of equal strings through in (nil: none).
func decodeFileInterned(data []byte, v any, in *interner) []problem {
	var raw map[string]any
	if err := toml.Unmarshal(data, &raw); err != nil {
		line, col := 1, 1
		msg := err.Error()
		var de *toml.DecodeError
		if errors.As(err, &de) {
			line, col = de.Position()
			line, col = max(line, 1), max(col, 1)
		}
		// The parser may point past the end of the line (an unterminated string); stay on it.
		if lines := bytes.Split(data, []byte("\n")); line <= len(lines) {
			col = min(col, len(bytes.TrimRight(lines[line-1], "\r"))+1)
		}
		return []problem{{msg: "TOML syntax: " + strings.TrimPrefix(msg, "toml: "), line: line, col: col, syntax: true}}
	}
	d := decoder{path: make([]segment, 0, 8), strings: in}
	d.value(raw, reflect.ValueOf(v).Elem())
	return d.problems
}

type decoder struct {
	problems []problem
	// path is the key path of the value being decoded, as a stack: rendered to a string only
	// when there is a problem to report, so valid files build no key strings at all.
	path keyPath
	// strings, when set, keeps one copy of equal strings.
	strings *interner
}

// segment is one step of a key path: a key, or an index into an array when key is "".
type segment struct {
	key   string
	index int
}

// keyPath is the key path of a value being walked, as a stack: rendered to a string only when
// there is a problem to report, so valid files build no key strings at all.
type keyPath []segment

func (p *keyPath) push(key string) { *p = append(*p, segment{key: key}) }
func (p *keyPath) pushIndex(i int) { *p = append(*p, segment{index: i}) }
func (p *keyPath) pop()            { *p = (*p)[:len(*p)-1] }

// String renders the path: builds[0].tasks[1].memory.
func (p keyPath) String() string {
	var b strings.Builder
	for _, s := range p {
		if s.key == "" {
			fmt.Fprintf(&b, "[%d]", s.index)
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		if isBareKey(s.key) {
			b.WriteString(s.key)
		} else {
			b.WriteString(strconv.Quote(s.key))
		}
	}
	return b.String()
}

func (d *decoder) push(key string) { d.path.push(key) }
func (d *decoder) pushIndex(i int) { d.path.pushIndex(i) }
func (d *decoder) pop()            { d.path.pop() }
func (d *decoder) key() string     { return d.path.String() }

func (d *decoder) errorf(format string, args ...any) {
	d.problems = append(d.problems, problem{key: d.key(), severity: Error, msg: fmt.Sprintf(format, args...)})
}

var (
	timeType       = reflect.TypeFor[time.Time]()
	intPointerType = reflect.TypeFor[*int]()
	indexRE        = regexp.MustCompile(`\[\d+\]`)
)

// value stores data (a value of go-toml's generic decoding) into rv.
func (d *decoder) value(data any, rv reflect.Value) {
	if rv.Type() == intPointerType && d.strings != nil {
		// The model's optional numbers (min, max, memory…) repeat: one pointer per value.
		var n int
		if d.value1(data, reflect.ValueOf(&n).Elem()) {
			rv.Set(reflect.ValueOf(d.strings.internInt(n)))
		}
		return
	}
	if rv.Kind() == reflect.Pointer {
		elem := reflect.New(rv.Type().Elem())
		if d.value1(data, elem.Elem()) {
			rv.Set(elem)
		}
		return
	}
	d.value1(data, rv)
}

// value1 stores data into the non-pointer rv and reports whether it did.
func (d *decoder) value1(data any, rv reflect.Value) bool {
	if rv.CanAddr() {
		if vd, ok := rv.Addr().Interface().(ValueDecoder); ok {
			ok, want := vd.DecodeTOMLValue(data)
			if !ok {
				d.mismatch(data, want)
			}
			return ok
		}
	}
	if rv.Type() == timeType {
		t, ok := data.(toml.LocalDate)
		if !ok {
			d.mismatch(data, "date (YYYY-MM-DD, unquoted)")
			return false
		}
		rv.Set(reflect.ValueOf(t.AsTime(time.UTC)))
		return true
	}
	switch rv.Kind() {
	case reflect.Struct:
		table, ok := data.(map[string]any)
		if !ok {
			d.mismatch(data, "table")
			return false
		}
		d.table(table, rv)
	case reflect.Slice:
		list, ok := data.([]any)
		if !ok {
			if _, isTable := data.(map[string]any); isTable && rv.Type().Elem().Kind() == reflect.Struct {
				d.mismatch(data, fmt.Sprintf("array of tables (write [[%s]], with double brackets, for each entry)", indexRE.ReplaceAllString(d.key(), "")))
			} else {
				d.mismatch(data, "array")
			}
			return false
		}
		out := reflect.MakeSlice(rv.Type(), len(list), len(list))
		for i, item := range list {
			d.pushIndex(i)
			d.value(item, out.Index(i))
			d.pop()
		}
		rv.Set(out)
	case reflect.Map:
		table, ok := data.(map[string]any)
		if !ok {
			d.mismatch(data, "table")
			return false
		}
		out := reflect.MakeMapWithSize(rv.Type(), len(table))
		for k, v := range table {
			elem := reflect.New(rv.Type().Elem()).Elem()
			d.push(k)
			if d.value1(v, elem) {
				out.SetMapIndex(reflect.ValueOf(d.strings.intern(k)), elem)
			}
			d.pop()
		}
		rv.Set(out)
	case reflect.String:
		s, ok := data.(string)
		if !ok {
			d.mismatch(data, "string")
			return false
		}
		rv.SetString(d.strings.intern(s))
	case reflect.Bool:
		b, ok := data.(bool)
		if !ok {
			d.mismatch(data, "boolean (true or false, unquoted)")
			return false
		}
		rv.SetBool(b)
	case reflect.Int:
		n, ok := data.(int64)
		if !ok {
			d.mismatch(data, "integer")
			return false
		}
		if n > math.MaxInt32 || n < math.MinInt32 {
			d.errorf("%s: %d is out of range (at most %d)", d.path[len(d.path)-1].key, n, math.MaxInt32)
			return false
		}
		rv.SetInt(n)
	default:
		panic(fmt.Sprintf("catalog: no decoding for %s", rv.Type()))
	}
	return true
}

// table decodes a TOML table into a struct, reporting keys the struct does not have. Keys are
// visited in map order; diagnostics are sorted by position in the end.
func (d *decoder) table(table map[string]any, rv reflect.Value) {
	fields := structFields(rv.Type())
	for k, v := range table {
		d.push(k)
		if i, ok := fields.index[k]; ok {
			d.value(v, rv.Field(i))
		} else {
			p := problem{key: d.key(), severity: Error, msg: fmt.Sprintf("unknown key %q", k), atKey: true}
			if s := suggest(k, fields.names); s != "" {
				p.msg += fmt.Sprintf("; did you mean %q?", s)
				d.pop()
				d.push(s)
				p.suggested = d.key()
			}
			d.problems = append(d.problems, p)
		}
		d.pop()
	}
}

type fieldSet struct {
	index map[string]int // TOML key → struct field index
	names []string       // TOML keys in declaration order
}

var fieldCache = map[reflect.Type]fieldSet{}

// structFields lists the TOML keys of a model struct. The model types are fixed, so the cache is
// filled once in init and only read afterwards (concurrent loads share it).
func structFields(t reflect.Type) fieldSet {
	if fs, ok := fieldCache[t]; ok {
		return fs
	}
	return computeFields(t)
}

func computeFields(t reflect.Type) fieldSet {
	fs := fieldSet{index: map[string]int{}}
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("toml"), ",")
		if name == "" || name == "-" {
			continue
		}
		fs.index[name] = i
		fs.names = append(fs.names, name)
	}
	return fs
}

func init() {
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		switch t.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Map:
			walk(t.Elem())
		case reflect.Struct:
			if t == timeType {
				return
			}
			if _, ok := fieldCache[t]; ok {
				return
			}
			fieldCache[t] = computeFields(t)
			for i := range t.NumField() {
				walk(t.Field(i).Type)
			}
		}
	}
	for _, t := range []reflect.Type{reflect.TypeFor[Index](), reflect.TypeFor[Publisher](), reflect.TypeFor[Product]()} {
		walk(t)
	}
}

func (d *decoder) mismatch(data any, want string) {
	name := "value"
	for i := len(d.path) - 1; i >= 0; i-- {
		if d.path[i].key != "" {
			name = d.path[i].key
			break
		}
	}
	d.errorf("%s: got %s, want %s", name, tomlTypeName(data), want)
}

func tomlTypeName(data any) string {
	switch v := data.(type) {
	case string:
		return "string " + strconv.Quote(v)
	case int64:
		return fmt.Sprintf("integer %d", v)
	case float64:
		return fmt.Sprintf("float %v", v)
	case bool:
		return fmt.Sprintf("boolean %v", v)
	case time.Time, toml.LocalDateTime:
		return "date-time"
	case toml.LocalDate:
		return "date"
	case toml.LocalTime:
		return "time"
	case map[string]any:
		return "table"
	case []any, []map[string]any:
		return "array"
	}
	return fmt.Sprintf("%T", data)
}

func joinKey(parent, k string) string {
	if !isBareKey(k) {
		k = strconv.Quote(k)
	}
	if parent == "" {
		return k
	}
	return parent + "." + k
}

func isBareKey(k string) bool {
	if k == "" {
		return false
	}
	for _, r := range k {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// suggest returns the candidate closest to s when it is close enough to be a likely typo.
func suggest(s string, candidates []string) string {
	best, bestDist := "", math.MaxInt
	for _, c := range candidates {
		if d := editDistance(strings.ToLower(s), c); d < bestDist {
			best, bestDist = c, d
		}
	}
	if bestDist <= max(1, len(s)/3) {
		return best
	}
	// A truncated key ("mem" for "memory") is a typo too.
	if len(s) >= 3 {
		if i := slices.IndexFunc(candidates, func(c string) bool { return strings.HasPrefix(c, strings.ToLower(s)) }); i >= 0 {
			return candidates[i]
		}
	}
	// A key that differs only by separators ("stopTimeout", "stop-timeout") is a typo too.
	norm := func(x string) string { return strings.ToLower(strings.NewReplacer("_", "", "-", "").Replace(x)) }
	if i := slices.IndexFunc(candidates, func(c string) bool { return norm(c) == norm(s) }); i >= 0 {
		return candidates[i]
	}
	return ""
}

// editDistance is the Damerau–Levenshtein (optimal string alignment) distance of a and b.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}

// BuildVersions returns the build versions a product file declares, in file order, for readers
// of old revisions (the Git history). It reports false when the file is not TOML; other problems
// do not matter to it.
func BuildVersions(data []byte) ([]string, bool) {
	var p Product
	if syntaxFailed(decodeFile(data, &p)) {
		return nil, false
	}
	var versions []string
	for _, b := range p.Builds {
		if b.Version != "" {
			versions = append(versions, b.Version)
		}
	}
	return versions, true
}
