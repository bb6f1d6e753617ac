package catalog

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// An SVG logo is published byte for byte and served from the marketplace's own origin, so a
// visitor who opens it directly would run whatever it holds there. ActiveSVG parses the file as
// XML (as a browser does for image/svg+xml) and refuses everything that can run script, load
// something from elsewhere, or change how the rest of the file is read:
//
//   - script, foreignObject, handler and listener elements, in any namespace, and any element
//     in the XHTML or XML Events namespace;
//   - event-handler attributes (on*), in any namespace and any case;
//   - links (href in any namespace: xlink:href, href, on a, use, image, feImage …) that are not
//     same-document fragments ("#id"), after entity decoding and with the whitespace and control
//     characters a URL parser ignores removed;
//   - animation (animate, set …) of href, style or an event handler;
//   - CSS, in style elements and in every attribute (presentation attributes are CSS too), with
//     url() not pointing at a fragment, @import, image-set(), or a CSS escape (\) that could spell
//     either;
//   - xml:base, which would make a "#id" link point elsewhere;
//   - DOCTYPE and ENTITY declarations, and processing instructions other than the XML declaration
//     (xml-stylesheet).
//
// It is an allow-by-construction check: a file that does not parse as well-formed UTF-8 XML is
// refused too, because a browser and this parser could then disagree about what it holds.

// svgProblem is one active construct found in an SVG file.
type svgProblem struct {
	line int
	what string
}

// Namespaces whose elements are never accepted in an SVG asset.
const (
	xhtmlNS     = "http://www.w3.org/1999/xhtml"
	xmlEventsNS = "http://www.w3.org/2001/xml-events"
	xmlNS       = "http://www.w3.org/XML/1998/namespace"
)

// activeElements are refused in any namespace (compared in lower case).
var activeElements = map[string]bool{"script": true, "foreignobject": true, "handler": true, "listener": true}

// animationElements can set an attribute of their target.
var animationElements = map[string]bool{"animate": true, "set": true, "animatetransform": true, "animatemotion": true, "animatecolor": true}

// ActiveSVG returns a description of the first active or external construct in data, an SVG
// file, and the line it is on; "" when there is none. See the comment above for what counts.
func ActiveSVG(data []byte) (problem string, line int) {
	p := checkSVG(data)
	if p == nil {
		return "", 0
	}
	return p.what, p.line
}

func checkSVG(data []byte) *svgProblem {
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	// No CharsetReader: a declared encoding other than UTF-8 is an error, so the bytes checked
	// are the bytes a browser reads.
	var styleDepth int // > 0 inside a style element
	var depth int
	var style strings.Builder
	styleLine := 0
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := d.InputPos()
		if err != nil {
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				return &svgProblem{se.Line, "is not well-formed XML: " + se.Msg}
			}
			return &svgProblem{line, "is not well-formed XML: " + err.Error()}
		}
		switch t := tok.(type) {
		case xml.Directive:
			return &svgProblem{line, fmt.Sprintf("has a <!%s> declaration: DOCTYPE and ENTITY declarations are not allowed", firstWord(string(t)))}
		case xml.ProcInst:
			if t.Target != "xml" || depth > 0 {
				return &svgProblem{line, fmt.Sprintf("has the processing instruction <?%s?>: only the XML declaration is allowed", t.Target)}
			}
			if !utf8Declaration(t.Inst) {
				return &svgProblem{line, "declares an encoding other than UTF-8"}
			}
		case xml.StartElement:
			depth++
			if p := checkElement(t, line); p != nil {
				return p
			}
			if localPart(t.Name.Local) == "style" {
				if styleDepth == 0 {
					style.Reset()
					styleLine = line
				}
				styleDepth++
			}
		case xml.EndElement:
			depth--
			if localPart(t.Name.Local) == "style" && styleDepth > 0 {
				styleDepth--
				if styleDepth == 0 {
					if what := activeCSS(style.String()); what != "" {
						return &svgProblem{styleLine, "has a style element with " + what}
					}
				}
			}
		case xml.CharData:
			if styleDepth > 0 {
				style.Write(t)
			}
		}
	}
	if depth != 0 {
		return &svgProblem{1, "is not well-formed XML: unclosed element"}
	}
	return nil
}

