package write

import "golang.org/x/sys/unix"

// exchange swaps the names a and b in one atomic step (renameat2 RENAME_EXCHANGE): there is no
// moment without either.
func exchange(a, b string) error {
	return unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_EXCHANGE)
}
