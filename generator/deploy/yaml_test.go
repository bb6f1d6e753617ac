package deploy

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
)

// trickyStrings are strings whose YAML form is not obvious: empty, blank, indicators, things
// that read as numbers, booleans, nulls or timestamps (in YAML 1.2 or 1.1), line breaks of every
// kind, control and non-ASCII characters, and lengths around the limits of simple keys.
var trickyStrings = []string{
	"", " ", "  ", "a", "a ", " a", "a b", "a  b", "a\tb", "\t", "\ta", "a\t",
	"-", "--", "---", "--- a", "---a", "...", "... a", "-a", "- a", "-1a", "a-",
	"?", "??", "?a", "? a", ":", "::", ":a", ": a", "a:", "a:b", "a: b", "a :b", "a:\tb", "a::",
	"#", "#a", "a#b", "a #b", "a\t#b", ",", "a,b", ",a", "[", "[a]", "a[b]", "{a}", "a{", "]", "}",
	"&a", "*a", "!a", "!!str", "|", "|-", ">", ">-", "'", "'a'", "a'b", "it's", `"`, `"a"`, `a"b`,
	"%", "%TAG", "@a", "a@b", "`a`", "a`", "~", "~a", "a~", "<<", "<", "=", "\\", `a\b`, `\n`,
	"null", "Null", "NULL", "nULL", "nul", "true", "True", "TRUE", "tRUE", "false", "False", "FALSE",
	"yes", "Yes", "YES", "yES", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF", "oFF",
	"y", "Y", "n", "N", "t", "f", "o", "O", "yes!", "Norway",
	"1", "-1", "+1", "0", "00", "007", "08", "09.5", "0x1F", "0X1F", "0x", "0xg", "0o17", "0o8",
	"0b101", "0b102", "-0b101", "-0o17", "+0x1F", "1_000", "_1", "1__0", "0b1_0", "1,000",
	"1.0", "1.", ".5", "-.5", "+.5", ".", "..", "1e3", "1E3", "1e+3", "1.5e-3", "1e", "e3", "-e3",
	"1.5.3", "5.1.0", "2048Mi", "256Mi", "10s", "1h", "0.0.0.0", "127.0.0.1:8080", "::1",
	".inf", "-.inf", "+.INF", ".Inf", ".nan", ".NaN", ".NAN", "inf", "-inf", "Infinity", "NaN", "nan",
	"9223372036854775807", "9223372036854775808", "18446744073709551615", "18446744073709551616",
	"-9223372036854775809", "1e400", "0x8000000000000000", "0b" + strings.Repeat("1", 64),
	"1:20", "1:20:30", "-1:20", "+1:20", "1:60", "1:6", "190:20:30.15", "1_0:20", "1:20.", "a1:20",
	"2001-12-14", "2001-12-14t21:59:43.10-05:00", "2001-12-14T21:59:43.10Z", "2001-12-14 21:59:43.10",
	"2001-12-14 21:59:43.10 -5", "2001-1-2", "2001-13-45", "2001-12", "20011-12-14", "12:30",
	"2001-12-14x",
	"http://example.com/a?b=c#d", "postgres://u:p@h:5432/d?sslmode=require", "smtp://a:b@c:587",
	"$HOME", "${A:-}", "${A:?required}", "pa$$w0rd#1", "a=b", "a;b", "(a)", "a/b", "/a", "./a",
	"no-new-privileges:true", "ghcr.io/a/b:1.0@sha256:abc", "app.kubernetes.io/name",
	"a\n", "a\nb", "a\n\nb", "\na", "\n\na", "a\n\n", "a\n\n\n", "\n", "\n\n", " a\nb", "  a\n b",
	"a \nb", "a\n b", "a\nb ", "a\n\tb", "\ta\nb", "a\r\nb", "a\rb", "\r", "a\r", "-a\nb", "- a\nb",
	"#a\nb", "a: b\nc: d", "'a'\n", "\"a\"\nb", "|\n", ">\nx", "---\nx", "...\n", "a\n...\nb",
	"a\u0085b", "\u0085", "a\u2028b", "a\u2029", "\u2028", "a\u2028", "\u2028a", "a\u2028\nb",
	"a\nb\u2029", "a\u2028 b", "a \u2028b", "a\u00a0b", "\u00a0", "a\u00a0",
	"é", "Ünïcödé", "日本語", "日本 語", "emoji 😀", "😀", "a😀b", "\u0080", "a\u0099b", "\u00ff",
	"\ufeff", "\ufeffa", "\ufeff\"x\n", "a\ufeff", "a\ufffe", "a\uffff", "a\ufffd", "\ue000", "\U0010FFFF",
	"\x00", "a\x00b", "a\x07b", "\x08", "\x0b", "\x0c", "\x1b[0m", "\x7f", "a\x01",
	"\xff", "a\xc3(", "\xed\xa0\x80", // not UTF-8
	strings.Repeat("x", 128), strings.Repeat("x", 129), strings.Repeat("é", 70),
	strings.Repeat("word ", 30), strings.Repeat("word ", 30) + "end", strings.Repeat("a", 100) + " " + strings.Repeat("b", 100),
	strings.Repeat("long line ", 12) + "\n" + strings.Repeat("next line ", 12),
}

