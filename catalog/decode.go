package catalog

import (
	"bytes"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// problem is a finding at a key path of one file, positioned later (see keyIndex) so that
// valid files never pay for position bookkeeping.
type problem struct {
	key      string // e.g. builds[0].tasks[1].memory; "" for the whole file
	severity Severity
	rule     int
	msg      string
	// line and col are set when the finding already has a position (TOML syntax errors).
	line, col int
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
	var raw map[string]any
	if _, err := toml.Decode(string(data), &raw); err != nil {
		if pe, ok := err.(toml.ParseError); ok {
			line, col := pe.Position.Line, max(pe.Position.Col, 1)
			// BurntSushi may point past the end of the line (an unterminated string); stay on it.
			if lines := bytes.Split(data, []byte("\n")); line >= 1 && line <= len(lines) {
				col = min(col, len(bytes.TrimRight(lines[line-1], "\r"))+1)
			}
			return []problem{{msg: "TOML syntax: " + pe.Message, line: line, col: col}}
		}
		return []problem{{msg: "TOML syntax: " + err.Error(), line: 1, col: 1}}
	}
	d := decoder{}
	d.value("", raw, reflect.ValueOf(v).Elem())
	return d.problems
}

type decoder struct {
	problems []problem
}

func (d *decoder) errorf(key, format string, args ...any) {
	d.problems = append(d.problems, problem{key: key, severity: Error, msg: fmt.Sprintf(format, args...)})
}

var (
	timeType = reflect.TypeFor[time.Time]()
	indexRE  = regexp.MustCompile(`\[\d+\]`)
)

// value stores data (a value from BurntSushi's generic decoding) into rv.
func (d *decoder) value(key string, data any, rv reflect.Value) {
	if rv.Kind() == reflect.Pointer {
		elem := reflect.New(rv.Type().Elem())
		if d.value1(key, data, elem.Elem()) {
			rv.Set(elem)
		}
		return
	}
	d.value1(key, data, rv)
}

// value1 stores data into the non-pointer rv and reports whether it did.
func (d *decoder) value1(key string, data any, rv reflect.Value) bool {
	if rv.Type() == timeType {
		t, ok := data.(time.Time)
		if !ok || t.Location().String() != "date-local" {
			d.mismatch(key, data, "date (YYYY-MM-DD, unquoted)")
			return false
		}
		y, m, day := t.Date()
		rv.Set(reflect.ValueOf(time.Date(y, m, day, 0, 0, 0, 0, time.UTC)))
		return true
	}
	switch rv.Kind() {
	case reflect.Struct:
		table, ok := data.(map[string]any)
		if !ok {
			d.mismatch(key, data, "table")
			return false
		}
		d.table(key, table, rv)
	case reflect.Slice:
		list, ok := toList(data)
		if !ok {
			if _, isTable := data.(map[string]any); isTable && rv.Type().Elem().Kind() == reflect.Struct {
				d.mismatch(key, data, fmt.Sprintf("array of tables (write [[%s]], with double brackets, for each entry)", indexRE.ReplaceAllString(key, "")))
			} else {
				d.mismatch(key, data, "array")
			}
			return false
		}
		out := reflect.MakeSlice(rv.Type(), len(list), len(list))
		for i, item := range list {
			d.value(fmt.Sprintf("%s[%d]", key, i), item, out.Index(i))
		}
		rv.Set(out)
	case reflect.Map:
		table, ok := data.(map[string]any)
		if !ok {
			d.mismatch(key, data, "table")
			return false
		}
		out := reflect.MakeMapWithSize(rv.Type(), len(table))
		for _, k := range sortedKeys(table) {
			elem := reflect.New(rv.Type().Elem()).Elem()
			if d.value1(joinKey(key, k), table[k], elem) {
				out.SetMapIndex(reflect.ValueOf(k), elem)
			}
		}
		rv.Set(out)
	case reflect.String:
		s, ok := data.(string)
		if !ok {
			d.mismatch(key, data, "string")
			return false
		}
		rv.SetString(s)
	case reflect.Bool:
		b, ok := data.(bool)
		if !ok {
			d.mismatch(key, data, "boolean (true or false, unquoted)")
			return false
		}
		rv.SetBool(b)
	case reflect.Int:
		n, ok := data.(int64)
		if !ok {
			d.mismatch(key, data, "integer")
			return false
		}
		if n > math.MaxInt32 || n < math.MinInt32 {
			d.errorf(key, "%s: %d is out of range (at most %d)", lastKey(key), n, math.MaxInt32)
			return false
		}
		rv.SetInt(n)
	default:
		panic(fmt.Sprintf("catalog: no decoding for %s", rv.Type()))
	}
	return true
}

// table decodes a TOML table into a struct, reporting keys the struct does not have.
func (d *decoder) table(key string, table map[string]any, rv reflect.Value) {
	fields := structFields(rv.Type())
	for _, k := range sortedKeys(table) {
		i, ok := fields.index[k]
		if !ok {
			p := problem{key: joinKey(key, k), severity: Error, msg: fmt.Sprintf("unknown key %q", k), atKey: true}
			if s := suggest(k, fields.names); s != "" {
				p.msg += fmt.Sprintf("; did you mean %q?", s)
				p.suggested = joinKey(key, s)
			}
			d.problems = append(d.problems, p)
			continue
		}
		d.value(joinKey(key, k), table[k], rv.Field(i))
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

func toList(data any) ([]any, bool) {
	switch l := data.(type) {
	case []any:
		return l, true
	case []map[string]any:
		out := make([]any, len(l))
		for i := range l {
			out[i] = l[i]
		}
		return out, true
	}
	return nil, false
}

func (d *decoder) mismatch(key string, data any, want string) {
	d.errorf(key, "%s: got %s, want %s", lastKey(key), tomlTypeName(data), want)
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
	case time.Time:
		if v.Location().String() == "date-local" {
			return "date"
		}
		return "date-time"
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

// lastKey returns the last piece of a key path, for messages: "builds[0].tasks[1].memory" → "memory".
func lastKey(key string) string {
	if i := strings.LastIndexByte(key, '.'); i >= 0 {
		key = key[i+1:]
	}
	return key
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
