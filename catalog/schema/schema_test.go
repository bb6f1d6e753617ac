package schema_test

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/pelletier/go-toml/v2"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/hspc/marketplace/catalog"
	"github.com/hspc/marketplace/catalog/env"
	"github.com/hspc/marketplace/catalog/schema"
)

const (
	indexSchema     = "index.schema.json"
	publisherSchema = "publisher.schema.json"
	productSchema   = "product.schema.json"
	envSchema       = "environment.schema.json"
)

// readSchema decodes the schema file name from schema.FS.
func readSchema(t *testing.T, name string) map[string]any {
	t.Helper()
	data, err := fs.ReadFile(schema.FS, name)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("decoding %s: %v", name, err)
	}
	return doc
}

// TestSchemasMatchModel keeps the schemas in step with the Go model: at every place, the schema's
// properties are exactly the struct's toml keys, and their JSON types agree with the Go types.
func TestSchemasMatchModel(t *testing.T) {
	tests := []struct {
		name   string
		file   string
		model  reflect.Type
		limits string // key of catalog.FileLimits; "" for files the catalog's input bounds do not cover
	}{
		{name: "index", file: indexSchema, model: reflect.TypeFor[catalog.Index](), limits: catalog.IndexFile},
		{name: "publisher", file: publisherSchema, model: reflect.TypeFor[catalog.Publisher](), limits: catalog.PublisherFile},
		{name: "product", file: productSchema, model: reflect.TypeFor[catalog.Product](), limits: "product"},
		{name: "environment", file: envSchema, model: reflect.TypeFor[env.Environment]()},
		{name: "upstreams.lock", file: "upstreams-lock.schema.json", model: reflect.TypeFor[catalog.Lock]()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := readSchema(t, tt.file)
			c := modelChecker{root: doc}
			if tt.limits != "" {
				list, ok := catalog.FileLimits[tt.limits]
				if !ok {
					t.Fatalf("catalog.FileLimits has no %q", tt.limits)
				}
				c.limits = map[string]catalog.Limit{}
				for _, l := range list {
					c.limits[l.Path] = l
				}
			}
			c.check("", tt.model, doc)
			for _, p := range c.problems {
				t.Errorf("%s: %s", tt.file, p)
			}
		})
	}
}

// TestSchemasMatchModelValues keeps the schemas' enums, limits, patterns and defaults equal to
// the values package catalog validates with.
func TestSchemasMatchModelValues(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		pointer string // JSON pointer into the schema
		want    any
	}{
		{name: "sso kinds", file: productSchema, pointer: "/$defs/identity/properties/sso/items/enum", want: catalog.SSOKinds},
		{name: "tracing kinds", file: productSchema, pointer: "/$defs/identity/properties/tracing/enum", want: catalog.TracingKinds},
		{name: "protocols", file: productSchema, pointer: "/$defs/port/properties/protocol/enum", want: catalog.Protocols},
		{name: "platforms", file: productSchema, pointer: "/$defs/build/properties/platforms/items/enum", want: catalog.Platforms},
		{name: "stop_timeout maximum", file: productSchema, pointer: "/$defs/task/properties/stop_timeout/maximum", want: catalog.MaxStopTimeout},
		{name: "stop_timeout default", file: productSchema, pointer: "/$defs/task/properties/stop_timeout/default", want: catalog.MaxStopTimeout},
		{name: "summary length", file: productSchema, pointer: "/properties/summary/maxLength", want: catalog.MaxSummary},
		{name: "env name pattern", file: productSchema, pointer: "/$defs/envName/pattern", want: catalog.EnvNamePattern.String()},
		{name: "product id pattern", file: productSchema, pointer: "/$defs/id/pattern", want: catalog.IDPattern.String()},
		{name: "index id pattern", file: indexSchema, pointer: "/$defs/id/pattern", want: catalog.IDPattern.String()},
		{name: "max_image_mib default", file: indexSchema, pointer: "/$defs/policy/properties/max_image_mib/default", want: catalog.DefaultMaxImageMiB},
		{name: "open_licenses default", file: indexSchema, pointer: "/$defs/policy/properties/open_licenses/default", want: catalog.DefaultOpenLicenses},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var node any = readSchema(t, tt.file)
			for _, tok := range strings.Split(tt.pointer, "/")[1:] {
				obj, _ := node.(map[string]any)
				node = obj[tok]
			}
			// Compare as JSON, where 10 and 10.0 and []string and []any agree.
			got, _ := json.Marshal(node)
			want, _ := json.Marshal(tt.want)
			if string(got) != string(want) {
				t.Errorf("%s %s: got %s, want %s", tt.file, tt.pointer, got, want)
			}
		})
	}
}

