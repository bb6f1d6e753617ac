package deploy

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestEnvironmentGolden renders the FHIR use case (environments/fhir.toml) in both formats, with
// secrets made by a deterministic reader, and compares every file with
// testdata/env-fhir/<format>/<file>.golden (go test -update rewrites them).
func TestEnvironmentGolden(t *testing.T) {
	res := exampleEnvironments(t)["environments/fhir.toml"]
	secrets, err := SecretValues(res, nil, &fixedRandom{})
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range Formats {
		t.Run(format, func(t *testing.T) {
			files, err := Environment(res, format, secrets)
			if err != nil {
				t.Fatal(err)
			}
			again, err := Environment(res, format, secrets)
			if err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join("testdata", "env-fhir", format)
			if *update {
				os.RemoveAll(dir)
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			goldens, _ := filepath.Glob(filepath.Join(dir, "*.golden"))
			var want []string
			for _, g := range goldens {
				want = append(want, strings.TrimSuffix(filepath.Base(g), ".golden"))
			}
			var got []string
			for name, data := range files {
				got = append(got, strings.TrimPrefix(name, "."))
				if !bytes.Equal(data, again[name]) {
					t.Errorf("%s renders differently twice", name)
				}
				golden := filepath.Join(dir, strings.TrimPrefix(name, ".")+".golden")
				if *update {
					if err := os.WriteFile(golden, data, 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				wantData, err := os.ReadFile(golden)
				if err != nil {
					t.Errorf("%v (go test -update writes it)", err)
					continue
				}
				if diff := cmp.Diff(string(wantData), string(data)); diff != "" {
					t.Errorf("%s differs from %s (-want +got; go test -update rewrites it):\n%s", name, golden, diff)
				}
			}
			slices.Sort(got)
			if !*update && !slices.Equal(got, want) {
				t.Errorf("files %v, goldens %v", got, want)
			}
		})
	}
}
