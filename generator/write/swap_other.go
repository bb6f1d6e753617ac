//go:build !linux

package write

func swap(tmp, dir string) error { return swapByRename(tmp, dir) }
