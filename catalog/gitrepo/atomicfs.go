package gitrepo

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-git/go-billy/v5"
)

// atomicFS is the repository's .git file system as go-git's storage sees it, with the files
// that name the repository's state — HEAD, references, config, index, shallow — replaced whole
// by a rename instead of truncated and rewritten in place.
//
// go-git writes a loose reference by truncating its file and writing the new hash. A process
// killed between the two leaves an empty file, and go-git then refuses every later fetch of the
// repository ("ref file is empty"); git refuses it too. Git itself writes name.lock and renames
// it over name. Here the new content goes to a temporary file in the git directory, outside
// refs/ where go-git would read it as a reference, and is renamed into place on Close: a kill
// leaves either the old file or the new one, and at worst a stray marketplace-tmp-* file that
// neither git nor go-git reads and that a later Open removes.
//
// Open wraps the git directory of a repository in it, except a linked work tree's (see Open).
//
// go-git chooses between its two ways of writing a reference by the ReadAndWrite capability:
// with it, open in place, lock, compare and truncate; without it, compare, then Create. The
// wrapper reports no such capability, so references go through Create, as config, index and
// shallow always do; OpenFile is go-git's for files it appends to or only reads.
// (TestReferencesSurviveKill fails if a go-git upgrade writes references another way.)
type atomicFS struct {
	billy.Filesystem
}

// tmpPrefix names the temporary files of atomicFS, in the root of the git directory.
const tmpPrefix = "marketplace-tmp-"

func (fs atomicFS) Capabilities() billy.Capability {
	return billy.Capabilities(fs.Filesystem) &^ billy.ReadAndWriteCapability
}

// replacedWhole reports whether name (slash-separated, relative to the git directory) is a file
// atomicFS writes by rename.
func replacedWhole(name string) bool {
	name = path.Clean(strings.ReplaceAll(name, "\\", "/"))
	switch name {
	case "HEAD", "config", "index", "shallow":
		return true
	}
	return strings.HasPrefix(name, "refs/")
}

func (fs atomicFS) Create(name string) (billy.File, error) {
	if !replacedWhole(name) {
		return fs.Filesystem.Create(name)
	}
	tmp, err := fs.Filesystem.TempFile("", tmpPrefix)
	if err != nil {
		return nil, err
	}
	return &renamedFile{File: tmp, fs: fs.Filesystem, target: name}, nil
}

// Chmod passes through, for go-git marking its packs and loose objects read-only.
func (fs atomicFS) Chmod(name string, mode os.FileMode) error {
	if c, ok := fs.Filesystem.(billy.Chmod); ok {
		return c.Chmod(name, mode)
	}
	return billy.ErrNotSupported
}

// removeTemporaries removes the temporary files a killed process left in the git directory: those
// older than a minute, as a file that is being written lives for microseconds. Best effort.
func (fs atomicFS) removeTemporaries(now time.Time) {
	entries, _ := fs.Filesystem.ReadDir("")
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), tmpPrefix) && e.Mode().IsRegular() && now.Sub(e.ModTime()) > time.Minute {
			fs.Filesystem.Remove(e.Name())
		}
	}
}

// renamedFile is a temporary file that replaces target when it is closed, unless a write to it
// failed: go-git closes the file it writes a reference to whether or not the write succeeded.
type renamedFile struct {
	billy.File
	fs     billy.Filesystem
	target string
	failed error
	closed bool
}

// Name is the file's name as go-git asked for it.
func (f *renamedFile) Name() string { return f.target }

func (f *renamedFile) Write(p []byte) (int, error) {
	n, err := f.File.Write(p)
	if err != nil && f.failed == nil {
		f.failed = err
	}
	return n, err
}

// Close flushes the file to disk and renames it over its target.
func (f *renamedFile) Close() error {
	if f.closed {
		return os.ErrClosed
	}
	f.closed = true
	tmp := f.File.Name()
	err := f.failed
	if cerr := f.File.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = settle(f.fs, tmp, modeFor(f.fs, f.target))
	}
	if err == nil {
		err = f.fs.Rename(tmp, f.target)
	}
	if err != nil {
		f.fs.Remove(tmp)
		return fmt.Errorf("replacing %s: %w", f.target, err)
	}
	return nil
}

// modeFor returns the permissions a file replacing target gets: those of target, or for a new
// file those of the git directory's HEAD, which git made under the repository's umask and
// core.sharedRepository (a group-writable repository stays group-writable); 0644 failing both.
// A temporary file is made 0600.
func modeFor(fs billy.Filesystem, target string) os.FileMode {
	for _, name := range []string{target, "HEAD"} {
		if fi, err := fs.Stat(name); err == nil && fi.Mode().IsRegular() {
			return fi.Mode().Perm()
		}
	}
	return 0o644
}

// settle gives a file of fs, when fs is a folder of the operating system's, the permissions
// mode and flushes it to disk: billy neither exposes Sync nor passes Chmod through go-git's
// repository file system.
func settle(fs billy.Filesystem, name string, mode os.FileMode) error {
	root := fs.Root()
	if root == "" || !filepath.IsAbs(root) {
		return nil
	}
	f, err := os.Open(filepath.Join(root, filepath.FromSlash(name)))
	if errors.Is(err, os.ErrNotExist) {
		return nil // not a folder of the operating system's after all
	}
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Chmod(mode); err != nil {
		return err
	}
	return f.Sync()
}
