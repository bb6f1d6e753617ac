// Command scale times the whole `marketplace build` — site, JSON API, feed, badges, deploy files,
// static search and the bleve index — of a synthetic catalog of any size, and prints wall time,
// CPU time, peak RSS and the machine's load, then what the output is made of: its file count and
// the largest page of each listing kind, which pagination keeps bounded at any catalog size.
// With -incremental it also changes one product and times the rebuild.
//
// bench/all runs it on 10 000 and 100 000 products. Peak RSS is the kernel's high-water mark of
// this process, reset before the build (Linux).
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hspc/marketplace/bench/internal/measure"
	"github.com/hspc/marketplace/catalog"
	"github.com/hspc/marketplace/catalog/synthetic"
	"github.com/hspc/marketplace/generator"
)

func main() {
	products := flag.Int("products", 10000, "products in the synthetic catalog")
	dir := flag.String("dir", "", "catalog folder (default: kept in $MARKETPLACE_BENCH_CATALOGS, or a temporary one)")
	outParent := flag.String("outdir", "", "folder to build into (default: the system temp folder)")
	keepOutput := flag.Bool("keep-output", false, "leave the output in place when the run ends, for the caller to remove later (see bench/all)")
	noSearch := flag.Bool("no-search", false, "leave out the search stage")
	incremental := flag.Bool("incremental", false, "then change one product and time the rebuild")
	maxRSS := flag.Uint64("max-rss-mib", 0, "target peak RSS of the full build, MiB; 0: none")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the full build to `FILE`")
	incrProfile := flag.String("cpuprofile-incremental", "", "write a CPU profile of the one-product rebuild to `FILE`")
	memProfile := flag.String("memprofile", "", "write a heap profile of the full build, taken when the live heap was largest, to `FILE` (and one when the pages are written to FILE.hooks)")
	binary := flag.String("binary", "", "time the one-product rebuilds by running this marketplace `BINARY` (go build ./cmd/marketplace), not in-process")
	noLimit := flag.Bool("no-memory-limit", false, "build without the soft memory limit `marketplace build` sets (GOMEMLIMIT still applies)")
	flag.Parse()
	defer cleanUp()
	interrupted := make(chan os.Signal, 1)
	signal.Notify(interrupted, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-interrupted
		stopping.Store(true) // what fails now is the folders going: no error to print
		cancelBuild()        // an in-process build stops writing at its next page
		cleanUp()
		os.Exit(130)
	}()

	root := *dir
	if root == "" {
		opts := synthetic.Options{Products: *products}
		start := time.Now()
		if keep := synthetic.BenchDir(); keep != "" {
			var err error
			root, err = synthetic.Cached(keep, opts)
			check(err)
		} else {
			root = tempDir("", "marketplace-scale-")
			check(synthetic.Write(root, opts))
		}
		fmt.Printf("catalog        %d products in %s (ready in %s)\n", *products, root, time.Since(start).Round(time.Millisecond))
	}
	var out string
	if *keepOutput {
		parent, err := os.MkdirTemp(*outParent, "marketplace-scale-out-")
		check(err)
		out = filepath.Join(parent, "public")
		fmt.Printf("output kept    %s\n", parent)
	} else {
		out = filepath.Join(tempDir(*outParent, "marketplace-scale-out-"), "public")
	}
	cacheDir := tempDir("", "marketplace-scale-cache-")
	cacheFile := filepath.Join(cacheDir, "load.cache")
	opts := generator.Options{Root: root, Out: out, Verify: generator.VerifySkip, NoSearch: *noSearch}

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		check(err)
		check(pprof.StartCPUProfile(f))
	}
	var res *generator.Result
	var err error
	// The soft memory limit and the collector's target the command line sets (cli/build.go),
	// unless GOMEMLIMIT and GOGC say otherwise.
	setLimit := func() {
		if !*noLimit {
			generator.SetMemoryPolicy(out)
		}
	}
	setLimit()
	stopHeap := func() {}
	if *memProfile != "" {
		stopHeap = measure.HeapAtPeak(*memProfile)
		// And what is live when the pages are written, before the search index is built.
		opts.Hooks = append(opts.Hooks, func(context.Context, string, string) error {
			fmt.Fprintf(os.Stderr, "pages written at %s\n", time.Now().Format("15:04:05.000"))
			runtime.GC()
			f, err := os.Create(*memProfile + ".hooks")
			check(err)
			defer f.Close()
			return pprof.Lookup("heap").WriteTo(f, 0)
		})
	}
	full := measure.Run(func() {
		opts.LoadCache = catalog.OpenCache(cacheFile)
		res, err = generator.Build(buildCtx, opts)
		if err == nil {
			err = opts.LoadCache.Save()
		}
	})
	pprof.StopCPUProfile()
	stopHeap()
	check(err)
	fmt.Printf("full build     %d products, %d pages, search %v: %s\n", len(res.Catalog.Products), res.Stats.Pages, !*noSearch, full)
	target := ""
	if *maxRSS > 0 {
		target = fmt.Sprintf("peak ≤ %d MiB: %s", *maxRSS, verdict(full.PeakRSS>>20 <= *maxRSS))
		fmt.Printf("target         %s\n", target)
	}
	measure.Figure(fmt.Sprintf("full build, %d products, %d files", *products, res.Stats.Pages), full.Short(), target)
	report(out, *products)

	if *incremental {
		// Three rebuilds, each after changing one product: the first brings the output's second
		// tree (empty after a full build) up to date, so it links every unchanged file; the later
		// ones are the steady state of someone editing and rebuilding.
		ids := res.Catalog.SortedProductIDs()
		rebuild := func(n int, what string, profile string) {
			p := res.Catalog.Products[ids[len(ids)*n/4]]
			file := filepath.Join(root, filepath.FromSlash(p.Path))
			data, err := os.ReadFile(file)
			check(err)
			// The catalog may be the one kept for every run: put the file back however this
			// run ends.
			restore := atExit(func() { os.WriteFile(file, data, 0o644) })
			defer restore()
			check(os.WriteFile(file, bytes.Replace(data, []byte(`summary = "`), []byte(`summary = "Changed: `), 1), 0o644))
			setLimit()
			if profile != "" {
				f, err := os.Create(profile)
				check(err)
				check(pprof.StartCPUProfile(f))
			}
			var stats string
			var fig measure.Figures
			if *binary != "" {
				// From the command line, as a person runs it.
				cmd := exec.Command(*binary, "build", "-C", root, "-o", out, "--no-verify", "--load-cache", cacheDir+"/cli")
				var buf bytes.Buffer
				cmd.Stdout, cmd.Stderr = &buf, &buf
				fig = measure.Child(cmd)
				if cmd.ProcessState == nil || !cmd.ProcessState.Success() {
					check(fmt.Errorf("%s: %s", cmd, buf.String()))
				}
				stats = strings.TrimSpace(buf.String()[strings.LastIndex(strings.TrimSpace(buf.String()), "\n")+1:])
			} else {
				fig = measure.Run(func() {
					opts.LoadCache = catalog.OpenCache(cacheFile)
					res, err = generator.Build(buildCtx, opts)
					if err == nil {
						err = opts.LoadCache.Save()
					}
				})
				check(err)
				stats = fmt.Sprintf("%d pages rendered, %d reused", res.Stats.Rendered, res.Stats.Reused)
			}
			pprof.StopCPUProfile()
			fmt.Printf("%-14s %s (warm load cache): %s\n", what, stats, fig)
			if n > 1 {
				how := "in-process"
				if *binary != "" {
					how = "marketplace build"
				}
				measure.Figure(fmt.Sprintf("one-product rebuild, %d products (%s)", *products, how), fig.Short(), fmt.Sprintf("≤ 500 ms wall: %s", verdict(fig.Wall <= 500*time.Millisecond)))
			}
		}
		if *binary != "" {
			// The command line keeps its own load cache: warm it with a build of its own.
			rebuild(0, "cli warm-up", "")
		}
		rebuild(1, "first rebuild", "")
		rebuild(2, "one product", *incrProfile)
	}
}