// TestModelCheckerReports makes sure the comparison itself finds what it is meant to find, so a
// green TestSchemasMatchModel means something.
func TestModelCheckerReports(t *testing.T) {
	type inner struct {
		Count int `toml:"count"`
	}
	type model struct {
		Name    string            `toml:"name"`
		Skipped string            `toml:"-"`
		Items   []inner           `toml:"items"`
		Labels  map[string]string `toml:"labels"`
		Extra   bool              `toml:"extra"`
	}
	doc := map[string]any{
		"type": "object", "additionalProperties": false,
		"properties": map[string]any{
			"name":  map[string]any{"description": "d", "type": "integer"},
			"items": map[string]any{"description": "d", "type": "array", "items": map[string]any{"$ref": "#/$defs/inner"}},
			"labels": map[string]any{"description": "d", "type": "object",
				"additionalProperties": map[string]any{"type": "string"}},
			"stale": map[string]any{"description": "d", "type": "string"},
		},
		"$defs": map[string]any{
			"inner": map[string]any{
				"type": "object", "additionalProperties": false,
				"properties": map[string]any{
					"count": map[string]any{"type": "integer"},
				},
			},
		},
	}
	c := modelChecker{root: doc}
	c.check("", reflect.TypeFor[model](), doc)
	want := []string{
		`(root): key "extra" of model is missing from the schema's properties`,
		`items[].count: no description`,
		`name: schema type "integer", Go type string wants "string"`,
		`(root): property "stale" is in the schema but not in model`,
	}
	if !slices.Equal(c.problems, want) {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(c.problems, "\n"), strings.Join(want, "\n"))
	}
}

// modelChecker walks a Go model type and a JSON Schema side by side.
type modelChecker struct {
	root     map[string]any
	problems []string
	// limits, when set, are the file kind's catalog.FileLimits by path: every string must carry
	// its maxLength, every list its maxItems and every table of values its maxProperties.
	limits map[string]catalog.Limit
}

// checkLimit compares the smallest value of keyword along prop and its $ref chain with want.
func (c *modelChecker) checkLimit(path string, prop map[string]any, keyword string, want int) {
	got := -1
	for n, hops := prop, 0; n != nil && hops < 10; hops++ {
		if v, ok := n[keyword].(float64); ok && (got < 0 || int(v) < got) {
			got = int(v)
		}
		ref, _ := n["$ref"].(string)
		name, ok := strings.CutPrefix(ref, "#/$defs/")
		if !ok {
			break
		}
		defs, _ := c.root["$defs"].(map[string]any)
		n, _ = defs[name].(map[string]any)
	}
	if got != want {
		c.errorf(path, "%s is %d, want %d (catalog.FileLimits)", keyword, got, want)
	}
}

// limitPath turns a checker path (builds[].tasks[].command[], builds[].dependencies[].bind.*)
// into a catalog.Limit path (builds.tasks.command[], builds.dependencies.bind[]).
func limitPath(path string) string {
	path = strings.ReplaceAll(path, "[].", ".")
	if p, ok := strings.CutSuffix(path, ".*"); ok {
		path = p + "[]"
	}
	return path
}

var timeType = reflect.TypeFor[time.Time]()

func (c *modelChecker) errorf(path, format string, args ...any) {
	if path == "" {
		path = "(root)"
	}
	c.problems = append(c.problems, path+": "+fmt.Sprintf(format, args...))
}

// resolve follows local "$ref": "#/$defs/<name>" references.
func (c *modelChecker) resolve(path string, node map[string]any) map[string]any {
	for range 10 {
		ref, ok := node["$ref"].(string)
		if !ok {
			return node
		}
		name, ok := strings.CutPrefix(ref, "#/$defs/")
		defs, _ := c.root["$defs"].(map[string]any)
		def, found := defs[name].(map[string]any)
		if !ok || !found {
			c.errorf(path, "cannot resolve $ref %q", ref)
			return nil
		}
		node = def
	}
	c.errorf(path, "$ref chain too long")
	return nil
}

// jsonType is the JSON Schema type a Go model type decodes from.
func jsonType(t reflect.Type) string {
	if t == timeType {
		return "string" // a TOML local date reaches JSON tooling as "YYYY-MM-DD"
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Struct, reflect.Map:
		return "object"
	}
	return "unsupported " + t.String()
}

// tomlKeys returns the toml keys of struct type t, keyed to the Go field names.
func tomlKeys(t reflect.Type) map[string]reflect.StructField {
	keys := map[string]reflect.StructField{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		keys[name] = f
	}
	return keys
}

