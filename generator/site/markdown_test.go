package site

import (
	"strings"
	"testing"
)

func TestMarkdown(t *testing.T) {
	tests := []struct {
		name  string
		src   string
		shift int
		want  string
	}{
		{"paragraph", "Hello *world*", 0, "<p>Hello <em>world</em></p>\n"},
		{"heading shifted", "# Title\n\n###### Deep", 2, "<h3>Title</h3>\n<h6>Deep</h6>\n"},
		{"external link", "[docs](https://example.org/docs)", 0, `<p><a href="https://example.org/docs" rel="nofollow noopener">docs</a></p>` + "\n"},
		{"mailto link", "[mail](mailto:a@example.org)", 0, `<p><a href="mailto:a@example.org">mail</a></p>` + "\n"},
		{"fragment link", "[up](#top)", 0, `<p><a href="#top">up</a></p>` + "\n"},
		{"javascript link keeps its text", "[click *me*](javascript:alert(1))", 0, "<p>click <em>me</em></p>\n"},
		{"upper-case scheme", "[x](JaVaScRiPt:alert(1))", 0, "<p>x</p>\n"},
		{"entity-hidden tab", "[x](java&#x09;script:alert(1))", 0, "<p>x</p>\n"},
		{"vbscript", "[x](vbscript:msgbox(1))", 0, "<p>x</p>\n"},
		{"data link", "[x](data:text/html,hi)", 0, "<p>x</p>\n"},
		{"relative link", "[x](docs/setup.md)", 0, "<p>x</p>\n"},
		{"reference link", "[x][r]\n\n[r]: javascript:alert(1)", 0, "<p>x</p>\n"},
		{"autolink", "<javascript:alert(1)>", 0, "<p>javascript:alert(1)</p>\n"},
		{"linkified URL", "see https://example.org", 0, `<p>see <a href="https://example.org" rel="nofollow noopener">https://example.org</a></p>` + "\n"},
		{"email autolink", "<a@example.org>", 0, `<p><a href="mailto:a@example.org">a@example.org</a></p>` + "\n"},
		{"data image becomes its alt text", "![chart](data:image/png;base64,AAAA)", 0, "<p>chart</p>\n"},
		{"remote image", "![chart](https://example.org/c.png)", 0, `<p><img src="https://example.org/c.png" alt="chart" loading="lazy" referrerpolicy="no-referrer"></p>` + "\n"},
		{"raw HTML block", "<script>alert(1)</script>", 0, "<!-- raw HTML omitted -->\n"},
		{"raw inline HTML", "a <img src=x onerror=alert(1)> b", 0, "<p>a <!-- raw HTML omitted --> b</p>\n"},
		{"table", "| a | b |\n|---|---|\n| 1 | 2 |", 0, "<table>\n<thead>\n<tr>\n<th>a</th>\n<th>b</th>\n</tr>\n</thead>\n<tbody>\n<tr>\n<td>1</td>\n<td>2</td>\n</tr>\n</tbody>\n</table>\n"},
		{"strikethrough", "~~old~~", 0, "<p><del>old</del></p>\n"},
		{"empty", "  \n", 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := renderMarkdown(tt.src, tt.shift)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("renderMarkdown(%q) =\n%s\nwant\n%s", tt.src, got, tt.want)
			}
		})
	}
}

func TestSafeURL(t *testing.T) {
	for u, want := range map[string]bool{
		"https://example.org":         true,
		"HTTP://example.org/x":        true,
		"mailto:a@example.org":        true,
		"https:":                      false,
		"https://":                    false,
		"mailto:":                     false,
		"javascript:alert(1)":         false,
		" javascript:alert(1)":        false,
		"java\tscript:alert(1)":       false,
		"https://exa mple.org":        false,
		"data:text/html,x":            false,
		"ftp://example.org":           false,
		"//example.org":               false,
		"products/acme/fhir.html":     false,
		"https://example.org/\x00":    false,
		strings.Repeat("a", 10) + ":": false,
	} {
		if got := safeURL(u) != ""; got != want {
			t.Errorf("safeURL(%q) allowed = %v, want %v", u, got, want)
		}
	}
}

func TestSlugTitle(t *testing.T) {
	for in, want := range map[string]string{
		"fhir-server": "FHIR server", "cds": "CDS", "smart-app": "SMART app", "database": "Database",
		"ehr": "EHR", "observability": "Observability",
	} {
		if got := slugTitle(in); got != want {
			t.Errorf("slugTitle(%q) = %q, want %q", in, got, want)
		}
	}
}