// innerDoc sits inside a mapping, which yaml.v3 encodes to text and parses back.
type innerDoc struct {
	Name  string   `yaml:"name"`
	Items []string `yaml:"items"`
	Deep  [][]string
}

// scalarDoc puts a string everywhere the manifests put strings.
type scalarDoc struct {
	Value   string            `yaml:"value"`
	Opt     string            `yaml:"opt,omitempty"`
	List    []string          `yaml:"list"`
	Deep    [][]string        `yaml:"deep"`
	Map     map[string]string `yaml:"map"`
	Ordered mapping           `yaml:"ordered"`
	Nested  mapping           `yaml:"nested"`
	Items   []innerDoc        `yaml:"items"`
	Ptr     *string           `yaml:"ptr"`
	Any     any               `yaml:"any"`
}

// directDoc is scalarDoc with structs in place of the mappings, which yaml.v3 writes without
// the yaml.Node round trip.
type directDoc struct {
	Value   string            `yaml:"value"`
	Opt     string            `yaml:"opt,omitempty"`
	List    []string          `yaml:"list"`
	Deep    [][]string        `yaml:"deep"`
	Map     map[string]string `yaml:"map"`
	Ordered struct {
		K string `yaml:"k"`
		L string `yaml:"l"`
		M string `yaml:"m"`
	} `yaml:"ordered"`
	Nested struct {
		Svc innerDoc `yaml:"svc"`
	} `yaml:"nested"`
	Items []innerDoc `yaml:"items"`
	Ptr   *string    `yaml:"ptr"`
	Any   any        `yaml:"any"`
}

func newDirectDoc(s string) directDoc {
	d := newScalarDoc(s)
	v := directDoc{Value: d.Value, Opt: d.Opt, List: d.List, Deep: d.Deep, Map: d.Map, Items: d.Items, Ptr: d.Ptr, Any: d.Any}
	v.Ordered.K, v.Ordered.L, v.Ordered.M = s, "x", s
	v.Nested.Svc = d.Nested[0].Value.(innerDoc)
	return v
}

func newScalarDoc(s string) scalarDoc {
	return scalarDoc{
		Value:   s,
		Opt:     s,
		List:    []string{s, "x", s},
		Deep:    [][]string{{s, s}, {}, {"x"}},
		Map:     map[string]string{"k": s, "l": "x"},
		Ordered: mapping{{"k", s}, {"l", "x"}, {"m", s}},
		Nested:  mapping{{"svc", innerDoc{Name: s, Items: []string{s}, Deep: [][]string{{s}}}}},
		Items:   []innerDoc{{Name: s, Items: []string{s, s}}, {Name: "x"}},
		Ptr:     &s,
		Any:     s,
	}
}

