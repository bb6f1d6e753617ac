package review

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/hspc/marketplace/catalog"
)

// render writes v as compact JSON: the form old → new values take in a summary, and a cheap
// deep comparison.
func render(v any) string {
	data, err := json.Marshal(v)
	if err != nil {
		return err.Error()
	}
	return string(data)
}

// fields flattens a model value to its JSON keys, one level into tables (identity.sso).
func fields(v any, drop ...string) map[string]string {
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(render(v)), &m); err != nil {
		return nil
	}
	out := map[string]string{}
	for k, raw := range m {
		if slices.Contains(drop, k) {
			continue
		}
		var sub map[string]json.RawMessage
		if len(raw) > 0 && raw[0] == '{' && json.Unmarshal(raw, &sub) == nil {
			for sk, sv := range sub {
				out[k+"."+sk] = string(sv)
			}
			continue
		}
		out[k] = string(raw)
	}
	return out
}

func productFields(p *catalog.Product) map[string]string {
	return fields(p, "id", "publisher", "builds")
}

func buildFields(b *catalog.Build) map[string]string {
	return fields(b, "version")
}

// fieldChanges lists the keys whose values differ, sorted, each key prefixed.
func fieldChanges(prefix string, old, cur map[string]string) []FieldChange {
	var out []FieldChange
	for k, v := range cur {
		if ov, ok := old[k]; !ok || ov != v {
			out = append(out, FieldChange{Key: prefix + k, Old: show(ov), New: show(v)})
		}
	}
	for k, v := range old {
		if _, ok := cur[k]; !ok {
			out = append(out, FieldChange{Key: prefix + k, Old: show(v), New: "(none)"})
		}
	}
	slices.SortFunc(out, func(a, b FieldChange) int { return strings.Compare(a.Key, b.Key) })
	return out
}

// show shortens a rendered value for a one-line summary.
func show(v string) string {
	switch v {
	case "", "null", `""`, "[]", "{}":
		return "(none)"
	}
	const max = 120
	if r := []rune(v); len(r) > max {
		return string(r[:max]) + "…"
	}
	return v
}
