package site

import (
	"strings"
	"testing"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// TestMarkdownDepthBounded: emphasis, quotes and lists nested far deeper than any description
// needs render no deeper than maxMarkdownDepth (and so parse as written), keep their text, and
// leave ordinary nesting alone.
func TestMarkdownDepthBounded(t *testing.T) {
	var list strings.Builder
	for i := range 200 {
		list.WriteString(strings.Repeat("  ", i) + "- level\n")
	}
	list.WriteString(strings.Repeat("  ", 200) + "- bottom of the list\n")
	for name, src := range map[string]string{
		"emphasis": strings.Repeat("*", 1700) + "deep emphasis" + strings.Repeat("*", 1700),
		"quotes":   strings.Repeat("> ", 700) + "deep quote",
		"lists":    list.String(),
		"code":     strings.Repeat("> ", 300) + "```\ndeep code\n```",
	} {
		out, err := renderMarkdown(src, 0)
		if err != nil {
			t.Fatal(err)
		}
		nodes, err := html.ParseFragment(strings.NewReader(string(out)), &html.Node{Type: html.ElementNode, Data: "div", DataAtom: atom.Div})
		if err != nil {
			t.Fatalf("%s: the output does not parse: %v", name, err)
		}
		deepest := 0
		var depth func(n *html.Node, d int)
		depth = func(n *html.Node, d int) {
			deepest = max(deepest, d)
			for c := n.FirstChild; c != nil; c = c.NextSibling {
				depth(c, d+1)
			}
		}
		for _, n := range nodes {
			depth(n, 1)
		}
		if deepest > maxMarkdownDepth+2 {
			t.Errorf("%s: nests %d deep, want at most %d", name, deepest, maxMarkdownDepth+2)
		}
		want := map[string]string{"emphasis": "deep emphasis", "quotes": "deep quote", "lists": "bottom of the list", "code": "deep code"}[name]
		if !strings.Contains(string(out), want) {
			t.Errorf("%s: the deepest text %q was lost", name, want)
		}
	}
	if got, _ := renderMarkdown("> **a *b* c**\n>\n> - x\n>   - y", 0); !strings.Contains(string(got), "<strong>a <em>b</em> c</strong>") || !strings.Contains(string(got), "<li>y</li>") {
		t.Errorf("ordinary nesting changed:\n%s", got)
	}
}
