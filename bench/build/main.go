// Command build times `marketplace build` on a synthetic catalog: one full build into an empty
// folder, a second build with nothing changed (which fills the output's second tree), the
// rebuild after changing one product in-process, and the same rebuild from the command line
// (the real binary, as a user runs it); it prints wall time, CPU time and peak memory of each
// against the targets.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/hspc/marketplace/bench/internal/measure"
	"github.com/hspc/marketplace/catalog/synthetic"
	"github.com/hspc/marketplace/generator"
)

func main() {
	products := flag.Int("products", 10000, "products in the synthetic catalog")
	dir := flag.String("dir", "", "catalog folder to reuse or create (default: a temporary one)")
	maxFull := flag.Duration("max-full", 5*time.Second, "target wall time of the full build")
	maxIncr := flag.Duration("max-incremental", 500*time.Millisecond, "target wall time of the one-product rebuild")
	maxRSS := flag.Uint64("max-rss-mib", 455, "target peak RSS of the full build, MiB")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the full build to `FILE`")
	withSearch := flag.Bool("search", false, "include the search stage (issue targets: without search ≤ 5 s; with it ≤ 10 s)")
	outParent := flag.String("outdir", "", "folder to build into (default: the system temp folder); /dev/shm separates CPU from disk cost")
	cli := flag.Bool("cli", true, "also time the one-product rebuild through the marketplace binary")
	memProfile := flag.String("memprofile", "", "write heap profiles taken when the full build's and the one-product rebuild's live heap peaked to `FILE` and FILE.incremental")
	flag.Parse()

	root := *dir
	if root == "" {
		tmp, err := os.MkdirTemp("", "marketplace-build-bench-")
		check(err)
		defer os.RemoveAll(tmp)
		root = tmp
	}
	if _, err := os.Stat(filepath.Join(root, "index.toml")); err != nil {
		start := time.Now()
		check(synthetic.Write(root, synthetic.Options{Products: *products}))
		fmt.Printf("catalog       %d products written to %s in %s\n", *products, root, time.Since(start).Round(time.Millisecond))
	}
	outDir, err := os.MkdirTemp(*outParent, "marketplace-build-out-")
	check(err)
	defer os.RemoveAll(outDir)
	out := filepath.Join(outDir, "public")
	opts := generator.Options{Root: root, Out: out, Verify: generator.VerifySkip, NoSearch: !*withSearch}

	var res *generator.Result
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		check(err)
		check(pprof.StartCPUProfile(f))
	}
	stopHeap := func() {}
	if *memProfile != "" {
		stopHeap = measure.HeapAtPeak(*memProfile)
	}
	limitMemory(out)
	full := measure.Run(func() {
		res, err = generator.Build(context.Background(), opts)
	})
	pprof.StopCPUProfile()
	stopHeap()
	check(err)
	fmt.Printf("full build    %d products, %d pages: %s\n", len(res.Catalog.Products), res.Stats.Pages, full)

	// A second build with nothing changed brings the output's other tree up to date.
	limitMemory(out)
	again := measure.Run(func() {
		res, err = generator.Build(context.Background(), opts)
	})
	check(err)
	fmt.Printf("unchanged     %d pages rendered, %d reused: %s\n", res.Stats.Rendered, res.Stats.Reused, again)

	// Change one product's summary and build again into the same output.
	p := res.Catalog.Products[res.Catalog.SortedProductIDs()[len(res.Catalog.Products)/2]]
	file := filepath.Join(root, filepath.FromSlash(p.Path))
	data, err := os.ReadFile(file)
	check(err)
	check(os.WriteFile(file, bytes.Replace(data, []byte(`summary = "`), []byte(`summary = "Changed: `), 1), 0o644))
	defer os.WriteFile(file, data, 0o644)
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile + ".incremental")
		check(err)
		check(pprof.StartCPUProfile(f))
	}
	stopHeap = func() {}
	if *memProfile != "" {
		stopHeap = measure.HeapAtPeak(*memProfile + ".incremental")
	}
	limitMemory(out)
	incr := measure.Run(func() {
		res, err = generator.Build(context.Background(), opts)
	})
	pprof.StopCPUProfile()
	stopHeap()
	check(err)
	fmt.Printf("incremental   1 product changed, %d pages rendered, %d reused: %s\n", res.Stats.Rendered, res.Stats.Reused, incr)

	cliWall := time.Duration(-1)
	if *cli {
		bin := filepath.Join(outDir, "marketplace")
		build := exec.Command("go", "build", "-o", bin, "./cmd/marketplace")
		build.Stdout, build.Stderr = os.Stdout, os.Stderr
		check(build.Run())
		// The same product changed once more (so the rebuild has something to do), built the way
		// a user builds; --no-verify since synthetic images do not exist.
		check(os.WriteFile(file, bytes.Replace(data, []byte(`summary = "`), []byte(`summary = "Changed again: `), 1), 0o644))
		args := []string{"build", "-C", root, "-o", out, "--no-verify"}
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "GOMAXPROCS=2")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		start := time.Now()
		err := cmd.Run()
		cliWall = time.Since(start)
		if err != nil {
			check(fmt.Errorf("%v: %s", err, stderr.String()))
		}
		ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		// No peak RSS: Linux counts the parent's resident memory (this benchmark's, shared until
		// exec) in the child's high-water mark.
		fmt.Printf("command line  marketplace %s: wall %s, CPU %s, load average %s\n              %s",
			strings.Join(args[:1], " "), cliWall.Round(time.Millisecond), cpu.Round(time.Millisecond), measure.LoadAverage(), stderr.String())
		if !*withSearch {
			fmt.Println("              (the command line builds search too; the in-process figures above do not unless -search)")
		}
	}

	fmt.Printf("\ntargets on 2 cores: full ≤ %s (%s), peak ≤ %d MiB (%s), incremental ≤ %s (%s)",
		*maxFull, verdict(full.Wall <= *maxFull), *maxRSS, verdict(full.PeakRSS>>20 <= *maxRSS),
		*maxIncr, verdict(incr.Wall <= *maxIncr))
	if cliWall >= 0 {
		fmt.Printf(", command-line rebuild ≤ %s (%s)", *maxIncr, verdict(cliWall <= *maxIncr))
	}
	fmt.Println()
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "build bench:", err)
		os.Exit(1)
	}
}

// limitMemory sets the soft memory limit and the collector's target marketplace build would
// run a build into out under.
func limitMemory(out string) { generator.SetMemoryPolicy(out) }