func checkElement(e xml.StartElement, line int) *svgProblem {
	local := localPart(e.Name.Local)
	switch {
	case activeElements[local]:
		return &svgProblem{line, fmt.Sprintf("has a <%s> element", e.Name.Local)}
	case e.Name.Space == xhtmlNS || e.Name.Space == xmlEventsNS:
		return &svgProblem{line, fmt.Sprintf("has a <%s> element in the %s namespace", e.Name.Local, e.Name.Space)}
	}
	for _, a := range e.Attr {
		alocal := localPart(a.Name.Local)
		switch {
		case a.Name.Space == "xmlns" || (a.Name.Space == "" && alocal == "xmlns"):
			// A namespace declaration: no other rule of the switch applies, the url() check does.
		case alocal == "base" && (a.Name.Space == xmlNS || a.Name.Space == "xml"):
			// xml:base would turn a same-document "#id" into a link to wherever it points.
			return &svgProblem{line, fmt.Sprintf("has an xml:base attribute on <%s>", e.Name.Local)}
		case a.Name.Space == xmlEventsNS:
			return &svgProblem{line, fmt.Sprintf("has the XML Events attribute %s on <%s>", a.Name.Local, e.Name.Local)}
		case strings.HasPrefix(alocal, "on"):
			return &svgProblem{line, fmt.Sprintf("has the event-handler attribute %s on <%s>", a.Name.Local, e.Name.Local)}
		case alocal == "href":
			if !isFragment(a.Value) {
				return &svgProblem{line, fmt.Sprintf("links to %q from <%s>: only same-document links (\"#id\") are allowed", shorten(a.Value), e.Name.Local)}
			}
		case animationElements[local] && alocal == "attributename":
			target := strings.ToLower(strings.TrimSpace(a.Value))
			if _, after, ok := strings.Cut(target, ":"); ok {
				target = after
			}
			if target == "href" || target == "style" || strings.HasPrefix(target, "on") {
				return &svgProblem{line, fmt.Sprintf("has <%s> changing the %s attribute", e.Name.Local, strings.TrimSpace(a.Value))}
			}
		}
		// Every attribute, in any namespace or none: a prefix the document does not declare
		// (A:fill) is a name in no namespace to an HTML parser, which then reads its url().
		if what := activeCSS(a.Value); what != "" {
			return &svgProblem{line, fmt.Sprintf("has a %s attribute on <%s> with %s", a.Name.Local, e.Name.Local, what)}
		}
	}
	return nil
}

// localPart is a name as the checks compare it: folded to lower case, and from its last colon
// on. encoding/xml leaves a name it cannot split into prefix and local part whole (":href",
// "a:b:onload"), while an HTML parser reading inline SVG takes the part after the last colon
// for a prefixed name it knows, and no browser builds an XML document from such a name: the
// checks treat it as the attribute or element it ends with.
func localPart(name string) string {
	if i := strings.LastIndexByte(name, ':'); i >= 0 {
		name = name[i+1:]
	}
	return strings.ToLower(name)
}

// isFragment reports whether a link value is a same-document fragment, read the way a URL
// parser reads it: leading and trailing C0 controls and spaces are dropped, and tabs and line
// breaks are removed anywhere.
func isFragment(v string) bool {
	v = strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return -1
		}
		return r
	}, v)
	v = strings.TrimFunc(v, func(r rune) bool { return r <= 0x20 })
	return strings.HasPrefix(v, "#")
}

// activeCSS describes what in css could load from elsewhere, or "" when nothing can.
func activeCSS(css string) string {
	if strings.Contains(css, `\`) {
		return `a CSS escape (\): escapes could spell url( or @import`
	}
	// Comments separate tokens, but inside url( … ) they are part of the URL: check both readings.
	lower := strings.ToLower(css)
	if what := activeCSSText(lower); what != "" {
		return what
	}
	return activeCSSText(stripCSSComments(lower))
}

func activeCSSText(lower string) string {
	for _, f := range []string{"@import", "image-set(", "image(", "element(", "src(", "expression("} {
		if strings.Contains(lower, f) {
			return strings.TrimSuffix(f, "(") + ": only url(#id) references are allowed"
		}
	}
	for rest := lower; ; {
		i := strings.Index(rest, "url(")
		if i < 0 {
			return ""
		}
		rest = rest[i+len("url("):]
		arg := strings.TrimLeft(rest, " \t\n\r\f")
		arg = strings.TrimLeft(arg, `"'`)
		if !strings.HasPrefix(arg, "#") {
			end := strings.IndexByte(arg, ')')
			if end < 0 {
				end = len(arg)
			}
			return fmt.Sprintf("url(%s): only url(#id) references are allowed", shorten(strings.TrimRight(arg[:end], `"' `)))
		}
	}
}

// stripCSSComments removes /* … */ comments, which CSS ignores between tokens.
func stripCSSComments(css string) string {
	var b strings.Builder
	for {
		i := strings.Index(css, "/*")
		if i < 0 {
			b.WriteString(css)
			return b.String()
		}
		b.WriteString(css[:i])
		j := strings.Index(css[i+2:], "*/")
		if j < 0 {
			return b.String()
		}
		css = css[i+2+j+2:]
	}
}

func utf8Declaration(inst []byte) bool {
	s := string(inst)
	i := strings.Index(s, "encoding")
	if i < 0 {
		return true
	}
	rest := strings.TrimLeft(s[i+len("encoding"):], " \t\r\n=")
	rest = strings.Trim(rest, " \t\r\n")
	rest = strings.TrimLeft(rest, `"'`)
	return strings.HasPrefix(strings.ToLower(rest), "utf-8")
}

func firstWord(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, " \t\r\n["); i >= 0 {
		return s[:i]
	}
	return s
}

func shorten(s string) string {
	if r := []rune(s); len(r) > 40 {
		return string(r[:40]) + "…"
	}
	return s
}
