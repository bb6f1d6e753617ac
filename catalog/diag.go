package catalog

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Severity says whether a diagnostic fails the check.
type Severity int

const (
	// Error diagnostics make validation fail.
	Error Severity = iota
	// Warning diagnostics are reported but do not fail validation.
	Warning
)

func (s Severity) String() string {
	if s == Warning {
		return "warning"
	}
	return "error"
}

// MarshalText encodes the severity as "error" or "warning".
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Diagnostic is one problem found in one file, positioned where the file has a position for it.
type Diagnostic struct {
	Path     string   `json:"path"`           // slash-separated, relative to the catalog root
	Line     int      `json:"line,omitempty"` // 1-based; 0 when the problem has no position (a missing file)
	Col      int      `json:"col,omitempty"`  // 1-based
	Severity Severity `json:"severity"`
	Message  string   `json:"message"`
	Rule     int      `json:"rule,omitempty"` // item of the seed's packaging rules; 0 when none applies
	Key      string   `json:"key,omitempty"`  // key path in the file, e.g. builds[0].tasks[1].memory
}

// Text returns the diagnostic as one go-vet style line: path:line:col: severity: message (rule N).
func (d Diagnostic) String() string {
	var b strings.Builder
	b.WriteString(d.Path)
	if d.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", d.Line, d.Col)
	}
	fmt.Fprintf(&b, ": %s: %s", d.Severity, d.Message)
	if d.Rule > 0 {
		fmt.Fprintf(&b, " (rule %d)", d.Rule)
	}
	return b.String()
}

// Diagnostics is a list of diagnostics, sorted by Sort into file, line, column order.
type Diagnostics []Diagnostic

// Sort orders the list by path, line, column, then message (then severity, rule and key, so
// that the order never depends on the order found), and drops exact duplicates.
func (ds *Diagnostics) Sort() {
	// Not a stable sort: with every field compared, only identical diagnostics tie, and an
	// unstable sort of the 300 000 diagnostics of a large catalog is many times faster.
	slices.SortFunc(*ds, func(a, b Diagnostic) int {
		return cmp.Or(cmp.Compare(a.Path, b.Path), compareInFile(a, b))
	})
	*ds = slices.Compact(*ds)
}

// compareInFile is Sort's order of two diagnostics of one file.
func compareInFile(a, b Diagnostic) int {
	return cmp.Or(
		cmp.Compare(a.Line, b.Line),
		cmp.Compare(a.Col, b.Col),
		cmp.Compare(a.Message, b.Message),
		cmp.Compare(a.Severity, b.Severity),
		cmp.Compare(a.Rule, b.Rule),
		cmp.Compare(a.Key, b.Key),
	)
}

// Errors reports how many diagnostics are errors.
func (ds Diagnostics) Errors() int {
	n := 0
	for _, d := range ds {
		if d.Severity == Error {
			n++
		}
	}
	return n
}

// HasErrors reports whether any diagnostic is an error.
func (ds Diagnostics) HasErrors() bool { return ds.Errors() > 0 }

// Formats lists the names accepted by Write.
var Formats = []string{"text", "github", "json"}

// Write prints the diagnostics in format "text" (one line each), "github" (workflow command
// annotations) or "json" (one array of objects).
func (ds Diagnostics) Write(w io.Writer, format string) error {
	switch format {
	case "text":
		for _, d := range ds {
			if _, err := fmt.Fprintln(w, d.String()); err != nil {
				return err
			}
		}
		return nil
	case "github":
		for _, d := range ds {
			if _, err := fmt.Fprintln(w, githubAnnotation(d)); err != nil {
				return err
			}
		}
		return nil
	case "json":
		list := ds
		if list == nil {
			list = Diagnostics{}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(list)
	}
	return fmt.Errorf("unknown format %q (want one of %s)", format, strings.Join(Formats, ", "))
}

// githubAnnotation formats d as a GitHub Actions workflow command, so that the problem shows on
// the changed line of a pull request.
func githubAnnotation(d Diagnostic) string {
	var props []string
	props = append(props, "file="+escapeProperty(d.Path))
	if d.Line > 0 {
		props = append(props, fmt.Sprintf("line=%d", d.Line), fmt.Sprintf("col=%d", d.Col))
	}
	title := "marketplace"
	if d.Rule > 0 {
		title = fmt.Sprintf("marketplace: rule %d", d.Rule)
	}
	props = append(props, "title="+escapeProperty(title))
	msg := d.Message
	if d.Rule > 0 {
		msg = fmt.Sprintf("%s (rule %d)", msg, d.Rule)
	}
	return fmt.Sprintf("::%s %s::%s", d.Severity, strings.Join(props, ","), escapeData(msg))
}

// escapeData and escapeProperty follow the escaping of @actions/core's command.ts.
func escapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

func escapeProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}
