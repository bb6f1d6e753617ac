package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hspc/marketplace/catalog/env"
)

const exampleCatalog = "../../.."

// fakeTool puts an executable named name on a PATH of its own that records its arguments, one
// per line, in the returned log file, and prints "fake NAME ran".
func fakeTool(t *testing.T, name string) (log string) {
	t.Helper()
	dir := t.TempDir()
	log = filepath.Join(dir, name+".log")
	script := "#!/bin/sh\nfor a in \"$@\"; do echo \"$a\"; done > '" + log + "'\necho fake " + name + " ran\n"
	if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir)
	return log
}

func mustRun(t *testing.T, want int, args ...string) (string, string) {
	t.Helper()
	code, out, errOut := run(t, append([]string{"-C", exampleCatalog}, args...)...)
	if code != want {
		t.Fatalf("marketplace %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, want, out, errOut)
	}
	return out, errOut
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestMVPStories walks the seed's MVP1 stories 1–4 and 6 on the example catalog, through the
// command line in-process: list the services and versions, add the FHIR server with its
// dependencies (the hospital's OpenID Connect provider and SMTP relay as externals), see the
// dependency tree, export Kubernetes files, and deploy with one command.
func TestMVPStories(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "environments", "fhir.toml")
	out := filepath.Join(dir, "deploy", "fhir")

	// Story 1: list services and service versions, for people and for scripts.
	text, _ := mustRun(t, 0, "list")
	for _, want := range []string{"acme/fhir", "5.1.0 5.0.2 5.0.0", "openhealth/postgres", "17.7.0 17.6.0 16.10.0", "postgresql-17"} {
		if !strings.Contains(text, want) {
			t.Errorf("list lacks %q:\n%s", want, text)
		}
	}
	text, _ = mustRun(t, 0, "list", "--json")
	var list []listedProduct
	if err := json.Unmarshal([]byte(text), &list); err != nil {
		t.Fatalf("list --json: %v\n%s", err, text)
	}
	i := slices.IndexFunc(list, func(p listedProduct) bool { return p.ID == "acme/fhir" })
	if i < 0 || len(list[i].Builds) != 3 || list[i].Builds[0].Version != "5.1.0" || !slices.Contains(list[i].Builds[0].Dependencies, "opentelemetry?") {
		t.Errorf("list --json acme/fhir = %+v", list)
	}

	// Story 2: add a service version to my environment; the hospital already runs SSO and mail.
	mustRun(t, 0, "env", "init", file, "--namespace", "fhir")
	mustRun(t, 2, "env", "init", file) // never overwrites
	externals := `
[[externals]]
name = "hospital-sso"
interface = "oidc"
properties = { issuer = "https://sso.hospital.example/realms/clinical", client_id = "acme-fhir", client_secret = { secret = "OIDC_CLIENT_SECRET" } }

[[externals]]
name = "mail-relay"
interface = "smtp"
properties = { url = { secret = "SMTP_URL" }, from = "fhir-noreply@hospital.example" }
`
	if err := os.WriteFile(file, []byte(readFile(t, file)+externals), 0o644); err != nil {
		t.Fatal(err)
	}
	before := readFile(t, file)
	mustRun(t, 1, "env", "add", file, "acme/fhri")
	if readFile(t, file) != before {
		t.Error("a failed env add changed the file")
	}
	text, _ = mustRun(t, 0, "env", "add", file, "acme/fhir", "--with-deps")
	if want := "added fhir: acme/fhir@^5\nadded postgres: openhealth/postgres@^17\n"; text != want {
		t.Errorf("env add printed %q, want %q", text, want)
	}
	if got := readFile(t, file); !strings.HasPrefix(got, before) || !strings.Contains(got, "product = \"openhealth/postgres\"") {
		t.Errorf("env add rewrote the file instead of appending to it:\n%s", got)
	}
	lock := readFile(t, filepath.Join(dir, "environments", "fhir.lock"))
	for _, want := range []string{"version = '5.1.0'", "version = '17.7.0'", "constraint = '^17'"} {
		if !strings.Contains(lock, want) {
			t.Errorf("lock lacks %s:\n%s", want, lock)
		}
	}

	// Story 3: know the dependencies of each service version.
	text, errOut := mustRun(t, 0, "env", "deps", file)
	for _, want := range []string{
		"fhir: acme/fhir 5.1.0 (^5, locked)",
		"├── postgresql ← postgres: openhealth/postgres 17.7.0 (^17, locked) as postgresql-17; DATABASE_URL ← url",
		"├── oidc ← hospital-sso: external oidc",
		"├── smtp ← mail-relay: external smtp",
		"└── opentelemetry (optional): not bound",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("deps lacks %q:\n%s", want, text)
		}
	}
	if !strings.Contains(errOut, "note: fhir: optional dependency opentelemetry is not bound") {
		t.Errorf("deps notes: %s", errOut)
	}
	text, _ = mustRun(t, 0, "env", "deps", file, "--json")
	var rep env.Report
	if err := json.Unmarshal([]byte(text), &rep); err != nil {
		t.Fatalf("deps --json: %v\n%s", err, text)
	}
	if len(rep.Services) != 2 || rep.Services[0].Needs[0].Provider != "postgres" || rep.Services[0].Needs[1].Provider != "hospital-sso" {
		t.Errorf("deps --json: %+v", rep)
	}

	// Story 4: export the configuration as Kubernetes files.
	text, errOut = mustRun(t, 0, "env", "export", file, "--format", "kubernetes", "-o", out)
	if !strings.Contains(text, "wrote 6 files to "+out+" (kubernetes)") || !strings.Contains(errOut, "fill in OIDC_CLIENT_SECRET, SMTP_URL in "+filepath.Join(out, "secrets.env")) {
		t.Errorf("export printed:\n%s%s", text, errOut)
	}
	for _, name := range []string{"kustomization.yaml", "namespace.yaml", "fhir.yaml", "postgres.yaml", "secrets.env", ".gitignore"} {
		if _, err := os.Stat(filepath.Join(out, name)); err != nil {
			t.Errorf("export: %v", err)
		}
	}
	if fi, err := os.Stat(filepath.Join(out, "secrets.env")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("secrets.env mode %v, %v; want 0600", fi.Mode(), err)
	}
	secrets := readFile(t, filepath.Join(out, "secrets.env"))
	password := envValue(t, secrets, "POSTGRES_POSTGRES_PASSWORD")
	if len(password) != 32 || !strings.Contains(envValue(t, secrets, "FHIR_DATABASE_URL"), ":"+password+"@postgres-db:5432/") {
		t.Errorf("secrets.env:\n%s", secrets)
	}
	for _, name := range []string{"fhir.yaml", "postgres.yaml", "kustomization.yaml"} {
		if strings.Contains(readFile(t, filepath.Join(out, name)), password) {
			t.Errorf("%s holds the generated password", name)
		}
	}
	web := readFile(t, filepath.Join(out, "fhir.yaml"))
	for _, want := range []string{"kind: Deployment\nmetadata:\n  name: fhir-web", "replicas: 2", "memory: 2048Mi", "minReplicas: 2"} {
		if !strings.Contains(web, want) {
			t.Errorf("fhir.yaml lacks %q", want)
		}
	}
	if db := readFile(t, filepath.Join(out, "postgres.yaml")); !strings.Contains(db, "kind: StatefulSet") || !strings.Contains(db, "volumeClaimTemplates:") {
		t.Error("postgres.yaml has no StatefulSet with a volume claim")
	}
	// Exporting again keeps the generated password.
	mustRun(t, 0, "env", "export", file, "-o", out)
	if got := envValue(t, readFile(t, filepath.Join(out, "secrets.env")), "POSTGRES_POSTGRES_PASSWORD"); got != password {
		t.Errorf("the second export changed the generated password")
	}
	mustRun(t, 0, "env", "export", file, "--format", "compose", "-o", filepath.Join(dir, "compose"))
	if c := readFile(t, filepath.Join(dir, "compose", "compose.yaml")); !strings.Contains(c, "DATABASE_URL: ${FHIR_DATABASE_URL:?required}") || !strings.Contains(c, "name: fhir") {
		t.Errorf("compose.yaml:\n%s", c)
	}

	// Story 6: deploy with one command. --dry-run prints the command and writes nothing.
	os.RemoveAll(out)
	text, _ = mustRun(t, 0, "env", "apply", file, "-o", out, "--dry-run")
	if !strings.Contains(text, "would write "+filepath.Join(out, "kustomization.yaml")+"\n") || !strings.Contains(text, "would run: kubectl apply -k "+out+"\n") {
		t.Errorf("apply --dry-run printed:\n%s", text)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("apply --dry-run wrote %s", out)
	}
	log := fakeTool(t, "kubectl")
	_, errOut = mustRun(t, 1, "env", "apply", file, "-o", out)
	if !strings.Contains(errOut, "fill in OIDC_CLIENT_SECRET, SMTP_URL in "+filepath.Join(out, "secrets.env")+", then apply again") {
		t.Errorf("apply with empty secrets: %s", errOut)
	}
	if _, err := os.Stat(log); err == nil {
		t.Error("kubectl ran although secrets were missing")
	}
	filled := strings.NewReplacer("\nOIDC_CLIENT_SECRET=\n", "\nOIDC_CLIENT_SECRET=s3cret\n", "\nSMTP_URL=\n", "\nSMTP_URL=smtp://fhir:pw@mail.hospital.example:587\n").Replace(readFile(t, filepath.Join(out, "secrets.env")))
	if err := os.WriteFile(filepath.Join(out, "secrets.env"), []byte(filled), 0o600); err != nil {
		t.Fatal(err)
	}
	text, _ = mustRun(t, 0, "env", "apply", file, "-o", out)
	if !strings.Contains(text, "+ kubectl apply -k "+out+"\nfake kubectl ran\n") {
		t.Errorf("apply printed:\n%s", text)
	}
	if got := readFile(t, log); got != "apply\n-k\n"+out+"\n" {
		t.Errorf("kubectl got arguments %q", got)
	}
	if got := envValue(t, readFile(t, filepath.Join(out, "secrets.env")), "OIDC_CLIENT_SECRET"); got != "s3cret" {
		t.Errorf("apply lost the operator's secret: %q", got)
	}
}

