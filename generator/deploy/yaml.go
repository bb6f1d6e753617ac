package deploy

import (
	"bytes"
	"fmt"

	"go.yaml.in/yaml/v3"
)

// mapping is a YAML mapping that keeps its insertion order, for the places where declaration
// order reads better than sorted keys (services in task order, variables in parameter order).
// Go maps encode with sorted keys, structs in field order: either way the output is stable.
type mapping []keyValue

type keyValue struct {
	Key   string
	Value any
}

func (m *mapping) add(key string, value any) { *m = append(*m, keyValue{key, value}) }

// MarshalYAML encodes the pairs in order.
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

// encodeYAML writes v as one YAML document with two-space indentation.
func encodeYAML(buf *bytes.Buffer, v any) error {
	enc := yaml.NewEncoder(buf)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return err
	}
	return enc.Close()
}
