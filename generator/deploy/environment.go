package deploy

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hspc/marketplace/catalog"
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
	// NamespaceFile creates the environment's namespace, when it names one.
	NamespaceFile = "namespace.yaml"
	// ComposeFile is the Compose export.
	ComposeFile = "compose.yaml"
	// GitignoreFile keeps SecretsFile out of Git.
	GitignoreFile = ".gitignore"
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
// is what a GitOps repository should hold. The resolution must have no errors.
func Environment(res *env.Resolution, format string, secrets map[string]string) (map[string][]byte, error) {
	files, err := environmentFiles(res, format, true)
	if err != nil {
		return nil, err
	}
	if len(res.Secrets) > 0 {
		data, err := secretsFile(res, format, secrets)
		if err != nil {
			return nil, err
		}
		files[SecretsFile] = data
		files[GitignoreFile] = []byte("# Secret values: never commit them.\n" + SecretsFile + "\n")
	}
	return files, nil
}

// environmentFiles renders the manifests of res in format; on Kubernetes, generateSecret says
// whether the kustomization makes the environment's Secret from secrets.env.
func environmentFiles(res *env.Resolution, format string, generateSecret bool) (map[string][]byte, error) {
	if res == nil || res.Env == nil {
		return nil, errors.New("deploy: no environment")
	}
	files := map[string][]byte{}
	var err error
	switch format {
	case "kubernetes":
		err = kubernetesEnvironment(res, files, generateSecret)
	case "compose":
		err = composeEnvironment(res, files)
	default:
		return nil, fmt.Errorf("unknown format %q (want %s)", format, strings.Join(Formats, " or "))
	}
	if err != nil {
		return nil, err
	}
	return files, nil
}

// SecretKeysFile lists, in a GitOps export, the keys the environment's Secret must have, without
// values: the platform provides them.
const SecretKeysFile = "secrets.keys"

// GitOpsEnvironment renders res like Environment for a folder that is committed to Git or handed
// to others (the agent's output): no secret value is in it, not even generated ones. On
// Kubernetes the kustomization generates no Secret: the platform provides "<env>-secrets" (External
// Secrets Operator, Sealed Secrets, or kubectl create secret generic --from-env-file once) with
// the keys secrets.keys lists; on Compose, compose.yaml reads them as ${KEY} from the env file
// the operator passes to docker compose --env-file.
func GitOpsEnvironment(res *env.Resolution, format string) (map[string][]byte, error) {
	files, err := environmentFiles(res, format, false)
	if err != nil {
		return nil, err
	}
	if len(res.Secrets) > 0 {
		files[SecretKeysFile] = secretKeys(res, format)
	}
	return files, nil
}

// secretKeys renders secrets.keys: one line per key of the environment's Secret, with where its
// value comes from and who reads it; a derived key shows how it is made of the others.
func secretKeys(res *env.Resolution, format string) []byte {
	var b strings.Builder
	if format == "kubernetes" {
		fmt.Fprintf(&b, "# The keys of Secret %s, which the platform provides (this folder generates no Secret):\n", res.SecretsName())
		fmt.Fprintf(&b, "# for example kubectl create secret generic %s --from-env-file=secrets.env, once, from a\n", res.SecretsName())
		b.WriteString("# marketplace env export; or an ExternalSecret or SealedSecret of that name.\n")
	} else {
		fmt.Fprintf(&b, "# The ${KEY} values %s reads: pass them with docker compose --env-file FILE.\n", ComposeFile)
	}
	b.WriteString("# given: the operator's value; generated: a random value made once; derived: built from the others.\n")
	for _, s := range res.Secrets {
		fmt.Fprintf(&b, "%s\t# %s", s.Key, s.Kind)
		if s.Kind == env.Derived {
			fmt.Fprintf(&b, " = %s", s.Value.String())
		}
		if len(s.Usage) > 0 {
			fmt.Fprintf(&b, "; read by %s", strings.Join(s.Usage, ", "))
		}
		b.WriteString("\n")
	}
	return []byte(b.String())
}

