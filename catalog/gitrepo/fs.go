package gitrepo

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
)

// maxSymlinks bounds how many symlinks one lookup follows, as Linux's ELOOP limit does.
const maxSymlinks = 40

var (
	errEscapes  = errors.New("symlink points outside the catalog")
	errLoop     = errors.New("too many levels of symlinks")
	errIsDir    = errors.New("is a directory")
	errNotDir   = errors.New("not a directory")
	errNotLink  = errors.New("not a symlink")
	errDirClose = errors.New("file already closed")
)

// treeFS is a Git tree read as a file system. It behaves like os.DirFS on a checkout of the tree,
// except that symlinks never lead out of it:
//
//   - Open, ReadFile, ReadDir and Stat follow symlinks, but only to paths inside the tree; a link
//     to an absolute path or one that climbs above the root fails with an error wrapping
//     errEscapes, as a dangling link fails with fs.ErrNotExist.
//   - Lstat and ReadLink (fs.ReadLinkFS) do not follow the last element, and directory entries
//     report a symlink's own type, fs.ModeSymlink, so a validator can inspect links itself.
//   - A submodule is an empty directory, as in a checkout that has not initialised it.
//   - Every file's modification time is the commit's committer date; modes are 0644, 0755 for
//     executables, and directories 0755.
type treeFS struct {
	repo    *Repo
	root    plumbing.Hash
	modTime time.Time

	mu   sync.Mutex
	dirs map[plumbing.Hash][]node // tree hash → entries sorted by name
}

var (
	_ fs.ReadDirFS  = (*treeFS)(nil)
	_ fs.ReadFileFS = (*treeFS)(nil)
	_ fs.StatFS     = (*treeFS)(nil)
	_ fs.ReadLinkFS = (*treeFS)(nil)
)

func newTreeFS(r *Repo, root plumbing.Hash, modTime time.Time) *treeFS {
	return &treeFS{repo: r, root: root, modTime: modTime, dirs: map[plumbing.Hash][]node{}}
}

// node is one entry of a Git tree.
type node struct {
	name string
	mode filemode.FileMode
	hash plumbing.Hash
}

func (n node) isDir() bool { return n.mode == filemode.Dir || n.mode == filemode.Submodule }

// fsMode is the fs.FileMode of a Git file mode.
func fsMode(m filemode.FileMode) fs.FileMode {
	switch m {
	case filemode.Dir, filemode.Submodule:
		return fs.ModeDir | 0o755
	case filemode.Symlink:
		return fs.ModeSymlink | 0o777
	case filemode.Executable:
		return 0o755
	default:
		return 0o644
	}
}

// list returns the entries of directory n, sorted by name as fs.ReadDir promises (Git sorts a
// folder as if its name ended in "/").
func (f *treeFS) list(n node) ([]node, error) {
	if n.mode == filemode.Submodule {
		return nil, nil
	}
	f.mu.Lock()
	nodes, ok := f.dirs[n.hash]
	f.mu.Unlock()
	if ok {
		return nodes, nil
	}
	t, err := f.repo.tree(n.hash)
	if err != nil {
		return nil, err
	}
	nodes = make([]node, len(t.Entries))
	for i, e := range t.Entries {
		nodes[i] = node{name: e.Name, mode: e.Mode, hash: e.Hash}
	}
	slices.SortFunc(nodes, func(a, b node) int { return strings.Compare(a.name, b.name) })
	f.mu.Lock()
	f.dirs[n.hash] = nodes
	f.mu.Unlock()
	return nodes, nil
}

// lookup finds name, following symlinks on the way and, when follow is set, a symlink at the end.
func (f *treeFS) lookup(op, name string, follow bool) (node, error) {
	if !fs.ValidPath(name) {
		return node{}, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	p := name
	for hops := 0; ; hops++ {
		n, next, err := f.walk(p, follow)
		if err != nil {
			return node{}, &fs.PathError{Op: op, Path: name, Err: err}
		}
		if next == "" {
			n.name = path.Base(name)
			return n, nil
		}
		if hops == maxSymlinks {
			return node{}, &fs.PathError{Op: op, Path: name, Err: errLoop}
		}
		p = next
	}
}

// walk goes down path p from the root. It returns the node p names, or, at the first symlink to
// follow, the path to look up instead.
func (f *treeFS) walk(p string, follow bool) (n node, next string, err error) {
	n = node{name: ".", mode: filemode.Dir, hash: f.root}
	if p == "." {
		return n, "", nil
	}
	parts := strings.Split(p, "/")
	for i, part := range parts {
		if !n.isDir() {
			return node{}, "", errNotDir
		}
		nodes, err := f.list(n)
		if err != nil {
			return node{}, "", err
		}
		j, ok := slices.BinarySearchFunc(nodes, part, func(n node, name string) int { return strings.Compare(n.name, name) })
		if !ok {
			return node{}, "", fs.ErrNotExist
		}
		n = nodes[j]
		if n.mode != filemode.Symlink || i == len(parts)-1 && !follow {
			continue
		}
		target, err := f.repo.blob(n.hash)
		if err != nil {
			return node{}, "", err
		}
		t := string(target)
		if path.IsAbs(t) {
			return node{}, "", errEscapes
		}
		next = path.Join(append([]string{path.Join(parts[:i]...), t}, parts[i+1:]...)...)
		if next == ".." || strings.HasPrefix(next, "../") {
			return node{}, "", errEscapes
		}
		return node{}, next, nil
	}
	return n, "", nil
}

// info returns the fs.FileInfo of n.
func (f *treeFS) info(n node) (fs.FileInfo, error) {
	fi := &fileInfo{name: n.name, mode: fsMode(n.mode), modTime: f.modTime}
	if !n.isDir() {
		size, err := f.repo.blobSize(n.hash)
		if err != nil {
			return nil, err
		}
		fi.size = size
	}
	return fi, nil
}

// Open opens the named file, following symlinks inside the tree. A directory is an
// fs.ReadDirFile; a file is also an io.Seeker and io.ReaderAt.
func (f *treeFS) Open(name string) (fs.File, error) {
	n, err := f.lookup("open", name, true)
	if err != nil {
		return nil, err
	}
	if n.isDir() {
		entries, err := f.entries(n)
		if err != nil {
			return nil, &fs.PathError{Op: "open", Path: name, Err: err}
		}
		return &dirFile{info: fileInfo{name: n.name, mode: fsMode(n.mode), modTime: f.modTime}, path: name, entries: entries}, nil
	}
	data, err := f.repo.blob(n.hash)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	return &file{info: fileInfo{name: n.name, size: int64(len(data)), mode: fsMode(n.mode), modTime: f.modTime}, Reader: bytes.NewReader(data)}, nil
}

// ReadFile returns the content of the named file, following symlinks inside the tree.
func (f *treeFS) ReadFile(name string) ([]byte, error) {
	n, err := f.lookup("readfile", name, true)
	if err != nil {
		return nil, err
	}
	if n.isDir() {
		return nil, &fs.PathError{Op: "readfile", Path: name, Err: errIsDir}
	}
	data, err := f.repo.blob(n.hash)
	if err != nil {
		return nil, &fs.PathError{Op: "readfile", Path: name, Err: err}
	}
	return data, nil
}

// ReadDir returns the entries of the named directory sorted by name, following symlinks inside
// the tree. The entries of symlinks have type fs.ModeSymlink.
func (f *treeFS) ReadDir(name string) ([]fs.DirEntry, error) {
	n, err := f.lookup("readdir", name, true)
	if err != nil {
		return nil, err
	}
	if !n.isDir() {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: errNotDir}
	}
	entries, err := f.entries(n)
	if err != nil {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: err}
	}
	return entries, nil
}

