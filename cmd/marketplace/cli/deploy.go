package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/Masterminds/semver/v3"
	"github.com/spf13/cobra"

	"github.com/hspc/marketplace/catalog"
	"github.com/hspc/marketplace/generator/deploy"
)

func newDeploy(g *globals) *cobra.Command {
	var format, envFile, output, registryMap string
	cmd := &cobra.Command{
		Use:   "deploy PUBLISHER/PRODUCT[@VERSION] --format kubernetes|compose",
		Short: "Write Kubernetes manifests or a Compose file for one build of a product",
		Long: `deploy writes the deployment manifest of one build: Kubernetes objects (a Deployment,
Service and HorizontalPodAutoscaler per task, a ConfigMap and Secret for the parameters, the smoke
test as a suspended Job) or a Compose file (a service per task, the smoke test in a profile).

Without @VERSION the latest release by SemVer is used (a pre-release only when the product has
nothing else). --env FILE gives parameter values in dotenv syntax (KEY=value lines); names must
be parameters of the build and values must match their patterns. Without it, or for values it
leaves out, the manifest holds defaults and placeholders, and its header lists the required
parameters still to be set.

The manifest goes to standard output, or to -o FILE (replaced atomically; readable only by you
when --env is given, as it then may hold secrets).`,
		Example: `  marketplace deploy acme/fhir --format kubernetes > fhir.yaml
  marketplace deploy acme/fhir@5.0.2 --format compose --env staging.env -o compose.yaml`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !slices.Contains(deploy.Formats, format) {
				if format == "" {
					return fmt.Errorf("--format is required: %s", strings.Join(deploy.Formats, " or "))
				}
				return fmt.Errorf("unknown --format %q (want %s)", format, strings.Join(deploy.Formats, " or "))
			}
			id, version, _ := strings.Cut(args[0], "@")
			if pub, prod, ok := strings.Cut(id, "/"); !ok || !catalog.IDPattern.MatchString(pub) || !catalog.IDPattern.MatchString(prod) {
				return fmt.Errorf("%q is not PUBLISHER/PRODUCT[@VERSION]", args[0])
			}

			var env map[string]string
			if envFile != "" {
				f, err := os.Open(envFile)
				if err != nil {
					return err
				}
				env, err = deploy.ParseEnvFile(f)
				f.Close()
				if err != nil {
					return problemsError{positioned(envFile, err)}
				}
			}

			root, err := g.catalogRoot()
			if err != nil {
				return err
			}
			c, ds := catalog.Check(os.DirFS(root))
			if ds.HasErrors() {
				errs := slices.DeleteFunc(slices.Clone(ds), func(d catalog.Diagnostic) bool { return d.Severity != catalog.Error })
				if err := errs.Write(g.stderr, "text"); err != nil {
					return err
				}
				return problemsError{fmt.Sprintf("the catalog has %s: fix the catalog (marketplace validate) before deploying", plural(len(errs), "error"))}
			}
			var unmapped []string // images the registry map lacks
			if registryMap != "" {
				m, err := catalog.ReadRegistryMap(registryMap)
				if err != nil {
					return fmt.Errorf("--registry-map: %w", err)
				}
				c, unmapped = deploy.MapImages(c, m)
			}
			p := c.Products[id]
			if p == nil {
				var same []string
				for _, other := range c.SortedProductIDs() {
					if strings.HasPrefix(other, strings.SplitN(id, "/", 2)[0]+"/") {
						same = append(same, other)
					}
				}
				if len(same) > 0 {
					return fmt.Errorf("no product %s in the catalog at %s (the publisher has %s)", id, root, strings.Join(same, ", "))
				}
				return fmt.Errorf("no product %s in the catalog at %s", id, root)
			}
			b, err := pickBuild(p, version)
			if err != nil {
				return err
			}

			if slices.Contains(unmapped, b.Image) {
				fmt.Fprintf(g.stderr, "note: %s is not in %s: the manifest pulls it from its publisher's registry (run marketplace mirror images)\n", b.Image, registryMap)
			}
			file := "" // the header names the file: -o's, or the site's name for standard output
			if output != "" && output != "-" {
				file = filepath.Base(output)
			}
			out, err := deploy.RenderFile(format, file, p, b, env)
			if err != nil {
				var ee *deploy.EnvError
				if errors.As(err, &ee) {
					return problemsError{positioned(envFile, err)}
				}
				return err
			}
			if missing := deploy.MissingRequired(b, env); len(missing) > 0 {
				fmt.Fprintf(g.stderr, "note: %s of %s %s without a value: %s (see the manifest's header)\n",
					plural(len(missing), "required parameter"), p.ID, b.Version, strings.Join(missing, ", "))
			}
			if output == "" || output == "-" {
				_, err := g.stdout.Write(out)
				return err
			}
			mode := os.FileMode(0o644)
			if envFile != "" {
				mode = 0o600
			}
			return writeAtomic(output, out, mode)
		},
	}
	cmd.Flags().StringVar(&format, "format", "", "manifest `FORMAT`: kubernetes or compose (required)")
	cmd.Flags().StringVar(&envFile, "env", "", "parameter values from dotenv `FILE` (KEY=value lines)")
	cmd.Flags().StringVarP(&output, "output", "o", "", "write the manifest to `FILE` instead of standard output")
	cmd.Flags().StringVar(&registryMap, "registry-map", "", "pull images from the private registry that registry map `FILE` (marketplace mirror images) names")
	return cmd
}

