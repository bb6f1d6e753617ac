package write

import (
	"errors"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// swap puts tmp in place of dir. On Linux, renameat2(RENAME_EXCHANGE) swaps the two folders in
// one atomic step, so there is no moment without an output; tmp then holds the old output,
// which the caller removes.
func swap(tmp, dir string) error {
	err := unix.Renameat2(unix.AT_FDCWD, tmp, unix.AT_FDCWD, dir, unix.RENAME_EXCHANGE)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, unix.ENOENT):
		if _, statErr := os.Stat(dir); errors.Is(statErr, fs.ErrNotExist) {
			return os.Rename(tmp, dir) // first build
		}
	}
	return swapByRename(tmp, dir)
}
