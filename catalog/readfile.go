package catalog

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
	"sync"
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
	data, _, why, err := readBoundedIn(fsys, name, limit, nil)
	return data, why, err
}

// readBoundedIn is readBounded for one of many files read in one pass: dirs remembers the
// folders already found not to be symlinks, so that each is looked at once, not once per file.
// It also returns what Lstat said of the file before reading it, when it is not a symlink.
func readBoundedIn(fsys fs.FS, name string, limit int64, dirs *sync.Map) ([]byte, fs.FileInfo, string, error) {
	msg, info := escapingSymlinkIn(fsys, name, dirs)
	if msg != "" {
		return nil, nil, msg, errOutside
	}
	lstat := info
	// Stat before Open: a Git tree's Open reads the whole blob, its Stat only the size. The
	// symlink check has the size already when the file is not a link.
	if info == nil {
		info, _ = fs.Stat(fsys, name)
	}
	size := int64(-1)
	if info != nil {
		if size = info.Size(); size > limit {
			return nil, nil, tooLarge(size, limit), errTooLarge
		}
	}
	f, err := fsys.Open(name)
	if err != nil {
		return nil, nil, "", err
	}
	defer f.Close()
	// The size from Stat may be wrong (a file still being written, a special file): never read
	// more than the limit. Room for the whole file (and the read that finds its end) up front.
	var b bytes.Buffer
	if size >= 0 {
		b.Grow(int(size) + bytes.MinRead)
	}
	if _, err := b.ReadFrom(io.LimitReader(f, limit+1)); err != nil {
		return nil, nil, "", err
	}
	data := b.Bytes()
	if int64(len(data)) > limit {
		return nil, nil, fmt.Sprintf("file is over %s, want at most %s", humanBytes(limit), humanBytes(limit)), errTooLarge
	}
	return data, lstat, "", nil
}

// noSymlinkOnTheWay is the common case of the symlink checks, without building paths: it walks
// the folders of the clean path name from byte from on (the folders before are known), and
// reports true, with what Lstat said of name (nil when it could not tell), when none of them
// nor name is a symlink; false when one is, or name is not clean, and the caller must look
// closer.
func noSymlinkOnTheWay(fsys fs.FS, name string, from int, dirs *sync.Map) (fs.FileInfo, bool) {
	if dirs == nil || name == "" || path.Clean(name) != name || strings.HasPrefix(name, "../") {
		return nil, false
	}
	for i := from; i <= len(name); i++ {
		if i < len(name) && name[i] != '/' {
			continue
		}
		cur, final := name[:i], i == len(name)
		if cur == "" {
			continue
		}
		if !final {
			if _, ok := dirs.Load(cur); ok {
				continue
			}
		}
		info, err := fs.Lstat(fsys, cur)
		switch {
		case err != nil:
			if final {
				return nil, true
			}
		case info.Mode()&fs.ModeSymlink != 0:
			return nil, false
		case final:
			return info, true
		case info.IsDir():
			dirs.Store(cur, true)
		}
	}
	return nil, true
}

func tooLarge(size, limit int64) string {
	return fmt.Sprintf("file is %s, want at most %s", humanBytes(size), humanBytes(limit))
}

// escapingSymlink follows the symlinks on the way to name, and describes the first that leads
// out of the repository; "" when none does. File systems without symlinks pass.
func escapingSymlink(fsys fs.FS, name string) string {
	msg, _ := escapingSymlinkIn(fsys, name, nil)
	return msg
}

// escapingSymlinkIn is escapingSymlink that also returns what Lstat said of name when no symlink
// was on the way (nil otherwise), and skips the folders dirs knows are not symlinks (nil: none).
func escapingSymlinkIn(fsys fs.FS, name string, dirs *sync.Map) (string, fs.FileInfo) {
	if info, ok := noSymlinkOnTheWay(fsys, name, 0, dirs); ok {
		return "", info
	}
	parts := strings.Split(name, "/")
	var last fs.FileInfo
	for hops := 0; hops <= 40; hops++ {
		cur, restarted := "", false
		for i, part := range parts {
			cur = path.Join(cur, part)
			final := hops == 0 && i == len(parts)-1
			if dirs != nil && !final {
				if _, ok := dirs.Load(cur); ok {
					continue
				}
			}
			info, err := fs.Lstat(fsys, cur)
			if err != nil || info.Mode()&fs.ModeSymlink == 0 {
				switch {
				case err != nil:
				case final:
					last = info
				case dirs != nil && info.IsDir():
					dirs.Store(cur, true)
				}
				continue
			}
			target, err := fs.ReadLink(fsys, cur)
			if err != nil {
				return "", nil
			}
			what := cur + " is a symlink"
			if cur == name {
				what = "symlink"
			}
			if path.IsAbs(target) {
				return fmt.Sprintf("%s to the absolute path %s, outside the repository", what, target), nil
			}
			resolved := path.Join(path.Dir(cur), target)
			if resolved == ".." || strings.HasPrefix(resolved, "../") {
				return fmt.Sprintf("%s to %s, outside the repository", what, target), nil
			}
			parts = append(strings.Split(resolved, "/"), parts[i+1:]...)
			restarted = true
			break
		}
		if !restarted {
			if hops > 0 {
				last = nil // the Lstat was of a link's target path, not name
			}
			return "", last
		}
	}
	return "", nil // a loop: reading the file reports it
}
