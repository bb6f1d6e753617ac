package catalog

import (
	"bytes"
	"fmt"

	"github.com/pelletier/go-toml/v2"
)

// TOMLFile is one TOML file outside the catalog tree (an environment file, its lock), decoded and
// checked with the same machinery as the catalog's own files: every syntax error, wrong type and
// unknown key at once, "did you mean" hints, and positions from the key index, computed only when
// there is something to report. Packages beside catalog (catalog/env) use it instead of parsing
// TOML themselves, so that go-toml stays in this package.
type TOMLFile struct {
	path string
	data []byte
	r    *report
}

// DecodeTOML decodes data, the contents of the file at path (as the user named it; it is only
// used in diagnostics), into v, a pointer to a struct with toml tags. Fields of a type that
// implements ValueDecoder take the TOML shapes it accepts.
func DecodeTOML(path string, data []byte, v any) *TOMLFile {
	f := &TOMLFile{path: path, data: data, r: newReport()}
	f.r.decoding(path, decodeFile(data, v))
	return f
}

// ValueDecoder is implemented by model types that accept more than one TOML shape, such as a
// string or a table { secret = "NAME" }. DecodeTOMLValue gets go-toml's generic value (string,
// int64, float64, bool, map[string]any, []any, dates) and stores it; when the shape is wrong it
// returns false and a description of what it wants, which the diagnostic quotes.
type ValueDecoder interface {
	DecodeTOMLValue(data any) (ok bool, want string)
}

// SyntaxFailed reports whether the file is not TOML at all: then nothing was decoded.
func (f *TOMLFile) SyntaxFailed() bool {
	fr, ok := f.r.files[f.path]
	return ok && syntaxFailed(fr.problems)
}

// Failed reports whether key, or a table or array holding it, could not be decoded. Findings
// there are dropped anyway; checks can use it to skip work.
func (f *TOMLFile) Failed(key string) bool { return f.r.failed(f.path, key) }

// Errorf records an error on the value at key (a key path such as services[1].version; "" for
// the file), positioned on the value.
func (f *TOMLFile) Errorf(key string, format string, args ...any) {
	f.r.errorf(f.path, key, 0, format, args...)
}

// RuleErrorf records an error that breaks packaging rule n of the seed.
func (f *TOMLFile) RuleErrorf(key string, rule int, format string, args ...any) {
	f.r.errorf(f.path, key, rule, format, args...)
}

// KeyErrorf records an error positioned on the key itself rather than on its value.
func (f *TOMLFile) KeyErrorf(key string, format string, args ...any) {
	f.r.keyErrorf(f.path, key, 0, format, args...)
}

// Warnf records a warning on the value at key.
func (f *TOMLFile) Warnf(key string, format string, args ...any) {
	f.r.warnf(f.path, key, 0, format, args...)
}

// Diagnostics returns everything recorded so far, positioned and sorted. It may be called again
// after more findings are recorded.
func (f *TOMLFile) Diagnostics() Diagnostics {
	return f.r.diagnosticsFrom(func(string) ([]byte, error) { return f.data, nil })
}

// Path returns the file's path as given to DecodeTOML.
func (f *TOMLFile) Path() string { return f.path }

// KeyPath joins a key path and a key the way diagnostics spell them: quoted when the key is not
// bare ("params.DATABASE_URL", `bind."a.b"`).
func KeyPath(parent, key string) string { return joinKey(parent, key) }

// Suggest returns the candidate closest to s when it is close enough to be a likely typo, or "".
func Suggest(s string, candidates []string) string { return suggest(s, candidates) }

// Hint formats Suggest's result as a "; did you mean %q?" suffix, or "" when nothing is close.
func Hint(s string, candidates []string) string { return hint(s, candidates) }

// MarshalTOML encodes v (a struct with toml tags) as TOML, for files the program writes, such as
// an environment's lock. Tables come out in declaration order and arrays of tables with double
// brackets, indented.
func MarshalTOML(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := toml.NewEncoder(&buf)
	enc.SetIndentTables(true)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encoding TOML: %w", err)
	}
	return buf.Bytes(), nil
}
