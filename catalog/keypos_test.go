package catalog

import (
	"os"
	"path/filepath"
	"testing"
)

const keyposDoc = `# comment
name = "x"  # trailing
"quoted key" = 1
description = """
multi [[not.a.table]]
line = "not a key"
"""
lit = '''raw
'''
a.b.c = true

[identity]
sso = ["oidc", "saml2"]

[[builds]]
version = "1"
  [[builds.tasks]]
  name = "web"
  ports = [
    { port = 80, protocol = "http" }, # comment inside
    { port = 443 },
  ]
  [[builds.tasks]]
  name = "worker"
  [builds.smoke_test]
  task = "web"

[[builds]]
version = "2"
bind = { DATABASE_URL = "url", "odd key" = 'x' }
  [[builds.tasks]]
  memory = 5
`

func TestKeyIndexPositions(t *testing.T) {
	ix := newKeyIndex([]byte(keyposDoc))
	tests := []struct {
		name      string
		path      string
		onValue   bool
		line, col int
	}{
		{"top key", "name", false, 2, 1},
		{"top value", "name", true, 2, 8},
		{"quoted key", `"quoted key"`, false, 3, 1},
		{"after multiline string", "lit", false, 8, 1},
		{"dotted key", "a.b.c", true, 10, 9},
		{"table", "identity", false, 12, 2},
		{"array element", "identity.sso[1]", true, 13, 16},
		{"array of tables", "builds[0]", false, 15, 3},
		{"nested array of tables", "builds[0].tasks[1].name", true, 24, 10},
		{"inline table in array", "builds[0].tasks[0].ports[1].port", true, 21, 14},
		{"table inside array element", "builds[0].smoke_test.task", false, 26, 3},
		{"second element", "builds[1].version", true, 29, 11},
		{"inline table key", "builds[1].bind.DATABASE_URL", false, 30, 10},
		{"quoted inline key", `builds[1].bind."odd key"`, true, 30, 44},
		{"nested in second element", "builds[1].tasks[0].memory", true, 32, 12},
		{"missing key falls back to its table", "builds[1].tasks[0].name", false, 31, 5},
		{"missing index falls back to the array", "builds[7].version", false, 15, 3},
		{"nothing known", "nope", false, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			line, col := ix.position(tt.path, tt.onValue)
			if line != tt.line || col != tt.col {
				t.Errorf("position(%q) = %d:%d, want %d:%d", tt.path, line, col, tt.line, tt.col)
			}
		})
	}
}

func TestParentKey(t *testing.T) {
	for in, want := range map[string]string{
		"a":                  "",
		"a.b":                "a",
		"a[1]":               "a",
		"a[1].b":             "a[1]",
		`a."x.y"`:            "a",
		`a."x.y".c`:          `a."x.y"`,
		"builds[0].tasks[2]": "builds[0].tasks",
	} {
		if got := parentKey(in); got != want {
			t.Errorf("parentKey(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestKeyIndexSurvivesGarbage(t *testing.T) {
	// Not valid TOML: the scanner must stop quietly and keep what it indexed.
	ix := newKeyIndex([]byte("a = 1\nb = \"unterminated\n[[c\n"))
	if line, _ := ix.position("a", false); line != 1 {
		t.Errorf("a at line %d, want 1", line)
	}
}

// TestKeyIndexForWantedKeys: an index of only the keys wanted positions them (and keys that are
// not in the file, on their nearest parent) exactly as the index of every key does.
func TestKeyIndexForWantedKeys(t *testing.T) {
	docs := map[string][]byte{"keyposDoc": []byte(keyposDoc)}
	matches, _ := filepath.Glob("../products/*/*.toml")
	for _, m := range matches {
		data, err := os.ReadFile(m)
		if err != nil {
			t.Fatal(err)
		}
		docs[m] = data
	}
	if len(docs) < 10 {
		t.Fatalf("only %d documents to compare on", len(docs))
	}
	for name, src := range docs {
		full := newKeyIndex(src)
		keys := []string{"", "no.such.key", "builds[9].tasks[0].memory", "builds[0].nope", "identity.sso[5]"}
		for k := range full.entries {
			keys = append(keys, k, k+".missing")
		}
		for _, k := range keys {
			for _, onValue := range []bool{true, false} {
				wl, wc := full.position(k, onValue)
				gl, gc := newKeyIndexFor(src, []string{k}).position(k, onValue)
				if wl != gl || wc != gc {
					t.Errorf("%s: %q (on value %v) at %d:%d, want %d:%d", name, k, onValue, gl, gc, wl, wc)
				}
			}
		}
		// All keys at once, as a file with many problems asks.
		some := newKeyIndexFor(src, keys)
		for _, k := range keys {
			wl, wc := full.position(k, true)
			if gl, gc := some.position(k, true); wl != gl || wc != gc {
				t.Errorf("%s: %q at %d:%d with every key wanted, want %d:%d", name, k, gl, gc, wl, wc)
			}
		}
	}
}
