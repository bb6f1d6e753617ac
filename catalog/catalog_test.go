package catalog

import (
	"bytes"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/tools/txtar"
)

var update = flag.Bool("update", false, "rewrite the want sections of testdata/invalid/*.txtar")

// overlay returns the base catalog with the files of a case laid over it. A "-delete" file of the
// case lists base files to remove; "want" is the expected output and not part of the catalog.
// A file name may end in a directive: "NAME@symlink" makes NAME a symlink to the path the file
// holds; "NAME@pad=N" pads the content with zero bytes to N bytes (oversize assets).
func overlay(t *testing.T, base, c *txtar.Archive) fstest.MapFS {
	t.Helper()
	fsys := fstest.MapFS{}
	for _, f := range base.Files {
		fsys[f.Name] = &fstest.MapFile{Data: f.Data}
	}
	for _, f := range c.Files {
		switch f.Name {
		case "want":
		case "-delete":
			for _, name := range strings.Fields(string(f.Data)) {
				if _, ok := fsys[name]; !ok {
					t.Fatalf("-delete names %s, which is not in the base catalog", name)
				}
				delete(fsys, name)
			}
		default:
			name, directive, _ := strings.Cut(f.Name, "@")
			file := &fstest.MapFile{Data: f.Data}
			switch {
			case directive == "symlink": // the file is a symlink to the path it holds
				file = &fstest.MapFile{Data: bytes.TrimSpace(f.Data), Mode: fs.ModeSymlink}
			case strings.HasPrefix(directive, "pad="): // the content, padded with zeros to a size
				n, err := strconv.Atoi(strings.TrimPrefix(directive, "pad="))
				if err != nil {
					t.Fatalf("bad directive in %s: %v", f.Name, err)
				}
				file.Data = append(bytes.Clone(f.Data), make([]byte, max(0, n-len(f.Data)))...)
			case directive != "":
				t.Fatalf("unknown directive in %s (want @symlink or @pad=N)", f.Name)
			}
			fsys[name] = file
		}
	}
	return fsys
}

