package write

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// maxLinks bounds how many symbolic links Check follows from the output path, as the kernel does.
const maxLinks = 40

// ErrRefused is returned (wrapped) when the output path is not one a build may replace.
var ErrRefused = errors.New("output refused")

// Check says whether a build may write into dir and returns the path it will actually
// publish at: dir itself, or the target of dir when dir is a symbolic link that a build did not
// make (followed, never replaced). A build may write into a folder that does not exist, an empty folder, or the output
// of a previous build (it holds ManifestFile); never into a regular file, any other folder, or a
// folder that is or contains one of protect (the catalog repository). Check changes nothing.
func Check(dir string, protect ...string) (string, error) {
	target, err := resolve(dir)
	if err != nil {
		return "", err
	}
	real, err := realPath(target)
	if err != nil {
		return "", err
	}
	for _, p := range protect {
		if p == "" {
			continue
		}
		rp, err := realPath(p)
		if err != nil {
			return "", err
		}
		if rp == real || strings.HasPrefix(rp, strings.TrimSuffix(real, string(filepath.Separator))+string(filepath.Separator)) {
			return "", fmt.Errorf("%w: %s contains the catalog repository %s; build into a folder of its own (e.g. -o public)", ErrRefused, dir, p)
		}
	}
	if _, ok := ours(target); ok {
		return target, nil
	}
	fi, err := os.Stat(target)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return target, nil
	case err != nil:
		return "", err
	case !fi.IsDir():
		return "", fmt.Errorf("%w: %s is a file, not a folder", ErrRefused, dir)
	}
	if _, err := os.Lstat(filepath.Join(target, ManifestFile)); err == nil {
		return target, nil
	}
	empty, err := isEmpty(target)
	if err != nil {
		return "", err
	}
	if !empty {
		return "", fmt.Errorf("%w: %s is not empty and is not the output of a marketplace build (it has no %s); build into a new or empty folder", ErrRefused, dir, ManifestFile)
	}
	return target, nil
}

// resolve follows dir while it is a symbolic link and returns the absolute, clean path of the
// first thing that is not one (which may not exist).
func resolve(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for range maxLinks {
		fi, err := os.Lstat(dir)
		if errors.Is(err, fs.ErrNotExist) || (err == nil && fi.Mode()&fs.ModeSymlink == 0) {
			return dir, nil
		}
		if _, ok := ours(dir); ok {
			return dir, nil // the link a build made: replaced, not followed
		}
		if err != nil {
			return "", err
		}
		link, err := os.Readlink(dir)
		if err != nil {
			return "", err
		}
		if !filepath.IsAbs(link) {
			link = filepath.Join(filepath.Dir(dir), link)
		}
		dir = filepath.Clean(link)
	}
	return "", fmt.Errorf("%w: %s: too many levels of symbolic links", ErrRefused, dir)
}

// realPath resolves every symbolic link in p; the part of p that does not exist yet is kept as
// it is.
func realPath(p string) (string, error) {
	p, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	var rest []string
	for {
		r, err := filepath.EvalSymlinks(p)
		if err == nil {
			return filepath.Join(append([]string{r}, rest...)...), nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		parent := filepath.Dir(p)
		if parent == p {
			return "", err
		}
		rest = append([]string{filepath.Base(p)}, rest...)
		p = parent
	}
}

func isEmpty(dir string) (bool, error) {
	f, err := os.Open(dir)
	if err != nil {
		return false, err
	}
	defer f.Close()
	_, err = f.Readdirnames(1)
	if errors.Is(err, io.EOF) {
		return true, nil
	}
	return false, err
}

// HasOutput reports whether dir (or what it links to) holds the output of an earlier build.
func HasOutput(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, ManifestFile))
	return err == nil
}
