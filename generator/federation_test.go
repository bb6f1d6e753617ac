package generator

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/hspc/marketplace/catalog/federate"
	"github.com/hspc/marketplace/generator/api"
)

// gitRepo makes a Git repository of files with the git program, with fixed dates.
func gitRepo(t *testing.T, dir string, files map[string][]byte) {
	t.Helper()
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "-A"}, {"commit", "-q", "-m", "catalog"}} {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=Owner", "GIT_AUTHOR_EMAIL=owner@example.org",
			"GIT_COMMITTER_NAME=Owner", "GIT_COMMITTER_EMAIL=owner@example.org",
			"GIT_AUTHOR_DATE=2026-11-02T09:00:00Z", "GIT_COMMITTER_DATE=2026-11-02T09:00:00Z",
			"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
}

// treeFiles reads the files under dir (relative slash paths) into a map, under prefix.
func treeFiles(t *testing.T, dir, prefix string, into map[string][]byte) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		data, err := os.ReadFile(p)
		into[prefix+filepath.ToSlash(rel)] = data
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestBuildFederated builds examples/federation's hospital with the public catalog (this
// repository's) and the partner's as upstreams: every product and publisher carries its origin
// in the API, the pages and the feed, and catalog.json still matches its schema.
func TestBuildFederated(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	index, err := os.ReadFile("../index.toml")
	if err != nil {
		t.Fatal(err)
	}
	interfaces := index[bytes.Index(index, []byte("[[interfaces]]")):]
	compose := func(dir string, parts ...string) []byte {
		var b []byte
		for _, p := range parts {
			data, err := os.ReadFile(filepath.Join("../examples/federation", dir, p))
			if err != nil {
				t.Fatal(err)
			}
			b = append(b, data...)
			if p == "index.head.toml" {
				b = append(b, interfaces...)
			}
		}
		return b
	}

	public := map[string][]byte{"index.toml": index}
	treeFiles(t, "../products", "products/", public)
	treeFiles(t, "../signatures", "signatures/", public)
	gitRepo(t, filepath.Join(root, "mirrors", "hspc"), public)

	riverside := map[string][]byte{"index.toml": compose("riverside", "index.head.toml")}
	treeFiles(t, "../examples/federation/riverside/products", "products/", riverside)
	treeFiles(t, "../examples/federation/riverside/signatures", "signatures/", riverside)
	gitRepo(t, filepath.Join(root, "mirrors", "riverside"), riverside)

	hospital := map[string][]byte{"index.toml": compose("hospital", "index.head.toml", "upstreams.toml")}
	treeFiles(t, "../examples/federation/hospital/products", "products/", hospital)
	treeFiles(t, "../examples/federation/hospital/signatures", "signatures/", hospital)
	local := filepath.Join(root, "catalog")
	gitRepo(t, local, hospital)

	up := federate.UpstreamOptions{CacheDir: filepath.Join(root, "cache")}
	if _, ds, err := federate.Update(ctx, local, nil, up); err != nil || ds.HasErrors() {
		t.Fatalf("upstreams update: %v %v", err, ds)
	}
	up.Offline = true
	out := filepath.Join(root, "public")
	res, err := Build(ctx, Options{Root: local, Out: out, Verify: VerifyOffline, Upstreams: up})
	if err != nil {
		t.Fatalf("build: %v\n%v", err, res.Diagnostics)
	}
	files := readTree(t, out)

	var doc struct {
		Upstreams  []struct{ Name, URL, Commit string }
		Publishers []struct {
			ID     string
			Origin struct{ Name, Commit string }
		}
		Products []struct {
			ID     string
			Origin struct{ Name, URL, Commit string }
		}
	}
	if err := json.Unmarshal(files[api.CatalogPath], &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Upstreams) != 2 || doc.Upstreams[0].Name != "hspc" || doc.Upstreams[1].Name != "riverside" || len(doc.Upstreams[1].Commit) != 40 {
		t.Fatalf("catalog.json upstreams: %+v", doc.Upstreams)
	}
	want := map[string]string{"acme/fhir": "hspc", "riverside-lab/lab-results": "riverside", "stmary-it/bed-board": "local"}
	for _, p := range doc.Products {
		if w, ok := want[p.ID]; ok && p.Origin.Name != w {
			t.Errorf("%s: origin %+v, want %s", p.ID, p.Origin, w)
		}
		if p.Origin.Name == "" || (p.Origin.Name == "local") != (p.Origin.Commit == "") {
			t.Errorf("%s: origin %+v", p.ID, p.Origin)
		}
	}
	if len(doc.Products) != 16 || len(doc.Publishers) != 7 {
		t.Errorf("%d products of %d publishers, want 16 of 7", len(doc.Products), len(doc.Publishers))
	}
	schemaDoc, err := jsonschema.UnmarshalJSON(bytes.NewReader(api.JSONSchema))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("catalog.schema.json", schemaDoc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("catalog.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(files[api.CatalogPath]))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(inst); err != nil {
		t.Errorf("catalog.json does not match its schema: %v", err)
	}

	for page, wantText := range map[string]string{
		"api/v1/products/riverside-lab/lab-results.json": `"name":"riverside"`,
		"products/riverside-lab/lab-results/index.html":  `Upstream <strong>riverside</strong> <code class="break">../mirrors/riverside</code> at commit`,
		"publishers/acme/index.html":                     `Upstream <strong>hspc</strong>`,
		"products/stmary-it/bed-board/index.html":        `<span class="origin">This catalog</span>`,
		"feed.json": `"origin": {`,
		// An upstream product's logo comes from the upstream's tree.
		"products/riverside-lab/lab-results/logo.svg": `<svg`,
	} {
		if !strings.Contains(string(files[page]), wantText) {
			t.Errorf("%s lacks %q", page, wantText)
		}
	}
}