// envValue returns the value of key in a secrets file.
func envValue(t *testing.T, text, key string) string {
	t.Helper()
	for _, line := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(line, key+"="); ok {
			return v
		}
	}
	t.Fatalf("no %s in:\n%s", key, text)
	return ""
}

// TestEnvApplyCompose runs docker compose (a fake) with the env file and the compose file.
func TestEnvApplyCompose(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "mail.toml")
	env := "platform = \"compose\"\n\n[[services]]\nname = \"relay\"\nproduct = \"openhealth/smtp-relay\"\nparams = { RELAY_SMARTHOST = \"mail.example.org:587\", MAIL_FROM_DEFAULT = \"noreply@example.org\" }\n"
	if err := os.WriteFile(file, []byte(env), 0o644); err != nil {
		t.Fatal(err)
	}
	log := fakeTool(t, "docker")
	text, _ := mustRun(t, 0, "env", "apply", file)
	out := filepath.Join(dir, "mail")
	want := []string{"compose", "--env-file", filepath.Join(out, "secrets.env"), "-f", filepath.Join(out, "compose.yaml"), "up", "-d"}
	if got := readFile(t, log); got != strings.Join(want, "\n")+"\n" {
		t.Errorf("docker got %q, want %q", got, want)
	}
	if !strings.Contains(text, "+ docker "+strings.Join(want, " ")+"\n") {
		t.Errorf("apply printed:\n%s", text)
	}
}