// needsYAMLv3 reports whether the emitter leaves a document with string s to yaml.v3: s is
// not UTF-8 (!!binary), or "<<" (the merge key), or, as a key, needs the "? key" form.
func needsYAMLv3(s string, asKey bool) bool {
	if !utf8.ValidString(s) || s == "<<" {
		return true
	}
	if !asKey {
		return false
	}
	for i := 0; i < len(s); i++ {
		if isBreak(s, i) {
			return true
		}
	}
	return len(s) > 128
}

// compareWithYAMLv3 checks that the emitter writes v exactly as yaml.v3 does, and that it leaves
// v to yaml.v3 only when fallback says so.
func compareWithYAMLv3(t *testing.T, what string, v any, fallback bool) {
	t.Helper()
	var want bytes.Buffer
	wantErr := encodeYAMLv3(&want, v)
	got, ok := emitYAML(nil, v)
	switch {
	case ok == fallback:
		t.Errorf("%s: the emitter wrote it: %v; want %v", what, ok, !fallback)
	case ok && wantErr != nil:
		t.Errorf("%s: yaml.v3 failed (%v), the emitter did not", what, wantErr)
	case ok && string(got) != want.String():
		t.Errorf("%s: emitter and yaml.v3 differ (-yaml.v3 +emitter):\n%s", what, cmp.Diff(want.String(), string(got)))
	}
	checkAppendYAML(t, what, v, want.String(), wantErr)
}

// checkAppendYAML checks that appendYAML appends what the emitter or yaml.v3 writes.
func checkAppendYAML(t *testing.T, what string, v any, want string, wantErr error) {
	t.Helper()
	if got, ok := emitYAML(nil, v); ok {
		want, wantErr = string(got), nil
	}
	got, err := appendYAML([]byte("prefix\n"), v)
	if (err != nil) != (wantErr != nil) || err == nil && string(got) != "prefix\n"+want {
		t.Errorf("%s: appendYAML = %q, %v; want %q, %v", what, got, err, want, wantErr)
	}
}

// checkScalar checks string s in every place the manifests put strings: the emitter writes what
// yaml.v3 writes, or leaves the document to yaml.v3 (see needsYAMLv3), and what it writes reads
// back as s. Where yaml.v3 fails, by an error or by text that does not read back, the emitter
// must still write text that does (see styleOf).
func checkScalar(t *testing.T, s string) {
	t.Helper()
	for _, shape := range []struct {
		what     string
		v        any
		direct   any // v without mappings, or nil
		fallback bool
		readBack func([]byte) error
	}{
		{"values", newScalarDoc(s), newDirectDoc(s), needsYAMLv3(s, false), func(out []byte) error { return readScalarDoc(out, s) }},
		{"map key", map[string]string{s: "v", "\x00": s}, nil, needsYAMLv3(s, true), func(out []byte) error {
			var m map[string]string
			if err := yaml.Unmarshal(out, &m); err != nil {
				return err
			}
			if len(m) != 2 || m[s] != "v" || m["\x00"] != s {
				return fmt.Errorf("read back %q", m)
			}
			return nil
		}},
		{"mapping key", struct{ M mapping }{mapping{{s, "v"}, {"\x00", s}}}, nil, needsYAMLv3(s, true), func(out []byte) error {
			var m struct{ M map[string]string }
			if err := yaml.Unmarshal(out, &m); err != nil {
				return err
			}
			if len(m.M) != 2 || m.M[s] != "v" || m.M["\x00"] != s {
				return fmt.Errorf("read back %q", m.M)
			}
			return nil
		}},
	} {
		if s == "\x00" && shape.what != "values" {
			continue // the other key
		}
		var want bytes.Buffer
		wantErr := encodeYAMLv3(&want, shape.v)
		got, ok := emitYAML(nil, shape.v)
		checkAppendYAML(t, shape.what, shape.v, want.String(), wantErr)
		if !ok {
			if !shape.fallback {
				t.Errorf("%s: the emitter left %q to yaml.v3", shape.what, s)
			}
			continue
		}
		if shape.fallback {
			t.Errorf("%s: the emitter wrote %q, which it should leave to yaml.v3", shape.what, s)
		}
		if err := shape.readBack(got); err != nil {
			t.Errorf("%s: the emitter wrote %q as\n%s\nwhich does not read back: %v", shape.what, s, got, err)
		}
		if wantErr != nil || shape.readBack(want.Bytes()) != nil {
			// yaml.v3 fails, by an error or by text that does not read back as s. Without the
			// yaml.Node round trip of mappings, it should not, but on a literal block that starts
			// with a tab (see TestYAMLv3Failures).
			want.Reset()
			if shape.direct == nil || encodeYAMLv3(&want, shape.direct) != nil || shape.readBack(want.Bytes()) != nil {
				if !(s[0] == '\t' && strings.Contains(s, "\n")) {
					t.Errorf("%s %q: yaml.v3 writes text that does not read back:\n%s", shape.what, s, want.String())
				}
				continue
			}
		}
		if string(got) != want.String() {
			t.Errorf("%s %q: emitter and yaml.v3 differ (-yaml.v3 +emitter):\n%s", shape.what, s, cmp.Diff(want.String(), string(got)))
		}
	}
}

