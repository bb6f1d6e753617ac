package cli

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hspc/marketplace/catalog"
	"github.com/hspc/marketplace/catalog/env"
	"github.com/hspc/marketplace/generator/deploy"
)

func newEnvExport(g *globals) *cobra.Command {
	var format, output, registryMap string
	var update bool
	cmd := &cobra.Command{
		Use:   "export FILE [--format kubernetes|compose] [-o DIR] [--update]",
		Short: "Write the manifests of a whole environment",
		Long: `export resolves the environment and writes its manifests into DIR (by default the
environment file's path without .toml: environments/fhir.toml → environments/fhir/):

  kubernetes  kustomization.yaml, namespace.yaml, one <service>.yaml per service (ConfigMaps for
              plain values; Deployments, or StatefulSets with volume claims for stateful tasks;
              Services; HorizontalPodAutoscalers; smoke-test Jobs), secrets.env, .gitignore
  compose     compose.yaml, secrets.env, .gitignore

--format defaults to the environment's platform. Every secret lives in secrets.env (mode 0600,
listed in .gitignore): generated ones are made on the first export and kept, derived ones are
recomputed, and the ones the environment references ({ secret = "NAME" }) are yours to fill in.
Manifests never hold a secret value. The lock beside the environment file records the builds;
--update resolves every constraint to the newest matching build again.

Files are replaced one by one, atomically; nothing else in DIR is touched.`,
		Example: `  marketplace env export environments/fhir.toml --format kubernetes -o deploy/fhir`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			x, err := g.exportEnv(args[0], format, output, registryMap, update)
			if err != nil {
				return err
			}
			if err := x.write(); err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "wrote %s to %s (%s)\n", plural(len(x.files), "file"), x.dir, x.format)
			if missing := deploy.MissingSecrets(x.res, x.secrets); len(missing) > 0 {
				fmt.Fprintf(g.stderr, "note: fill in %s in %s before applying\n", strings.Join(missing, ", "), filepath.Join(x.dir, deploy.SecretsFile))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "", "manifest `FORMAT`: kubernetes or compose (default: the environment's platform)")
	cmd.Flags().StringVarP(&output, "output", "o", "", "write into `DIR` (default: the environment file's path without .toml)")
	cmd.Flags().BoolVar(&update, "update", false, "resolve every constraint to the newest matching build, ignoring the lock")
	cmd.Flags().StringVar(&registryMap, "registry-map", "", "pull images from the private registry of this mapping `FILE` (marketplace mirror images)")
	return cmd
}

// export is an environment rendered in memory, ready to be written.
type export struct {
	f       *envFile
	res     *env.Resolution
	format  string
	dir     string
	files   map[string][]byte
	secrets map[string]string
}

// exportEnv resolves the environment at path and renders it; nothing is written yet. Existing
// secrets in DIR/secrets.env are kept.
func (g *globals) exportEnv(path, format, output, registryMap string, update bool) (*export, error) {
	f, err := g.openEnv(path)
	if err != nil {
		return nil, err
	}
	if format == "" {
		format = f.env.PlatformOrDefault()
	} else if !slices.Contains(deploy.Formats, format) {
		return nil, fmt.Errorf("unknown --format %q (want %s)", format, strings.Join(deploy.Formats, " or "))
	}
	c, err := g.checkedCatalog()
	if err != nil {
		return nil, err
	}
	res, err := g.resolve(c, f, update)
	if err != nil {
		return nil, err
	}
	if registryMap != "" {
		m, err := catalog.ReadRegistryMap(registryMap)
		if err != nil {
			return nil, fmt.Errorf("--registry-map: %w", err)
		}
		if missing := deploy.MapResolution(res, m); len(missing) > 0 {
			return nil, problemsError{fmt.Sprintf("%s has no copy of %s: run marketplace mirror images first", registryMap, strings.Join(missing, ", "))}
		}
	}
	g.printNotes(res)
	dir := outputDir(path, output)
	existing := map[string]string{}
	secretsPath := filepath.Join(dir, deploy.SecretsFile)
	if sf, err := os.Open(secretsPath); err == nil {
		existing, err = deploy.ParseEnvFile(sf)
		sf.Close()
		if err != nil {
			return nil, problemsError{positioned(secretsPath, err)}
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	secrets, err := deploy.SecretValues(res, existing, rand.Reader)
	if err != nil {
		return nil, err
	}
	files, err := deploy.Environment(res, format, secrets)
	if err != nil {
		return nil, err
	}
	return &export{f: f, res: res, format: format, dir: dir, files: files, secrets: secrets}, nil
}

// exportList names, in an exported folder, the files the last export wrote, so that the next
// one can remove those it no longer writes (a service taken out of the environment) and never
// anything else.
const exportList = ".marketplace-export"

// write writes the files into the folder, each atomically, secrets.env readable only by its
// owner; removes the files the previous export wrote that this one does not (never the secrets
// file, which may hold values the operator wrote); and then writes the lock.
func (x *export) write() error {
	if err := os.MkdirAll(x.dir, 0o755); err != nil {
		return err
	}
	names := slices.Sorted(maps.Keys(x.files))
	for _, name := range names {
		mode := os.FileMode(0o644)
		if name == deploy.SecretsFile {
			mode = 0o600
		}
		if err := writeAtomic(filepath.Join(x.dir, name), x.files[name], mode); err != nil {
			return err
		}
	}
	listPath := filepath.Join(x.dir, exportList)
	if old, err := os.ReadFile(listPath); err == nil {
		for _, name := range strings.Split(string(old), "\n") {
			if name == "" || strings.HasPrefix(name, "#") || x.files[name] != nil || name == deploy.SecretsFile ||
				name != filepath.Base(name) || strings.HasPrefix(name, "..") {
				continue
			}
			if fi, err := os.Lstat(filepath.Join(x.dir, name)); err == nil && fi.Mode().IsRegular() {
				if err := os.Remove(filepath.Join(x.dir, name)); err != nil {
					return err
				}
			}
		}
	}
	list := "# Files written by marketplace env export; the next export removes those it no longer writes.\n" + strings.Join(names, "\n") + "\n"
	if err := writeAtomic(listPath, []byte(list), 0o644); err != nil {
		return err
	}
	return writeLock(x.f, x.res)
}