func (f *treeFS) entries(n node) ([]fs.DirEntry, error) {
	nodes, err := f.list(n)
	if err != nil {
		return nil, err
	}
	entries := make([]fs.DirEntry, len(nodes))
	for i, c := range nodes {
		entries[i] = &dirEntry{fsys: f, node: c}
	}
	return entries, nil
}

// Stat describes the named file, following symlinks inside the tree.
func (f *treeFS) Stat(name string) (fs.FileInfo, error) {
	return f.stat("stat", name, true)
}

// Lstat describes the named file without following a symlink at its end.
func (f *treeFS) Lstat(name string) (fs.FileInfo, error) {
	return f.stat("lstat", name, false)
}

func (f *treeFS) stat(op, name string, follow bool) (fs.FileInfo, error) {
	n, err := f.lookup(op, name, follow)
	if err != nil {
		return nil, err
	}
	fi, err := f.info(n)
	if err != nil {
		return nil, &fs.PathError{Op: op, Path: name, Err: err}
	}
	return fi, nil
}

// ReadLink returns the target of the named symlink as stored in Git, unresolved.
func (f *treeFS) ReadLink(name string) (string, error) {
	n, err := f.lookup("readlink", name, false)
	if err != nil {
		return "", err
	}
	if n.mode != filemode.Symlink {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: errNotLink}
	}
	target, err := f.repo.blob(n.hash)
	if err != nil {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: err}
	}
	return string(target), nil
}

// fileInfo describes a tree entry.
type fileInfo struct {
	name    string
	size    int64
	mode    fs.FileMode
	modTime time.Time
}

func (fi *fileInfo) Name() string       { return fi.name }
func (fi *fileInfo) Size() int64        { return fi.size }
func (fi *fileInfo) Mode() fs.FileMode  { return fi.mode }
func (fi *fileInfo) ModTime() time.Time { return fi.modTime }
func (fi *fileInfo) IsDir() bool        { return fi.mode.IsDir() }
func (fi *fileInfo) Sys() any           { return nil }

// dirEntry is a tree entry in a directory listing; Info reads the blob's size only when asked.
type dirEntry struct {
	fsys *treeFS
	node node
}

func (e *dirEntry) Name() string               { return e.node.name }
func (e *dirEntry) IsDir() bool                { return e.node.isDir() }
func (e *dirEntry) Type() fs.FileMode          { return fsMode(e.node.mode).Type() }
func (e *dirEntry) Info() (fs.FileInfo, error) { return e.fsys.info(e.node) }
func (e *dirEntry) String() string             { return fs.FormatDirEntry(e) }

// file is an open regular file (or the target of a symlink), read whole from its blob.
type file struct {
	info fileInfo
	*bytes.Reader
}

func (f *file) Stat() (fs.FileInfo, error) { return &f.info, nil }
func (f *file) Close() error               { return nil }

// dirFile is an open directory.
type dirFile struct {
	info    fileInfo
	path    string
	entries []fs.DirEntry
	off     int
	closed  bool
}

func (d *dirFile) Stat() (fs.FileInfo, error) { return &d.info, nil }

func (d *dirFile) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.path, Err: errIsDir}
}

func (d *dirFile) Close() error {
	if d.closed {
		return &fs.PathError{Op: "close", Path: d.path, Err: errDirClose}
	}
	d.closed = true
	return nil
}

// ReadDir returns the next n entries, or all remaining ones when n <= 0.
func (d *dirFile) ReadDir(n int) ([]fs.DirEntry, error) {
	rest := d.entries[d.off:]
	if n <= 0 {
		d.off = len(d.entries)
		return slices.Clone(rest), nil
	}
	if len(rest) == 0 {
		return nil, io.EOF
	}
	n = min(n, len(rest))
	d.off += n
	return slices.Clone(rest[:n]), nil
}