func (c *modelChecker) check(path string, t reflect.Type, node map[string]any) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	prop := node
	node = c.resolve(path, node)
	if node == nil {
		return
	}
	if c.limits != nil {
		l := c.limits[limitPath(path)]
		_, enum := node["enum"]
		switch {
		case t.Kind() == reflect.String && !enum:
			c.checkLimit(path, prop, "maxLength", cmp.Or(l.Chars, catalog.DefaultMaxText))
		case t.Kind() == reflect.Slice:
			c.checkLimit(path, prop, "maxItems", cmp.Or(l.Items, catalog.DefaultMaxItems))
		case t.Kind() == reflect.Map:
			c.checkLimit(path, prop, "maxProperties", cmp.Or(l.Items, catalog.DefaultMaxItems))
		}
	}
	// A type that decodes several TOML shapes itself (env.Value: a string or a table) has an
	// anyOf of them.
	if reflect.PointerTo(t).Implements(reflect.TypeFor[catalog.ValueDecoder]()) {
		if _, ok := node["anyOf"].([]any); !ok {
			c.errorf(path, "%s decodes several shapes; want an anyOf", t)
		}
		return
	}
	want := jsonType(t)
	if got, _ := node["type"].(string); got != want {
		c.errorf(path, "schema type %q, Go type %s wants %q", got, t, want)
		return
	}
	switch {
	case t == timeType:
		if f, _ := node["format"].(string); f != "date" {
			c.errorf(path, "a date wants format \"date\", got %q", f)
		}
	case t.Kind() == reflect.Slice:
		items, ok := node["items"].(map[string]any)
		if !ok {
			c.errorf(path, "array without an items schema")
			return
		}
		c.check(path+"[]", t.Elem(), items)
	case t.Kind() == reflect.Map:
		if t.Key().Kind() != reflect.String {
			c.errorf(path, "map key type %s; TOML keys are strings", t.Key())
		}
		values, ok := node["additionalProperties"].(map[string]any)
		if !ok {
			c.errorf(path, "map without an additionalProperties schema for its values")
			return
		}
		c.check(path+".*", t.Elem(), values)
	case t.Kind() == reflect.Struct:
		c.checkStruct(path, t, node)
	}
}

func (c *modelChecker) checkStruct(path string, t reflect.Type, node map[string]any) {
	if node["additionalProperties"] != false {
		c.errorf(path, "object without \"additionalProperties\": false (typos would pass)")
	}
	props, _ := node["properties"].(map[string]any)
	keys := tomlKeys(t)
	union := map[string]bool{}
	for k := range keys {
		union[k] = true
	}
	for k := range props {
		union[k] = true
	}
	for _, k := range slices.Sorted(maps.Keys(union)) {
		f, inModel := keys[k]
		p, inSchema := props[k].(map[string]any)
		sub := k
		if path != "" {
			sub = path + "." + k
		}
		switch {
		case !inSchema:
			c.errorf(path, "key %q of %s is missing from the schema's properties", k, t.Name())
		case !inModel:
			c.errorf(path, "property %q is in the schema but not in %s", k, t.Name())
		default:
			if d, _ := p["description"].(string); strings.TrimSpace(d) == "" {
				c.errorf(sub, "no description")
			}
			c.check(sub, f.Type, p)
		}
	}
	for _, r := range requiredOf(node) {
		if _, ok := keys[r]; !ok {
			c.errorf(path, "required key %q is not in %s", r, t.Name())
		}
	}
}

func requiredOf(node map[string]any) []string {
	list, _ := node["required"].([]any)
	var out []string
	for _, r := range list {
		s, _ := r.(string)
		out = append(out, s)
	}
	return out
}

// compileSchemas compiles the five schemas from schema.FS, by file name. Formats are asserted
// (draft 2020-12 only annotates them by default) so that "date" and "uri" are checked as editors do.
func compileSchemas(t *testing.T) map[string]*jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	names, err := fs.Glob(schema.FS, "*.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 5 {
		t.Fatalf("schema.FS holds %v, want the five schema files (index, publisher, product, upstreams.lock, environment)", names)
	}
	ids := map[string]string{}
	for _, name := range names {
		f, err := schema.FS.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(f)
		f.Close()
		if err != nil {
			t.Fatalf("decoding %s: %v", name, err)
		}
		id, _ := doc.(map[string]any)["$id"].(string)
		if want := "https://marketplace.example.org/schema/v1/" + name; id != want {
			t.Errorf("%s: $id is %q, want %q", name, id, want)
		}
		if err := c.AddResource(id, doc); err != nil {
			t.Fatalf("adding %s: %v", name, err)
		}
		ids[name] = id
	}
	out := map[string]*jsonschema.Schema{}
	for name, id := range ids {
		sch, err := c.Compile(id)
		if err != nil {
			t.Fatalf("compiling %s: %v", name, err)
		}
		out[name] = sch
	}
	return out
}

// decodeTOML decodes a TOML document into JSON-compatible values, as editors see it.
func decodeTOML(src string) (any, error) {
	var doc map[string]any
	if err := toml.Unmarshal([]byte(src), &doc); err != nil {
		return nil, err
	}
	return jsonValue(doc), nil
}

// jsonValue converts a value from go-toml's generic decoding into what JSON tooling has:
// integers become json.Number and dates strings ("2026-03-01" for a TOML local date).
func jsonValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = jsonValue(e)
		}
		return out
	case []map[string]any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = jsonValue(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = jsonValue(e)
		}
		return out
	case int64:
		return json.Number(strconv.FormatInt(v, 10))
	case toml.LocalDate, toml.LocalDateTime, toml.LocalTime:
		return fmt.Sprint(v)
	case time.Time:
		return v.Format(time.RFC3339Nano)
	}
	return v // string, bool, float64
}

