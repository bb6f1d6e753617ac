package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestHeavyDependenciesStayInTheirPackage keeps each heavy dependency in the one package that
// owns it (STYLE.md, after go-containerregistry's depcheck_test.go): a package elsewhere that
// needs the capability calls the owner instead.
func TestHeavyDependenciesStayInTheirPackage(t *testing.T) {
	// The longest matching prefix decides.
	owners := []struct{ prefix, owner string }{
		{"github.com/sigstore/", "catalog/verify"},
		{"github.com/theupdateframework/go-tuf/", "catalog/trust"},
		// go-tuf signs with sigstore's Signer interface: the trust package may name it.
		{"github.com/sigstore/sigstore/pkg/signature", "catalog/verify catalog/trust"},
		{"github.com/google/go-containerregistry/", "catalog/verify"},
		{"github.com/blevesearch/", "generator/search"},
		{"github.com/go-git/", "catalog/gitrepo"},
		{"github.com/yuin/goldmark", "generator/site"},
		{"github.com/pelletier/go-toml", "catalog"},
		// The judges of the deploy manifests (k8s.io/api, compose-go) are test-only; should a
		// program need them, only the deploy package may import them.
		{"k8s.io/", "generator/deploy"},
		{"sigs.k8s.io/", "generator/deploy"},
		{"github.com/compose-spec/", "generator/deploy"},
		{"github.com/klauspost/compress", "generator/serve"},
		{"github.com/fsnotify/fsnotify", "generator/preview"},
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	const module = "github.com/hspc/marketplace/"
	cmd := exec.Command(goTool, "list", "-e", "-f", "{{.ImportPath}}{{range .Imports}} {{.}}{{end}}", "./...")
	cmd.Dir = filepath.Join("..", "..")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		pkg := strings.TrimPrefix(fields[0], module)
		for _, imp := range fields[1:] {
			owner, longest := "", 0
			for _, o := range owners {
				if strings.HasPrefix(imp, o.prefix) && len(o.prefix) > longest {
					owner, longest = o.owner, len(o.prefix)
				}
			}
			if owner != "" && !ownedBy(pkg, owner) {
				t.Errorf("%s imports %s; only %s may", pkg, imp, owner)
			}
		}
	}
}

// ownedBy reports whether pkg is one of the space-separated owners, or a tool inside one of
// them (internal/).
func ownedBy(pkg, owners string) bool {
	for _, o := range strings.Fields(owners) {
		if pkg == o || strings.HasPrefix(pkg, o+"/internal/") {
			return true
		}
	}
	return false
}
