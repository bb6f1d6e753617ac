package catalog

import (
	"fmt"
	"io/fs"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
)

// report collects problems per file and positions them at the end.
type report struct {
	files map[string]*fileReport
	order []string
	// parent is the report of the loading stage, consulted (read-only) by the reports that
	// product validation fills in parallel.
	parent *report
	// strs keeps one copy of equal messages and keys: a finding every build shares (a smoke
	// test aimed at localhost, in each build of the first synthetic catalog, …-seed-0) was
	// 300 000 formatted copies of one message at 100 000 products, 65 MB held through the
	// whole build.
	strs map[string]string
}

type fileReport struct {
	problems []problem
	decoded  map[string]bool // keys that already have a decoding problem
}

func newReport() *report { return &report{files: map[string]*fileReport{}} }

func (r *report) file(path string) *fileReport {
	f, ok := r.files[path]
	if !ok {
		f = &fileReport{decoded: map[string]bool{}}
		r.files[path] = f
		r.order = append(r.order, path)
	}
	return f
}

// decoding records the problems decodeFile found in path.
func (r *report) decoding(path string, ps []problem) {
	if len(ps) == 0 {
		return
	}
	f := r.file(path)
	for _, p := range ps {
		f.decoded[p.key] = true
		if p.suggested != "" {
			f.decoded[p.suggested] = true
		}
		f.problems = append(f.problems, p)
	}
}

// add records a finding at key of path. A key whose value could not be decoded is not reported
// again: "got string, want integer" already says all there is to say.
func (r *report) add(path, key string, sev Severity, rule int, format string, args ...any) {
	if r.failed(path, key) {
		return
	}
	r.file(path).problems = append(r.file(path).problems, problem{key: r.intern(key), severity: sev, rule: rule, msg: r.intern(fmt.Sprintf(format, args...))})
}

// intern returns the copy of s that r keeps.
func (r *report) intern(s string) string {
	if v, ok := r.strs[s]; ok {
		return v
	}
	if r.strs == nil {
		r.strs = map[string]string{}
	}
	r.strs[s] = s
	return s
}

// failed reports whether key, or a table or array containing it, could not be decoded: findings
// there would only repeat the decoding problem.
func (r *report) failed(path, key string) bool {
	if r.parent != nil && r.parent.failed(path, key) {
		return true
	}
	f, ok := r.files[path]
	if !ok || len(f.decoded) == 0 {
		return false
	}
	for k := key; ; k = parentKey(k) {
		if f.decoded[k] {
			return true
		}
		if k == "" {
			return false
		}
	}
}

// keyErrorf records an error positioned on the key itself rather than its value (a bind key
// that names no parameter).
func (r *report) keyErrorf(path, key string, rule int, format string, args ...any) {
	if r.failed(path, key) {
		return
	}
	r.file(path).problems = append(r.file(path).problems, problem{key: r.intern(key), severity: Error, rule: rule, msg: r.intern(fmt.Sprintf(format, args...)), atKey: true})
}

func (r *report) errorf(path, key string, rule int, format string, args ...any) {
	r.add(path, key, Error, rule, format, args...)
}

func (r *report) warnf(path, key string, rule int, format string, args ...any) {
	r.add(path, key, Warning, rule, format, args...)
}

// fileProblem records a finding about a file as a whole (a missing file, a bad name).
func (r *report) fileProblem(path string, sev Severity, format string, args ...any) {
	f := r.file(path)
	f.problems = append(f.problems, problem{severity: sev, msg: r.intern(fmt.Sprintf(format, args...)), line: -1})
}

// merge moves the problems of a child report into r.
func (r *report) merge(child *report) {
	for _, path := range child.order {
		f := r.file(path)
		f.problems = append(f.problems, child.files[path].problems...)
	}
}

// diagnostics positions every problem, reading each file with problems once more from fsys.
func (r *report) diagnostics(fsys fs.FS) Diagnostics {
	return r.diagnosticsFrom(func(path string) ([]byte, error) { return fs.ReadFile(fsys, path) })
}

// diagnosticsFrom positions every problem, reading each file with problems once with read
// (which must be safe for concurrent use). Files are positioned in parallel: a catalog whose
// every file has a warning reads and scans them all again here.
func (r *report) diagnosticsFrom(read func(path string) ([]byte, error)) Diagnostics {
	// In Sort's order without sorting them all: the files by path, then each file's own.
	order := slices.Clone(r.order)
	slices.Sort(order)
	n := 0
	for _, f := range r.files {
		n += len(f.problems)
	}
	if n == 0 {
		return nil
	}
	perFile := make([]Diagnostics, len(order))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(order)) {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < len(order); i = int(next.Add(1)) - 1 {
				perFile[i] = r.fileDiagnostics(order[i], read)
			}
		})
	}
	wg.Wait()
	ds := make(Diagnostics, 0, n)
	for _, fd := range perFile {
		ds = append(ds, fd...)
	}
	return slices.Compact(ds)
}

// fileDiagnostics positions the problems of the file at path, sorted.
func (r *report) fileDiagnostics(path string, read func(path string) ([]byte, error)) Diagnostics {
	f := r.files[path]
	ds := make(Diagnostics, 0, len(f.problems))
	var ix *keyIndex
	for _, p := range f.problems {
		d := Diagnostic{Path: path, Severity: p.severity, Message: p.msg, Rule: p.rule, Key: p.key, Line: p.line, Col: p.col}
		switch {
		case p.line < 0: // whole-file problem, no position
			d.Line, d.Col = 0, 0
		case p.line == 0:
			if ix == nil {
				data, err := read(path)
				if err != nil {
					data = nil
				}
				var keys []string
				for _, p := range f.problems {
					if p.line == 0 {
						keys = append(keys, p.key)
					}
				}
				ix = newKeyIndexFor(data, keys)
			}
			d.Line, d.Col = ix.position(p.key, !p.atKey)
		}
		ds = append(ds, d)
	}
	slices.SortFunc(ds, compareInFile)
	return ds
}

// Locate fills in Line and Col of diagnostics that name a Key but have no position yet, reading
// each file concerned once from fsys. Other stages (image verification) use it to position their
// findings on the product file the way validation does.
func Locate(fsys fs.FS, ds Diagnostics) {
	indexes := map[string]*keyIndex{}
	for i := range ds {
		d := &ds[i]
		if d.Line > 0 || d.Key == "" {
			continue
		}
		ix, ok := indexes[d.Path]
		if !ok {
			data, _ := fs.ReadFile(fsys, d.Path)
			ix = newKeyIndex(data)
			indexes[d.Path] = ix
		}
		d.Line, d.Col = ix.position(d.Key, true)
	}
}