// readScalarDoc checks that every string of newScalarDoc(s), written to out, reads back as s.
func readScalarDoc(out []byte, s string) error {
	var back struct {
		Value   string            `yaml:"value"`
		Opt     string            `yaml:"opt"`
		List    []string          `yaml:"list"`
		Deep    [][]string        `yaml:"deep"`
		Map     map[string]string `yaml:"map"`
		Ordered map[string]string `yaml:"ordered"`
		Nested  map[string]innerDoc
		Items   []innerDoc `yaml:"items"`
		Ptr     string     `yaml:"ptr"`
		Any     string     `yaml:"any"`
	}
	if err := yaml.Unmarshal(out, &back); err != nil {
		return err
	}
	if len(back.List) != 3 || len(back.Deep) != 3 || len(back.Deep[0]) != 2 || len(back.Items) != 2 ||
		len(back.Items[0].Items) != 2 || len(back.Nested["svc"].Items) != 1 || len(back.Nested["svc"].Deep) != 1 {
		return fmt.Errorf("read back %+v", back)
	}
	for _, got := range []string{
		back.Value, back.Opt, back.List[0], back.List[2], back.Deep[0][0], back.Deep[0][1], back.Map["k"],
		back.Ordered["k"], back.Ordered["m"], back.Nested["svc"].Name, back.Nested["svc"].Items[0],
		back.Nested["svc"].Deep[0][0], back.Items[0].Name, back.Items[0].Items[0], back.Items[0].Items[1],
		back.Ptr, back.Any,
	} {
		if got != s {
			return fmt.Errorf("read back %q", got)
		}
	}
	return nil
}

func TestScalars(t *testing.T) {
	for _, s := range trickyStrings {
		t.Run(strings.ToValidUTF8(s, "?"), func(t *testing.T) { checkScalar(t, s) })
	}
}

// FuzzScalar checks any string the way TestScalars checks the tricky ones:
// go test -fuzz FuzzScalar ./generator/deploy/
func FuzzScalar(f *testing.F) {
	for _, s := range trickyStrings {
		f.Add(s)
	}
	f.Fuzz(checkScalar)
}

// TestStyles pins what yaml.v3 makes of some strings: the emitter is compared with it above, this
// says what both do.
func TestStyles(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", `""`},
		{"web", "web"},
		{"5.1.0", "5.1.0"},
		{"1.0", `"1.0"`},
		{"0x1F", `"0x1F"`},
		{"1e3", `"1e3"`},
		{"true", `"true"`},
		{"yes", `"yes"`},
		{"ON", `"ON"`},
		{"~", `"~"`},
		{"null", `"null"`},
		{"1:20", `"1:20"`},
		{"2001-12-14", `"2001-12-14"`},
		{"-", `'-'`},
		{"- a", `'- a'`},
		{"a: b", `'a: b'`},
		{"a #b", `'a #b'`},
		{"#a", `'#a'`},
		{"@a", `'@a'`},
		{" a", `' a'`},
		{"it's ", `'it''s '`},
		{"a\tb", `"a\tb"`},
		{"😀", `"\U0001F600"`},
		{"a\nb", "|-\n    a\n    b"},
		{"a\n", "|\n    a"},
		{"a\n\n", "|+\n    a\n"},
		{" a\nb", "|2-\n     a\n    b"},
		{"a \nb", `"a \nb"`},
		{"no-new-privileges:true", "no-new-privileges:true"},
		{"${A:?required}", "${A:?required}"},
	} {
		out, err := appendYAML(nil, map[string][]string{"k": {tc.in}})
		if err != nil {
			t.Fatal(err)
		}
		if want := "k:\n  - " + tc.want + "\n"; string(out) != want {
			t.Errorf("%q: got\n%s\nwant\n%s", tc.in, out, want)
		}
	}
}

