package site

import "testing"

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
			if got := activeSVG([]byte(tt.svg)); got != tt.active {
				t.Errorf("activeSVG = %v, want %v", got, tt.active)
			}
		})
	}
}