func readArchive(t *testing.T, path string) *txtar.Archive {
	t.Helper()
	a, err := txtar.ParseFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestBaseCatalogIsValid(t *testing.T) {
	base := readArchive(t, "testdata/base.txtar")
	_, ds := Check(overlay(t, base, &txtar.Archive{}))
	if len(ds) > 0 {
		var b bytes.Buffer
		ds.Write(&b, "text")
		t.Fatalf("base catalog has diagnostics:\n%s", b.String())
	}
}

// TestInvalid checks the exact diagnostics for each invalid input in testdata/invalid: one case
// per check of the validator. Run with -update to rewrite the want sections after reviewing them.
func TestInvalid(t *testing.T) {
	base := readArchive(t, "testdata/base.txtar")
	files, err := filepath.Glob("testdata/invalid/*.txtar")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 40 {
		t.Errorf("only %d invalid cases; want one per check (at least 40)", len(files))
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".txtar")
		t.Run(name, func(t *testing.T) {
			a := readArchive(t, file)
			fsys := overlay(t, base, a)
			_, ds := Check(fsys)
			checkCachedAgrees(t, fsys, ds)
			var got bytes.Buffer
			if err := ds.Write(&got, "text"); err != nil {
				t.Fatal(err)
			}
			if !ds.HasErrors() && !strings.HasPrefix(name, "warn-") {
				t.Errorf("no error reported; cases named warn-* may have warnings only")
			}
			if *update {
				setWant(a, got.Bytes())
				if err := os.WriteFile(file, txtar.Format(a), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want := wantOf(a)
			if want == nil {
				t.Fatalf("no want section; run go test -run TestInvalid -update and review it")
			}
			if diff := cmp.Diff(string(want), got.String()); diff != "" {
				t.Errorf("diagnostics mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func wantOf(a *txtar.Archive) []byte {
	for _, f := range a.Files {
		if f.Name == "want" {
			return f.Data
		}
	}
	return nil
}

func setWant(a *txtar.Archive, data []byte) {
	for i := range a.Files {
		if a.Files[i].Name == "want" {
			a.Files[i].Data = data
			return
		}
	}
	a.Files = append(a.Files, txtar.File{Name: "want", Data: data})
}

// TestContributingQuotesCorpus keeps CONTRIBUTING.md and the corpus in step, both ways: every
// diagnostic in the corpus's want sections appears in the guide word for word, so a changed
// message shows up there too; and every diagnostic message the guide quotes (in its text blocks
// and its warnings table) is one the corpus produces, so the guide shows nothing unchecked.
func TestContributingQuotesCorpus(t *testing.T) {
	guide, err := os.ReadFile("../CONTRIBUTING.md")
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("testdata/invalid/*.txtar")
	if len(files) == 0 {
		t.Fatal("no corpus in testdata/invalid")
	}
	corpus := map[string]bool{} // messages, with their " (rule N)" suffix
	for _, file := range files {
		for _, line := range strings.Split(string(wantOf(readArchive(t, file))), "\n") {
			if line == "" {
				continue
			}
			if !bytes.Contains(guide, []byte(line)) {
				t.Errorf("%s: CONTRIBUTING.md does not quote %q", filepath.Base(file), line)
			}
			msg, ok := diagnosticMessage(line)
			if !ok {
				t.Errorf("%s: want line %q is not a diagnostic", filepath.Base(file), line)
			}
			corpus[msg] = true
		}
	}
	// Other file kinds keep their own golden corpora: environment files (catalog/env), and the
	// pull-request review's summaries (catalog/review, cmd/marketplace/cli).
	others, _ := filepath.Glob("env/testdata/invalid/*.txtar")
	for _, file := range others {
		for _, line := range strings.Split(string(wantOf(readArchive(t, file))), "\n") {
			if msg, ok := diagnosticMessage(line); ok {
				corpus[msg] = true
			}
		}
	}
	goldens, _ := filepath.Glob("review/testdata/*.md")
	more, _ := filepath.Glob("../cmd/marketplace/cli/testdata/review/*.md")
	for _, file := range append(goldens, more...) {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			if msg, ok := diagnosticMessage(strings.TrimSpace(line)); ok {
				corpus[msg] = true
			}
		}
	}
	// The pull-request review's diagnostics depend on Git history, and a few of the environment
	// resolver's on catalogs made in code; their tests assert them word for word, so a message
	// those tests spell out counts as produced.
	var reviewTests []byte
	for _, file := range []string{"review/review_test.go", "../cmd/marketplace/cli/review_test.go", "env/resolve_test.go"} {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		reviewTests = append(reviewTests, data...)
	}
	asserted := func(msg string) bool {
		return bytes.Contains(reviewTests, []byte(msg)) || bytes.Contains(reviewTests, []byte(strings.ReplaceAll(msg, `"`, `\"`)))
	}
	quoted := guideDiagnostics(string(guide))
	if len(quoted) == 0 {
		t.Error("found no diagnostics in CONTRIBUTING.md's text blocks and tables")
	}
	for _, line := range quoted {
		if msg, _ := diagnosticMessage(line); !corpus[msg] && !asserted(msg) {
			t.Errorf("CONTRIBUTING.md quotes %q, which no golden case produces (testdata/invalid, env/testdata/invalid, the review summaries): add one", line)
		}
	}
}

// diagRE matches a diagnostic line: path, optional line and column, severity, message.
var diagRE = regexp.MustCompile(`^[^\s:]+(?::\d+:\d+)?: (?:error|warning): (.+)$`)

// diagnosticMessage returns the message of a diagnostic line.
func diagnosticMessage(line string) (string, bool) {
	m := diagRE.FindStringSubmatch(line)
	if m == nil {
		return "", false
	}
	return m[1], true
}

// guideDiagnostics returns the diagnostic lines CONTRIBUTING.md quotes: lines of its ```text
// blocks, and backquoted cells of its tables, that look like diagnostics.
func guideDiagnostics(guide string) []string {
	var out []string
	inText := false
	for _, line := range strings.Split(guide, "\n") {
		switch {
		case strings.HasPrefix(line, "```"):
			inText = line == "```text"
		case inText:
			if diagRE.MatchString(line) {
				out = append(out, line)
			}
		case strings.HasPrefix(line, "| `"):
			cell, _, _ := strings.Cut(strings.TrimPrefix(line, "| `"), "` |")
			if diagRE.MatchString(cell) {
				out = append(out, cell)
			}
		}
	}
	return out
}