// envSource returns the source of a resolved service: named by its instance, labelled as part of
// the environment, with its plain values as the environment to check.
func envSource(res *env.Resolution, rs *env.Resolved) (*source, error) {
	plain := map[string]string{}
	for _, p := range rs.Params {
		if p.SecretKey == "" && p.Source != env.SourceUnset {
			plain[p.Name] = p.Value.Eval(nil)
		}
	}
	s, err := newSource(rs.Product, rs.Build, plain)
	if err != nil {
		return nil, fmt.Errorf("service %s: %w", rs.Name, err)
	}
	s.base = dnsLabel(rs.Name)
	s.partOf = res.Env.Name
	for _, bd := range res.Bindings {
		if bd.Provider == rs {
			s.bindingsTo = append(s.bindingsTo, bd)
		}
	}
	s.svc = rs
	s.envPath = res.Env.Path
	return s, nil
}

// envSection writes the header part of a service of an environment: what provides each
// dependency, and where each parameter comes from.
func (s *source) envSection(c *comment, where func(catalog.Parameter) string) {
	rs := s.svc
	var serves []string
	for _, bd := range s.bindingsTo {
		serves = append(serves, bd.Consumer.Name+" ("+bd.Dependency.Interface+")")
	}
	if len(serves) > 0 {
		c.line()
		c.line("Serves, in this environment: ", strings.Join(serves, ", "))
	}
	if len(rs.Needs) > 0 {
		c.line()
		c.line("Needs, and what provides each in this environment:")
		for _, bd := range rs.Needs {
			req := "required"
			if !bd.Dependency.IsRequired() {
				req = "optional"
			}
			c.start("  ", bd.Dependency.Interface, " (", req, "): ")
			switch {
			case bd.Provider != nil:
				c.add("service ", bd.Provider.Name, " (", bd.Provider.Product.ID, " ", bd.Provider.Build.Version, ", ", bd.Interface, ")")
			case bd.External != nil:
				c.add("external ", bd.External.Name, " (", bd.Interface, ")")
			default:
				c.add("not bound")
			}
			if len(bd.Dependency.Bind) > 0 && bd.ProviderName() != "" {
				c.add("; ")
				s.bindings(c, *bd.Dependency)
			}
			c.end()
		}
	}
	c.line()
	c.line("Parameters:")
	for _, p := range rs.Params {
		prm := s.build.Parameter(p.Name)
		c.start("  ", p.Name, ": ", p.Source)
		if p.SecretKey != "" {
			c.add(", Secret key ", p.SecretKey)
		} else if prm != nil {
			c.add(where(*prm))
		}
		c.end()
	}
}

