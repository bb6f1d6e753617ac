// Command mirror times `marketplace mirror` on a synthetic upstream: clone from a repository
// path, export to a bundle, clone from the bundle, a sync with nothing new, and a sync of one new
// commit that changes one product, and prints wall time, CPU time and peak memory of each.
//
// The upstream repository is made with the git program, as its owner would. The synthetic
// catalog's images carry no signature material, so its policy is set to warn on unsigned images:
// each check still loads, validates and verifies every build offline.
//
//	GOMAXPROCS=2 go run ./bench/mirror [-products 10000]
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
	"time"

	"github.com/hspc/marketplace/bench/internal/measure"
	"github.com/hspc/marketplace/catalog/federate"
	"github.com/hspc/marketplace/catalog/synthetic"
)

func main() {
	products := flag.Int("products", 10000, "products in the synthetic upstream")
	maxSync := flag.Duration("max-sync", 2*time.Second, "target wall time of the one-commit sync")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the one-commit sync to `FILE`")
	flag.Parse()
	ctx := context.Background()

	tmp, err := os.MkdirTemp("", "marketplace-mirror-bench-")
	check(err)
	defer os.RemoveAll(tmp)
	src := filepath.Join(tmp, "upstream")
	start := time.Now()
	check(synthetic.Write(src, synthetic.Options{Products: *products}))
	index := filepath.Join(src, "index.toml")
	data, err := os.ReadFile(index)
	check(err)
	check(os.WriteFile(index, bytes.Replace(data, []byte("require_signatures = true"), []byte("require_signatures = false"), 1), 0o644))
	git(src, "init", "-q", "-b", "main")
	git(src, "add", "-A")
	git(src, "commit", "-q", "-m", "synthetic catalog")
	fmt.Printf("upstream      %d products committed in %s (%s)\n", *products, src, time.Since(start).Round(time.Millisecond))

	mirror := filepath.Join(tmp, "mirror")
	var res *federate.Result
	clone := measure.Run(func() { res, err = federate.Clone(ctx, src, mirror, federate.Options{}) })
	check(err)
	fmt.Printf("clone (path)  %d products, %d warnings: %s\n", res.Products, len(res.Diagnostics), clone)

	bundle := filepath.Join(tmp, "upstream.bundle")
	export := measure.Run(func() { _, err = federate.Export(mirror, bundle, "") })
	check(err)
	info, err := os.Stat(bundle)
	check(err)
	fmt.Printf("export        %.1f MiB bundle: %s\n", float64(info.Size())/(1<<20), export)

	mirror2 := filepath.Join(tmp, "mirror-from-bundle")
	cloneBundle := measure.Run(func() { res, err = federate.Clone(ctx, bundle, mirror2, federate.Options{}) })
	check(err)
	fmt.Printf("clone (bundle) %d products: %s\n", res.Products, cloneBundle)

	noop := measure.Run(func() { res, err = federate.Sync(ctx, mirror, federate.Options{}) })
	check(err)
	fmt.Printf("sync (none)   nothing new: %s\n", noop)

	// One commit changing one product's summary.
	var file string
	check(filepath.WalkDir(filepath.Join(src, "products"), func(p string, d os.DirEntry, err error) error {
		if err == nil && file == "" && filepath.Ext(p) == ".toml" && d.Name() != "publisher.toml" {
			file = p
		}
		return err
	}))
	data, err = os.ReadFile(file)
	check(err)
	check(os.WriteFile(file, bytes.Replace(data, []byte(`summary = "`), []byte(`summary = "Changed: `), 1), 0o644))
	git(src, "commit", "-q", "-am", "change one product")
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		check(err)
		check(pprof.StartCPUProfile(f))
	}
	one := measure.Run(func() { res, err = federate.Sync(ctx, mirror, federate.Options{}) })
	pprof.StopCPUProfile()
	check(err)
	fmt.Printf("sync (1 commit) %s..%s: %s\n", res.Old[:12], res.State.Commit[:12], one)

	verdict := "met"
	if one.Wall > *maxSync {
		verdict = "MISSED"
	}
	fmt.Printf("\ntarget on 2 cores: one-commit sync ≤ %s (%s)\n", *maxSync, verdict)
}

func git(dir string, args ...string) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=Bench", "GIT_AUTHOR_EMAIL=bench@example.org",
		"GIT_COMMITTER_NAME=Bench", "GIT_COMMITTER_EMAIL=bench@example.org", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "git %v: %v\n%s", args, err, out)
		os.Exit(1)
	}
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "mirror bench:", err)
		os.Exit(1)
	}
}
