package search

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestOnlySearchImportsBleve keeps bleve inside this package, as STYLE.md asks of every heavy
// dependency.
func TestOnlySearchImportsBleve(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list over the module")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	const self = "github.com/hspc/marketplace/generator/search"
	cmd := exec.Command(goTool, "list", "-e", "-f", "{{.ImportPath}}{{range .Imports}} {{.}}{{end}}", "github.com/hspc/marketplace/...")
	cmd.Dir = filepath.Join("..", "..")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 || fields[0] == self {
			continue
		}
		for _, imp := range fields[1:] {
			if strings.HasPrefix(imp, "github.com/blevesearch/") {
				t.Errorf("%s imports %s; only %s may", fields[0], imp, self)
			}
		}
	}
}