// configChecksumEnv hashes the plain values and the secret keys a service reads, so that its pods
// roll when its configuration changes. (The secretGenerator's name suffix changes, and rolls them,
// when a secret value does.)
func configChecksumEnv(rs *env.Resolved) string {
	h := sha256.New()
	for _, p := range rs.Params {
		if p.SecretKey != "" {
			fmt.Fprintf(h, "%s secret %q\n", p.Name, p.SecretKey)
		} else {
			fmt.Fprintf(h, "%s=%q\n", p.Name, p.Value.Eval(nil))
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// kustomization is the subset of Kustomize's Kustomization the exports use.
type kustomization struct {
	APIVersion      string            `yaml:"apiVersion"`
	Kind            string            `yaml:"kind"`
	Namespace       string            `yaml:"namespace,omitempty"`
	Resources       []string          `yaml:"resources"`
	SecretGenerator []secretGenerator `yaml:"secretGenerator,omitempty"`
}

type secretGenerator struct {
	Name string   `yaml:"name"`
	Type string   `yaml:"type"`
	Envs []string `yaml:"envs"`
}

func kubernetesEnvironment(res *env.Resolution, files map[string][]byte, generateSecret bool) error {
	k := kustomization{APIVersion: "kustomize.config.k8s.io/v1beta1", Kind: "Kustomization", Namespace: res.Env.Namespace}
	if ns := res.Env.Namespace; ns != "" {
		data, err := render(nil, func(out []byte) ([]byte, error) {
			out = append(out, "# The namespace of environment "+res.Env.Name+", generated by marketplace env export.\n"...)
			return appendObjects(out, []object{{APIVersion: "v1", Kind: "Namespace",
				Metadata: objectMeta{Name: ns, Labels: map[string]string{"app.kubernetes.io/part-of": res.Env.Name, "app.kubernetes.io/managed-by": "marketplace"}}}})
		})
		if err != nil {
			return err
		}
		files[NamespaceFile] = data
		k.Resources = append(k.Resources, NamespaceFile)
	}
	secretName := res.SecretsName()
	for _, rs := range res.Services {
		s, err := envSource(res, rs)
		if err != nil {
			return err
		}
		configName := s.base + "-config"
		var config mapping
		var envVars []envVar
		for _, p := range rs.Params {
			if p.SecretKey != "" {
				envVars = append(envVars, envVar{Name: p.Name, ValueFrom: &envVarSource{SecretKeyRef: &keyRef{Name: secretName, Key: p.SecretKey}}})
				continue
			}
			config.add(p.Name, p.Value.Eval(nil))
			envVars = append(envVars, envVar{Name: p.Name, ValueFrom: &envVarSource{ConfigMapKeyRef: &keyRef{Name: configName, Key: p.Name}}})
		}
		var docs []object
		if len(config) > 0 {
			docs = append(docs, object{APIVersion: "v1", Kind: "ConfigMap",
				Metadata: objectMeta{Name: configName, Labels: s.labels("")}, Data: config})
		}
		work := s.workloads(envVars, configChecksumEnv(rs))
		docs = append(docs, work.docs...)
		where := func(catalog.Parameter) string { return " (ConfigMap " + configName + ")" }
		notes := [][]string{
			append(secretNote(res.Env.Name, secretName, generateSecret), kubernetesNotes()...),
			work.volumeNotes,
			work.scaleNotes,
			work.smokeNotes,
		}
		data, err := render(nil, func(out []byte) ([]byte, error) {
			out = s.header(out, "Kubernetes manifests of service "+rs.Name, "kubernetes", where, notes...)
			return appendObjects(out, docs)
		})
		if err != nil {
			return err
		}
		name := rs.Name + ".yaml"
		files[name] = data
		k.Resources = append(k.Resources, name)
	}
	if len(res.Secrets) > 0 && generateSecret {
		k.SecretGenerator = []secretGenerator{{Name: secretName, Type: "Opaque", Envs: []string{SecretsFile}}}
	}
	data, err := render(nil, func(out []byte) ([]byte, error) {
		var c comment
		c.w = out
		c.line("Environment ", res.Env.Name, ", generated by marketplace from the HSP Marketplace catalog.")
		c.line("Generate again rather than edit: marketplace env export ", res.Env.Path, " --format kubernetes -o DIR")
		c.line("Apply with: kubectl apply -k DIR")
		switch {
		case len(res.Secrets) > 0 && generateSecret:
			c.line("The secretGenerator makes Secret ", secretName, " from ", SecretsFile, " (kept out of Git); Kustomize")
			c.line("adds a hash of its contents to the name, so pods restart when a secret changes.")
		case len(res.Secrets) > 0:
			c.line("Secret ", secretName, " is not generated here: the platform provides it with the keys ", SecretKeysFile, " lists.")
		}
		return appendDocument(c.w, &k)
	})
	if err != nil {
		return err
	}
	files[KustomizationFile] = data
	return nil
}

// secretNote is the first note of every service file: how the folder is applied and where the
// environment's Secret comes from.
func secretNote(envName, secretName string, generated bool) []string {
	if generated {
		return []string{"Part of environment " + envName + ": apply the folder with kubectl apply -k DIR, which also makes",
			"Secret " + secretName + " from " + SecretsFile + "."}
	}
	return []string{"Part of environment " + envName + ": apply the folder with kubectl apply -k DIR; Secret " + secretName,
		"must exist (the platform provides it with the keys " + SecretKeysFile + " lists)."}
}

func composeEnvironment(res *env.Resolution, files map[string][]byte) error {
	var services, volumes mapping
	var notes [][]string
	var names []string
	for _, rs := range res.Services {
		s, err := envSource(res, rs)
		if err != nil {
			return err
		}
		var environment mapping
		for _, p := range rs.Params {
			prm := rs.Build.Parameter(p.Name)
			switch {
			case p.SecretKey != "" && prm != nil && prm.Required:
				environment.add(p.Name, "${"+p.SecretKey+":?required}")
			case p.SecretKey != "":
				environment.add(p.Name, "${"+p.SecretKey+":-}")
			default:
				environment.add(p.Name, escapeCompose(p.Value.Eval(nil)))
			}
		}
		var dependsOn []string
		for _, bd := range rs.Needs {
			if bd.Provider != nil && bd.Exposure != nil {
				if h := bd.Provider.Host(bd.Exposure.Task); !slices.Contains(dependsOn, h) {
					dependsOn = append(dependsOn, h)
				}
			}
		}
		slices.Sort(dependsOn)
		set := s.composeServices(composePlan{
			serviceName: s.taskName,
			volumeName:  func(task string, i int) string { return s.taskName(task) + "-" + volumeName(i) },
			environment: environment,
			dependsOn:   dependsOn,
		})
		services = append(services, set.services...)
		volumes = append(volumes, set.volumes...)
		names = append(names, rs.Name)
		var lines []string
		lines = append(lines, fmt.Sprintf("Service %s: %s %s (%s)", rs.Name, rs.Product.ID, rs.Build.Version, rs.Build.Image))
		for _, bd := range rs.Needs {
			if bd.ProviderName() != "" {
				lines = append(lines, fmt.Sprintf("  %s from %s", bd.Dependency.Interface, bd.ProviderName()))
			}
		}
		lines = append(lines, set.volumeNotes...)
		lines = append(lines, set.scaleNotes...)
		lines = append(lines, set.smokeNotes...)
		notes = append(notes, lines)
	}
	data, err := render(nil, func(out []byte) ([]byte, error) {
		var c comment
		c.w = out
		c.line("Environment ", res.Env.Name, ": ", strings.Join(names, ", "), "; a Compose file generated by marketplace from the HSP Marketplace catalog.")
		c.line("Generate again rather than edit: marketplace env export ", res.Env.Path, " --format compose -o DIR")
		c.line("Run with: docker compose --env-file DIR/", SecretsFile, " -f DIR/", ComposeFile, " up -d")
		c.line("Every ${KEY} is a secret read from ", SecretsFile, " (kept out of Git); Compose stops and names any")
		c.line("required one that is empty. Services are named <service>-<task>, which is also their host name.")
		for _, n := range notes {
			c.line()
			for _, l := range n {
				c.line(l)
			}
		}
		return appendDocument(c.w, &composeFile{Name: res.Env.Name, Services: services, Volumes: volumes})
	})
	if err != nil {
		return err
	}
	files[ComposeFile] = data
	return nil
}

// secretsFile renders secrets.env: every secret of the environment with a comment saying where
// its value comes from and who reads it.
func secretsFile(res *env.Resolution, format string, secrets map[string]string) ([]byte, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "# Secrets of environment %s, written by marketplace env export: ", res.Env.Name)
	if format == "kubernetes" {
		fmt.Fprintf(&b, "the keys of Secret %s.\n", res.SecretsName())
	} else {
		fmt.Fprintf(&b, "the ${KEY} values of %s.\n", ComposeFile)
	}
	b.WriteString("# Keep it out of version control. One KEY=value per line, unquoted, on one line.\n")
	b.WriteString("#   given:     write the value; exports keep it\n")
	b.WriteString("#   generated: made at the first export and kept; delete the line for a new one\n")
	b.WriteString("#   derived:   computed from the others at every export; do not edit\n")
	var problems []string
	for _, s := range res.Secrets {
		v := secrets[s.Key]
		if strings.ContainsAny(v, "\n\r") {
			problems = append(problems, fmt.Sprintf("secret %s: a value must be on one line", s.Key))
			continue
		}
		fmt.Fprintf(&b, "\n# %s", s.Kind)
		if s.Kind == env.Derived {
			switch v := s.Value.String(); {
			case s.Value.HasSecret():
				fmt.Fprintf(&b, " from %s", v)
			case v == "":
				b.WriteString(", empty (the parameter's default; to set it, give it { secret = \"NAME\" } in the environment file)")
			default:
				b.WriteString(" from the environment file and the catalog")
			}
		}
		if len(s.Usage) > 0 {
			fmt.Fprintf(&b, "; read by %s", strings.Join(s.Usage, ", "))
		}
		fmt.Fprintf(&b, "\n%s=%s\n", s.Key, v)
	}
	current := map[string]bool{}
	for _, s := range res.Secrets {
		current[s.Key] = true
	}
	for _, k := range sortedKeys(secrets) {
		if current[k] {
			continue
		}
		if strings.ContainsAny(secrets[k], "\n\r") {
			problems = append(problems, fmt.Sprintf("secret %s: a value must be on one line", k))
			continue
		}
		fmt.Fprintf(&b, "\n# not used by the environment any more; kept so that nothing is lost (a volume may still need it): delete it when you are sure\n%s=%s\n", k, secrets[k])
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "\n"))
	}
	return []byte(b.String()), nil
}

