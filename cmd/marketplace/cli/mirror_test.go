package cli

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/hspc/marketplace/catalog/federate"
)

// TestMirrorCommands runs the mirror subcommands in process on this repository (a Git
// repository holding the example catalog) as the source.
func TestMirrorCommands(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "mirror")
	code, _, errOut := run(t, "mirror", "clone", "../../..", dir)
	if code != ExitOK || !strings.Contains(errOut, "checked offline") {
		t.Fatalf("mirror clone: exit %d\n%s", code, errOut)
	}
	code, out, _ := run(t, "mirror", "status", "--json", dir)
	if code != ExitOK || !strings.Contains(out, `"kind": "git"`) || !strings.Contains(out, `"source_has_newer": false`) {
		t.Fatalf("mirror status --json: exit %d\n%s", code, out)
	}
	code, _, errOut = run(t, "mirror", "sync", dir)
	if code != ExitOK || !strings.Contains(errOut, "up to date") {
		t.Fatalf("mirror sync: exit %d\n%s", code, errOut)
	}
	bundle := filepath.Join(t.TempDir(), "catalog.bundle")
	if code, _, errOut = run(t, "mirror", "export", dir, bundle); code != ExitOK {
		t.Fatalf("mirror export: exit %d\n%s", code, errOut)
	}
	code, _, errOut = run(t, "mirror", "clone", bundle, dir)
	if code != ExitUsage || !strings.Contains(errOut, "is not empty") {
		t.Fatalf("mirror clone into a mirror: exit %d\n%s", code, errOut)
	}
	code, _, errOut = run(t, "mirror", "sync", t.TempDir())
	if code != ExitUsage || !strings.Contains(errOut, "is not a mirror") {
		t.Fatalf("mirror sync of a plain folder: exit %d\n%s", code, errOut)
	}
}

// TestSiteMirrorDispatch: with --root, clone takes the TUF site mirror (trust_test.go follows it
// end to end), and sync of a folder whose state says "site" does too.
func TestSiteMirrorDispatch(t *testing.T) {
	code, _, errOut := run(t, "mirror", "clone", "https://marketplace.example.org/", filepath.Join(t.TempDir(), "m"), "--root", "no-such-root.json")
	if code != ExitUsage || !strings.Contains(errOut, "--root: open no-such-root.json") {
		t.Fatalf("mirror clone --root: exit %d\n%s", code, errOut)
	}
	dir := t.TempDir()
	if err := federate.WriteState(dir, &federate.State{Kind: federate.KindSite, Source: "https://marketplace.example.org/"}); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = run(t, "mirror", "sync", dir)
	if code == ExitOK || strings.Contains(errOut, "is not a mirror") {
		t.Fatalf("mirror sync of a site mirror: exit %d\n%s", code, errOut)
	}
}
