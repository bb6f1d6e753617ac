package env

import (
	"iter"
	"maps"
	"slices"
)

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

func mapsKeys[V any](m map[string]V) iter.Seq[string] { return maps.Keys(m) }