const digest = "sha256:4f5a1d0c3b2e8f7a6d9c0b1e2f3a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c"

// fullProduct is SPEC §4's example.
const fullProduct = `
name = "Acme FHIR Server"
summary = "FHIR R4 server with bulk data export"
description = """
Acme FHIR Server stores and serves **FHIR R4** resources.
"""
homepage = "https://acme.example/fhir"
support = "mailto:support@acme.example"
source = "https://github.com/acme/fhir"
license = "Apache-2.0"
evaluation = false
categories = ["fhir-server"]
tags = ["fhir", "r4", "bulk-data"]
logo = "acme-fhir/logo.svg"
screenshots = [{ file = "acme-fhir/list.png", caption = "Patient list" }]

[identity]
sso = ["oidc"]
scim = true
tracing = "opentelemetry"
phi_logging = "LOG_PHI"

[[builds]]
version = "5.1.0"
image = "ghcr.io/acme/fhir:5.1.0@` + digest + `"
released = 2026-03-01
notes = """ Bulk export. """
platforms = ["linux/amd64"]

  [[builds.tasks]]
  name = "web"
  command = ["/app/server"]
  min = 2
  max = 10
  memory = 2048
  stop_timeout = 10
  ports = [{ port = 8080, protocol = "http", health = "/healthz" }]

  [[builds.tasks]]
  name = "worker"
  command = ["/app/worker"]
  min = 2
  max = 4
  memory = 2048

  [[builds.parameters]]
  name = "FHIR_BASE_URL"
  description = "Public base URL"
  required = false
  default = ""
  pattern = "^(https?://.*)?$"
  secret = false

  [[builds.parameters]]
  name = "DATABASE_URL"
  description = "PostgreSQL connection URL"
  required = true
  secret = true

  [[builds.parameters]]
  name = "OIDC_ISSUER"
  required = true

  [[builds.parameters]]
  name = "OIDC_CLIENT_ID"
  required = true

  [[builds.parameters]]
  name = "OIDC_CLIENT_SECRET"
  required = true
  secret = true

  [[builds.parameters]]
  name = "LOG_PHI"
  default = "false"
  pattern = "^(true|false)$"

  [[builds.exposes]]
  interface = "hl7-fhir-r4"
  task = "web"
  port = 8080
  path = "/fhir"

  [[builds.dependencies]]
  interface = "postgresql"
  required = true
  bind = { DATABASE_URL = "url" }

  [[builds.dependencies]]
  interface = "oidc"
  bind = { OIDC_ISSUER = "issuer", OIDC_CLIENT_ID = "client_id", OIDC_CLIENT_SECRET = "client_secret" }

  [builds.smoke_test]
  task = "web"
  command = ["/app/smoke"]
  timeout = 120
`

// minimalProduct is a small valid product. The cases below append to it (the last table open is
// its first build's first task) or replace parts of it.
const minimalProduct = `
name = "Acme FHIR Server"
summary = "FHIR R4 server"
license = "Apache-2.0"

[[builds]]
version = "5.1.0"
image = "ghcr.io/acme/fhir@` + digest + `"
  [[builds.tasks]]
  name = "web"
  memory = 512
`

const minimalIndex = `
[catalog]
name = "HSP Marketplace"
`

const fullIndex = `
[catalog]
name = "HSP Marketplace"
description = "Health services you can deploy on your own platform."
base_url = "https://marketplace.example.org/"

[policy]
require_signatures = true
open_licenses = ["MIT", "Apache-2.0", "BSD-2-Clause", "BSD-3-Clause",
                 "GPL-2.0-only", "GPL-2.0-or-later", "GPL-3.0-only", "GPL-3.0-or-later"]
max_image_mib = 2048

[[interfaces]]
id = "hl7-fhir-r4"
name = "HL7 FHIR R4"
uri = "http://hl7.org/fhir/R4"
version = "4.0.1"
properties = ["url"]
substitutes_for = []

[[interfaces]]
id = "keycloak-oidc"
name = "Keycloak OpenID Connect"
properties = ["issuer", "client_id", "client_secret"]
substitutes_for = ["oidc"]

[[upstreams]]
name = "hspc"
url = "https://example.org/hspc/marketplace.git"
ref = "main"
publishers = ["hspc-*", "acme"]

[[upstreams]]
name = "local"
url = "../other-catalog"
publishers = ["other"]
`

const fullPublisher = `
name = "Acme Health"
url = "https://acme.example"
contact = "mailto:security@acme.example"
maintainers = ["acme-bot", "jdoe"]

[[signers]]
key = "cosign.pub"

[[signers]]
issuer = "https://token.actions.githubusercontent.com"
subject = "https://github.com/acme/fhir/.github/workflows/release.yml@refs/heads/main"

[[signers]]
issuer = "https://token.actions.githubusercontent.com"
subject_regexp = "^https://github\\.com/acme/.*$"
`