type kinds struct {
	Int      int               `yaml:"int"`
	Int8     int8              `yaml:"int8,omitempty"`
	Uint     uint64            `yaml:"uint"`
	Bytes    []byte            `yaml:"bytes"`
	Bool     bool              `yaml:"bool"`
	False    bool              `yaml:"false,omitempty"`
	Named    label             `yaml:"named"`
	Nil      *innerDoc         `yaml:"nil"`
	NilOmit  *innerDoc         `yaml:"nilOmit,omitempty"`
	Ptr      *innerDoc         `yaml:"ptr"`
	Iface    any               `yaml:"iface"`
	IfaceNil any               `yaml:"ifaceNil"`
	Empty    []string          `yaml:"empty"`
	EmptyMap map[string]string `yaml:"emptyMap"`
	NilMap   map[string]int    `yaml:"nilMap"`
	Struct   emptyDir          `yaml:"struct"`
	Zero     emptyDir          `yaml:"zero,omitempty"`
	Array    [2]int            `yaml:"array"`
	Ints     map[string]int    `yaml:"ints"`
	Lists    map[string][]int  `yaml:"lists"`
	Structs  map[label]keyRef  `yaml:"structs"`
	Mapping  mapping           `yaml:"mapping"`
	NoTag    string
	Skipped  string `yaml:"-"`
	private  string
	Quoted   string `yaml:"on"`
	Spec     any    `yaml:"spec,omitempty"`
}

type label string

// TestKinds compares the emitter with yaml.v3 on every kind of value it writes itself.
func TestKinds(t *testing.T) {
	v := kinds{
		Int: -3, Uint: 1 << 63, Bytes: []byte("hi"), Bool: true, Named: "1.0",
		Ptr: &innerDoc{Name: "p", Items: []string{}, Deep: [][]string{{}, {"a", "b\nc"}}}, Iface: []any{1, "a", nil, map[string]any{"b": true}},
		Empty: []string{}, EmptyMap: map[string]string{}, Struct: emptyDir{SizeLimit: "1Mi"},
		Ints:    map[string]int{"a10": 1, "a2": 2, "a1": 3, "b": 4, "A": 5, "_": 6, "a-": 7, "a.b": 8, "a_b": 9, "ab": 10, "a01": 11, "a001": 12, "0": 13, "1a": 14, "1-": 15, "é": 16, "e": 17, "z": 18, "1é": 19, "١": 20, "a١": 21, "a1١": 22, "1.5": 23, "1.10": 24},
		Lists:   map[string][]int{"x": {1, 2}, "y": nil},
		Structs: map[label]keyRef{"b": {Name: "n", Key: "k"}, "a": {}},
		Mapping: mapping{{"z", 1}, {"y", nil}, {"x", mapping{}}, {"w", []string{"a"}}, {"v", map[string]string{"b": "c"}}, {"ON", "yes"}, {"true", "1"}, {"", ""}},
		NoTag:   "n", Skipped: "s", private: "p", Quoted: "q",
		Spec: deploymentSpec{Replicas: 2},
	}
	compareWithYAMLv3(t, "kinds", v, false)
	compareWithYAMLv3(t, "pointer", &v, false)
	compareWithYAMLv3(t, "empty", kinds{}, false)
	compareWithYAMLv3(t, "empty struct", struct{}{}, false)
	compareWithYAMLv3(t, "empty mapping", mapping{}, false)
	compareWithYAMLv3(t, "map", map[string]kinds{"a": {}, "b": v}, false)
	compareWithYAMLv3(t, "slice", []kinds{{}, v}, false)
	compareWithYAMLv3(t, "nested slices", [][][]string{{{"a", "b"}, {}}, {{"c\nd"}}}, false)
	compareWithYAMLv3(t, "float", struct{ F float64 }{1.5}, true)
	compareWithYAMLv3(t, "flow", struct {
		F []int `yaml:"f,flow"`
	}{[]int{1}}, true)
	compareWithYAMLv3(t, "node", struct{ N yaml.Node }{yaml.Node{Kind: yaml.ScalarNode, Value: "x"}}, true)
}