// secretAlphabet is what generated secrets are made of: safe in URLs, shells and env files.
const secretAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// generatedLength is the length of a generated secret: 32 characters of 62, about 190 bits.
const generatedLength = 32

// SecretValues returns the values of the secrets of res: each one in existing (the secrets.env
// of the last export, parsed with ParseEnvFile) is kept; a Generated one without a value gets
// 32 random alphanumerics read from random (crypto/rand.Reader in production); a Given one
// without a value stays "" for the operator to fill in (MissingSecrets names them); Derived ones
// are computed from the others every time. Keys of existing that res no longer has are kept too,
// and the secrets file lists them apart.
func SecretValues(res *env.Resolution, existing map[string]string, random io.Reader) (map[string]string, error) {
	out := map[string]string{}
	for _, s := range res.Secrets {
		switch s.Kind {
		case env.Given:
			out[s.Key] = existing[s.Key]
		case env.Generated:
			if v := existing[s.Key]; v != "" {
				out[s.Key] = v
				continue
			}
			v, err := randomString(random, generatedLength)
			if err != nil {
				return nil, fmt.Errorf("generating secret %s: %w", s.Key, err)
			}
			out[s.Key] = v
		}
	}
	for _, s := range res.Secrets {
		if s.Kind == env.Derived {
			out[s.Key] = s.Value.Eval(out)
		}
	}
	// Keys no service uses any more are kept: a database's volume still has its password should
	// the service come back.
	for k, v := range existing {
		if _, ok := out[k]; !ok {
			out[k] = v
		}
	}
	return out, nil
}