// schemaCase is a document and what its schema should say about it.
type schemaCase struct {
	name   string
	schema string
	doc    string
	// wantErr is empty for a valid document, else a fragment of the validation error.
	wantErr string
	// validateAccepts explains a document the schema rejects but `marketplace validate` accepts.
	validateAccepts string
}

// schemaCases are the specification's examples, which pass, and each kind of mistake an editor
// should flag.
var schemaCases = []schemaCase{
	{name: "index/spec example", schema: indexSchema, doc: fullIndex},
	{name: "index/catalog name only", schema: indexSchema, doc: minimalIndex},
	{name: "index/empty", schema: indexSchema, doc: ``, wantErr: "missing property 'catalog'"},
	{name: "index/catalog name missing", schema: indexSchema, wantErr: "missing property 'name'",
		doc: "[catalog]\ndescription = \"Health services\"\n"},
	{name: "index/base_url not http", schema: indexSchema, wantErr: "does not match pattern",
		doc: minimalIndex + "base_url = \"ftp://example.org/\"\n"},
	{name: "index/unknown key", schema: indexSchema, wantErr: "additional properties 'title' not allowed",
		doc: minimalIndex + "title = \"HSP\"\n"},
	{name: "index/open license expression", schema: indexSchema, wantErr: "does not match pattern",
		doc: minimalIndex + "[policy]\nopen_licenses = [\"MIT OR Apache-2.0\"]\n"},
	{name: "index/max_image_mib 0", schema: indexSchema, wantErr: "minimum",
		doc:             minimalIndex + "[policy]\nmax_image_mib = 0\n",
		validateAccepts: "an explicit 0 cannot be told from an absent max_image_mib, which means the default"},
	{name: "index/interface id uppercase", schema: indexSchema, wantErr: "does not match pattern",
		doc: minimalIndex + "[[interfaces]]\nid = \"HL7-FHIR\"\nname = \"HL7 FHIR\"\n"},
	{name: "index/interface without name", schema: indexSchema, wantErr: "missing property 'name'",
		doc: minimalIndex + "[[interfaces]]\nid = \"smtp\"\n"},
	{name: "index/interface property uppercase", schema: indexSchema, wantErr: "does not match pattern",
		doc: minimalIndex + "[[interfaces]]\nid = \"smtp\"\nname = \"SMTP\"\nproperties = [\"URL\"]\n"},
	{name: "index/upstream without publishers", schema: indexSchema, wantErr: "missing property 'publishers'",
		doc: minimalIndex + "[[upstreams]]\nname = \"hspc\"\nurl = \"https://example.org/hspc.git\"\n"},
	{name: "index/upstream name uppercase", schema: indexSchema, wantErr: "does not match pattern",
		doc: minimalIndex + "[[upstreams]]\nname = \"HSPC\"\nurl = \"../hspc\"\npublishers = [\"hspc\"]\n"},

	{name: "publisher/spec example", schema: publisherSchema, doc: fullPublisher},
	{name: "publisher/name only", schema: publisherSchema, doc: `name = "Acme Health"`},
	{name: "publisher/name missing", schema: publisherSchema, wantErr: "missing property 'name'",
		doc: `url = "https://acme.example"`},
	{name: "publisher/issuer without subject", schema: publisherSchema, wantErr: "oneOf",
		doc: "name = \"Acme\"\n[[signers]]\nissuer = \"https://token.actions.githubusercontent.com\"\n"},
	{name: "publisher/subject without issuer", schema: publisherSchema, wantErr: "oneOf",
		doc: "name = \"Acme\"\n[[signers]]\nsubject = \"https://github.com/acme/fhir\"\n"},
	{name: "publisher/key and issuer", schema: publisherSchema, wantErr: "oneOf",
		doc: "name = \"Acme\"\n[[signers]]\nkey = \"cosign.pub\"\nissuer = \"https://token.actions.githubusercontent.com\"\nsubject = \"x\"\n"},
	{name: "publisher/subject and subject_regexp", schema: publisherSchema, wantErr: "oneOf",
		doc: "name = \"Acme\"\n[[signers]]\nissuer = \"https://i.example\"\nsubject = \"x\"\nsubject_regexp = \"x.*\"\n"},
	{name: "publisher/key outside the folder", schema: publisherSchema, wantErr: "at '/signers/0/key' [S#/$defs/signer/properties/key]: 'not' failed",
		doc: "name = \"Acme\"\n[[signers]]\nkey = \"../other/cosign.pub\"\n"},
	{name: "publisher/maintainer with @", schema: publisherSchema, wantErr: "does not match pattern",
		doc: "name = \"Acme\"\nmaintainers = [\"@jdoe\"]\n"},
	{name: "publisher/contact not a URL", schema: publisherSchema, wantErr: "does not match pattern",
		doc: "name = \"Acme\"\ncontact = \"ftp://acme.example\"\n"},
	{name: "publisher/unknown key", schema: publisherSchema, wantErr: "additional properties 'maintainer' not allowed",
		doc: "name = \"Acme\"\nmaintainer = [\"jdoe\"]\n"},

	{name: "product/spec example", schema: productSchema, doc: fullProduct},
	{name: "product/minimal", schema: productSchema, doc: minimalProduct},
	{name: "product/no builds", schema: productSchema, wantErr: "missing property 'builds'",
		doc: "name = \"A\"\nsummary = \"B\"\nlicense = \"MIT\"\n"},
	{name: "product/license missing", schema: productSchema, wantErr: "missing property 'license'",
		doc: strings.Replace(minimalProduct, `license = "Apache-2.0"`, "", 1)},
	{name: "product/summary over 140", schema: productSchema, wantErr: "maxLength",
		doc: strings.Replace(minimalProduct, `"FHIR R4 server"`, `"`+strings.Repeat("x", 141)+`"`, 1)},
	{name: "product/summary two lines", schema: productSchema, wantErr: "does not match pattern",
		doc: strings.Replace(minimalProduct, `"FHIR R4 server"`, `"FHIR R4\nserver"`, 1)},
	{name: "product/tag uppercase", schema: productSchema, wantErr: "does not match pattern",
		doc: strings.Replace(minimalProduct, `license = "Apache-2.0"`, `license = "Apache-2.0"`+"\ntags = [\"FHIR\"]", 1)},
	{name: "product/homepage not http", schema: productSchema, wantErr: "does not match pattern",
		doc: strings.Replace(minimalProduct, `license = "Apache-2.0"`, `license = "Apache-2.0"`+"\nhomepage = \"ftp://acme.example\"", 1)},
	{name: "product/unknown top-level key", schema: productSchema, wantErr: "additional properties 'licence' not allowed",
		doc: strings.Replace(minimalProduct, `license = "Apache-2.0"`, `license = "Apache-2.0"`+"\nlicence = \"MIT\"", 1)},
	{name: "product/unknown task key", schema: productSchema, wantErr: "additional properties 'cpu' not allowed",
		doc: minimalProduct + "  cpu = 2\n"},
	{name: "product/image not pinned", schema: productSchema, wantErr: "does not match pattern",
		doc: strings.Replace(minimalProduct, "@"+digest, ":5.1.0", 1)},
	{name: "product/image latest", schema: productSchema, wantErr: "does not match pattern",
		doc: strings.Replace(minimalProduct, "@"+digest, ":latest", 1)},
	{name: "product/image digest uppercase", schema: productSchema, wantErr: "does not match pattern",
		doc: strings.Replace(minimalProduct, digest, strings.ToUpper(digest), 1)},
	{name: "product/version with v", schema: productSchema, wantErr: "does not match pattern",
		doc: strings.Replace(minimalProduct, `"5.1.0"`, `"v5.1.0"`, 1)},
	{name: "product/released date", schema: productSchema,
		doc: strings.Replace(minimalProduct, `version = "5.1.0"`, "version = \"5.1.0\"\nreleased = 2026-03-01", 1)},
	{name: "product/released date-time", schema: productSchema, wantErr: "is not valid date",
		doc: strings.Replace(minimalProduct, `version = "5.1.0"`, "version = \"5.1.0\"\nreleased = 2026-03-01T10:00:00Z", 1)},
	{name: "product/platform linux/arm64", schema: productSchema, wantErr: "value must be one of",
		doc: strings.Replace(minimalProduct, `version = "5.1.0"`, "version = \"5.1.0\"\nplatforms = [\"linux/arm64\"]", 1)},
	{name: "product/build without tasks", schema: productSchema, wantErr: "missing property 'tasks'",
		doc: strings.Replace(minimalProduct, "  [[builds.tasks]]\n  name = \"web\"\n  memory = 512\n", "", 1)},
	{name: "product/memory missing", schema: productSchema, wantErr: "missing property 'memory'",
		doc: strings.Replace(minimalProduct, "  memory = 512\n", "", 1)},
	{name: "product/memory 0", schema: productSchema, wantErr: "minimum",
		doc: strings.Replace(minimalProduct, "memory = 512", "memory = 0", 1)},
	{name: "product/memory as a string", schema: productSchema, wantErr: "got string, want integer",
		doc: strings.Replace(minimalProduct, "memory = 512", `memory = "512"`, 1)},
	{name: "product/stop_timeout 30", schema: productSchema, wantErr: "maximum",
		doc: minimalProduct + "  stop_timeout = 30\n"},
	{name: "product/min negative", schema: productSchema, wantErr: "minimum",
		doc: minimalProduct + "  min = -1\n"},
	{name: "product/max 0", schema: productSchema, wantErr: "minimum",
		doc: minimalProduct + "  max = 0\n"},
	{name: "product/task name uppercase", schema: productSchema, wantErr: "does not match pattern",
		doc: strings.Replace(minimalProduct, `name = "web"`, `name = "Web"`, 1)},
	{name: "product/port 70000", schema: productSchema, wantErr: "maximum",
		doc: minimalProduct + "  ports = [{ port = 70000 }]\n"},
	{name: "product/protocol https", schema: productSchema, wantErr: "value must be one of",
		doc: minimalProduct + "  ports = [{ port = 8443, protocol = \"https\" }]\n"},
	{name: "product/health on a tcp port", schema: productSchema, wantErr: "const",
		doc: minimalProduct + "  ports = [{ port = 8080, protocol = \"tcp\", health = \"/healthz\" }]\n"},
	{name: "product/health without protocol", schema: productSchema, wantErr: "missing property 'protocol'",
		doc: minimalProduct + "  ports = [{ port = 8080, health = \"/healthz\" }]\n"},
	{name: "product/secret with a default", schema: productSchema, wantErr: "const",
		doc: minimalProduct + "  [[builds.parameters]]\n  name = \"API_KEY\"\n  secret = true\n  default = \"changeme\"\n"},
	{name: "product/secret with an empty default", schema: productSchema,
		doc: minimalProduct + "  [[builds.parameters]]\n  name = \"API_KEY\"\n  secret = true\n  default = \"\"\n"},
	{name: "product/lowercase parameter name", schema: productSchema, wantErr: "does not match pattern",
		doc: minimalProduct + "  [[builds.parameters]]\n  name = \"database_url\"\n"},
	{name: "product/lowercase bind key", schema: productSchema, wantErr: "does not match pattern",
		doc: minimalProduct + "  [[builds.dependencies]]\n  interface = \"postgresql\"\n  bind = { database_url = \"url\" }\n"},
	{name: "product/exposes without port", schema: productSchema, wantErr: "missing property 'port'",
		doc: minimalProduct + "  [[builds.exposes]]\n  interface = \"hl7-fhir-r4\"\n  task = \"web\"\n"},
	{name: "product/smoke test timeout 0", schema: productSchema,
		doc: minimalProduct + "  [builds.smoke_test]\n  task = \"web\"\n  command = [\"/app/smoke\"]\n  timeout = 0\n"},
	{name: "product/smoke test without command", schema: productSchema, wantErr: "missing property 'command'",
		doc: minimalProduct + "  [builds.smoke_test]\n  task = \"web\"\n"},
	{name: "product/sso ldap", schema: productSchema, wantErr: "value must be one of",
		doc: minimalProduct + "[identity]\nsso = [\"ldap\"]\n"},
	{name: "product/tracing zipkin", schema: productSchema, wantErr: "value must be one of",
		doc: minimalProduct + "[identity]\ntracing = \"zipkin\"\n"},
	{name: "product/name too long", schema: productSchema, wantErr: "at '/name' [S#/properties/name/maxLength]: maxLength: got 101, want 100",
		doc: strings.Replace(minimalProduct, `name = "Acme FHIR Server"`, `name = "`+strings.Repeat("n", 101)+`"`, 1)},
	{name: "product/too many tags", schema: productSchema, wantErr: "at '/tags' [S#/properties/tags/maxItems]: maxItems: got 21, want 20",
		doc: strings.Replace(minimalProduct, `license = "Apache-2.0"`, `license = "Apache-2.0"`+"\ntags = ["+strings.Repeat(`"t", `, 20)+`"t"]`, 1)},
	{name: "product/phi_logging lowercase", schema: productSchema, wantErr: "does not match pattern",
		doc: minimalProduct + "[identity]\nphi_logging = \"log_phi\"\n"},
	{name: "product/logo absolute", schema: productSchema, wantErr: "at '/logo' [S#/$defs/assetPath]: 'not' failed",
		doc: strings.Replace(minimalProduct, `license = "Apache-2.0"`, `license = "Apache-2.0"`+"\nlogo = \"/etc/logo.svg\"", 1)},
}

