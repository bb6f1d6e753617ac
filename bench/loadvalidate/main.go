// Command loadvalidate measures what `marketplace validate` costs on a large catalog: it writes
// (or reuses) a synthetic catalog, runs catalog.Check over it once to warm the file cache, then
// prints three figures: a check without the load cache, a check that fills an empty cache file
// and saves it (the first `marketplace validate`), and the timed check with that warm cache (every
// later one), with its wall time, CPU time, peak memory and allocation figures.
//
// Peak RSS is the kernel's high-water mark (VmHWM), reset before each measured check so that the
// generator's own memory does not count. bench/run and bench/all run it with GOMAXPROCS=2 and the
// targets. At 100 000 products, -warmup=false saves minutes; -cachefile keeps the cache between
// runs, so that the warm check alone can be profiled again (-cpuprofile, -memprofile).
package main

import (
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/hspc/marketplace/bench/internal/measure"
	"github.com/hspc/marketplace/catalog"
	"github.com/hspc/marketplace/catalog/synthetic"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("loadvalidate", flag.ContinueOnError)
	fl.SetOutput(stderr)
	products := fl.Int("products", 10000, "number of products in the synthetic catalog")
	builds := fl.Int("builds", 3, "builds per product")
	seed := fl.Int64("seed", 0, "generator seed")
	dir := fl.String("dir", "", "write the catalog here and keep it (default: a temporary directory, removed afterwards)")
	maxWall := fl.Duration("max-wall", 0, "target wall time of one Check; 0: no target")
	maxRSS := fl.Int("max-rss-mib", 0, "target peak RSS in MiB during one Check; 0: no target")
	cpuProfile := fl.String("cpuprofile", "", "write a CPU profile of the timed Check to this file")
	cacheFile := fl.String("cachefile", "", "keep the load cache in this file; when it exists already, the cold checks are skipped and only the warm one runs (to profile it again quickly)")
	fillProfile := fl.String("fillprofile", "", "write a CPU profile of the check that fills the cache to this file")
	memProfile := fl.String("memprofile", "", "write a heap profile (what is live after the timed Check, the catalog held) to this file")
	warmup := fl.Bool("warmup", true, "check once untimed first (fills the file cache and the validator's tables); -warmup=false saves minutes at 100 000 products")
	useCache := fl.Bool("cache", true, "time the check with a warm load cache (as `marketplace validate` runs it), after timing it without one")
	if err := fl.Parse(args); err != nil {
		return 2
	}

	root := *dir
	opts := synthetic.Options{Products: *products, BuildsPerProduct: *builds, Seed: *seed}
	if keep := synthetic.BenchDir(); root == "" && keep != "" {
		var err error
		if root, err = synthetic.Cached(keep, opts); err != nil {
			fmt.Fprintln(stderr, "loadvalidate:", err)
			return 2
		}
	}
	if root == "" {
		tmp, err := os.MkdirTemp("", "marketplace-bench-")
		if err != nil {
			fmt.Fprintln(stderr, "loadvalidate:", err)
			return 2
		}
		defer os.RemoveAll(tmp)
		root = tmp
	}
	start := time.Now()
	if _, err := os.Stat(filepath.Join(root, catalog.IndexFile)); err == nil {
		// Kept from an earlier run (-dir or $MARKETPLACE_BENCH_CATALOGS).
	} else if err := synthetic.Write(root, opts); err != nil {
		fmt.Fprintln(stderr, "loadvalidate:", err)
		return 2
	}
	genTime := time.Since(start)
	fsys := os.DirFS(root)
	files, tomlBytes, err := count(fsys)
	if err != nil {
		fmt.Fprintln(stderr, "loadvalidate: counting files:", err)
		return 2
	}

	// Warm-up: fills the file cache, and the validator's lazily built tables.
	if *warmup {
		catalog.Check(fsys)
	}

	file := *cacheFile
	_, err = os.Stat(file)
	reuse := file != "" && err == nil && *useCache

	// Without the load cache: every file parsed and validated.
	if !reuse {
		cold := measure.Run(func() { catalog.Check(fsys) })
		fmt.Fprintf(stdout, "without cache   %s\n", cold)
		measure.Figure(fmt.Sprintf("load + validate, %d products, no cache", *products), cold.Short(), "")
	}

	check := func() (*catalog.Catalog, catalog.Diagnostics) { return catalog.Check(fsys) }
	cacheHits := -1
	if *useCache && file == "" {
		cacheDir, err := os.MkdirTemp("", "marketplace-bench-cache-")
		if err != nil {
			fmt.Fprintln(stderr, "loadvalidate:", err)
			return 2
		}
		defer os.RemoveAll(cacheDir)
		file = filepath.Join(cacheDir, "catalog.cache")
	}
	if *useCache && !reuse {
		if *fillProfile != "" {
			f, err := os.Create(*fillProfile)
			if err == nil {
				err = pprof.StartCPUProfile(f)
			}
			if err != nil {
				fmt.Fprintln(stderr, "loadvalidate:", err)
				return 2
			}
			defer f.Close()
		}
		fill := measure.Run(func() {
			cache := catalog.OpenCache(file)
			catalog.CheckCached(fsys, cache)
			if err := cache.Save(); err != nil {
				fmt.Fprintln(stderr, "loadvalidate:", err)
			}
		})
		if *fillProfile != "" {
			pprof.StopCPUProfile()
		}
		info, _ := os.Stat(file)
		fmt.Fprintf(stdout, "filling cache   %s; cache file %.1f MiB\n", fill, float64(info.Size())/(1<<20))
		measure.Figure(fmt.Sprintf("load + validate, %d products, cold cache (filled and saved)", *products), fill.Short(), "")
	}
	if *useCache {
		check = func() (*catalog.Catalog, catalog.Diagnostics) {
			cache := catalog.OpenCache(file)
			c, ds := catalog.CheckCached(fsys, cache)
			cacheHits, _ = cache.Stats()
			if note := cache.Note(); note != "" {
				fmt.Fprintln(stderr, "loadvalidate:", note)
			}
			if err := cache.Save(); err != nil {
				fmt.Fprintln(stderr, "loadvalidate:", err)
			}
			return c, ds
		}
	}

	runtime.GC()
	debug.FreeOSMemory()
	rssReset := measure.ResetPeakRSS()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(stderr, "loadvalidate:", err)
			return 2
		}
		defer f.Close()
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	cpuBefore := measure.CPUTime()
	start = time.Now()
	c, ds := check()
	wall := time.Since(start)
	cpu := measure.CPUTime() - cpuBefore
	if *cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	runtime.ReadMemStats(&after)
	hwm, hwmErr := measure.PeakRSS()
	// What the loaded catalog keeps: the live heap once garbage is collected, the catalog alive.
	runtime.GC()
	var live runtime.MemStats
	runtime.ReadMemStats(&live)
	if *memProfile != "" {
		f, err := os.Create(*memProfile)
		if err == nil {
			err = pprof.Lookup("heap").WriteTo(f, 0)
			f.Close()
		}
		if err != nil {
			fmt.Fprintln(stderr, "loadvalidate:", err)
		}
	}
	runtime.KeepAlive(c)

	const mib = 1 << 20
	fmt.Fprintf(stdout, "catalog         %s (generated in %.1fs, seed %d)\n", root, genTime.Seconds(), *seed)
	fmt.Fprintf(stdout, "products        %d (%d builds each, %d publishers)\n", len(c.Products), *builds, len(c.Publishers))
	fmt.Fprintf(stdout, "files           %d (%d TOML)\n", files.all, files.toml)
	fmt.Fprintf(stdout, "TOML            %.1f MiB\n", float64(tomlBytes)/mib)
	fmt.Fprintf(stdout, "GOMAXPROCS      %d (of %d CPUs)\n", runtime.GOMAXPROCS(0), runtime.NumCPU())
	what := "without cache"
	if *useCache {
		what = "warm cache"
	}
	fmt.Fprintf(stdout, "timed check     %s (the figures below)\n", what)
	if cacheHits >= 0 {
		fmt.Fprintf(stdout, "cache hits      %d of %d products\n", cacheHits, len(c.Products))
		if cacheHits != len(c.Products) {
			what = "cache partly cold"
		}
	}
	fmt.Fprintf(stdout, "wall time       %s (%.0f products/s, %.1f MiB/s)\n", wall.Round(time.Millisecond),
		float64(len(c.Products))/wall.Seconds(), float64(tomlBytes)/mib/wall.Seconds())
	// CPU time does not grow when other work shares the machine, so it shows what an idle
	// machine would take: wall ≈ cpu / cores when the work parallelises.
	fmt.Fprintf(stdout, "CPU time        %s user+sys (%s per core on %d cores; load average %s)\n", cpu.Round(time.Millisecond),
		(cpu / time.Duration(runtime.GOMAXPROCS(0))).Round(time.Millisecond), runtime.GOMAXPROCS(0), measure.LoadAverage())
	fmt.Fprintf(stdout, "diagnostics     %d errors, %d warnings\n", ds.Errors(), len(ds)-ds.Errors())
	switch {
	case hwmErr != nil:
		fmt.Fprintf(stdout, "peak RSS        unknown (%v)\n", hwmErr)
	case !rssReset:
		fmt.Fprintf(stdout, "peak RSS        %.0f MiB (of the whole process, generator included: could not reset VmHWM)\n", float64(hwm)/mib)
	default:
		fmt.Fprintf(stdout, "peak RSS        %.0f MiB\n", float64(hwm)/mib)
	}
	fmt.Fprintf(stdout, "TotalAlloc      %.0f MiB allocated by the timed Check (%d objects)\n",
		float64(after.TotalAlloc-before.TotalAlloc)/mib, after.Mallocs-before.Mallocs)
	fmt.Fprintf(stdout, "Sys             %.0f MiB obtained from the OS by the Go runtime (whole process)\n", float64(after.Sys)/mib)
	fmt.Fprintf(stdout, "GC cycles       %d during the timed Check\n", after.NumGC-before.NumGC)
	fmt.Fprintf(stdout, "live heap       %.0f MiB after the check, the catalog in memory\n", float64(live.HeapAlloc)/mib)

	status := 0
	if ds.HasErrors() {
		fmt.Fprintf(stdout, "\nthe synthetic catalog should have no errors; the first ones:\n")
		ds[:min(len(ds), 20)].Write(stdout, "text")
		status = 1
	}
	if *maxWall > 0 || *maxRSS > 0 {
		fmt.Fprintln(stdout)
	}
	target := ""
	if *maxWall > 0 {
		target = fmt.Sprintf("≤ %s wall: %s", *maxWall, verdict(wall <= *maxWall))
	}
	measure.Figure(fmt.Sprintf("load + validate, %d products, %s", *products, what),
		measure.Figures{Wall: wall, CPU: cpu, PeakRSS: hwm, Load: measure.LoadAverage()}.Short(), target)
	if *maxWall > 0 {
		fmt.Fprintf(stdout, "target wall     ≤ %s: %s\n", *maxWall, verdict(wall <= *maxWall))
		if wall > *maxWall {
			status = 1
		}
	}
	if *maxRSS > 0 && hwmErr == nil {
		ok := hwm <= uint64(*maxRSS)*mib
		fmt.Fprintf(stdout, "target peak RSS ≤ %d MiB: %s\n", *maxRSS, verdict(ok))
		if !ok {
			status = 1
		}
	}
	return status
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

type fileCount struct{ all, toml int }

// count returns how many files fsys holds and the total size of its TOML files.
func count(fsys fs.FS) (n fileCount, tomlBytes int64, err error) {
	err = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		n.all++
		if strings.HasSuffix(p, ".toml") {
			info, err := d.Info()
			if err != nil {
				return err
			}
			n.toml++
			tomlBytes += info.Size()
		}
		return nil
	})
	return n, tomlBytes, err
}