// TestEnvApplyWithoutTool fails clearly, before writing anything, when kubectl is missing.
func TestEnvApplyWithoutTool(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "db.toml")
	if err := os.WriteFile(file, []byte("[[services]]\nname = \"db\"\nproduct = \"openhealth/postgres\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", t.TempDir())
	_, errOut := mustRun(t, 2, "env", "apply", file)
	if !strings.Contains(errOut, "kubectl is not installed or not on PATH") || !strings.Contains(errOut, "kubectl apply -k "+filepath.Join(dir, "db")) {
		t.Errorf("stderr: %s", errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, "db")); !os.IsNotExist(err) {
		t.Error("apply wrote the export although it could not run kubectl")
	}
	// --dry-run still works, and says the tool is missing.
	text, errOut := mustRun(t, 0, "env", "apply", file, "--dry-run")
	if !strings.Contains(text, "would run: kubectl apply -k") || !strings.Contains(errOut, "note: kubectl is not installed here") {
		t.Errorf("dry run:\n%s%s", text, errOut)
	}
}

// TestEnvProblems reports every problem of a bad environment at once, positioned, exit 1, and
// writes nothing.
func TestEnvProblems(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "bad.toml")
	body := "platfrom = \"kubernetes\"\n\n[[services]]\nproduct = \"acme/fhir\"\nversion = \"^9\"\n\n[[services]]\nproduct = \"openhealth/smtp-relay\"\n"
	if err := os.WriteFile(file, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	_, errOut := mustRun(t, 1, "env", "export", file)
	for _, want := range []string{
		file + ":1:1: error: unknown key \"platfrom\"; did you mean \"platform\"?",
		file + ":5:11: error: no build of acme/fhir matches \"^9\" (versions: 5.0.0, 5.0.2, 5.1.0)",
		file + ":7:1: error: smtp-relay: required parameter MAIL_FROM_DEFAULT of openhealth/smtp-relay 1.5.0 has no value",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("a failed export wrote files: %v", entries)
	}
	text, _ := mustRun(t, 1, "env", "deps", file)
	if !strings.Contains(text, "smtp-relay: openhealth/smtp-relay 1.5.0") {
		t.Errorf("deps printed no tree:\n%s", text)
	}
	mustRun(t, 2, "env", "deps", filepath.Join(dir, "missing.toml"))
	mustRun(t, 2, "env", "export", file, "--format", "helm")
}

