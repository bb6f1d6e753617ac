package deploy

import (
	"errors"
	"io"

	"github.com/hspc/marketplace/catalog/env"
)

// Files of an exported environment, relative to the output folder.
const (
	// SecretsFile holds the values of the environment's one Secret as KEY=value lines: read by
	// Kustomize's secretGenerator on Kubernetes and by `docker compose --env-file` on Compose.
	// It is the only file that holds secrets; .gitignore keeps it out of Git.
	SecretsFile = "secrets.env"
	// KustomizationFile is the entry point of a Kubernetes export (kubectl apply -k DIR).
	KustomizationFile = "kustomization.yaml"
	// ComposeFile is the Compose export.
	ComposeFile = "compose.yaml"
)

// Environment renders a resolved environment in format ("kubernetes" or "compose") as files by
// path relative to the output folder, with the same renderer as per-build manifests:
//
//   - kubernetes: kustomization.yaml (namespace, resources, and a secretGenerator making the
//     environment's one Secret "<env>-secrets" from secrets.env), namespace.yaml when the
//     environment names a namespace, one <instance>.yaml per service (a ConfigMap of its plain
//     parameters; per task a Deployment, or a StatefulSet with volumeClaimTemplates for tasks
//     with persistent volumes; Services; HorizontalPodAutoscalers; the smoke test Job), secrets.env
//     and .gitignore;
//   - compose: compose.yaml (a service "<instance>-<task>" per task, named volumes, smoke tests
//     in profiles; every secret as a ${KEY} interpolation), secrets.env and .gitignore.
//
// Plain values go into ConfigMaps or the Compose file; every value that is or contains a secret
// is read from the environment's Secret (Param.SecretKey). secrets gives the values of
// res.Secrets (see SecretValues); with nil, secrets.env is a template with empty values, which
// is what a GitOps repository should hold.
func Environment(res *env.Resolution, format string, secrets map[string]string) (map[string][]byte, error) {
	return nil, errors.New("deploy.Environment: not implemented yet")
}

// SecretValues returns the values of the secrets of res: each one in existing (the secrets.env
// of the last export, parsed with ParseEnvFile) is kept; a Generated one without a value gets
// 32 random alphanumerics read from random (crypto/rand.Reader in production); a Given one
// without a value stays "" for the operator to fill in (MissingSecrets names them); Derived ones
// are computed from the others every time.
func SecretValues(res *env.Resolution, existing map[string]string, random io.Reader) (map[string]string, error) {
	return nil, errors.New("deploy.SecretValues: not implemented yet")
}

// MissingSecrets returns the keys of Given secrets that have no value in secrets, sorted: an
// export is incomplete, and apply refuses to run, until the operator fills them in.
func MissingSecrets(res *env.Resolution, secrets map[string]string) []string {
	var out []string
	for _, s := range res.Secrets {
		if s.Kind == env.Given && secrets[s.Key] == "" {
			out = append(out, s.Key)
		}
	}
	return out
}

// ApplyCommand returns the command that deploys an environment exported in format into dir,
// as argv: kubectl apply -k DIR, or docker compose --env-file DIR/secrets.env -f
// DIR/compose.yaml -p NAME up -d.
func ApplyCommand(res *env.Resolution, format, dir string) []string {
	return nil
}
