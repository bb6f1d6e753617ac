package site

import (
	"bytes"
	"crypto/sha256"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/hspc/marketplace/generator/page"
)

// TestActiveSVGNotPublished lists SVGs that the build must not copy into the output, including
// the spellings a regular expression over the bytes let through.
func TestActiveSVGNotPublished(t *testing.T) {
	const open = `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">`
	tests := []struct {
		name, svg string
		active    bool
	}{
		{"shapes", open + `<rect width="8" height="8" fill="url(#g)"/></svg>`, false},
		{"script", open + `<script>alert(1)</script></svg>`, true},
		{"javascript link spelt with a character reference", open + `<a href="&#106;avascript:alert(1)"><rect/></a></svg>`, true},
		{"javascript link split by a tab reference", open + `<a xlink:href="java&#9;script:alert(1)"><rect/></a></svg>`, true},
		{"event handler via entity-free name in a namespace", open + `<rect xmlns:x="urn:x" x:onclick="alert(1)"/></svg>`, true},
		{"set turning a link into javascript", open + `<a href="#r"><set attributeName="href" to="&#x6A;avascript:alert(1)"/></a></svg>`, true},
		{"external image", open + `<image href="https://tracker.example/p.png"/></svg>`, true},
		{"style import", open + `<style>@import url(https://evil.example/x.css);</style></svg>`, true},
		{"xml-stylesheet", `<?xml-stylesheet href="https://evil.example/x.css"?>` + open + `</svg>`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := activeSVG(sha256.Sum256([]byte(tt.svg)), []byte(tt.svg)); got != tt.active {
				t.Errorf("activeSVG = %v, want %v", got, tt.active)
			}
		})
	}
}

// TestAssetReadWhenWritten checks that asset pages hold no bytes between planning and writing:
// they are read when rendered, keyed by the content planned, and a file that changed in between
// fails the page instead of publishing bytes its key does not describe.
func TestAssetReadWhenWritten(t *testing.T) {
	fsys := testFS(t)
	in := testInput(t, fsys)
	var logo page.Page
	for _, p := range mustPages(t, in) {
		if p.Path == "products/acme/fhir/logo.svg" {
			logo = p
		}
	}
	if logo.Render == nil {
		t.Fatal("no page for acme/fhir's logo")
	}
	src := "products/acme/fhir/logo.svg"
	if _, ok := fsys[src]; !ok {
		t.Fatalf("the test catalog has no %s", src)
	}
	want := fsys[src].Data
	got, err := logo.Render()
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("logo rendered %q, %v; want the file's bytes", got, err)
	}
	again := mustPages(t, in)
	for _, p := range again {
		if p.Path == logo.Path && p.Key != logo.Key {
			t.Errorf("the same logo planned twice has keys %s and %s", logo.Key, p.Key)
		}
	}
	fsys[src] = &fstest.MapFile{Data: append(bytes.Clone(want), []byte("<!-- edited -->")...)}
	if _, err := logo.Render(); err == nil || !strings.Contains(err.Error(), "changed during the build") {
		t.Errorf("a logo edited after planning rendered with error %v, want \"changed during the build\"", err)
	}
}

// TestPreviewAssetEdited checks that a preview's plans (Unkeyed), which remember asset files by
// size and modification time, see a logo edited between two plans.
func TestPreviewAssetEdited(t *testing.T) {
	fsys := testFS(t)
	in := testInput(t, fsys)
	in.Unkeyed = true
	src := "products/acme/fhir/logo.svg"
	logo := func() []byte {
		t.Helper()
		for _, p := range mustPages(t, in) {
			if p.Path == src {
				data, err := p.Render()
				if err != nil {
					t.Fatal(err)
				}
				return data
			}
		}
		t.Fatalf("no page for %s", src)
		return nil
	}
	fsys[src].ModTime = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	first := logo()
	if !bytes.Equal(first, fsys[src].Data) {
		t.Fatalf("first plan: logo %q, want the file's bytes", first)
	}
	edited := bytes.Replace(fsys[src].Data, []byte("<svg"), []byte("<svg data-edited=\"1\""), 1)
	if bytes.Equal(edited, first) {
		t.Fatal("the test's edit changed nothing")
	}
	fsys[src] = &fstest.MapFile{Data: edited, ModTime: time.Date(2026, 1, 1, 0, 0, 1, 0, time.UTC)}
	if got := logo(); !bytes.Equal(got, edited) {
		t.Errorf("after an edit: logo %q, want %q", got, edited)
	}
}
