package site

import (
	"bufio"
	"bytes"
	"html/template"
	"strings"
	"sync"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// Markdown from product files (descriptions, release notes) is written by ISVs, so it is rendered
// defensively:
//   - raw HTML is never passed through: goldmark without html.WithUnsafe replaces it with a comment;
//   - safeLinks drops every link and image destination that is not http, https, mailto or an
//     in-page #fragment, keeping the link's text (so javascript:, data:, vbscript:, file: and
//     relative paths that would not resolve in the output all disappear);
//   - external links get rel="nofollow noopener", remote images load lazily without a referrer;
//   - headings are shifted down so that they sit below the page's own h1/h2 outline;
//   - nothing nests deeper than maxMarkdownDepth (see boundDepth).

// markdownPool holds goldmark instances, each with the buffer it renders into: the package does
// not promise that one may convert concurrently, and pages render concurrently. Given any other
// writer, goldmark's renderer wraps it in a new 4 KiB bufio.Writer at every call.
var markdownPool = sync.Pool{New: func() any {
	m := &markdown{Markdown: goldmark.New(
		goldmark.WithExtensions(extension.Table, extension.Strikethrough, extension.Linkify, extension.TaskList),
		goldmark.WithParserOptions(parser.WithASTTransformers(util.Prioritized(safeLinks{}, 100), util.Prioritized(codeLanguages{}, 100), util.Prioritized(boundDepth{}, 50))),
	)}
	m.w = bufio.NewWriter(&m.buf)
	return m
}}

type markdown struct {
	goldmark.Markdown
	buf bytes.Buffer
	w   *bufio.Writer // onto buf
}

// renderMarkdown renders src as GitHub-flavoured Markdown, with headings moved down by shift
// levels (at most h6).
func renderMarkdown(src string, shift int) (template.HTML, error) {
	if strings.TrimSpace(src) == "" {
		return "", nil
	}
	md := markdownPool.Get().(*markdown)
	defer markdownPool.Put(md)
	source := []byte(src)
	doc := md.Parser().Parse(text.NewReader(source))
	if shift > 0 {
		_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
			if h, ok := n.(*ast.Heading); ok && entering {
				h.Level = min(h.Level+shift, 6)
			}
			return ast.WalkContinue, nil
		})
	}
	md.buf.Reset()
	md.w.Reset(&md.buf)
	if err := md.Renderer().Render(md.w, source, doc); err != nil {
		return "", err
	}
	if err := md.w.Flush(); err != nil {
		return "", err
	}
	return template.HTML(md.buf.String()), nil // #nosec: goldmark output without unsafe HTML, links filtered
}

// safeLinks is a goldmark AST transformer that neutralises link and image destinations outside
// an allow-list of schemes, and marks the links it keeps as external.
type safeLinks struct{}

// Transform implements parser.ASTTransformer.
func (safeLinks) Transform(doc *ast.Document, reader text.Reader, _ parser.Context) {
	source := reader.Source()
	var unsafe []ast.Node
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n := n.(type) {
		case *ast.Link:
			if !safeMarkdownURL(string(n.Destination)) {
				unsafe = append(unsafe, n)
			} else if isExternal(string(n.Destination)) {
				n.SetAttributeString("rel", []byte("nofollow noopener"))
			}
		case *ast.Image:
			// An image loads from http or https only: not an in-page #fragment, not mailto: (in
			// any case).
			if !safeMarkdownURL(string(n.Destination)) || !isExternal(string(n.Destination)) {
				unsafe = append(unsafe, n)
			} else {
				n.SetAttributeString("loading", []byte("lazy"))
				n.SetAttributeString("referrerpolicy", []byte("no-referrer"))
			}
		case *ast.AutoLink:
			url := string(n.URL(source))
			if n.AutoLinkType == ast.AutoLinkEmail {
				url = "mailto:" + url
			}
			if !safeMarkdownURL(url) {
				unsafe = append(unsafe, n)
			} else if isExternal(url) {
				n.SetAttributeString("rel", []byte("nofollow noopener"))
			}
		}
		return ast.WalkContinue, nil
	})
	// Replace after walking: changing the tree while ast.Walk visits it skips nodes.
	for _, n := range unsafe {
		parent := n.Parent()
		if parent == nil {
			continue
		}
		if a, ok := n.(*ast.AutoLink); ok {
			parent.ReplaceChild(parent, n, ast.NewString(a.Label(source)))
			continue
		}
		// Keep the link text (for an image: its alt text) in place of the link.
		for c := n.FirstChild(); c != nil; {
			next := c.NextSibling()
			parent.InsertBefore(parent, n, c)
			c = next
		}
		parent.RemoveChild(parent, n)
	}
}

// codeLanguages is a goldmark AST transformer that ends a fenced code block's language at the
// first character HTML reads as whitespace: goldmark ends it at a space only, and writes the rest
// (a tab, a form feed) into class="language-…", where it would start another class.
type codeLanguages struct{}

// Transform implements parser.ASTTransformer.
func (codeLanguages) Transform(doc *ast.Document, reader text.Reader, _ parser.Context) {
	source := reader.Source()
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		c, ok := n.(*ast.FencedCodeBlock)
		if !ok || !entering || c.Info == nil {
			return ast.WalkContinue, nil
		}
		seg := c.Info.Segment
		if i := bytes.IndexAny(seg.Value(source), " \t\n\f\r"); i == 0 {
			c.Info = nil
		} else if i > 0 {
			c.Info = ast.NewTextSegment(text.NewSegment(seg.Start, seg.Start+i))
		}
		return ast.WalkSkipChildren, nil
	})
}

// safeMarkdownURL reports whether a Markdown destination may be emitted: an absolute http, https
// or mailto URL, or an in-page #fragment. Browsers ignore tabs, newlines and leading control
// characters in a scheme, so those are removed before looking at it.
func safeMarkdownURL(dest string) bool {
	if strings.HasPrefix(dest, "#") {
		return true
	}
	return safeURL(dest) != ""
}

// safeURL returns u when it is an absolute http, https or mailto URL, and "" otherwise: what the
// site will put in an href. Everything else is shown as text.
func safeURL(u string) string {
	clean := strings.Map(func(r rune) rune {
		if r <= ' ' || r == 0x7f {
			return -1
		}
		return r
	}, u)
	scheme, rest, ok := strings.Cut(clean, ":")
	if !ok {
		return ""
	}
	switch strings.ToLower(scheme) {
	case "http", "https":
		if !strings.HasPrefix(rest, "//") || len(rest) == 2 {
			return ""
		}
	case "mailto":
		if rest == "" {
			return ""
		}
	default:
		return ""
	}
	if clean != u {
		return "" // hidden characters in a URL are a trick, not a typo worth repairing
	}
	return u
}

func isExternal(u string) bool {
	l := strings.ToLower(u)
	return strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://")
}
