package catalog

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"golang.org/x/tools/txtar"
)

func TestParseImageRef(t *testing.T) {
	const hex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	tests := []struct {
		name, in string
		want     ImageRef
		err      string
	}{
		{"repo and digest", "ghcr.io/acme/fhir@sha256:" + hex, ImageRef{"ghcr.io/acme/fhir", "", "sha256:" + hex}, ""},
		{"tag and digest", "ghcr.io/acme/fhir:5.1.0@sha256:" + hex, ImageRef{"ghcr.io/acme/fhir", "5.1.0", "sha256:" + hex}, ""},
		{"registry port", "localhost:5000/fhir:1@sha256:" + hex, ImageRef{"localhost:5000/fhir", "1", "sha256:" + hex}, ""},
		{"docker hub short", "postgres:16@sha256:" + hex, ImageRef{"postgres", "16", "sha256:" + hex}, ""},
		{"tag only", "ghcr.io/acme/fhir:5.1.0", ImageRef{}, "pinned by tag only"},
		{"latest", "ghcr.io/acme/fhir:latest", ImageRef{}, `"latest" moves`},
		{"bare", "ghcr.io/acme/fhir", ImageRef{}, "has no digest"},
		{"uppercase digest", "ghcr.io/acme/fhir@sha256:" + strings.ToUpper(hex), ImageRef{}, "malformed digest"},
		{"short digest", "ghcr.io/acme/fhir@sha256:abc", ImageRef{}, "3 hex digits, want 64"},
		{"sha512", "ghcr.io/acme/fhir@sha512:" + hex, ImageRef{}, `algorithm "sha512"`},
		{"uppercase repository", "ghcr.io/Acme/fhir@sha256:" + hex, ImageRef{}, "invalid repository name"},
		{"empty", "", ImageRef{}, "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseImageRef(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseImageRef(%q) error = %v, want one containing %q", tt.in, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseImageRef(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
			if got.String() != tt.in {
				t.Errorf("String() = %q, want %q", got.String(), tt.in)
			}
		})
	}
}

