package deploy

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// envKeyPattern is what ParseEnvFile accepts as a name. It is looser than rule 3 on purpose:
// CheckEnv then says what is wrong with a name like database_url and how to spell it.
var envKeyPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]*$`)

// ParseEnvFile reads a dotenv file: one KEY=value per line, with
//   - blank lines and lines starting with '#' ignored, and an optional "export " before KEY;
//   - unquoted values trimmed of surrounding blanks, and cut at a '#' that follows a blank;
//   - 'single-quoted' values taken literally, "double-quoted" values with the escapes \n, \r, \t,
//     \", \\ and \$ (another backslash stays as it is); either kind of quoted value may span
//     lines and be followed by a comment.
//
// Values are never interpolated: $OTHER stays as it is. Setting a name twice is an error, as is
// any line that is not one of the above. Every problem is reported, each as "line N: message".
func ParseEnvFile(r io.Reader) (map[string]string, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("reading the env file: %w", err)
	}
	text := strings.TrimPrefix(string(data), "\ufeff")
	text = strings.ReplaceAll(text, "\r\n", "\n")
	lines := strings.Split(text, "\n")

	env := map[string]string{}
	setOn := map[string]int{}
	var errs []error
	fail := func(line int, format string, args ...any) {
		errs = append(errs, fmt.Errorf("line %d: %s", line, fmt.Sprintf(format, args...)))
	}
	for i := 0; i < len(lines); i++ {
		n := i + 1
		line := strings.TrimLeft(lines[i], " \t")
		if strings.TrimSpace(line) == "" || line[0] == '#' {
			continue
		}
		if rest, ok := strings.CutPrefix(line, "export"); ok && rest != "" && (rest[0] == ' ' || rest[0] == '\t') {
			line = strings.TrimLeft(rest, " \t")
		}
		key, rest, ok := strings.Cut(line, "=")
		if !ok {
			fail(n, "expected KEY=value, got %q", strings.TrimSpace(line))
			continue
		}
		key = strings.TrimRight(key, " \t")
		if !envKeyPattern.MatchString(key) {
			fail(n, "%q is not a variable name", key)
			continue
		}

		var value string
		trimmed := strings.TrimLeft(rest, " \t")
		if trimmed != "" && (trimmed[0] == '"' || trimmed[0] == '\'') {
			v, after, last, ok := quoted(lines, i, trimmed)
			if !ok {
				fail(n, "%s: the value's opening %c is never closed", key, trimmed[0])
				break // the rest of the file is inside the quotes
			}
			i = last
			if after = strings.TrimLeft(after, " \t"); after != "" && after[0] != '#' {
				fail(last+1, "%s: unexpected %q after the closing quote", key, after)
				continue
			}
			value = v
		} else {
			value = strings.TrimSpace(cutComment(rest))
		}

		if first, dup := setOn[key]; dup {
			fail(n, "%s is set again (first on line %d)", key, first)
			continue
		}
		setOn[key] = n
		env[key] = value
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return env, nil
}

// quoted reads a quoted value that starts at s (the opening quote) on lines[i] and may continue
// on the following lines. It returns the value, the text after the closing quote, the index of
// the line holding the closing quote, and whether there is one.
func quoted(lines []string, i int, s string) (value, after string, last int, ok bool) {
	q := s[0]
	var b strings.Builder
	body := s[1:]
	for {
		for j := 0; j < len(body); j++ {
			c := body[j]
			switch {
			case c == q:
				return b.String(), body[j+1:], i, true
			case c == '\\' && q == '"' && j+1 < len(body):
				j++
				switch body[j] {
				case 'n':
					b.WriteByte('\n')
				case 'r':
					b.WriteByte('\r')
				case 't':
					b.WriteByte('\t')
				case '"', '\\', '$':
					b.WriteByte(body[j])
				default:
					b.WriteByte('\\')
					b.WriteByte(body[j])
				}
			default:
				b.WriteByte(c)
			}
		}
		if i++; i >= len(lines) {
			return "", "", i, false
		}
		b.WriteByte('\n')
		body = lines[i]
	}
}

// cutComment drops a comment from an unquoted value: a '#' after a blank.
func cutComment(s string) string {
	for j := 0; j < len(s); j++ {
		if s[j] == '#' && j > 0 && (s[j-1] == ' ' || s[j-1] == '\t') {
			return s[:j]
		}
	}
	return s
}
