package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hspc/marketplace/catalog"
	"github.com/hspc/marketplace/catalog/env"
)

func newEnvInit(g *globals) *cobra.Command {
	var platform, namespace string
	cmd := &cobra.Command{
		Use:   "init FILE",
		Short: "Create an environment file",
		Long: `init writes a new environment file: its name (the file's base name), the platform and
namespace, and commented examples of services, externals and bindings. It never overwrites a file.`,
		Example: `  marketplace env init environments/fhir.toml --namespace fhir`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := args[0]
			if platform != "" && !slices.Contains(env.Platforms, platform) {
				return fmt.Errorf("unknown --platform %q (want %s)", platform, strings.Join(env.Platforms, " or "))
			}
			if namespace != "" && !catalog.IDPattern.MatchString(namespace) {
				return fmt.Errorf("--namespace %q must be a DNS label: lowercase letters, digits and inner hyphens", namespace)
			}
			if _, err := os.Stat(path); err == nil {
				return fmt.Errorf("%s already exists; add services to it with marketplace env add %s PRODUCT", path, path)
			}
			name := env.DNSLabel(strings.TrimSuffix(filepath.Base(path), filepath.Ext(path)))
			if !catalog.IDPattern.MatchString(name) {
				return fmt.Errorf("cannot name an environment after %s: use a file name of lowercase letters, digits and hyphens", path)
			}
			if dir := filepath.Dir(path); dir != "." {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					return err
				}
			}
			if err := writeAtomic(path, env.Scaffold(name, platform, namespace), 0o644); err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "created %s; next: marketplace env add %s PUBLISHER/PRODUCT --with-deps\n", path, path)
			return nil
		},
	}
	cmd.Flags().StringVar(&platform, "platform", "", "target `PLATFORM`: kubernetes (default) or compose")
	cmd.Flags().StringVar(&namespace, "namespace", "", "Kubernetes `NAMESPACE` to deploy into")
	return cmd
}
