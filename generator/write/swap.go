package write

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// swapByRename moves the old output aside, renames tmp into place, and removes the old output:
// two renames, for systems without an atomic exchange. If the second fails the old output is
// moved back.
func swapByRename(tmp, dir string) error {
	old := filepath.Join(filepath.Dir(dir), "."+filepath.Base(dir)+".old-"+filepath.Base(tmp))
	if err := os.Rename(dir, old); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return os.Rename(tmp, dir)
		}
		return err
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.Rename(old, dir)
		return err
	}
	return os.RemoveAll(old)
}
