package catalog

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
)

// errTooLarge and errOutside are the reasons readBounded refuses a file.
var (
	errTooLarge = errors.New("file too large")
	errOutside  = errors.New("symlink leaves the repository")
)

// readBounded reads a catalog file, refusing before parsing one larger than limit bytes, and one
// reached through a symlink that leaves the repository (absolute, or climbing above the root).
// Git trees read with --ref refuse such links themselves; a work tree read through os.DirFS
// would follow them, so the same rule is applied here. The returned message explains a refusal.
func readBounded(fsys fs.FS, name string, limit int64) ([]byte, string, error) {
	if msg := escapingSymlink(fsys, name); msg != "" {
		return nil, msg, errOutside
	}
	// Stat before Open: a Git tree's Open reads the whole blob, its Stat only the size.
	if info, err := fs.Stat(fsys, name); err == nil && info.Size() > limit {
		return nil, tooLarge(info.Size(), limit), errTooLarge
	}
	f, err := fsys.Open(name)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	// The size from Stat may be wrong (a file still being written, a special file): never read
	// more than the limit.
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, "", err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Sprintf("file is over %s, want at most %s", humanBytes(limit), humanBytes(limit)), errTooLarge
	}
	return data, "", nil
}

func tooLarge(size, limit int64) string {
	return fmt.Sprintf("file is %s, want at most %s", humanBytes(size), humanBytes(limit))
}

// escapingSymlink follows the symlinks on the way to name, and describes the first that leads
// out of the repository; "" when none does. File systems without symlinks pass.
func escapingSymlink(fsys fs.FS, name string) string {
	parts := strings.Split(name, "/")
	for hops := 0; hops <= 40; hops++ {
		cur, restarted := "", false
		for i, part := range parts {
			cur = path.Join(cur, part)
			info, err := fs.Lstat(fsys, cur)
			if err != nil || info.Mode()&fs.ModeSymlink == 0 {
				continue
			}
			target, err := fs.ReadLink(fsys, cur)
			if err != nil {
				return ""
			}
			what := cur + " is a symlink"
			if cur == name {
				what = "symlink"
			}
			if path.IsAbs(target) {
				return fmt.Sprintf("%s to the absolute path %s, outside the repository", what, target)
			}
			resolved := path.Join(path.Dir(cur), target)
			if resolved == ".." || strings.HasPrefix(resolved, "../") {
				return fmt.Sprintf("%s to %s, outside the repository", what, target)
			}
			parts = append(strings.Split(resolved, "/"), parts[i+1:]...)
			restarted = true
			break
		}
		if !restarted {
			return ""
		}
	}
	return "" // a loop: reading the file reports it
}
