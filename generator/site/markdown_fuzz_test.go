package site

import (
	"regexp"
	"strings"
	"testing"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// FuzzMarkdown renders arbitrary Markdown and parses the result as a browser would: every element
// and attribute must be on an allow-list of what Markdown produces, and every link a safe one.
// The allow-list is written here, apart from the renderer, so that a goldmark upgrade or a new
// extension that lets something through fails this test instead of shipping.
func FuzzMarkdown(f *testing.F) {
	for _, s := range []string{
		"Hello *world* and **bold** `code`",
		"# Title\n\n## Sub\n\n> quote\n\n- a\n- [x] done\n\n1. one\n\n---\n",
		"[docs](https://example.org/docs \"title\") [up](#top) <https://example.org> a@example.org",
		"[x](javascript:alert(1)) [y](java&#x09;script:alert(1)) ![i](data:image/png;base64,AAAA)",
		"<script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n\n<a href=\"javascript:alert(1)\">x</a>",
		"| a | b |\n|:--|--:|\n| 1 | <b>2</b> |",
		"```html\n<script>alert(1)</script>\n```",
		"[x][r]\n\n[r]: javascript:alert(1) \"t\"",
		"![alt *x*](https://example.org/a.png) ~~old~~",
		"<svg onload=alert(1)>\n<style>*{}</style>",
		"[a](<javascript:alert(1)>) [b](  JAVASCRIPT:x) [c](//evil.example) [d](mailto:a@b)",
	} {
		f.Add(s, 0)
		f.Add(s, 2)
	}
	f.Fuzz(func(t *testing.T, src string, shift int) {
		shift = min(max(shift, 0), 6)
		out, err := renderMarkdown(src, shift)
		if err != nil {
			t.Fatalf("renderMarkdown(%q): %v", src, err)
		}
		nodes, err := html.ParseFragment(strings.NewReader(string(out)), &html.Node{Type: html.ElementNode, Data: "div", DataAtom: atom.Div})
		if err != nil {
			t.Fatalf("parsing the output: %v\n%s", err, out)
		}
		for _, top := range nodes {
			for n := range top.Descendants() {
				checkMarkdownNode(t, src, string(out), n)
			}
			checkMarkdownNode(t, src, string(out), top)
		}
	})
}

// markdownElements are the elements GitHub-flavoured Markdown may produce, with the attributes
// each may carry.
var markdownElements = map[string][]string{
	"p": nil, "em": nil, "strong": nil, "code": {"class"}, "pre": nil, "blockquote": nil, "hr": nil, "br": nil,
	"h1": nil, "h2": nil, "h3": nil, "h4": nil, "h5": nil, "h6": nil,
	"ul": nil, "ol": {"start"}, "li": nil, "del": nil,
	"table": nil, "thead": nil, "tbody": nil, "tr": nil, "th": {"style", "align"}, "td": {"style", "align"},
	"a":     {"href", "title", "rel"},
	"img":   {"src", "alt", "title", "loading", "referrerpolicy"},
	"input": {"checked", "disabled", "type"},
}

var (
	alignStyle = regexp.MustCompile(`^text-align:(left|right|center)$`)
	codeClass  = regexp.MustCompile(`^language-\S+$`)
)

func checkMarkdownNode(t *testing.T, src, out string, n *html.Node) {
	t.Helper()
	if n.Type != html.ElementNode {
		return
	}
	allowed, ok := markdownElements[n.Data]
	if !ok || n.Namespace != "" {
		t.Fatalf("Markdown %q renders a <%s> element (namespace %q):\n%s", src, n.Data, n.Namespace, out)
	}
	for _, a := range n.Attr {
		if a.Namespace != "" || !contains(allowed, a.Key) {
			t.Fatalf("Markdown %q renders <%s %s=%q>:\n%s", src, n.Data, a.Key, a.Val, out)
		}
		bad := false
		switch a.Key {
		case "href":
			bad = !strings.HasPrefix(a.Val, "#") && !webOrMail(a.Val)
		case "src":
			bad = !webOrMail(a.Val) || strings.HasPrefix(strings.ToLower(a.Val), "mailto:")
		case "style":
			bad = !alignStyle.MatchString(a.Val)
		case "class":
			bad = !codeClass.MatchString(a.Val)
		case "type":
			bad = a.Val != "checkbox"
		case "rel":
			bad = a.Val != "nofollow noopener"
		}
		if bad {
			t.Fatalf("Markdown %q renders <%s %s=%q>:\n%s", src, n.Data, a.Key, a.Val, out)
		}
	}
}

// webOrMail reports whether u is an absolute http(s) URL or a mailto: URL, with no character a
// URL parser would drop or a browser would read as something else.
func webOrMail(u string) bool {
	for _, r := range u {
		if r <= ' ' || r == 0x7f {
			return false
		}
	}
	l := strings.ToLower(u)
	switch {
	case strings.HasPrefix(l, "https://"), strings.HasPrefix(l, "http://"):
		// The property is the scheme: a web link, never script or data. Whether the rest makes
		// a usable address (a host at all, a valid one) is the author's problem, not a hazard.
		return true
	case strings.HasPrefix(l, "mailto:"):
		return len(l) > len("mailto:")
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
