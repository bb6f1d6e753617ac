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
	owners := []struct{ prefix, owner string }{
		{"github.com/sigstore/", "catalog/verify"},
		{"github.com/google/go-containerregistry/", "catalog/verify"},
		{"github.com/blevesearch/", "generator/search"},
		{"github.com/go-git/", "catalog/gitrepo"},
		{"github.com/yuin/goldmark", "generator/site"},
		{"github.com/pelletier/go-toml", "catalog"},
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
			for _, o := range owners {
				// The owner and the tools inside it (internal/) may import it.
				if strings.HasPrefix(imp, o.prefix) && pkg != o.owner && !strings.HasPrefix(pkg, o.owner+"/internal/") {
					t.Errorf("%s imports %s; only %s may", pkg, imp, o.owner)
				}
			}
		}
	}
}
