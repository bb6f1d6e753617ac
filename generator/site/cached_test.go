package site

import (
	"html/template"
	"strings"
	"testing"
)

// TestCached checks that "cached" renders a template once per distinct keys and pastes the
// same HTML for the same keys, escaped as HTML where the page calls it.
func TestCached(t *testing.T) {
	renders := 0
	tmpl := template.New("t").Funcs(template.FuncMap{"cached": unboundCached, "count": func() int { renders++; return renders }})
	template.Must(tmpl.Parse(`{{define "x"}}<b>{{.}}</b>#{{count}}{{end}}` +
		`{{cached "x" "a<" "k1"}}|{{cached "x" "ignored" "k1"}}|{{cached "x" "c" "k2"}}|{{cached "x" "d" 1}}|{{cached "x" "e" "1"}}`))
	tmpl.Funcs(template.FuncMap{"cached": bindCached(tmpl)})
	var b strings.Builder
	if err := tmpl.Execute(&b, nil); err != nil {
		t.Fatal(err)
	}
	const want = `<b>a&lt;</b>#1|<b>a&lt;</b>#1|<b>c</b>#2|<b>d</b>#3|<b>e</b>#4`
	if b.String() != want {
		t.Errorf("got  %s\nwant %s", b.String(), want)
	}
	if renders != 4 {
		t.Errorf("rendered %d times, want 4 (once per distinct keys; 1 and \"1\" differ)", renders)
	}
}
