package browsertest

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// recorder stands in for a test: it notes whether Start failed it or skipped it.
type recorder struct {
	testing.TB
	failed, skipped string
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (r *recorder) Fatal(args ...any) { r.failed = fmt.Sprint(args...); runtime.Goexit() }
func (r *recorder) FailNow()          { r.failed = "FailNow"; runtime.Goexit() }
func (r *recorder) Skipf(format string, args ...any) {
	r.skipped = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (r *recorder) Skip(args ...any) { r.skipped = fmt.Sprint(args...); runtime.Goexit() }
func (r *recorder) SkipNow()         { r.skipped = "SkipNow"; runtime.Goexit() }

// TestMissingChromiumFails: without a browser the browser tests fail, whatever the
// environment says; they never pass by skipping.
func TestMissingChromiumFails(t *testing.T) {
	for _, ci := range []string{"", "true"} {
		t.Setenv("CI", ci)
		t.Setenv("CHROMIUM", "/nonexistent/chromium")
		r := &recorder{TB: t}
		done := make(chan struct{})
		go func() {
			defer close(done)
			Start(r)
		}()
		<-done
		if r.skipped != "" || !strings.Contains(r.failed, "no Chromium at /nonexistent/chromium") {
			t.Errorf("CI=%q: Start skipped %q, failed %q; want a failure naming the missing browser", ci, r.skipped, r.failed)
		}
	}
}
