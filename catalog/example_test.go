package catalog

import (
	"bytes"
	"os"
	"slices"
	"testing"
)

// TestExampleCatalog checks the repository's own catalog: it validates with no errors and no
// warnings, covers what the seed's MVP asks for, and holds the seed's FHIR use case.
func TestExampleCatalog(t *testing.T) {
	c, ds := Check(os.DirFS(".."))
	if len(ds) > 0 {
		var b bytes.Buffer
		ds.Write(&b, "text")
		t.Fatalf("example catalog has diagnostics:\n%s", b.String())
	}
	if len(c.Products) < 12 || len(c.Publishers) < 5 {
		t.Errorf("example catalog has %d products from %d publishers, want at least 12 from 5", len(c.Products), len(c.Publishers))
	}
	for _, in := range []string{"hl7-fhir-r4", "smart-app-launch", "cds-hooks", "oidc", "saml2", "scim2", "ldap", "postgresql", "smtp", "opentelemetry"} {
		if c.Interface(in) == nil {
			t.Errorf("index.toml has no interface %s", in)
		}
	}
	if !slices.ContainsFunc(c.Index.Interfaces, func(in Interface) bool { return len(in.SubstitutesFor) > 0 }) {
		t.Error("index.toml has no surrogate interface (substitutes_for)")
	}

	// The seed's use case: a FHIR application needing its own database, OIDC client id and
	// secret, SMTP, and 2+ app and 2+ worker instances at 2 GB each.
	fhir := c.Products["acme/fhir"]
	if fhir == nil {
		t.Fatal("no acme/fhir product")
	}
	b := fhir.Builds[len(fhir.Builds)-1]
	for _, task := range []string{"web", "worker"} {
		tk := b.Task(task)
		if tk == nil || tk.MinInstances() < 2 || tk.MemoryMiB() != 2048 {
			t.Errorf("acme/fhir task %s = %+v, want min ≥ 2 and memory 2048", task, tk)
		}
	}
	for in, params := range map[string][]string{
		"postgresql": {"DATABASE_URL"},
		"oidc":       {"OIDC_ISSUER", "OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET"},
		"smtp":       {"SMTP_URL"},
	} {
		i := slices.IndexFunc(b.Dependencies, func(d Dependency) bool { return c.Satisfies(in, d.Interface) || d.Interface == in })
		if i < 0 {
			t.Errorf("acme/fhir has no %s dependency", in)
			continue
		}
		for _, p := range params {
			if _, ok := b.Dependencies[i].Bind[p]; !ok {
				t.Errorf("acme/fhir %s dependency does not bind %s", in, p)
			}
		}
	}
}
