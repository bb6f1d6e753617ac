package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/pprof"

	"github.com/spf13/cobra"

	"github.com/hspc/marketplace/catalog"
	"github.com/hspc/marketplace/catalog/federate"
	"github.com/hspc/marketplace/catalog/trust"
	"github.com/hspc/marketplace/generator"
	"github.com/hspc/marketplace/theme"
)

func newBuild(g *globals) *cobra.Command {
	var (
		out, ref, themeDir, material, cacheDir, trustedRoot, signKeys, registryMap, cpuProfile, memProfile string
		offline, noVerify                                                                                  bool
		jobs                                                                                               int
		upstreams                                                                                          federate.UpstreamOptions
		loadCache                                                                                          loadCacheFlag
	)
	cmd := &cobra.Command{
		Use:   "build",
		Short: "Build the static site, JSON API, feed, badges and deploy manifests",
		Long: `build validates the catalog, verifies every image and its signature, and writes the
outputs into -o DIR atomically: DIR is a symbolic link to one of two trees beside it (.DIR.a,
.DIR.b); a build brings the other tree up to date with what changed since it was published and
switches the link in one rename, so a failed build leaves the previous output as it was. Dates
come from Git history.

DIR must be absent, empty, or the output of an earlier build; anything else (a regular file, a
folder of other files, the catalog repository) is refused with exit 2 and left untouched. A
symbolic link is followed to its target. One build at a time may write DIR: a second exits 2 with
"another build is writing DIR".

With --offline, signatures are re-verified from signature material (the catalog's signatures/
folder, or --material DIR) and no registry is contacted, and upstreams are read from the
upstreams cache only.

Upstreams ([[upstreams]] in index.toml) are read at the commits upstreams.lock pins and merged
with the local products; each upstream's images verify offline against its own signatures/.`,
		Example: `  marketplace build --offline -o public
  marketplace build --ref v2026.11 -o public
  marketplace build --offline -o public --sign keys`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			root, err := g.catalogRoot()
			if err != nil {
				return err
			}
			if cpuProfile != "" {
				stop, err := startCPUProfile(cpuProfile)
				if err != nil {
					return fmt.Errorf("--cpuprofile: %w", err)
				}
				defer stop()
			}
			if memProfile != "" {
				defer writeAllocsProfile(memProfile, g.stderr)
			}
			generator.SetMemoryPolicy(g.path(out))
			opts := generator.Options{
				Root: root, Ref: ref, Out: g.path(out), Jobs: jobs, Theme: theme.FS,
				Material: material, CacheDir: cacheDir, TrustedRoot: trustedRoot,
				Log: g.stderr, Progress: g.terminal(), Upstreams: upstreams,
				LoadCache: loadCache.open(root),
			}
			if registryMap != "" {
				m, err := catalog.ReadRegistryMap(registryMap)
				if err != nil {
					return fmt.Errorf("--registry-map: %w", err)
				}
				opts.RegistryMap = m
			}
			if signKeys != "" {
				keys, err := trust.LoadKeys(signKeys)
				if err != nil {
					return fmt.Errorf("--sign: %w", err)
				}
				opts.Sign = keys
			}
			opts.Upstreams.Offline = offline
			if themeDir != "" {
				if _, err := os.Stat(themeDir); err != nil {
					return fmt.Errorf("--theme: %w", err)
				}
				opts.Theme = os.DirFS(themeDir)
			}
			switch {
			case noVerify:
				opts.Verify = generator.VerifySkip
			case offline:
				opts.Verify = generator.VerifyOffline
			}
			res, err := generator.Build(cmd.Context(), opts)
			loadCache.save(opts.LoadCache, g.stderr)
			if res != nil && len(res.Diagnostics) > 0 {
				res.Diagnostics.Write(g.stdout, "text")
			}
			if errors.Is(err, generator.ErrInvalid) {
				return problemsError{fmt.Sprintf("build: %v; nothing written", err)}
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stderr, "built %s: %d products, %d pages (%d rendered, %d reused) in %s\n",
				out, len(res.Catalog.Products), res.Stats.Pages, res.Stats.Rendered, res.Stats.Reused, res.Elapsed.Round(1e6))
			if res.Signed != nil {
				printSigned(g.stderr, out, res.Signed)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&out, "out", "o", "public", "output `DIR` (relative to -C when given): a link switched atomically between two trees")
	f.StringVar(&ref, "ref", "", "build the catalog at Git revision `REV` instead of the work tree")
	f.BoolVar(&offline, "offline", false, "verify signatures from signature material only; contact no registry")
	f.BoolVar(&noVerify, "no-verify", false, "skip image verification (every image shows as unchecked)")
	f.IntVar(&jobs, "jobs", 0, "parallel workers (default: number of CPUs)")
	f.StringVar(&themeDir, "theme", "", "theme `DIR` with templates/ and static/ (default: the embedded theme)")
	f.StringVar(&material, "material", "", "signature material `DIR` (default: the catalog's signatures/ folder)")
	f.StringVar(&cacheDir, "cache", defaultCacheDir(), "verification cache `DIR`")
	f.StringVar(&trustedRoot, "trusted-root", "", "Sigstore trusted_root.json `FILE` for keyless signers")
	f.StringVar(&signKeys, "sign", "", "sign the output with TUF metadata using the key `DIR` made by marketplace trust init")
	f.StringVar(&registryMap, "registry-map", "", "deploy manifests pull from the private registry that registry map `FILE` (marketplace mirror images) names")
	upstreamFlags(f, &upstreams)
	loadCache.register(cmd)
	f.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the build to `FILE` (go tool pprof)")
	_ = f.MarkHidden("cpuprofile") // for measuring the generator, not for publishing
	f.StringVar(&memProfile, "memprofile", "", "write a profile of the build's allocations to `FILE` when it ends (go tool pprof -sample_index=alloc_space)")
	_ = f.MarkHidden("memprofile")
	cmd.MarkFlagsMutuallyExclusive("offline", "no-verify")
	return cmd
}

// startCPUProfile writes a CPU profile to file until stop is called.
func startCPUProfile(file string) (stop func(), err error) {
	f, err := os.Create(file)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// writeAllocsProfile writes the allocations made since the program started to file.
func writeAllocsProfile(file string, log io.Writer) {
	f, err := os.Create(file)
	if err == nil {
		err = pprof.Lookup("allocs").WriteTo(f, 0)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintf(log, "--memprofile: %v\n", err)
	}
}