// TestSchemasValidate checks the schemas against schemaCases.
func TestSchemasValidate(t *testing.T) {
	schemas := compileSchemas(t)
	for _, tt := range schemaCases {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := decodeTOML(tt.doc)
			if err != nil {
				t.Fatalf("decoding TOML: %v", err)
			}
			err = schemas[tt.schema].Validate(doc)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("%s rejects a valid document:\n%v", tt.schema, err)
			case tt.wantErr != "" && err == nil:
				t.Errorf("%s accepts the document, want an error containing %q", tt.schema, tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(fmt.Sprintf("%#v", err), tt.wantErr):
				t.Errorf("%s: got\n%#v\nwant an error containing %q", tt.schema, err, tt.wantErr)
			}
		})
	}
}

// TestRepositoryFiles validates the catalog's own files, when the repository has them, against
// their schemas: what the editor would show an ISV must not disagree with the repository.
func TestRepositoryFiles(t *testing.T) {
	root := filepath.Join("..", "..")
	var files []struct{ path, schema string }
	if _, err := os.Stat(filepath.Join(root, catalog.IndexFile)); err == nil {
		files = append(files, struct{ path, schema string }{catalog.IndexFile, indexSchema})
	}
	tomls, err := filepath.Glob(filepath.Join(root, catalog.ProductsDir, "*", "*.toml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range tomls {
		rel, err := filepath.Rel(root, p)
		if err != nil {
			t.Fatal(err)
		}
		s := productSchema
		if filepath.Base(p) == catalog.PublisherFile {
			s = publisherSchema
		}
		files = append(files, struct{ path, schema string }{filepath.ToSlash(rel), s})
	}
	envs, err := filepath.Glob(filepath.Join(root, "environments", "*.toml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range envs {
		rel, _ := filepath.Rel(root, p)
		files = append(files, struct{ path, schema string }{filepath.ToSlash(rel), envSchema})
	}
	if len(files) == 0 {
		t.Skip("the repository has no index.toml and no products/ yet")
	}
	schemas := compileSchemas(t)
	for _, f := range files {
		t.Run(f.path, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(f.path)))
			if err != nil {
				t.Fatal(err)
			}
			doc, err := decodeTOML(string(data))
			if err != nil {
				t.Fatalf("%s: %v", f.path, err)
			}
			if err := schemas[f.schema].Validate(doc); err != nil {
				t.Errorf("%s does not match %s:\n%#v", f.path, f.schema, err)
			}
		})
	}
}