// report prints the output's file count and size, and the largest page of each listing kind.
func report(out string, products int) {
	type kind struct {
		name    string
		match   func(p string) bool
		largest string
		size    int64
		pages   int
	}
	inFolder := func(prefix string) func(string) bool {
		return func(p string) bool {
			rest, ok := strings.CutPrefix(p, prefix)
			if !ok {
				return false
			}
			parts := strings.Split(rest, "/")
			return len(parts) == 2 && strings.HasSuffix(parts[1], ".html")
		}
	}
	top := func(folder string) func(string) bool {
		return func(p string) bool {
			d, f := path.Split(p)
			return d == folder+"/" && (f == "index.html" || strings.HasPrefix(f, "page-"))
		}
	}
	kinds := []*kind{
		{name: "products index", match: top("products")},
		{name: "publishers index", match: top("publishers")},
		{name: "interface page", match: inFolder("interfaces/")},
		{name: "category page", match: inFolder("categories/")},
		{name: "publisher page", match: inFolder("publishers/")},
		{name: "product page", match: func(p string) bool {
			return strings.HasPrefix(p, "products/") && strings.Count(p, "/") == 3 && strings.HasSuffix(p, ".html")
		}},
		{name: "home page", match: func(p string) bool { return p == "index.html" }},
	}
	var files int
	var total int64
	filepath.WalkDir(out+string(filepath.Separator), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		files++
		total += info.Size()
		rel, _ := filepath.Rel(out+string(filepath.Separator), p)
		rel = filepath.ToSlash(rel)
		for _, k := range kinds {
			if k.match(rel) {
				k.pages++
				if info.Size() > k.size {
					k.largest, k.size = rel, info.Size()
				}
				break
			}
		}
		return nil
	})
	fmt.Printf("output         %d files, %.0f MiB\n", files, float64(total)/(1<<20))
	sort.SliceStable(kinds, func(i, j int) bool { return kinds[i].size > kinds[j].size })
	for _, k := range kinds {
		if k.pages > 0 && k.name != "product page" && k.name != "home page" {
			measure.Figure(fmt.Sprintf("largest listing page, %d products", products),
				fmt.Sprintf("%.0f KB (%s, %s)", float64(k.size)/1000, k.name, k.largest), "bounded by site.PageSize")
			break
		}
	}
	for _, k := range kinds {
		if k.pages > 0 {
			fmt.Printf("largest        %-16s %6.1f KB  (%d pages; %s)\n", k.name, float64(k.size)/1000, k.pages, k.largest)
		}
	}
	fmt.Printf("GOMAXPROCS     %d of %d CPUs\n", runtime.GOMAXPROCS(0), runtime.NumCPU())
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