// randomString returns n characters of secretAlphabet, each uniform (bytes past the largest
// multiple of the alphabet's size are drawn again).
func randomString(random io.Reader, n int) (string, error) {
	const limit = 256 - 256%len(secretAlphabet)
	out := make([]byte, 0, n)
	buf := make([]byte, 2*n)
	for len(out) < n {
		if _, err := io.ReadFull(random, buf); err != nil {
			return "", err
		}
		for _, c := range buf {
			if int(c) < limit && len(out) < n {
				out = append(out, secretAlphabet[int(c)%len(secretAlphabet)])
			}
		}
	}
	return string(out), nil
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
// DIR/compose.yaml up -d (the project is named by compose.yaml's name).
func ApplyCommand(format, dir string) ([]string, error) {
	switch format {
	case "kubernetes":
		return []string{"kubectl", "apply", "-k", dir}, nil
	case "compose":
		return []string{"docker", "compose", "--env-file", filepath.Join(dir, SecretsFile), "-f", filepath.Join(dir, ComposeFile), "up", "-d"}, nil
	}
	return nil, fmt.Errorf("unknown format %q (want %s)", format, strings.Join(Formats, " or "))
}

// QuoteArgs formats argv as one line a POSIX shell reads back as argv: words with only safe
// characters as they are, others in single quotes.
func QuoteArgs(argv []string) string {
	out := make([]string, len(argv))
	for i, a := range argv {
		if a != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:@%+,") == "" {
			out[i] = a
		} else {
			out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(out, " ")
}