// TestScaffold checks that what `marketplace new` writes passes the schemas, so an ISV's editor
// shows no error in a fresh file.
func TestScaffold(t *testing.T) {
	schemas := compileSchemas(t)
	files, err := catalog.Scaffold("acme/new-service", true)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range slices.Sorted(maps.Keys(files)) {
		if path.Ext(name) != ".toml" {
			continue
		}
		t.Run(name, func(t *testing.T) {
			s := productSchema
			if path.Base(name) == catalog.PublisherFile {
				s = publisherSchema
			}
			doc, err := decodeTOML(string(files[name]))
			if err != nil {
				t.Fatal(err)
			}
			if err := schemas[s].Validate(doc); err != nil {
				t.Errorf("%s does not match %s:\n%#v", name, s, err)
			}
		})
	}
}

// contextIndex is the index.toml that publisher and product cases are checked with: the
// interfaces they name.
const contextIndex = minimalIndex + `
[[interfaces]]
id = "hl7-fhir-r4"
name = "HL7 FHIR R4"
properties = ["url"]

[[interfaces]]
id = "postgresql"
name = "PostgreSQL"
properties = ["url"]

[[interfaces]]
id = "oidc"
name = "OpenID Connect"
properties = ["issuer", "client_id", "client_secret"]
`