// TestEnvExportRemovesWhatItNoLongerWrites takes a service out of an environment: the next export
// removes its file, and leaves files it did not write alone.
func TestEnvExportRemovesWhatItNoLongerWrites(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "mail.toml")
	relay := "[[services]]\nname = \"relay\"\nproduct = \"openhealth/smtp-relay\"\nparams = { RELAY_SMARTHOST = \"mail.example.org:587\", MAIL_FROM_DEFAULT = \"x@example.org\" }\n"
	db := "\n[[services]]\nname = \"db\"\nproduct = \"openhealth/postgres\"\n"
	if err := os.WriteFile(file, []byte(relay+db), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	mustRun(t, 0, "env", "export", file, "-o", out)
	mine := filepath.Join(out, "overlay-notes.txt")
	if err := os.WriteFile(mine, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(out, "db.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte(relay), 0o644); err != nil {
		t.Fatal(err)
	}
	mustRun(t, 0, "env", "export", file, "-o", out)
	if _, err := os.Stat(filepath.Join(out, "db.yaml")); !os.IsNotExist(err) {
		t.Errorf("db.yaml is still there after db left the environment: %v", err)
	}
	if _, err := os.Stat(mine); err != nil {
		t.Errorf("export removed a file it did not write: %v", err)
	}
	for _, name := range []string{"relay.yaml", "kustomization.yaml", "secrets.env"} {
		if _, err := os.Stat(filepath.Join(out, name)); err != nil {
			t.Error(err)
		}
	}
	if strings.Contains(readFile(t, filepath.Join(out, "kustomization.yaml")), "db.yaml") {
		t.Error("the kustomization still lists db.yaml")
	}
	// db's generated password is kept, apart, should db come back to its volume.
	if secrets := readFile(t, filepath.Join(out, "secrets.env")); !strings.Contains(secrets, "# not used by the environment any more") || envValue(t, secrets, "DB_POSTGRES_PASSWORD") == "" {
		t.Errorf("secrets.env lost db's password:\n%s", secrets)
	}
}
