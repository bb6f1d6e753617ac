package catalog

import (
	"testing"
	"unsafe"
)

// TestReportSharesStrings checks that equal findings in different files hold one copy of their
// message and key: a finding every build repeats was 300 000 copies at 100 000 products.
func TestReportSharesStrings(t *testing.T) {
	r := newReport()
	for _, path := range []string{"a/product.toml", "b/product.toml"} {
		r.warnf(path, "builds[0].smoke_test.command[1]", 4, "the smoke test runs beside the task, so %q reaches nothing", "http://localhost:8080/")
		r.keyErrorf(path, "builds[0].bind.x", 4, "bind key %q names no parameter", "x")
		r.fileProblem(path, Warning, "file %s is %s", "large", "here")
	}
	a, b := r.files["a/product.toml"].problems, r.files["b/product.toml"].problems
	if len(a) != 3 || len(b) != 3 {
		t.Fatalf("problems: %d and %d, want 3 each", len(a), len(b))
	}
	for i := range a {
		if a[i].msg != b[i].msg || a[i].key != b[i].key {
			t.Fatalf("finding %d differs: %+v, %+v", i, a[i], b[i])
		}
		if unsafe.StringData(a[i].msg) != unsafe.StringData(b[i].msg) {
			t.Errorf("finding %d: message %q held twice", i, a[i].msg)
		}
		if a[i].key != "" && unsafe.StringData(a[i].key) != unsafe.StringData(b[i].key) {
			t.Errorf("finding %d: key %q held twice", i, a[i].key)
		}
	}
}