// pickBuild returns the build with the given version (compared as SemVer, so "v5.1.0" finds
// 5.1.0), or the latest release when version is empty: the highest SemVer that is not a
// pre-release, or the highest pre-release when there is nothing else.
func pickBuild(p *catalog.Product, version string) (*catalog.Build, error) {
	type candidate struct {
		b *catalog.Build
		v *semver.Version
	}
	var all []candidate
	var versions []string
	for i := range p.Builds {
		b := &p.Builds[i]
		versions = append(versions, b.Version)
		if v, err := semver.NewVersion(b.Version); err == nil {
			all = append(all, candidate{b, v})
		}
	}
	if len(p.Builds) == 0 {
		return nil, fmt.Errorf("%s has no builds", p.ID)
	}
	if version != "" {
		want, err := semver.NewVersion(version)
		for _, c := range all {
			if c.b.Version == version || err == nil && c.v.Equal(want) {
				return c.b, nil
			}
		}
		return nil, fmt.Errorf("%s has no build %s (versions: %s)", p.ID, version, strings.Join(versions, ", "))
	}
	slices.SortStableFunc(all, func(a, b candidate) int {
		if (a.v.Prerelease() == "") != (b.v.Prerelease() == "") {
			if a.v.Prerelease() == "" {
				return 1 // a release ranks above any pre-release
			}
			return -1
		}
		return a.v.Compare(b.v)
	})
	if len(all) == 0 {
		return nil, fmt.Errorf("%s has no build with a SemVer version", p.ID)
	}
	return all[len(all)-1].b, nil
}

// positioned puts the file name before every line of err's message, go vet style:
// "line 3: …" becomes "prod.env:3: …", any other line "prod.env: …".
func positioned(file string, err error) string {
	lines := strings.Split(err.Error(), "\n")
	for i, l := range lines {
		if rest, ok := strings.CutPrefix(l, "line "); ok {
			if n, msg, ok := strings.Cut(rest, ": "); ok && n != "" && strings.Trim(n, "0123456789") == "" {
				lines[i] = file + ":" + n + ": " + msg
				continue
			}
		}
		lines[i] = file + ": " + l
	}
	return strings.Join(lines, "\n")
}

// writeAtomic replaces name with data, so a reader never sees half a manifest and a failure
// leaves the old file as it was.
func writeAtomic(name string, data []byte, mode os.FileMode) error {
	return catalog.WriteFileAtomic(name, data, mode)
}
