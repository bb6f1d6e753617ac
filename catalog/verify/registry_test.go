package verify

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestRegistryFailures checks that a registry that fails gives one clear error per affected
// build, quickly, after a bounded number of requests.
func TestRegistryFailures(t *testing.T) {
	tests := []struct {
		name    string
		timeout time.Duration
		// breaks the registry after the images are pushed.
		breaks func(tr *testRegistry)
		want   string // the message after "(<digest>): "
	}{
		{
			name: "server errors",
			breaks: func(tr *testRegistry) {
				tr.setFail(func(w http.ResponseWriter, r *http.Request) bool {
					http.Error(w, "backend on fire", http.StatusInternalServerError)
					return true
				})
			},
			want: "cannot check the image: registry {host} is unavailable: Get \"https://{host}/v2/\": http: server gave HTTP response to HTTPS client; GET http://{host}/v2/: unexpected status code 500 Internal Server Error: backend on fire",
		},
		{
			name:    "no answer in time",
			timeout: 100 * time.Millisecond,
			breaks: func(tr *testRegistry) {
				tr.setFail(func(w http.ResponseWriter, r *http.Request) bool {
					select {
					case <-r.Context().Done():
					case <-time.After(10 * time.Second):
					}
					return true
				})
			},
			want: "cannot check the image: registry {host} is unavailable: Get \"https://{host}/v2/\": http: server gave HTTP response to HTTPS client; Get \"http://{host}/v2/\": GET http://{host}/v2/: no response within 100ms",
		},
		{
			name:   "down",
			breaks: func(tr *testRegistry) { tr.srv.Close() },
			want:   "cannot check the image: registry {host} is unavailable: Get \"https://{host}/v2/\": dial tcp {host}: connect: connection refused; Get \"http://{host}/v2/\": dial tcp {host}: connect: connection refused",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			c := signedCatalog(t, f, 3)
			cat := c.load(t)
			tt.breaks(f.reg)
			opts := f.options()
			opts.Jobs = 2
			if tt.timeout > 0 {
				opts.Timeout = tt.timeout
			}
			f.reg.requests.Store(0)
			start := time.Now()
			report, ds := Verify(context.Background(), c.files, cat, nil, opts)
			elapsed := time.Since(start)

			var want []string
			for _, m := range report.Images {
				id := m.Result.Builds[0].Product
				want = append(want, "products/"+id+".toml:7:9: error: "+id+" 1.0.0 ("+m.Digest+"): "+tt.want)
			}
			got := lines(ds, map[string]string{f.reg.host: "{host}"})
			if diff := cmp.Diff(want, got, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
				t.Errorf("diagnostics (-want +got):\n%s", diff)
			}
			// Each of the two first jobs may try the registry 1 + Retries times, on https
			// and http for a loopback registry; the third job sends nothing.
			if n := f.reg.requests.Load(); n > int64(2*2*(opts.Retries+1)) {
				t.Errorf("sent %d requests to a failing registry", n)
			}
			if elapsed > 5*time.Second {
				t.Errorf("took %v", elapsed)
			}
			for _, m := range report.Images {
				if m.Result.Verified || m.Result.Builds[0].Error == "" {
					t.Errorf("%s: result %+v, want a failure", m.Digest, m.Result)
				}
			}
		})
	}
}

// TestRetryRecovers checks that a registry failing briefly is retried into success.
func TestRetryRecovers(t *testing.T) {
	f := newFixture(t)
	c := signedCatalog(t, f, 1)
	cat := c.load(t)
	failures := 2
	f.reg.setFail(func(w http.ResponseWriter, r *http.Request) bool {
		if failures == 0 {
			return false
		}
		failures--
		http.Error(w, "try again", http.StatusServiceUnavailable)
		return true
	})
	opts := f.options()
	opts.Jobs = 1
	if _, ds := Verify(context.Background(), c.files, cat, nil, opts); len(ds) > 0 {
		t.Errorf("diagnostics:\n%s", diagText(ds))
	}
}

func TestProgress(t *testing.T) {
	t.Run("summary when not a terminal", func(t *testing.T) {
		f := newFixture(t)
		c := signedCatalog(t, f, 2)
		var out bytes.Buffer
		opts := f.options()
		opts.Progress = &out
		f.reg.requests.Store(0)
		Verify(context.Background(), c.files, c.load(t), nil, opts)
		// The registry's own count, not the report's: the summary must say what was sent.
		sent := f.reg.requests.Load()
		if sent == 0 {
			t.Fatal("the registry saw no requests; the fixture is not counting")
		}
		want := "verify: 2 images, 0 failed, 0 without registry requests, " + strconv.FormatInt(sent, 10) + " registry requests\n"
		if out.String() != want {
			t.Errorf("progress = %q, want %q", out.String(), want)
		}
	})
	t.Run("redrawn on a terminal", func(t *testing.T) {
		var out bytes.Buffer
		p := &progress{w: &out, tty: true, total: 2}
		p.step(false)
		p.step(true)
		p.finish(&Report{}, false)
		want := "\rverify: 1/2 images, 0 failed\rverify: 2/2 images, 1 failed\n"
		if out.String() != want {
			t.Errorf("progress = %q, want %q", out.String(), want)
		}
	})
}
