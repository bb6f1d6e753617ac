package cli

import (
	"os"
	"testing"
)

// TestMain points the user cache folder (verification and load caches) into a temporary folder,
// so tests neither read nor fill the caches of the person running them.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "marketplace-cli-test-cache-")
	if err != nil {
		panic(err)
	}
	os.Setenv("XDG_CACHE_HOME", dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
