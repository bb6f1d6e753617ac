package deploy

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"

	"github.com/hspc/marketplace/catalog"
	"github.com/hspc/marketplace/generator/page"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

var (
	exampleOnce sync.Once
	example     *catalog.Catalog
	exampleErr  error
)

// exampleCatalog loads the repository's example catalog once.
func exampleCatalog(t testing.TB) *catalog.Catalog {
	t.Helper()
	exampleOnce.Do(func() {
		c, ds := catalog.Check(os.DirFS("../.."))
		if ds.HasErrors() {
			var b strings.Builder
			for _, d := range ds {
				b.WriteString(d.String() + "\n")
			}
			exampleErr = fmt.Errorf("the example catalog does not validate:\n%s", b.String())
		}
		example = c
	})
	if exampleErr != nil {
		t.Fatal(exampleErr)
	}
	return example
}

// build returns product id's build version from the example catalog.
func build(t *testing.T, id, version string) (*catalog.Product, *catalog.Build) {
	t.Helper()
	p := exampleCatalog(t).Products[id]
	if p == nil {
		t.Fatalf("no product %s in the example catalog", id)
	}
	for i := range p.Builds {
		if p.Builds[i].Version == version {
			return p, &p.Builds[i]
		}
	}
	t.Fatalf("%s has no build %s", id, version)
	return nil, nil
}

func fhirEnv(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open("testdata/acme-fhir.env")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	env, err := ParseEnvFile(f)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func TestGolden(t *testing.T) {
	p, b := build(t, "acme/fhir", "5.1.0")
	for _, tc := range []struct {
		name   string
		format string
		env    bool
	}{
		{"acme-fhir-5.1.0.kubernetes", "kubernetes", false},
		{"acme-fhir-5.1.0.compose", "compose", false},
		{"acme-fhir-5.1.0-env.kubernetes", "kubernetes", true},
		{"acme-fhir-5.1.0-env.compose", "compose", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var env map[string]string
			if tc.env {
				env = fhirEnv(t)
			}
			got, err := Render(tc.format, p, b, env)
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", tc.name+".golden")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("%s differs from %s (-want +got; go test -update rewrites it):\n%s", tc.name, golden, diff)
			}
		})
	}
}

// docs decodes a multi-document YAML file into generic maps.
func docs(t *testing.T, data []byte) []map[string]any {
	t.Helper()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var out []map[string]any
	for {
		var d map[string]any
		err := dec.Decode(&d)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("the output is not YAML: %v", err)
		}
		if d != nil {
			out = append(out, d)
		}
	}
}

// get walks a decoded document along keys (map keys, or list indexes as ints).
func get(t *testing.T, v any, path ...any) any {
	t.Helper()
	for i, k := range path {
		switch k := k.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("at %v: got %T, want a mapping", path[:i], v)
			}
			if v, ok = m[k]; !ok {
				t.Fatalf("at %v: no key %q", path[:i], k)
			}
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				t.Fatalf("at %v: got %T of length %d, want a list with item %d", path[:i], v, len(l), k)
			}
			v = l[k]
		}
	}
	return v
}

func has(v any, path ...string) bool {
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return false
		}
		if v, ok = m[k]; !ok {
			return false
		}
	}
	return true
}

func byKind(ds []map[string]any, kind string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, d := range ds {
		if d["kind"] == kind {
			out[d["metadata"].(map[string]any)["name"].(string)] = d
		}
	}
	return out
}