func check(err error) {
	if err != nil {
		if stopping.Load() {
			select {} // the interrupt's goroutine exits
		}
		fmt.Fprintln(os.Stderr, "scale:", err)
		cleanUp()
		os.Exit(1)
	}
}

// What a run leaves behind is undone on every way out of it: its end, a failed check (which
// exits without running deferred calls), SIGINT or SIGTERM. A killed benchmark left its output
// (67 080 files a tree at 10 000 products) in the temporary folder, and a changed product file
// in the catalog kept for later runs.
var (
	stopping              atomic.Bool // interrupted
	buildCtx, cancelBuild = context.WithCancel(context.Background())
	exitMu                sync.Mutex
	undos                 []func() // each runs once
)

// atExit registers undo to run when the run ends; calling the returned function runs it now.
// Either way it runs once.
func atExit(undo func()) (now func()) {
	now = sync.OnceFunc(undo)
	exitMu.Lock()
	defer exitMu.Unlock()
	undos = append(undos, now)
	return now
}

// cleanUp runs what atExit registered, newest first.
func cleanUp() {
	exitMu.Lock()
	defer exitMu.Unlock()
	for _, undo := range slices.Backward(undos) {
		undo()
	}
}

// tempDir makes a temporary folder that the run removes as it ends.
func tempDir(parent, pattern string) string {
	dir, err := os.MkdirTemp(parent, pattern)
	check(err)
	atExit(func() {
		// After an interrupt a build may still be writing into it for a moment: try again
		// until it is gone.
		for range 50 {
			os.RemoveAll(dir)
			if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	return dir
}