func TestSuggest(t *testing.T) {
	keys := []string{"name", "memory", "stop_timeout", "min", "max", "ports"}
	for in, want := range map[string]string{
		"nmae": "name", "memroy": "memory", "mem": "memory", "stopTimeout": "stop_timeout",
		"stop-timeout": "stop_timeout", "port": "ports", "banana": "", "x": "",
	} {
		if got := suggest(in, keys); got != want {
			t.Errorf("suggest(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDiagnosticFormats(t *testing.T) {
	ds := Diagnostics{
		{Path: "products/acme/fhir.toml", Line: 12, Col: 5, Severity: Error, Message: "memory is 0 MiB, want more than 0", Rule: 10},
		{Path: "products/acme/publisher.toml", Severity: Warning, Message: "no maintainers: a, b"},
	}
	tests := []struct{ format, want string }{
		{"text", "products/acme/fhir.toml:12:5: error: memory is 0 MiB, want more than 0 (rule 10)\n" +
			"products/acme/publisher.toml: warning: no maintainers: a, b\n"},
		{"github", "::error file=products/acme/fhir.toml,line=12,col=5,title=marketplace%3A rule 10::memory is 0 MiB, want more than 0 (rule 10)\n" +
			"::warning file=products/acme/publisher.toml,title=marketplace::no maintainers: a, b\n"},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		if err := ds.Write(&b, tt.format); err != nil {
			t.Fatal(err)
		}
		if b.String() != tt.want {
			t.Errorf("%s:\ngot  %q\nwant %q", tt.format, b.String(), tt.want)
		}
	}
	var b bytes.Buffer
	if err := ds.Write(&b, "json"); err != nil {
		t.Fatal(err)
	}
	var back []map[string]any
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if len(back) != 2 || back[0]["severity"] != "error" || back[0]["line"] != 12.0 || back[0]["rule"] != 10.0 {
		t.Errorf("json = %s", b.String())
	}
	if err := ds.Write(&b, "xml"); err == nil {
		t.Error("format xml accepted")
	}
}

func TestScaffoldValidates(t *testing.T) {
	base := readArchive(t, "testdata/base.txtar")
	for _, tt := range []struct {
		id            string
		withPublisher bool
	}{{"acme/cds-rules", false}, {"new-vendor/terminology", true}} {
		t.Run(tt.id, func(t *testing.T) {
			files, err := Scaffold(tt.id, tt.withPublisher)
			if err != nil {
				t.Fatal(err)
			}
			fsys := overlay(t, base, &txtar.Archive{})
			for name, data := range files {
				fsys[name] = &fstest.MapFile{Data: data}
			}
			c, ds := Check(fsys)
			if ds.HasErrors() {
				var b bytes.Buffer
				ds.Write(&b, "text")
				t.Fatalf("scaffold does not validate:\n%s", b.String())
			}
			if c.Products[tt.id] == nil {
				t.Fatalf("product %s not loaded", tt.id)
			}
		})
	}
	for _, bad := range []string{"acme", "Acme/fhir", "acme/fhir/x", "acme/-x"} {
		if _, err := Scaffold(bad, true); err == nil {
			t.Errorf("Scaffold(%q) accepted", bad)
		}
	}
}

func TestSatisfiesFollowsSurrogates(t *testing.T) {
	c := &Catalog{Index: &Index{Interfaces: []Interface{
		{ID: "a", SubstitutesFor: []string{"b"}},
		{ID: "b", SubstitutesFor: []string{"c", "a"}}, // a cycle must not loop
		{ID: "c"},
	}}}
	for _, tt := range []struct {
		have, want string
		ok         bool
	}{{"a", "a", true}, {"a", "b", true}, {"a", "c", true}, {"c", "a", false}, {"x", "a", false}} {
		if got := c.Satisfies(tt.have, tt.want); got != tt.ok {
			t.Errorf("Satisfies(%s, %s) = %v, want %v", tt.have, tt.want, got, tt.ok)
		}
	}
}

func TestLicensePolicy(t *testing.T) {
	base := readArchive(t, "testdata/base.txtar")
	for _, tt := range []struct {
		license    string
		evaluation bool
		wantErr    bool
	}{
		{"MIT", false, false},
		{"Apache-2.0 OR MIT", false, false},
		{"GPL-3.0-or-later", false, false},
		{"MIT AND LicenseRef-Acme", false, true},
		{"MIT OR LicenseRef-Acme", false, false},
		{"LicenseRef-Acme-Commercial", false, true},
		{"LicenseRef-Acme-Commercial", true, false},
		{"BUSL-1.1", true, false},
	} {
		fsys := overlay(t, base, &txtar.Archive{})
		src := string(fsys["products/acme/fhir.toml"].Data)
		src = strings.Replace(src, `license = "Apache-2.0"`, "license = "+strings.ReplaceAll(`"`+tt.license+`"`, "\n", "")+"\nevaluation = "+map[bool]string{true: "true", false: "false"}[tt.evaluation], 1)
		fsys["products/acme/fhir.toml"] = &fstest.MapFile{Data: []byte(src)}
		_, ds := Check(fsys)
		if ds.HasErrors() != tt.wantErr {
			var b bytes.Buffer
			ds.Write(&b, "text")
			t.Errorf("license %q evaluation=%v: errors=%v, want %v\n%s", tt.license, tt.evaluation, ds.HasErrors(), tt.wantErr, b.String())
		}
	}
}

// FuzzLoad feeds arbitrary product files to the loader and validator: whatever the bytes, they
// must produce diagnostics, never a panic, and every diagnostic must carry a position in the file.
func FuzzLoad(f *testing.F) {
	base, err := txtar.ParseFile("testdata/base.txtar")
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range base.Files {
		if strings.HasSuffix(file.Name, ".toml") {
			f.Add(file.Data)
		}
	}
	f.Add([]byte("[[builds]]\n[[builds.tasks]]\nports = [{port = 1}, {port = \"x\"}]\n"))
	f.Add([]byte("a = \"\"\"\n\"\"\"\nb = { c = [1, [2, {d = 3}]] }\n"))
	f.Add([]byte("[identity]\nsso = 'oidc'\n[[builds]]\nversion = 1\nreleased = 2026-01-01T00:00:00Z\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fsys := fstest.MapFS{}
		for _, file := range base.Files {
			fsys[file.Name] = &fstest.MapFile{Data: file.Data}
		}
		fsys["products/acme/fhir.toml"] = &fstest.MapFile{Data: data}
		_, ds := Check(fsys)
		checkCachedAgrees(t, fsys, ds)
		for _, d := range ds {
			if d.Path == "products/acme/fhir.toml" && d.Line < 1 {
				t.Errorf("diagnostic without position: %s", d)
			}
		}
	})
}

// TestRepositoryGrammar checks the hand-written name checks against the regexp they replace.
func TestRepositoryGrammar(t *testing.T) {
	component := `[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*`
	host := `(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?`
	re := regexp.MustCompile(`^(?:` + host + `/)?` + component + `(?:/` + component + `)*$`)
	for _, name := range []string{
		"postgres", "library/postgres", "ghcr.io/acme/fhir", "localhost:5000/x", "[::1]:5000/x",
		"Registry.Example.com/a/b", "a__b", "a___b", "a--b", "a-.b", "a._b", "-a", "a-", "A/b",
		"ghcr.io/Acme/fhir", "host:/x", "host:50a/x", "a..b", "a/b/c/d", "[zz]/x", "x/", "/x", "",
		"my-registry.local:443/team/app_name.v2", "a.b", "1", "a/B", "re-gistry-/x", "[]/x",
	} {
		if got, want := validRepository(name), re.MatchString(name); got != want {
			t.Errorf("validRepository(%q) = %v, regexp says %v", name, got, want)
		}
	}
}