// TestEmitterMatchesYAMLv3 renders every build of the example catalog, with and without an
// environment, and checks that each document the emitter writes is what yaml.v3 writes.
func TestEmitterMatchesYAMLv3(t *testing.T) {
	defer func(f func([]byte, any) ([]byte, error)) { appendDocument = f }(appendDocument)
	documents := 0
	appendDocument = func(out []byte, v any) ([]byte, error) {
		documents++
		compareWithYAMLv3(t, "document", v, false)
		return appendYAML(out, v)
	}
	c := exampleCatalog(t)
	env := fhirEnv(t)
	for _, id := range c.SortedProductIDs() {
		p := c.Products[id]
		for i := range p.Builds {
			for _, f := range Formats {
				if _, err := Render(f, p, &p.Builds[i], nil); err != nil {
					t.Errorf("%s %s: %v", id, p.Builds[i].Version, err)
				}
			}
		}
	}
	p, b := build(t, "acme/fhir", "5.1.0")
	for _, f := range Formats {
		if _, err := Render(f, p, b, env); err != nil {
			t.Error(err)
		}
	}
	if documents == 0 {
		t.Error("no documents were written")
	}
}

// BenchmarkRender renders the Kubernetes and the Compose manifests of acme/fhir's latest build
// from the example catalog, without an environment (as the static site's deploy/ pages do).
func BenchmarkRender(b *testing.B) {
	c := exampleCatalog(b)
	p := c.Products["acme/fhir"]
	if p == nil || p.Latest() == nil {
		b.Fatal("no acme/fhir build in the example catalog")
	}
	bd := p.Latest()
	b.ReportAllocs()
	for b.Loop() {
		for _, f := range Formats {
			if _, err := Render(f, p, bd, nil); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// TestYAMLv3Failures shows where the emitter departs from yaml.v3: where yaml.v3 fails, by an
// error or by text that does not read back, and the emitter does not.
func TestYAMLv3Failures(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    any
		want string // what the emitter writes
	}{
		{
			// yaml.v3 writes a literal block whose first line starts with a tab, with no
			// indentation indicator, which no parser reads. The emitter double-quotes it.
			name: "tab",
			v:    map[string]string{"k": "\ta\nb"},
			want: "k: \"\\ta\\nb\"\n",
		},
		{
			// In a mapping, yaml.v3 encodes each value (yaml.Node.Encode) with its default
			// indentation of 4, so a literal block with an indentation indicator in a sequence
			// gets "|4-" but lines indented by 2, and parsing it back fails. The emitter writes
			// what yaml.v3 writes without a mapping.
			name: "indentation indicator",
			v:    mapping{{"svc", composeService{Entrypoint: []string{" a\nb"}}}},
			want: "svc:\n  image: \"\"\n  platform: \"\"\n  entrypoint:\n    - |2-\n       a\n      b\n" +
				"  deploy: null\n  restart: \"\"\n  stop_grace_period: \"\"\n  read_only: false\n  tmpfs: []\n  cap_drop: []\n  security_opt: []\n",
		},
		{
			// The same, with a leading line break: yaml.v3 then loses the value, silently.
			name: "lost value",
			v:    mapping{{"svc", composeService{Entrypoint: []string{"\n#a"}}}},
			want: "svc:\n  image: \"\"\n  platform: \"\"\n  entrypoint:\n    - |2-\n\n      #a\n" +
				"  deploy: null\n  restart: \"\"\n  stop_grace_period: \"\"\n  read_only: false\n  tmpfs: []\n  cap_drop: []\n  security_opt: []\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var v3 bytes.Buffer
			err := encodeYAMLv3(&v3, tc.v)
			var fromV3 any
			if err == nil {
				err = yaml.Unmarshal(v3.Bytes(), &fromV3)
			}
			got, ok := emitYAML(nil, tc.v)
			if !ok || string(got) != tc.want {
				t.Fatalf("emitter wrote (%v)\n%s\nwant\n%s", ok, got, tc.want)
			}
			var fromEmitter any
			if err := yaml.Unmarshal(got, &fromEmitter); err != nil {
				t.Fatalf("the emitter's text does not parse: %v", err)
			}
			if err == nil && cmp.Equal(fromV3, fromEmitter) {
				t.Errorf("yaml.v3 no longer fails:\n%s", v3.String())
			}
			t.Logf("yaml.v3: %v\n%s", err, v3.String())
		})
	}
}

func TestIsGraphicASCII(t *testing.T) {
	naive := func(s string) bool {
		for i := 0; i < len(s); i++ {
			if s[i] <= ' ' || s[i] > '~' {
				return false
			}
		}
		return true
	}
	for n := range 20 {
		for p := range n {
			for b := range 256 {
				s := []byte(strings.Repeat("a~!", 7)[:n])
				s[p] = byte(b)
				if got, want := isGraphicASCII(string(s)), naive(string(s)); got != want {
					t.Fatalf("isGraphicASCII(%q) = %v", s, got)
				}
				if p > 0 {
					s[p-1] = ' '
					if got, want := isGraphicASCII(string(s)), naive(string(s)); got != want {
						t.Fatalf("isGraphicASCII(%q) = %v", s, got)
					}
				}
			}
		}
	}
}

// TestEncodersConcurrently writes new types from many goroutines at once, as a build does: each
// writes what yaml.v3 writes, and (go test -race) no goroutine reads an encoder another is
// still making. The types are made here, so that their encoders are too.
func TestEncodersConcurrently(t *testing.T) {
	for round := range 50 {
		// struct { Name string; FieldN []struct{ Kids []string; Size int } }, new each round.
		kid := reflect.StructOf([]reflect.StructField{
			{Name: "Kids", Type: reflect.TypeFor[[]string](), Tag: `yaml:"kids"`},
			{Name: "Size", Type: reflect.TypeFor[int](), Tag: `yaml:"size"`},
		})
		typ := reflect.StructOf([]reflect.StructField{
			{Name: "Name", Type: reflect.TypeFor[string](), Tag: `yaml:"name"`},
			{Name: fmt.Sprintf("Field%d", round), Type: reflect.SliceOf(kid), Tag: reflect.StructTag(fmt.Sprintf(`yaml:"field%d"`, round))},
		})
		v := reflect.New(typ).Elem()
		v.Field(0).SetString("root")
		kids := reflect.MakeSlice(reflect.SliceOf(kid), 2, 2)
		kids.Index(0).Field(0).Set(reflect.ValueOf([]string{"a", "b"}))
		kids.Index(1).Field(1).SetInt(int64(round))
		v.Field(1).Set(kids)
		var want bytes.Buffer
		if err := encodeYAMLv3(&want, v.Interface()); err != nil {
			t.Fatal(err)
		}
		got := make([]string, 8)
		oks := make([]bool, len(got))
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range got {
			wg.Go(func() {
				<-start
				out, ok := emitYAML(nil, v.Interface())
				got[i], oks[i] = string(out), ok
			})
		}
		close(start)
		wg.Wait()
		for i := range got {
			if !oks[i] || got[i] != want.String() {
				t.Fatalf("round %d, goroutine %d: emitter wrote it: %v;%s", round, i, oks[i], cmp.Diff(want.String(), got[i]))
			}
		}
	}
}
