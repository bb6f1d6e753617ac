// Command preview measures `marketplace preview` on a synthetic catalog: the time from saving a
// product file to the event that tells open pages to reload, and to the moment the product's page
// served over HTTP shows the change (what a reloading browser fetches), over several saves. The
// browser's own share (reload and paint) is measured by the Chromium test and benchmark in
// generator/preview.
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/hspc/marketplace/bench/internal/measure"
	"github.com/hspc/marketplace/catalog/synthetic"
	"github.com/hspc/marketplace/generator"
	"github.com/hspc/marketplace/generator/preview"
	"github.com/hspc/marketplace/theme"
)

func main() {
	products := flag.Int("products", 10000, "products in the synthetic catalog")
	saves := flag.Int("saves", 5, "how many saves to time")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the saves to `FILE`")
	maxReload := flag.Duration("max-reload", 500*time.Millisecond, "target: save to changed page served")
	flag.Parse()

	// The preview edits the catalog: work on a copy (hard links would share the edits).
	src := ""
	opts := synthetic.Options{Products: *products}
	var err error
	if keep := synthetic.BenchDir(); keep != "" {
		src, err = synthetic.Cached(keep, opts)
		check(err)
	}
	root, err := os.MkdirTemp("", "marketplace-preview-bench-")
	check(err)
	defer os.RemoveAll(root)
	if src != "" {
		check(os.CopyFS(root, os.DirFS(src)))
	} else {
		check(synthetic.Write(root, opts))
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var s *preview.Server
	start := measure.Run(func() {
		s, err = preview.New(ctx, preview.Options{Build: generator.Options{Root: root, Theme: theme.FS, Verify: generator.VerifySkip}})
	})
	check(err)
	defer s.Close()
	fmt.Printf("preview start  %d products: %s\n", *products, start)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	go s.Serve(ctx, l)
	base := "http://" + l.Addr().String()

	ids := synthetic.ProductIDs(opts)
	id := ids[len(ids)/2]
	file := filepath.Join(root, "products", filepath.FromSlash(id)+".toml")
	pageURL := base + "/products/" + id + "/index.html"
	if _, err := get(pageURL); err != nil {
		check(err)
	}
	events := subscribe(ctx, base)
	<-events // the current version

	var toEvent, toPage []time.Duration
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		check(err)
		check(pprof.StartCPUProfile(f))
		defer pprof.StopCPUProfile()
	}
	cpu0 := measure.CPUTime()
	for i := range *saves {
		data, err := os.ReadFile(file)
		check(err)
		marker := fmt.Sprintf("Edit %d: ", i)
		edited := bytes.Replace(data, []byte(`summary = "`), []byte(`summary = "`+marker), 1)
		t0 := time.Now()
		check(os.WriteFile(file, edited, 0o644))
		// Wait for a version whose page shows the edit (a save may come as two events).
		for {
			select {
			case <-events:
			case <-time.After(60 * time.Second):
				check(fmt.Errorf("no reload event within 60 s of save %d", i))
			}
			if len(toEvent) == i {
				toEvent = append(toEvent, time.Since(t0))
			}
			body, err := get(pageURL)
			check(err)
			if strings.Contains(body, marker) {
				toPage = append(toPage, time.Since(t0))
				break
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	cpu := measure.CPUTime() - cpu0
	slices.Sort(toEvent)
	slices.Sort(toPage)
	fmt.Printf("save → reload  %d saves: event median %s, max %s; changed page served median %s, max %s; CPU %s per save; load average %s\n",
		*saves, toEvent[len(toEvent)/2].Round(time.Millisecond), toEvent[len(toEvent)-1].Round(time.Millisecond),
		toPage[len(toPage)/2].Round(time.Millisecond), toPage[len(toPage)-1].Round(time.Millisecond),
		(cpu / time.Duration(*saves)).Round(time.Millisecond), measure.LoadAverage())
	verdict := "met"
	if toPage[len(toPage)/2] > *maxReload {
		verdict = "MISSED"
	}
	measure.Figure(fmt.Sprintf("preview: save → changed page served, %d products", *products),
		fmt.Sprintf("median %s (reload event %s), %s CPU per save, load %s", toPage[len(toPage)/2].Round(time.Millisecond),
			toEvent[len(toEvent)/2].Round(time.Millisecond), (cpu/time.Duration(*saves)).Round(10*time.Millisecond), measure.LoadAverage()),
		fmt.Sprintf("≤ %s: %s", *maxReload, verdict))
	fmt.Printf("target         changed page served ≤ %s after the save (median): %s\n", *maxReload, verdict)
}

func get(url string) (string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return string(body), err
}

func subscribe(ctx context.Context, base string) <-chan string {
	req, _ := http.NewRequestWithContext(ctx, "GET", base+preview.Prefix+"events", nil)
	resp, err := http.DefaultClient.Do(req)
	check(err)
	out := make(chan string, 16)
	go func() {
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				out <- v
			}
		}
	}()
	return out
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "preview bench:", err)
		os.Exit(1)
	}
}
