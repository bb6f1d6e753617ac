package cli

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/hspc/marketplace/agent"
	"github.com/hspc/marketplace/catalog"
)

func newAgent(g *globals) *cobra.Command {
	var (
		catalogRef, envPath, out, gitURL, branch, folder, author, state string
		rootFile, tufDir, at, registryMap                               string
		interval                                                        time.Duration
		once                                                            bool
	)
	cmd := &cobra.Command{
		Use:   "agent --catalog URL|DIR --env FILE (--out DIR | --git REPO)",
		Short: "Keep a platform in step with a marketplace (polls, resolves, publishes manifests)",
		Long: `agent keeps an environment deployed from a marketplace up to date. Every --interval it
fetches the catalog's api/v1/catalog.json (with If-None-Match, so an unchanged catalog costs one
304), resolves the environment file's constraints (such as version = "^5") to the newest
matching builds, renders the environment's manifests for its platform (as env export does,
with secrets.env a template: secret values never leave the platform) and publishes them:

  --out DIR   replaces the folder atomically (kubectl apply -k DIR, or docker compose, reads it)
  --git REPO  commits them to --folder of --branch of a Git repository and pushes, one commit
              per change, its message naming the builds that moved, for Argo CD or Flux to
              apply; REPO is a local path, file://, https or ssh URL (ssh uses the ssh agent)

With --root FILE (the publisher's root.json, from marketplace trust init) the catalog is read
through the site's signed TUF metadata with go-tuf's updater: a replayed older snapshot, an
expired timestamp (a frozen site), mixed files, a tampered file or a wrong key is refused. With
--registry-map the manifests pull from the private registry that marketplace mirror images filled.

It never acts on a catalog that is partial, does not decode, names no commit after one that
did, or was built from a commit older than the last one it used (a rollback or a stale
mirror), nor on one the environment does not resolve against: it logs why and keeps the last
good state. Its state (what it published, from which catalog) is kept in --state, by default
in the user cache folder, named after the catalog, the environment and the target.

One line per decision goes to standard output. With --once it runs one step and exits 0 when
it published or found nothing to do, 1 when it refused the catalog, 2 when it failed.`,
		Example: `  marketplace agent --catalog https://marketplace.example.org/ --env environments/fhir.toml \
      --git git@git.hospital.example:platform/gitops.git --folder clusters/prod/fhir --interval 10m
  marketplace agent --catalog public --env environments/fhir.toml --out deploy/fhir --once`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if catalogRef == "" || envPath == "" {
				return errors.New("agent needs --catalog and --env")
			}
			if (out == "") == (gitURL == "") {
				return errors.New("agent needs exactly one of --out DIR and --git REPO")
			}
			var err error
			if _, err := os.Stat(envPath); err != nil {
				return fmt.Errorf("--env: %w", err)
			}
			var src agent.Source
			if rootFile == "" {
				if at != "" || tufDir != "" {
					return errors.New("--at and --tuf-dir need --root: the publisher's root.json")
				}
				if src, err = agent.NewSource(catalogRef, nil); err != nil {
					return err
				}
			} else {
				root, err := os.ReadFile(rootFile)
				if err != nil {
					return fmt.Errorf("--root: %w", err)
				}
				var ref time.Time
				if at != "" {
					if ref, err = time.Parse(time.RFC3339, at); err != nil {
						return fmt.Errorf("--at %s: want an RFC 3339 time such as 2026-11-26T12:00:00Z", at)
					}
				}
				if src, err = agent.NewTUFSource(catalogRef, root, "", ref, nil); err != nil {
					return err
				}
			}
			var target agent.Target
			if out != "" {
				target = &agent.FolderTarget{Dir: out}
			} else {
				target = &agent.GitTarget{URL: gitURL, Branch: branch, Folder: folder, Author: author}
			}
			if state == "" {
				if state, err = defaultAgentState(src.String(), envPath, target.String()); err != nil {
					return err
				}
			}
			if ts, ok := src.(*agent.TUFSource); ok {
				ts.Client.LocalDir = tufDir
				if tufDir == "" {
					ts.Client.LocalDir = state + ".tuf"
				}
			}
			a := &agent.Agent{Source: src, EnvPath: envPath, Target: target, StatePath: state, Log: g.stdout}
			if registryMap != "" {
				if a.Registry, err = catalog.ReadRegistryMap(registryMap); err != nil {
					return fmt.Errorf("--registry-map: %w", err)
				}
			}
			if !once {
				return a.Run(cmd.Context(), interval)
			}
			switch d := a.Step(cmd.Context()); d.Action {
			case agent.Refused:
				return problemsError{}
			case agent.Failed:
				return errors.New("the agent step failed (see the line above)")
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&catalogRef, "catalog", "", "the catalog: `URL` of a published site, or DIR holding a built one")
	f.StringVar(&envPath, "env", "", "the environment `FILE` to keep deployed")
	f.StringVar(&out, "out", "", "publish into `DIR`, replaced atomically")
	f.StringVar(&gitURL, "git", "", "publish to the Git repository at `REPO` (path or URL)")
	f.StringVar(&branch, "branch", "main", "`BRANCH` of --git to commit to")
	f.StringVar(&folder, "folder", "", "`PATH` in the --git repository for the manifests (default: its root)")
	f.StringVar(&author, "author", "marketplace agent <agent@marketplace.invalid>", "commit author, `\"Name <email>\"`")
	f.StringVar(&state, "state", "", "the agent's state `FILE`")
	f.DurationVar(&interval, "interval", 5*time.Minute, "time between polls (`D`)")
	f.BoolVar(&once, "once", false, "run one step and exit")
	f.StringVar(&rootFile, "root", "", "read the catalog through its TUF metadata, trusting this root.json `FILE` (build --sign)")
	f.StringVar(&tufDir, "tuf-dir", "", "`DIR` keeping the trusted TUF metadata (default: --state with .tuf)")
	f.StringVar(&at, "at", "", "check TUF expiry at `TIME` (RFC 3339) instead of now: offline media")
	f.StringVar(&registryMap, "registry-map", "", "rewrite images to a private registry with this mapping `FILE` (mirror images)")
	return cmd
}

// defaultAgentState names the state file after what the agent follows, in the user cache folder.
func defaultAgentState(parts ...string) (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no user cache folder for the agent's state (%v); pass --state FILE", err)
	}
	h := sha256.New()
	for _, p := range parts {
		if abs, err := filepath.Abs(p); err == nil && !isURL(p) {
			p = abs
		}
		fmt.Fprintf(h, "%s\x00", p)
	}
	return filepath.Join(dir, "marketplace", "agent", hex.EncodeToString(h.Sum(nil))[:16]+".json"), nil
}

func isURL(s string) bool {
	for _, p := range []string{"http://", "https://", "ssh://", "file://", "git@"} {
		if len(s) >= len(p) && s[:len(p)] == p {
			return true
		}
	}
	return false
}
