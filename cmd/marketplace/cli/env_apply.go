package cli

import (
	"fmt"
	"maps"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hspc/marketplace/generator/deploy"
)

func newEnvApply(g *globals) *cobra.Command {
	var format, output, registryMap string
	var dryRun, update bool
	cmd := &cobra.Command{
		Use:   "apply FILE [--dry-run]",
		Short: "Export an environment and deploy it with one command",
		Long: `apply exports the environment (as env export does, into the same DIR) and runs the one command
that deploys it, printing it first:

  kubernetes  kubectl apply -k DIR
  compose     docker compose --env-file DIR/secrets.env -f DIR/compose.yaml up -d

It stops before running anything when a secret you must provide is still empty in secrets.env,
and when the tool is not installed. --dry-run writes nothing and runs nothing: it prints the files
the export would write and the command.`,
		Example: `  marketplace env apply environments/fhir.toml --dry-run
  marketplace env apply environments/fhir.toml`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			x, err := g.exportEnv(args[0], format, output, registryMap, update)
			if err != nil {
				return err
			}
			argv, err := deploy.ApplyCommand(x.format, x.dir)
			if err != nil {
				return err
			}
			missing := deploy.MissingSecrets(x.res, x.secrets)
			if dryRun {
				for _, name := range slices.Sorted(maps.Keys(x.files)) {
					fmt.Fprintf(g.stdout, "would write %s\n", filepath.Join(x.dir, name))
				}
				fmt.Fprintf(g.stdout, "would run: %s\n", deploy.QuoteArgs(argv))
				if len(missing) > 0 {
					fmt.Fprintf(g.stderr, "note: fill in %s in %s before applying\n", strings.Join(missing, ", "), filepath.Join(x.dir, deploy.SecretsFile))
				}
				if _, err := exec.LookPath(argv[0]); err != nil {
					fmt.Fprintf(g.stderr, "note: %s is not installed here (%s)\n", argv[0], toolHint(argv[0]))
				}
				return nil
			}
			tool, err := exec.LookPath(argv[0])
			if err != nil {
				return fmt.Errorf("%s is not installed or not on PATH, so the environment cannot be applied from here: %s; or run `%s` where it is", argv[0], toolHint(argv[0]), deploy.QuoteArgs(argv))
			}
			if err := x.write(); err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "wrote %s to %s (%s)\n", plural(len(x.files), "file"), x.dir, x.format)
			if len(missing) > 0 {
				return problemsError{fmt.Sprintf("fill in %s in %s, then apply again", strings.Join(missing, ", "), filepath.Join(x.dir, deploy.SecretsFile))}
			}
			fmt.Fprintf(g.stdout, "+ %s\n", deploy.QuoteArgs(argv))
			run := exec.CommandContext(cmd.Context(), tool, argv[1:]...)
			run.Stdout, run.Stderr = g.stdout, g.stderr
			if err := run.Run(); err != nil {
				return fmt.Errorf("%s: %w", deploy.QuoteArgs(argv), err)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "", "manifest `FORMAT`: kubernetes or compose (default: the environment's platform)")
	cmd.Flags().StringVarP(&output, "output", "o", "", "export into `DIR` (default: the environment file's path without .toml)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "write nothing and run nothing; print the files and the command")
	cmd.Flags().BoolVar(&update, "update", false, "resolve every constraint to the newest matching build, ignoring the lock")
	cmd.Flags().StringVar(&registryMap, "registry-map", "", "pull images from the private registry of this mapping `FILE` (marketplace mirror images)")
	return cmd
}

// toolHint says where to get a deployment tool.
func toolHint(tool string) string {
	switch tool {
	case "kubectl":
		return "install it from https://kubernetes.io/docs/tasks/tools/"
	case "docker":
		return "install Docker Engine with the Compose plugin from https://docs.docker.com/compose/install/"
	}
	return "install it"
}