func TestKubernetesStructure(t *testing.T) {
	p, b := build(t, "acme/fhir", "5.1.0")
	out, err := Kubernetes(p, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	ds := docs(t, out)

	var kinds []string
	for _, d := range ds {
		kinds = append(kinds, d["kind"].(string)+"/"+get(t, d, "metadata", "name").(string))
	}
	wantKinds := []string{
		"ConfigMap/acme-fhir-config", "Secret/acme-fhir-secrets",
		"Deployment/acme-fhir-web", "Service/acme-fhir-web", "HorizontalPodAutoscaler/acme-fhir-web",
		"Deployment/acme-fhir-worker", "HorizontalPodAutoscaler/acme-fhir-worker",
		"Job/acme-fhir-smoke-test",
	}
	if diff := cmp.Diff(wantKinds, kinds); diff != "" {
		t.Errorf("objects (-want +got):\n%s", diff)
	}

	deployments := byKind(ds, "Deployment")
	for _, task := range []string{"web", "worker"} {
		d := deployments["acme-fhir-"+task]
		if d == nil {
			t.Fatalf("no Deployment for task %s", task)
		}
		if got := get(t, d, "spec", "replicas"); got != 2 {
			t.Errorf("%s replicas = %v, want 2", task, got)
		}
		if got := get(t, d, "metadata", "labels", "app.kubernetes.io/component"); got != task {
			t.Errorf("%s component label = %v", task, got)
		}
		pod := get(t, d, "spec", "template", "spec")
		if got := get(t, pod, "terminationGracePeriodSeconds"); got != 10 {
			t.Errorf("%s terminationGracePeriodSeconds = %v, want 10 (rule 13)", task, got)
		}
		if got := get(t, pod, "nodeSelector", "kubernetes.io/arch"); got != "amd64" {
			t.Errorf("%s nodeSelector arch = %v, want amd64 (rule 11)", task, got)
		}
		c := get(t, pod, "containers", 0)
		if got := get(t, c, "image"); got != b.Image {
			t.Errorf("%s image = %v, want %s", task, got, b.Image)
		}
		if got := get(t, c, "command", 0); got != "/app/"+map[string]string{"web": "server", "worker": "worker"}[task] {
			t.Errorf("%s command = %v", task, got)
		}
		for _, kind := range []string{"limits", "requests"} {
			if got := get(t, c, "resources", kind, "memory"); got != "2048Mi" {
				t.Errorf("%s memory %s = %v, want 2048Mi (rule 10)", task, kind, got)
			}
		}
		sc := get(t, c, "securityContext")
		for key, want := range map[string]any{"runAsNonRoot": true, "readOnlyRootFilesystem": true, "allowPrivilegeEscalation": false} {
			if got := get(t, sc, key); got != want {
				t.Errorf("%s securityContext.%s = %v, want %v", task, key, got, want)
			}
		}
		// Every parameter is in the environment, secret ones from the Secret.
		env := get(t, c, "env").([]any)
		if len(env) != len(b.Parameters) {
			t.Errorf("%s has %d env vars, want %d", task, len(env), len(b.Parameters))
		}
		for i, prm := range b.Parameters {
			e := env[i]
			if got := get(t, e, "name"); got != prm.Name {
				t.Errorf("%s env[%d] = %v, want %s", task, i, got, prm.Name)
			}
			ref, wantName := "configMapKeyRef", "acme-fhir-config"
			if prm.Secret {
				ref, wantName = "secretKeyRef", "acme-fhir-secrets"
			}
			if got := get(t, e, "valueFrom", ref, "name"); got != wantName {
				t.Errorf("%s env %s from %s %v, want %s", task, prm.Name, ref, got, wantName)
			}
		}
	}

	web := get(t, deployments["acme-fhir-web"], "spec", "template", "spec", "containers", 0)
	for _, probe := range []string{"startupProbe", "readinessProbe", "livenessProbe"} {
		if got := get(t, web, probe, "httpGet", "path"); got != "/healthz" {
			t.Errorf("web %s path = %v, want /healthz", probe, got)
		}
		if got := get(t, web, probe, "httpGet", "port"); got != 8080 {
			t.Errorf("web %s port = %v, want 8080", probe, got)
		}
	}
	if got := get(t, web, "ports", 0, "containerPort"); got != 8080 {
		t.Errorf("web containerPort = %v, want 8080", got)
	}
	worker := get(t, deployments["acme-fhir-worker"], "spec", "template", "spec", "containers", 0)
	for _, probe := range []string{"startupProbe", "readinessProbe", "livenessProbe", "ports"} {
		if has(worker, probe) {
			t.Errorf("worker has %s, but declares no port", probe)
		}
	}

	hpas := byKind(ds, "HorizontalPodAutoscaler")
	for name, want := range map[string][2]int{"acme-fhir-web": {2, 10}, "acme-fhir-worker": {2, 4}} {
		h := hpas[name]
		if h == nil {
			t.Fatalf("no HorizontalPodAutoscaler %s", name)
		}
		if got := h["apiVersion"]; got != "autoscaling/v2" {
			t.Errorf("%s apiVersion = %v", name, got)
		}
		if got := [2]int{get(t, h, "spec", "minReplicas").(int), get(t, h, "spec", "maxReplicas").(int)}; got != want {
			t.Errorf("%s replicas = %v, want %v (rules 5, 6)", name, got, want)
		}
		if got := get(t, h, "spec", "scaleTargetRef", "name"); got != name {
			t.Errorf("%s targets %v", name, got)
		}
	}

	secret := byKind(ds, "Secret")["acme-fhir-secrets"]
	if got := secret["type"]; got != "Opaque" {
		t.Errorf("Secret type = %v", got)
	}
	secretData := get(t, secret, "stringData").(map[string]any)
	for _, name := range []string{"DATABASE_URL", "OIDC_CLIENT_SECRET", "SMTP_URL", "SCIM_BEARER_TOKEN"} {
		if v, ok := secretData[name]; !ok || v != "" {
			t.Errorf("Secret %s = %q, %v; want an empty placeholder", name, v, ok)
		}
	}
	config := get(t, byKind(ds, "ConfigMap")["acme-fhir-config"], "data").(map[string]any)
	for _, prm := range b.Parameters {
		if _, inConfig := config[prm.Name]; inConfig == prm.Secret {
			t.Errorf("%s (secret %v) in the ConfigMap: %v", prm.Name, prm.Secret, inConfig)
		}
		if _, inSecret := secretData[prm.Name]; inSecret != prm.Secret {
			t.Errorf("%s (secret %v) in the Secret: %v", prm.Name, prm.Secret, inSecret)
		}
	}
	if got := config["LOG_PHI"]; got != "false" {
		t.Errorf("ConfigMap LOG_PHI = %#v, want the string \"false\"", got)
	}

	svc := byKind(ds, "Service")["acme-fhir-web"]
	if got := get(t, svc, "spec", "ports", 0, "port"); got != 8080 {
		t.Errorf("Service port = %v", got)
	}

	job := byKind(ds, "Job")["acme-fhir-smoke-test"]
	if got := get(t, job, "spec", "suspend"); got != true {
		t.Errorf("smoke-test Job suspend = %v, want true", got)
	}
	if got := get(t, job, "spec", "activeDeadlineSeconds"); got != 180 {
		t.Errorf("smoke-test Job activeDeadlineSeconds = %v, want 180", got)
	}
	if got := get(t, job, "spec", "template", "spec", "containers", 0, "command"); !cmp.Equal(got, []any{"/app/smoke", "--suite", "fhir-r4-core", "--suite", "bulk-data"}) {
		t.Errorf("smoke-test command = %v", got)
	}

	header := string(out[:bytes.Index(out, []byte("\n---\n"))])
	for _, want := range []string{
		"acme/fhir 5.1.0", "generated by marketplace", "sha256:39949ca54f3620a376e8331822c70bd7a3676a28047b83f5c8358083896c6527",
		"postgresql (required): DATABASE_URL ← url",
		"oidc (required): OIDC_ISSUER ← issuer, OIDC_CLIENT_ID ← client_id, OIDC_CLIENT_SECRET ← client_secret",
		"opentelemetry (optional): OTEL_EXPORTER_OTLP_ENDPOINT ← endpoint",
		"#   DATABASE_URL (Secret acme-fhir-secrets)", "#   OIDC_ISSUER (ConfigMap acme-fhir-config)", "#   SMTP_URL (Secret",
	} {
		if !strings.Contains(header, want) {
			t.Errorf("the header lacks %q:\n%s", want, header)
		}
	}
	if strings.Contains(header, "#   SCIM_BEARER_TOKEN") {
		t.Errorf("the header lists SCIM_BEARER_TOKEN as missing, but it is optional")
	}
}

func TestKubernetesWithEnv(t *testing.T) {
	p, b := build(t, "acme/fhir", "5.1.0")
	env := fhirEnv(t)
	out, err := Kubernetes(p, b, env)
	if err != nil {
		t.Fatal(err)
	}
	ds := docs(t, out)
	secret := get(t, byKind(ds, "Secret")["acme-fhir-secrets"], "stringData").(map[string]any)
	config := get(t, byKind(ds, "ConfigMap")["acme-fhir-config"], "data").(map[string]any)
	for _, prm := range b.Parameters {
		want := valueOf(prm, env)
		got := config[prm.Name]
		if prm.Secret {
			got = secret[prm.Name]
		}
		if got != want {
			t.Errorf("%s = %#v, want %#v", prm.Name, got, want)
		}
	}
	if got, want := secret["OIDC_CLIENT_SECRET"], "pa$$w0rd#1"; got != want {
		t.Errorf("OIDC_CLIENT_SECRET = %q, want %q taken literally", got, want)
	}
	if !bytes.Contains(out, []byte("Every required parameter has a value.")) {
		t.Error("the header does not say every required parameter has a value")
	}
	if !bytes.Contains(out, []byte("keep it out of version control")) {
		t.Error("the header does not warn that the file holds secrets")
	}
	// The pod template changes with the configuration, so applying new values rolls the pods.
	plain, _ := Kubernetes(p, b, nil)
	sum := func(data []byte) any {
		return get(t, byKind(docs(t, data), "Deployment")["acme-fhir-web"], "spec", "template", "metadata", "annotations", "checksum/config")
	}
	if sum(out) == sum(plain) {
		t.Error("checksum/config is the same with and without the env file")
	}
}

var (
	dns1123Label = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	labelValueRE = regexp.MustCompile(`^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$`)
	ianaSvcName  = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
)

// checkKubernetes validates what kubectl would: every document is an object with a valid name
// and labels, and every reference between objects resolves.
func checkKubernetes(t *testing.T, where string, out []byte) {
	t.Helper()
	ds := docs(t, out)
	if len(ds) == 0 {
		t.Fatalf("%s: no documents", where)
	}
	seen := map[string]bool{}
	keys := map[string]map[string]any{} // "ConfigMap/name" → data
	for _, d := range ds {
		for _, k := range []string{"apiVersion", "kind"} {
			if s, _ := d[k].(string); s == "" {
				t.Errorf("%s: a document has no %s", where, k)
			}
		}
		name, _ := get(t, d, "metadata", "name").(string)
		id := fmt.Sprintf("%s/%s", d["kind"], name)
		if len(name) > 63 || !dns1123Label.MatchString(name) {
			t.Errorf("%s: %s is not an RFC 1123 label of at most 63 characters", where, id)
		}
		if seen[id] {
			t.Errorf("%s: %s twice", where, id)
		}
		seen[id] = true
		for k, v := range get(t, d, "metadata", "labels").(map[string]any) {
			if s, ok := v.(string); !ok || len(s) > 63 || !labelValueRE.MatchString(s) {
				t.Errorf("%s: %s label %s=%v is not a valid label value", where, id, k, v)
			}
		}
		switch d["kind"] {
		case "ConfigMap":
			keys[id] = get(t, d, "data").(map[string]any)
		case "Secret":
			keys[id] = get(t, d, "stringData").(map[string]any)
		}
	}
	for _, d := range ds {
		id := fmt.Sprintf("%s/%s", d["kind"], get(t, d, "metadata", "name"))
		switch d["kind"] {
		case "Deployment", "StatefulSet", "Job":
			tmpl := get(t, d, "spec", "template")
			if d["kind"] != "Job" {
				for k, v := range get(t, d, "spec", "selector", "matchLabels").(map[string]any) {
					if get(t, tmpl, "metadata", "labels", k) != v {
						t.Errorf("%s: the selector %s=%v does not match the pod template", where, k, v)
					}
				}
			}
			pod := get(t, tmpl, "spec")
			if has(pod, "nodeSelector") == has(pod, "affinity") {
				t.Errorf("%s: %s wants exactly one of nodeSelector and affinity", where, id)
			}
			for _, c := range get(t, pod, "containers").([]any) {
				if img := get(t, c, "image").(string); !strings.Contains(img, "@sha256:") {
					t.Errorf("%s: %s image %s is not pinned", where, id, img)
				}
				if m := get(t, c, "resources", "limits", "memory"); m != get(t, c, "resources", "requests", "memory") {
					t.Errorf("%s: %s memory limit %v differs from its request", where, id, m)
				}
				if has(c, "ports") {
					for _, p := range get(t, c, "ports").([]any) {
						if n := get(t, p, "name").(string); len(n) > 15 || !ianaSvcName.MatchString(n) {
							t.Errorf("%s: %s port name %q is not a valid IANA service name", where, id, n)
						}
					}
				}
				if !has(c, "env") {
					continue
				}
				for _, e := range get(t, c, "env").([]any) {
					for ref, kind := range map[string]string{"configMapKeyRef": "ConfigMap", "secretKeyRef": "Secret"} {
						if !has(e, "valueFrom", ref) {
							continue
						}
						obj := kind + "/" + get(t, e, "valueFrom", ref, "name").(string)
						if _, ok := keys[obj][get(t, e, "valueFrom", ref, "key").(string)]; !ok {
							t.Errorf("%s: %s env %v refers to a missing key of %s", where, id, get(t, e, "name"), obj)
						}
					}
				}
			}
		case "Service":
			name := get(t, d, "metadata", "name").(string)
			if !seen["Deployment/"+name] && !seen["StatefulSet/"+name] {
				t.Errorf("%s: %s has no Deployment or StatefulSet of the same name", where, id)
			}
		case "HorizontalPodAutoscaler":
			target := get(t, d, "spec", "scaleTargetRef", "kind").(string) + "/" + get(t, d, "spec", "scaleTargetRef", "name").(string)
			if !seen[target] {
				t.Errorf("%s: %s targets the missing %s", where, id, target)
			}
			if lo, hi := get(t, d, "spec", "minReplicas").(int), get(t, d, "spec", "maxReplicas").(int); lo < 1 || hi <= lo {
				t.Errorf("%s: %s scales %d..%d", where, id, lo, hi)
			}
		}
	}
}

// interpolation is the only use of "$" a generated compose file makes; literal dollars are "$$".
var interpolation = regexp.MustCompile(`\$\{[A-Z][A-Z0-9_]*:(\?required|-)\}`)

func checkCompose(t *testing.T, where string, out []byte, b *catalog.Build) {
	t.Helper()
	var f map[string]any
	if err := yaml.Unmarshal(out, &f); err != nil {
		t.Fatalf("%s: not YAML: %v", where, err)
	}
	wantKeys := []string{"services"}
	if slices.ContainsFunc(b.Tasks, func(t catalog.Task) bool { return t.HasPersistentVolume() }) {
		wantKeys = append(wantKeys, "volumes")
	}
	if keys := sortedKeys(f); !slices.Equal(keys, wantKeys) {
		t.Errorf("%s: top-level keys %v, want %v", where, keys, wantKeys)
	}
	services := get(t, f, "services").(map[string]any)
	for _, task := range b.Tasks {
		svc, ok := services[task.Name]
		if !ok {
			t.Errorf("%s: no service for task %s", where, task.Name)
			continue
		}
		if got := get(t, svc, "deploy", "replicas"); got != task.MinInstances() {
			t.Errorf("%s: %s replicas = %v, want %d", where, task.Name, got, task.MinInstances())
		}
		if got, want := get(t, svc, "deploy", "resources", "limits", "memory"), fmt.Sprintf("%dM", task.MemoryMiB()); got != want {
			t.Errorf("%s: %s memory = %v, want %s", where, task.Name, got, want)
		}
		if got, want := get(t, svc, "stop_grace_period"), fmt.Sprintf("%ds", task.StopSeconds()); got != want {
			t.Errorf("%s: %s stop_grace_period = %v, want %s", where, task.Name, got, want)
		}
		if get(t, svc, "read_only") != true {
			t.Errorf("%s: %s is not read_only", where, task.Name)
		}
		if p := get(t, svc, "platform"); p != "linux/amd64" && p != "linux/386" {
			t.Errorf("%s: %s platform %v", where, task.Name, p)
		}
		if got := get(t, svc, "image"); got != b.Image {
			t.Errorf("%s: %s image %v, want %s", where, task.Name, got, b.Image)
		}
	}
	if b.SmokeTest != nil {
		if _, ok := services["smoke-test"]; !ok {
			t.Errorf("%s: no smoke-test service", where)
		}
	}
	for name, svc := range services {
		if !has(svc, "environment") {
			continue
		}
		for k, v := range get(t, svc, "environment").(map[string]any) {
			s, ok := v.(string)
			if !ok {
				t.Errorf("%s: %s %s = %#v is not a string", where, name, k, v)
				continue
			}
			if rest := interpolation.ReplaceAllString(strings.ReplaceAll(s, "$$", ""), ""); strings.Contains(rest, "$") {
				t.Errorf("%s: %s %s = %q has a stray $ Compose would interpolate", where, name, k, s)
			}
		}
	}
}

func TestComposeStructure(t *testing.T) {
	p, b := build(t, "acme/fhir", "5.1.0")
	out, err := Compose(p, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkCompose(t, "acme/fhir", out, b)
	var f map[string]any
	if err := yaml.Unmarshal(out, &f); err != nil {
		t.Fatal(err)
	}
	web := get(t, f, "services", "web")
	if got := get(t, web, "entrypoint"); !cmp.Equal(got, []any{"/app/server"}) {
		t.Errorf("web entrypoint = %v", got)
	}
	if got := get(t, web, "ports", 0, "target"); got != 8080 {
		t.Errorf("web port target = %v", got)
	}
	if has(web, "ports", "published") || has(web, "healthcheck") || has(f, "version") {
		t.Error("unexpected published port, healthcheck or version")
	}
	env := get(t, web, "environment").(map[string]any)
	for name, want := range map[string]string{
		"DATABASE_URL":      "${DATABASE_URL:?required}",
		"OIDC_ISSUER":       "${OIDC_ISSUER:?required}",
		"SMTP_URL":          "${SMTP_URL:?required}",
		"SCIM_BEARER_TOKEN": "${SCIM_BEARER_TOKEN:-}",
		"LOG_PHI":           "false",
		"SMTP_FROM":         "fhir-noreply@localhost",
		"FHIR_BASE_URL":     "",
	} {
		if got := env[name]; got != want {
			t.Errorf("environment %s = %#v, want %q", name, got, want)
		}
	}
	smoke := get(t, f, "services", "smoke-test")
	if got := get(t, smoke, "profiles"); !cmp.Equal(got, []any{"smoke-test"}) {
		t.Errorf("smoke-test profiles = %v", got)
	}
	if has(smoke, "deploy", "replicas") || has(smoke, "ports") {
		t.Error("the smoke-test service has replicas or ports")
	}
}

func TestComposeWithEnv(t *testing.T) {
	p, b := build(t, "acme/fhir", "5.1.0")
	env := fhirEnv(t)
	out, err := Compose(p, b, env)
	if err != nil {
		t.Fatal(err)
	}
	checkCompose(t, "acme/fhir with env", out, b)
	var f map[string]any
	if err := yaml.Unmarshal(out, &f); err != nil {
		t.Fatal(err)
	}
	got := get(t, f, "services", "worker", "environment").(map[string]any)
	for name, value := range env {
		if want := strings.ReplaceAll(value, "$", "$$"); got[name] != want {
			t.Errorf("environment %s = %#v, want %q", name, got[name], want)
		}
	}
	if got := got["SCIM_BEARER_TOKEN"]; got != "${SCIM_BEARER_TOKEN:-}" {
		t.Errorf("SCIM_BEARER_TOKEN = %v; an unset secret should come from the shell or .env", got)
	}
}

func TestEveryBuildRenders(t *testing.T) {
	c := exampleCatalog(t)
	pages := Pages(c)
	if len(pages) != 2*len(c.Products) {
		t.Fatalf("%d pages for %d products, want two per product (its offered build)", len(pages), len(c.Products))
	}
	if !slices.IsSortedFunc(pages, func(a, b page.Page) int { return strings.Compare(a.Path, b.Path) }) {
		t.Error("pages are not sorted by path")
	}
	byPath := map[string]bool{}
	for _, id := range c.SortedProductIDs() {
		p := c.Products[id]
		for i := range p.Builds {
			b := &p.Builds[i]
			if b == Offered(p) {
				for _, f := range []string{"kubernetes.yaml", "compose.yaml"} {
					byPath["deploy/"+p.ID+"@"+b.Version+"."+f] = true
				}
			}
			where := p.ID + " " + b.Version
			k, err := Kubernetes(p, b, nil)
			if err != nil {
				t.Errorf("%s: %v", where, err)
				continue
			}
			checkKubernetes(t, where, k)
			cf, err := Compose(p, b, nil)
			if err != nil {
				t.Errorf("%s: %v", where, err)
				continue
			}
			checkCompose(t, where, cf, b)
		}
	}
	keys := map[string]string{}
	for _, pg := range pages {
		if !byPath[pg.Path] {
			t.Errorf("unexpected page %s", pg.Path)
		}
		got, err := pg.Bytes()
		if err != nil {
			t.Errorf("%s: %v", pg.Path, err)
			continue
		}
		again, _ := pg.Bytes()
		if !bytes.Equal(got, again) {
			t.Errorf("%s renders differently twice", pg.Path)
		}
		if strings.HasSuffix(pg.Path, "kubernetes.yaml") && strings.Contains(string(got), "${") {
			t.Errorf("%s has a Compose interpolation", pg.Path)
		}
		dir := strings.TrimSuffix(strings.TrimSuffix(pg.Path, "kubernetes.yaml"), "compose.yaml") // the build's Prefix
		if k, ok := keys[dir]; ok && k != pg.Key {
			t.Errorf("%s: key differs from the other format of the same build", pg.Path)
		}
		keys[dir] = pg.Key
	}
	distinct := map[string]bool{}
	for _, k := range keys {
		distinct[k] = true
	}
	if len(distinct) != len(keys) {
		t.Errorf("%d builds share %d keys", len(keys), len(distinct))
	}
	// Keys are stable: a second pass over the same catalog computes the same ones.
	for i, pg := range Pages(c) {
		if pg.Key != pages[i].Key {
			t.Errorf("%s: key changed between two calls", pg.Path)
		}
	}
}

func TestPlatformAndScaling(t *testing.T) {
	c := exampleCatalog(t)
	// otel-collector declares linux/386 too: affinity to either architecture.
	p := c.Products["openhealth/otel-collector"]
	b := &p.Builds[len(p.Builds)-1]
	out, err := Kubernetes(p, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := byKind(docs(t, out), "Deployment")["openhealth-otel-collector-collector"]
	pod := get(t, d, "spec", "template", "spec")
	if has(pod, "nodeSelector") {
		t.Error("a linux/386 build is pinned to amd64 nodes")
	}
	values := get(t, pod, "affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms", 0, "matchExpressions", 0, "values")
	if !cmp.Equal(values, []any{"386", "amd64"}) {
		t.Errorf("arch affinity = %v", values)
	}
	// The health port is 13133, not the first (grpc) port.
	if got := get(t, pod, "containers", 0, "readinessProbe", "httpGet", "port"); got != 13133 {
		t.Errorf("readiness probe port = %v, want 13133", got)
	}

	// terminology's loader runs 0 to 1 instances: no HPA (which cannot scale to zero).
	p = c.Products["northwind-labs/terminology"]
	b = &p.Builds[len(p.Builds)-1]
	out, err = Kubernetes(p, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	ds := docs(t, out)
	if got := get(t, byKind(ds, "Deployment")["northwind-labs-terminology-loader"], "spec", "replicas"); got != 0 {
		t.Errorf("loader replicas = %v, want 0", got)
	}
	if _, ok := byKind(ds, "HorizontalPodAutoscaler")["northwind-labs-terminology-loader"]; ok {
		t.Error("loader has an HPA")
	}
	if !bytes.Contains(out, []byte("kubectl scale deployment/northwind-labs-terminology-loader --replicas=N")) {
		t.Error("the header does not say how to start the loader")
	}
}

func TestCheckEnv(t *testing.T) {
	_, b := build(t, "acme/fhir", "5.1.0")
	for _, tc := range []struct {
		name string
		env  map[string]string
		want []string // substrings, one per problem, in order; nil means valid
	}{
		{name: "empty", env: nil},
		{name: "valid", env: map[string]string{"LOG_PHI": "true", "DATABASE_URL": "postgres://db/fhir", "FHIR_BASE_URL": ""}},
		{
			name: "unknown",
			env:  map[string]string{"DATABSE_URL": "x", "PORT": "8080"},
			want: []string{"unknown parameters DATABSE_URL, PORT: build 5.1.0 declares FHIR_BASE_URL, DATABASE_URL"},
		},
		{
			name: "one unknown",
			env:  map[string]string{"PORT": "8080"},
			want: []string{"unknown parameter PORT: "},
		},
		{
			name: "rule 3",
			env:  map[string]string{"log_phi": "true", "OIDC-ISSUER": "https://sso"},
			want: []string{"OIDC-ISSUER: not a parameter name", "log_phi: not a parameter name: names use only uppercase A-Z, 0-9 and '_', starting with a letter (rule 3; try LOG_PHI)"},
		},
		{
			name: "pattern",
			env:  map[string]string{"LOG_PHI": "yes", "OIDC_ISSUER": "sso.example"},
			want: []string{`LOG_PHI: value "yes" does not match the parameter's pattern ^(true|false)$`, `OIDC_ISSUER: value "sso.example" does not match`},
		},
		{
			name: "all at once",
			env:  map[string]string{"LOG_PHI": "1", "lower": "x", "NOPE": "y"},
			want: []string{"LOG_PHI: value", "lower: not a parameter name", "unknown parameter NOPE"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckEnv(b, tc.env)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("CheckEnv: %v", err)
				}
				return
			}
			var ee *EnvError
			if !errors.As(err, &ee) {
				t.Fatalf("CheckEnv = %v, want an *EnvError", err)
			}
			if len(ee.Problems) != len(tc.want) {
				t.Fatalf("got %d problems, want %d:\n%v", len(ee.Problems), len(tc.want), err)
			}
			for i, w := range tc.want {
				if !strings.Contains(ee.Problems[i], w) {
					t.Errorf("problem %d = %q, want it to contain %q", i, ee.Problems[i], w)
				}
			}
		})
	}

	t.Run("secret values are not echoed", func(t *testing.T) {
		sb := catalog.Build{Version: "1.0.0", Parameters: []catalog.Parameter{{Name: "TOKEN", Secret: true, Pattern: "^tok_"}}}
		err := CheckEnv(&sb, map[string]string{"TOKEN": "hunter2"})
		if err == nil || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "TOKEN: the secret value does not match") {
			t.Errorf("CheckEnv = %v", err)
		}
	})

	t.Run("renderers check the env", func(t *testing.T) {
		p, b := build(t, "acme/fhir", "5.1.0")
		for _, f := range Formats {
			if _, err := Render(f, p, b, map[string]string{"LOG_PHI": "maybe"}); err == nil || !strings.Contains(err.Error(), "LOG_PHI") {
				t.Errorf("%s: err = %v, want one naming LOG_PHI", f, err)
			}
		}
		if _, err := Render("helm", p, b, nil); err == nil {
			t.Error("Render accepted format helm")
		}
	})
}

func TestMissingRequired(t *testing.T) {
	_, b := build(t, "acme/fhir", "5.1.0")
	want := []string{"DATABASE_URL", "OIDC_ISSUER", "OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET", "SMTP_URL"}
	if diff := cmp.Diff(want, MissingRequired(b, nil)); diff != "" {
		t.Errorf("without env (-want +got):\n%s", diff)
	}
	env := map[string]string{"DATABASE_URL": "postgres://db", "OIDC_ISSUER": ""}
	if diff := cmp.Diff(want[1:], MissingRequired(b, env)); diff != "" {
		t.Errorf("with env (-want +got):\n%s", diff)
	}
	if got := MissingRequired(b, fhirEnv(t)); len(got) != 0 {
		t.Errorf("with the test env file: %v", got)
	}
}

func TestNames(t *testing.T) {
	for _, tc := range []struct{ parts []string }{
		{[]string{"acme", "fhir", "web"}},
		{[]string{strings.Repeat("p", 63), strings.Repeat("q", 63), "web"}},
		{[]string{strings.Repeat("a", 53), "-b", "c"}},
	} {
		got := dnsLabel(tc.parts...)
		if len(got) > 63 || !dns1123Label.MatchString(got) {
			t.Errorf("dnsLabel(%q) = %q, not a label", tc.parts, got)
		}
		if again := dnsLabel(tc.parts...); again != got {
			t.Errorf("dnsLabel is not stable: %q, %q", got, again)
		}
	}
	if got := dnsLabel("acme", "fhir", "web"); got != "acme-fhir-web" {
		t.Errorf("dnsLabel = %q", got)
	}
	long1 := dnsLabel(strings.Repeat("x", 60), "one")
	long2 := dnsLabel(strings.Repeat("x", 60), "two")
	if long1 == long2 {
		t.Errorf("long names collide: %q", long1)
	}
	for in, want := range map[string]string{"5.1.0": "5.1.0", "1.0.0+build.7": "1.0.0_build.7", "2.0.0-rc.1": "2.0.0-rc.1", "+x+": "x"} {
		if got := labelValue(in); got != want || !labelValueRE.MatchString(got) {
			t.Errorf("labelValue(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDeterministic(t *testing.T) {
	p, b := build(t, "acme/fhir", "5.1.0")
	for _, f := range Formats {
		first, err := Render(f, p, b, fhirEnv(t))
		if err != nil {
			t.Fatal(err)
		}
		for range 5 {
			if again, _ := Render(f, p, b, fhirEnv(t)); !bytes.Equal(first, again) {
				t.Fatalf("%s output differs between runs", f)
			}
		}
	}
}