// TestSchemaErrorsAreValidateErrors makes sure the editor never flags what `marketplace validate`
// accepts: every document a schema rejects also gets an error from catalog.Check. (The converse
// does not hold: validate also checks references, assets and licenses.)
func TestSchemaErrorsAreValidateErrors(t *testing.T) {
	context := func() fstest.MapFS {
		return fstest.MapFS{
			catalog.IndexFile:              {Data: []byte(contextIndex)},
			"products/acme/publisher.toml": {Data: []byte(`name = "Acme Health"`)},
			"products/acme/fhir.toml":      {Data: []byte(minimalProduct)},
		}
	}
	// Without this, an error in the context would make every case pass.
	if _, diags := catalog.Check(context()); diags.Errors() > 0 {
		t.Fatalf("the context catalog has errors:\n%s", diagLines(diags))
	}
	for _, tt := range schemaCases {
		if tt.wantErr == "" {
			continue
		}
		t.Run(tt.name, func(t *testing.T) {
			fsys := context()
			file := map[string]string{
				indexSchema:     catalog.IndexFile,
				publisherSchema: "products/acme/publisher.toml",
				productSchema:   "products/acme/fhir.toml",
			}[tt.schema]
			fsys[file] = &fstest.MapFile{Data: []byte(tt.doc)}
			_, diags := catalog.Check(fsys)
			errs := diags.Errors()
			switch {
			case tt.validateAccepts != "" && errs == 0:
				t.Skipf("known difference: %s", tt.validateAccepts)
			case tt.validateAccepts != "":
				t.Errorf("validate now rejects the document; drop validateAccepts (%q)", tt.validateAccepts)
			case errs == 0:
				t.Errorf("the schema rejects the document (%s) but validate accepts it:\n%s", tt.wantErr, diagLines(diags))
			}
		})
	}
}

func diagLines(ds catalog.Diagnostics) string {
	var b strings.Builder
	for _, d := range ds {
		b.WriteString(d.String())
		b.WriteByte('\n')
	}
	return b.String()
}
