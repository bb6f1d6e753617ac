package site

import (
	"bytes"

	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
)

// maxMarkdownDepth is how deeply the rendered Markdown of a product file may nest. A run of
// asterisks, quote markers or indented list markers nests as deep as it is long (1 700
// asterisks made 800 nested <strong>), which browsers' HTML parsers do not build as written
// (Chromium and golang.org/x/net/html stop at 512 open elements) and which no description
// needs. What lies deeper is kept as its plain text.
const maxMarkdownDepth = 64

// boundDepth is a goldmark AST transformer that replaces every node nested deeper than
// maxMarkdownDepth with its text: an inline node with a string, a block with a paragraph of it.
// A list item is let through one level more, so that a list never holds a bare paragraph.
type boundDepth struct{}

func (boundDepth) Transform(doc *ast.Document, reader text.Reader, _ parser.Context) {
	source := reader.Source()
	var walk func(n ast.Node, depth int)
	walk = func(n ast.Node, depth int) {
		for c := n.FirstChild(); c != nil; {
			next := c.NextSibling()
			if depth >= maxMarkdownDepth && c.Kind() != ast.KindListItem {
				n.ReplaceChild(n, c, flattened(c, source))
			} else {
				walk(c, depth+1)
			}
			c = next
		}
	}
	walk(doc, 0)
}

// flattened returns the text of n's subtree as one node of n's type (inline or block).
func flattened(n ast.Node, source []byte) ast.Node {
	var b bytes.Buffer
	_ = ast.Walk(n, func(c ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch c := c.(type) {
		case *ast.Text:
			b.Write(c.Value(source))
			if c.SoftLineBreak() || c.HardLineBreak() {
				b.WriteByte(' ')
			}
		case *ast.String:
			b.Write(c.Value)
		default:
			if c.Type() == ast.TypeBlock && c.FirstChild() == nil {
				// Code blocks hold their text as lines, not children.
				lines := c.Lines()
				for i := range lines.Len() {
					seg := lines.At(i)
					b.Write(bytes.TrimRight(seg.Value(source), "\n"))
					b.WriteByte(' ')
				}
			}
		}
		return ast.WalkContinue, nil
	})
	s := ast.NewString(bytes.TrimSpace(b.Bytes()))
	if n.Type() != ast.TypeBlock {
		return s
	}
	p := ast.NewParagraph()
	p.AppendChild(p, s)
	return p
}
