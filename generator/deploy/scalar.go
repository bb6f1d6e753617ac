package deploy

import (
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Scalars: how yaml.v3 writes a string, in block context. Its encoder asks for a style (literal
// when the string has a newline, plain when it would read back as the same string, else
// double-quoted), and its emitter, having looked at the characters, keeps it or falls back to
// single, then double quotes. The functions below follow encode.go (stringv, and node for the
// keys of a mapping), resolve.go (resolve) and emitterc.go (yaml_emitter_analyze_scalar,
// yaml_emitter_select_scalar_style and the writers) of go.yaml.in/yaml/v3, v3.0.4. Line width is
// unlimited there by default, so nothing is folded.

type scalarStyle uint8

const (
	plain scalarStyle = iota
	singleQuoted
	doubleQuoted
	literal
	complexKey // a key yaml.v3 writes as "? key": left to yaml.v3
	binary     // not UTF-8: yaml.v3 writes !!binary base64, left to it
	merge      // "<<", the merge key: written !!merge << after a yaml.Node round trip, left to yaml.v3
)

// appendValue writes string s as a block mapping value or sequence item, after its space, and
// ends the line. ind is the indentation of the lines of a literal scalar.
func appendValue(out []byte, s string, ind int) []byte {
	if isPlainWord(s) {
		return append(append(out, s...), '\n')
	}
	switch valueStyle(s) {
	case plain:
		out = append(out, s...)
	case singleQuoted:
		out = appendSingleQuoted(out, s, ind)
	case doubleQuoted:
		out = appendDoubleQuoted(out, s)
	case literal:
		return appendLiteral(out, s, ind)
	default:
		panic(errFallback)
	}
	return append(out, '\n')
}

// scalarInfo is what yaml.v3's emitter (yaml_emitter_analyze_scalar) learns of a scalar, in
// block context.
type scalarInfo struct {
	multiline    bool
	plainAllowed bool
	singleOK     bool
	blockOK      bool
}

// valueStyle returns the style yaml.v3 writes string s in, as a value in block context.
func valueStyle(s string) scalarStyle { return styleOf(s, asValue) }

// keyStyle is the style of s as the key of a map or a struct field.
func keyStyle(s string) scalarStyle { return styleOf(s, asKey) }

// nodeKeyStyle is the style of s as the key of a mapping: MarshalYAML makes a !!str node of it,
// which yaml.v3 writes plain when it resolves as a string (YAML 1.1 booleans such as "ON"
// included), else double-quoted.
func nodeKeyStyle(s string) scalarStyle { return styleOf(s, asNodeKey) }

// role is where a scalar goes.
type role uint8

const (
	asValue   role = iota // a string, as a value in a block collection
	asKey                 // a string, as a simple key
	asNodeKey             // a !!str node, as a simple key
)

// styleOf returns the style yaml.v3 writes string s in, in block context: what its encoder asks
// for (requestedStyle), then what its emitter allows (allowedStyle) once it has looked at the
// characters (quickInfo, analyzeScalar). There is one exception: yaml.v3 writes a literal
// block whose first line starts with a tab, which no parser reads, its own included ("found a
// tab character where an indentation space is expected"); the emitter double-quotes it.
func styleOf(s string, r role) scalarStyle {
	if s == "<<" {
		return merge
	}
	info, simple := quickInfo(s)
	if !simple {
		if !utf8.ValidString(s) {
			return binary
		}
		info = analyzeScalar(s)
	}
	isKey := r != asValue
	if isKey && (info.multiline || len(s) > 128) {
		return complexKey // yaml.v3 writes a key on several lines, or of over 128 bytes, as "? key"
	}
	style := allowedStyle(requestedStyle(s, r != asNodeKey, !simple), info, isKey, s == "")
	if style == literal && s[0] == '\t' {
		style = doubleQuoted
	}
	return style
}

// requestedStyle is the style yaml.v3 asks its emitter for: literal for several lines, plain
// when s reads back as a string, else double-quoted. Strings (not nodes) that YAML 1.1 reads as
// booleans or sexagesimal numbers are double-quoted too. lines tells whether s may hold a
// newline.
func requestedStyle(s string, yaml11, lines bool) scalarStyle {
	switch {
	case lines && strings.IndexByte(s, '\n') >= 0:
		return literal
	case s != "" && startsString[s[0]]:
		return plain // resolve reads it as a string at first sight, and YAML 1.1 too
	case !resolvesToStr(s), yaml11 && (isBase60Float(s) || isOldBool(s)):
		return doubleQuoted
	}
	return plain
}

// allowedStyle is yaml_emitter_select_scalar_style, in block context.
func allowedStyle(style scalarStyle, info scalarInfo, simpleKey, empty bool) scalarStyle {
	if simpleKey && info.multiline {
		style = doubleQuoted
	}
	if style == plain {
		if !info.plainAllowed || empty && simpleKey {
			style = singleQuoted
		}
	}
	if style == singleQuoted && !info.singleOK {
		style = doubleQuoted
	}
	if style == literal && (!info.blockOK || simpleKey) {
		style = doubleQuoted
	}
	return style
}

// quickInfo is analyzeScalar for the common case, a string of printable ASCII without spaces
// (ok is false for any other s): no line breaks, tabs or special characters, so single quotes
// and literal blocks are allowed, and plain too unless s starts with an indicator, is a lone
// '-', '?' or ':', ends with ':', or starts with "---" or "...".
func quickInfo(s string) (info scalarInfo, ok bool) {
	if s == "" {
		return info, false
	}
	if !isGraphicASCII(s) {
		return info, false
	}
	info = scalarInfo{plainAllowed: true, singleOK: true, blockOK: true}
	switch s[0] {
	case '#', ',', '[', ']', '{', '}', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`':
		info.plainAllowed = false
	case '?', ':', '-':
		if len(s) == 1 {
			info.plainAllowed = false
		}
	}
	if len(s) > 1 && s[len(s)-1] == ':' || strings.HasPrefix(s, "---") || strings.HasPrefix(s, "...") {
		info.plainAllowed = false
	}
	return info, true
}

// isPlainWord is the common case of valueStyle, keyStyle and nodeKeyStyle (but the length
// limit of keys): s is printable ASCII without spaces, does not end with ':', and starts with a
// character of plainStart, or with the first letter of a boolean or null (y, n, t, f, o) but is
// none of them, so yaml.v3 writes it plain (see quickInfo and requestedStyle).
func isPlainWord(s string) bool {
	if s == "" || s[len(s)-1] == ':' {
		return false
	}
	switch c := s[0]; {
	case plainStart[c]:
	case c == 'y' || c == 'Y' || c == 'n' || c == 'N' || c == 't' || c == 'T' || c == 'f' || c == 'F' || c == 'o' || c == 'O':
		if len(s) <= len("false") && (isSpecial(s) || isOldBool(s)) {
			return false
		}
	default:
		return false
	}
	return isGraphicASCII(s[1:])
}

// isGraphicASCII reports whether s is printable ASCII without spaces ('!' to '~'), eight bytes
// at a time.
func isGraphicASCII(s string) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		del := w ^ 0x7F*ones
		// A byte of 0x80 or more, below '!', or equal to DEL.
		if (w|(w-0x21*ones)|(del-ones)&^del)&highs != 0 {
			return false
		}
	}
	for ; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// plainStart marks the characters that start a plain scalar whatever follows them, when the
// rest is printable ASCII without spaces and does not end with ':': the characters of
// startsString that are not indicators (nor '<', for "<<").
var plainStart = func() (t [256]bool) {
	t = startsString
	for _, c := range "#,[]{}&*!|>'\"%@`?:<" {
		t[c] = false
	}
	return t
}()

// startsString marks the printable ASCII characters (but space) after which yaml.v3's resolve
// reads a plain scalar as a string without a second look: all but signs, digits, '.', '~', and
// the first letters of booleans and nulls (y, n, t, f, o in either case).
var startsString = func() (t [256]bool) {
	for c := '!'; c <= '~'; c++ {
		t[c] = true
	}
	for _, c := range "+-0123456789.yYnNtTfFoO~" {
		t[c] = false
	}
	return t
}()

// analyzeScalar is yaml_emitter_analyze_scalar for block context and a valid UTF-8 s.
func analyzeScalar(s string) scalarInfo {
	if s == "" {
		return scalarInfo{plainAllowed: true, singleOK: true}
	}
	var (
		blockIndicators, lineBreaks, specialCharacters, tabCharacters bool
		leadingSpace, leadingBreak, trailingSpace, trailingBreak      bool
		breakSpace, spaceBreak, previousSpace, previousBreak          bool
	)
	if strings.HasPrefix(s, "---") || strings.HasPrefix(s, "...") {
		blockIndicators = true
	}
	precededByWhitespace := true
	for i, w := 0, 0; i < len(s); i += w {
		w = width(s[i])
		followedByWhitespace := i+w >= len(s) || s[i+w] == ' ' || s[i+w] == '\t'
		if i == 0 {
			switch s[i] {
			case '#', ',', '[', ']', '{', '}', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`':
				blockIndicators = true
			case '?', ':', '-':
				if followedByWhitespace {
					blockIndicators = true
				}
			}
		} else {
			switch s[i] {
			case ':':
				if followedByWhitespace {
					blockIndicators = true
				}
			case '#':
				if precededByWhitespace {
					blockIndicators = true
				}
			}
		}
		if s[i] == '\t' {
			tabCharacters = true
		} else if !isPrintable(s, i) {
			specialCharacters = true
		}
		if s[i] == ' ' {
			if i == 0 {
				leadingSpace = true
			}
			if i+w == len(s) {
				trailingSpace = true
			}
			if previousBreak {
				breakSpace = true
			}
			previousSpace, previousBreak = true, false
		} else if isBreak(s, i) {
			lineBreaks = true
			if i == 0 {
				leadingBreak = true
			}
			if i+w == len(s) {
				trailingBreak = true
			}
			if previousSpace {
				spaceBreak = true
			}
			previousSpace, previousBreak = false, true
		} else {
			previousSpace, previousBreak = false, false
		}
		precededByWhitespace = s[i] == ' ' || s[i] == '\t' || s[i] == 0 || isBreak(s, i)
	}
	info := scalarInfo{multiline: lineBreaks, plainAllowed: true, singleOK: true, blockOK: true}
	if leadingSpace || leadingBreak || trailingSpace || trailingBreak {
		info.plainAllowed = false
	}
	if trailingSpace {
		info.blockOK = false
	}
	if breakSpace {
		info.plainAllowed, info.singleOK = false, false
	}
	if spaceBreak || tabCharacters || specialCharacters {
		info.plainAllowed, info.singleOK = false, false
	}
	if spaceBreak || specialCharacters {
		info.blockOK = false
	}
	if lineBreaks || blockIndicators {
		info.plainAllowed = false
	}
	return info
}

// width is the length of the UTF-8 sequence that starts with byte b.
func width(b byte) int {
	switch {
	case b&0x80 == 0x00:
		return 1
	case b&0xE0 == 0xC0:
		return 2
	case b&0xF0 == 0xE0:
		return 3
	case b&0xF8 == 0xF0:
		return 4
	}
	return 0
}

// isPrintable is yaml.v3's is_printable: what it writes as is in a double-quoted scalar.
// Characters beyond the Basic Multilingual Plane are not.
func isPrintable(s string, i int) bool {
	b := s[i]
	return b == 0x0A ||
		b >= 0x20 && b <= 0x7E ||
		b == 0xC2 && s[i+1] >= 0xA0 ||
		b > 0xC2 && b < 0xED ||
		b == 0xED && s[i+1] < 0xA0 ||
		b == 0xEE ||
		b == 0xEF && !(s[i+1] == 0xBB && s[i+2] == 0xBF) && !(s[i+1] == 0xBF && (s[i+2] == 0xBE || s[i+2] == 0xBF))
}

// isBreak reports a line break: CR, LF, NEL, LS or PS.
func isBreak(s string, i int) bool {
	switch s[i] {
	case '\r', '\n':
		return true
	case 0xC2:
		return s[i+1] == 0x85
	case 0xE2:
		return s[i+1] == 0x80 && (s[i+2] == 0xA8 || s[i+2] == 0xA9)
	}
	return false
}

// resolvesToStr reports whether plain s reads back as a string (yaml.v3's resolve).
func resolvesToStr(s string) bool {
	if s == "" {
		return false // null
	}
	switch c := s[0]; {
	case c == '+' || c == '-' || c >= '0' && c <= '9':
		if isSpecial(s) {
			return false
		}
		if parseTimestamp(s) {
			return false
		}
		p := strings.ReplaceAll(s, "_", "")
		if isYAMLFloat(p) {
			if _, err := strconv.ParseFloat(p, 64); err == nil {
				return false
			}
		}
		if !maybeInt(p) {
			return true // spares strconv's errors, which allocate
		}
		if _, err := strconv.ParseInt(p, 0, 64); err == nil {
			return false
		}
		if _, err := strconv.ParseUint(p, 0, 64); err == nil {
			return false
		}
		if rest, ok := strings.CutPrefix(p, "0b"); ok {
			if _, err := strconv.ParseInt(rest, 2, 64); err == nil {
				return false
			}
			if _, err := strconv.ParseUint(rest, 2, 64); err == nil {
				return false
			}
		} else if rest, ok := strings.CutPrefix(p, "-0b"); ok {
			if _, err := strconv.ParseInt("-"+rest, 2, 64); err == nil {
				return false
			}
		}
		if rest, ok := strings.CutPrefix(p, "0o"); ok {
			if _, err := strconv.ParseInt(rest, 8, 64); err == nil {
				return false
			}
			if _, err := strconv.ParseUint(rest, 8, 64); err == nil {
				return false
			}
		} else if rest, ok := strings.CutPrefix(p, "-0o"); ok {
			if _, err := strconv.ParseInt("-"+rest, 8, 64); err == nil {
				return false
			}
		}
		return true
	case c == '.':
		if isSpecial(s) {
			return false
		}
		_, err := strconv.ParseFloat(s, 64)
		return err != nil
	case strings.IndexByte("yYnNtTfFoO~", c) >= 0:
		return !isSpecial(s)
	}
	return true
}

// maybeInt reports whether s has only characters of Go integer literals (signs, hexadecimal
// digits, and the 0x, 0o and 0b prefixes), without which strconv cannot read it as one.
func maybeInt(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f', c >= 'A' && c <= 'F',
			c == '+', c == '-', c == 'x', c == 'X', c == 'o', c == 'O':
		default:
			return false
		}
	}
	return true
}

// isSpecial reports the plain scalars yaml.v3 reads as booleans, nulls, special floats and the
// merge key.
func isSpecial(s string) bool {
	switch s {
	case "true", "True", "TRUE", "false", "False", "FALSE",
		"~", "null", "Null", "NULL",
		".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF",
		"+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF",
		"<<":
		return true
	}
	return false
}

// isYAMLFloat matches ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$ (yaml.v3's
// yamlStyleFloat).
func isYAMLFloat(s string) bool {
	i := 0
	digits := func() int {
		n := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	} else {
		if digits() == 0 {
			return false
		}
		if i < len(s) && s[i] == '.' {
			i++
			digits()
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}

// parseTimestamp reports whether yaml.v3 reads plain s as a timestamp.
func parseTimestamp(s string) bool {
	i := 0
	for ; i < len(s); i++ {
		if c := s[i]; c < '0' || c > '9' {
			break
		}
	}
	if i != 4 || i == len(s) || s[i] != '-' {
		return false
	}
	for _, format := range []string{
		"2006-1-2T15:4:5.999999999Z07:00",
		"2006-1-2t15:4:5.999999999Z07:00",
		"2006-1-2 15:4:5.999999999",
		"2006-1-2",
	} {
		if _, err := time.Parse(format, s); err == nil {
			return true
		}
	}
	return false
}

// isBase60Float reports a YAML 1.1 sexagesimal number, which yaml.v3 quotes.
func isBase60Float(s string) bool {
	if s == "" {
		return false
	}
	c := s[0]
	if !(c == '+' || c == '-' || c >= '0' && c <= '9') || strings.IndexByte(s, ':') < 0 {
		return false
	}
	return base60float.MatchString(s)
}

var base60float = regexp.MustCompile(`^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`)

// isOldBool reports a YAML 1.1 boolean, which yaml.v3 quotes.
func isOldBool(s string) bool {
	switch s {
	case "y", "Y", "yes", "Yes", "YES", "on", "On", "ON",
		"n", "N", "no", "No", "NO", "off", "Off", "OFF":
		return true
	}
	return false
}

// appendSingleQuoted writes s single-quoted. Of line breaks, only those other than LF (which
// makes a literal scalar) get here; the line after one is indented by ind.
func appendSingleQuoted(out []byte, s string, ind int) []byte {
	out = append(out, '\'')
	breaks := false
	for i := 0; i < len(s); {
		w := width(s[i])
		switch {
		case s[i] == ' ':
			out = append(out, ' ')
		case isBreak(s, i):
			if !breaks && s[i] == '\n' {
				out = append(out, '\n')
			}
			out = append(out, s[i:i+w]...)
			breaks = true
		default:
			if breaks {
				out = appendSpaces(out, ind)
			}
			if s[i] == '\'' {
				out = append(out, '\'')
			}
			out = append(out, s[i:i+w]...)
			breaks = false
		}
		i += w
	}
	return append(out, '\'')
}

// appendDoubleQuoted writes s double-quoted, escaped as yaml.v3 escapes it (every character,
// when s starts with a byte order mark).
func appendDoubleQuoted(out []byte, s string) []byte {
	const hex = "0123456789ABCDEF"
	bom := strings.HasPrefix(s, "\uFEFF")
	out = append(out, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if !bom && c >= 0x20 && c <= 0x7E && c != '"' && c != '\\' {
			out = append(out, c)
			i++
			continue
		}
		w := width(c)
		if !bom && c != '"' && c != '\\' && isPrintable(s, i) && !isBreak(s, i) {
			out = append(out, s[i:i+w]...)
			i += w
			continue
		}
		r, _ := utf8.DecodeRuneInString(s[i:])
		i += w
		out = append(out, '\\')
		switch r {
		case 0x00:
			out = append(out, '0')
		case 0x07:
			out = append(out, 'a')
		case 0x08:
			out = append(out, 'b')
		case 0x09:
			out = append(out, 't')
		case 0x0A:
			out = append(out, 'n')
		case 0x0b:
			out = append(out, 'v')
		case 0x0c:
			out = append(out, 'f')
		case 0x0d:
			out = append(out, 'r')
		case 0x1b:
			out = append(out, 'e')
		case 0x22:
			out = append(out, '"')
		case 0x5c:
			out = append(out, '\\')
		case 0x85:
			out = append(out, 'N')
		case 0xA0:
			out = append(out, '_')
		case 0x2028:
			out = append(out, 'L')
		case 0x2029:
			out = append(out, 'P')
		default:
			n := 2
			switch {
			case r <= 0xFF:
				out = append(out, 'x')
			case r <= 0xFFFF:
				out = append(out, 'u')
				n = 4
			default:
				out = append(out, 'U')
				n = 8
			}
			for k := (n - 1) * 4; k >= 0; k -= 4 {
				out = append(out, hex[(r>>uint(k))&0x0F])
			}
		}
	}
	return append(out, '"')
}

// appendLiteral writes s as a literal block scalar ("|"), its lines indented by ind, with
// yaml.v3's indentation and chomping indicators, and ends the line.
func appendLiteral(out []byte, s string, ind int) []byte {
	out = append(out, '|')
	if s[0] == ' ' || isBreak(s, 0) {
		out = append(out, '2') // the indentation, when the first line cannot tell it
	}
	last := len(s) - 1
	for s[last]&0xC0 == 0x80 {
		last--
	}
	switch {
	case !isBreak(s, last):
		out = append(out, '-') // strip: no final line break
	case last == 0:
		out = append(out, '+') // keep: nothing but a line break
	default:
		prev := last - 1
		for s[prev]&0xC0 == 0x80 {
			prev--
		}
		if isBreak(s, prev) {
			out = append(out, '+') // keep: several final line breaks
		}
	}
	out = append(out, '\n')
	breaks := true
	for i := 0; i < len(s); {
		w := width(s[i])
		if isBreak(s, i) {
			if s[i] == '\n' {
				out = append(out, '\n')
			} else {
				out = append(out, s[i:i+w]...)
			}
			breaks = true
		} else {
			if breaks {
				out = appendSpaces(out, ind)
			}
			out = append(out, s[i:i+w]...)
			breaks = false
		}
		i += w
	}
	if !breaks {
		out = append(out, '\n')
	}
	return out
}
