// Package gitrepo reads a catalog repository through Git: the catalog tree at any revision as an
// fs.FS read straight from Git objects, the History of its products, and the mirror's clone and
// sync. It is the only package that imports go-git.
package gitrepo

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// ErrNotRepository is wrapped by the error Open returns when dir is not inside a Git repository,
// so that callers can fall back to reading the plain directory.
var ErrNotRepository = errors.New("not a Git repository")

// Repo is a Git repository holding a catalog, possibly in a subfolder of the repository. Its
// methods are safe for concurrent use.
type Repo struct {
	git     *git.Repository
	storage *filesystem.Storage // nil when go-git does not store the repository in files
	// sub is the catalog folder relative to the repository root, slash-separated, "" at the root.
	sub string
	// mu serialises reads of the object storage: go-git's storage is not safe for concurrent
	// use, and catalog.Load reads files from many goroutines.
	mu sync.Mutex
}

// Open opens the Git repository containing dir, looking in dir and its parents. The catalog is
// dir: when dir is a subfolder of the work tree, FS and History see only that subfolder. A bare
// repository is read at its root. When dir is in no repository, the error wraps ErrNotRepository.
func Open(dir string) (*Repo, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", dir, err)
	}
	repo, err := git.PlainOpenWithOptions(abs, &git.PlainOpenOptions{DetectDotGit: true, EnableDotGitCommonDir: true})
	if errors.Is(err, git.ErrRepositoryNotExists) {
		// A bare repository is found only at its own path.
		repo, err = git.PlainOpen(abs)
	}
	if errors.Is(err, git.ErrRepositoryNotExists) {
		return nil, fmt.Errorf("opening %s: %w", dir, ErrNotRepository)
	}
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", dir, err)
	}
	var worktree billy.Filesystem
	wt, err := repo.Worktree()
	switch {
	case err == nil:
		worktree = wt.Filesystem
	case !errors.Is(err, git.ErrIsBareRepository):
		return nil, fmt.Errorf("opening %s: %w", dir, err)
	}
	r := &Repo{}
	if worktree != nil {
		if r.sub, err = relPath(worktree.Root(), abs); err != nil {
			return nil, fmt.Errorf("opening %s: %w", dir, err)
		}
	}
	// Reopen the storage keeping pack files open: by default go-git opens and closes the pack
	// for every object it reads, which makes History several times slower.
	st, ok := repo.Storer.(*filesystem.Storage)
	if !ok {
		r.git = repo
		return r, nil
	}
	// Its references are written by rename, so that a killed process cannot leave one empty.
	r.storage = filesystem.NewStorageWithOptions(atomicGitDir(st.Filesystem()), cache.NewObjectLRUDefault(), filesystem.Options{KeepDescriptors: true})
	if r.git, err = git.Open(r.storage, worktree); err != nil {
		r.storage.Close()
		return nil, fmt.Errorf("opening %s: %w", dir, err)
	}
	return r, nil
}

// atomicGitDir returns the git directory fsys wrapped so that references are written by rename
// (atomicFS), once the temporary files a killed process left in it are removed (when they can
// be: a repository read from a read-only folder is read all the same). A linked work
// tree's (git worktree add) is returned as it is: its references live in another git directory
// (commondir) than its HEAD and index, and go-git's file system picks the directory by a path's
// first element, which a temporary file's name would get wrong.
func atomicGitDir(fsys billy.Filesystem) billy.Filesystem {
	if _, err := fsys.Stat("commondir"); !errors.Is(err, os.ErrNotExist) {
		return fsys
	}
	afs := atomicFS{fsys}
	afs.removeTemporaries(time.Now())
	return afs
}

// Close releases the pack files the repository keeps open. The Repo and the file systems from
// FS must not be used afterwards.
func (r *Repo) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.storage == nil {
		return nil
	}
	return r.storage.Close()
}

// relPath returns dir relative to root as a slash path, "" when they are the same folder.
func relPath(root, dir string) (string, error) {
	// Compare real paths: a temporary folder reached through a symlink (macOS /tmp) would
	// otherwise look outside the work tree.
	if real, err := filepath.EvalSymlinks(root); err == nil {
		root = real
	}
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	rel, err := filepath.Rel(root, dir)
	if err != nil {
		return "", err
	}
	rel = filepath.ToSlash(rel)
	switch {
	case rel == ".":
		return "", nil
	case rel == ".." || strings.HasPrefix(rel, "../"):
		return "", fmt.Errorf("%s is outside the work tree %s", dir, root)
	case rel == ".git" || strings.HasPrefix(rel, ".git/"):
		return "", fmt.Errorf("%s is inside the repository's .git folder", dir)
	}
	return rel, nil
}

// Root returns the catalog folder relative to the repository root, slash-separated: "" when the
// catalog is the whole repository.
func (r *Repo) Root() string { return r.sub }

// FS returns the catalog tree at revision rev — a branch, a tag, a full or short hash, or an
// expression such as HEAD~2; "" means HEAD — and the full hash of the commit it resolved to. The
// files are read from Git objects, without a checkout, so the work tree's state does not matter.
//
// The file system implements fs.ReadDirFS, fs.ReadFileFS, fs.StatFS and fs.ReadLinkFS, and
// behaves like os.DirFS on a checkout, except that symlinks never lead out of it. Open, ReadFile,
// ReadDir and Stat follow a symlink whose target is inside the catalog and fail on one that is
// absolute or climbs above the catalog root (or dangles); Lstat, ReadLink and directory entries
// report the link itself, with fs.ModeSymlink. A submodule is an empty directory. Every file's
// modification time is the commit's committer date.
func (r *Repo) FS(rev string) (fsys fs.FS, commit string, err error) {
	c, err := r.resolve(rev)
	if err != nil {
		return nil, "", err
	}
	root, err := r.catalogTree(c)
	if err != nil {
		return nil, "", err
	}
	return newTreeFS(r, root, c.Committer.When.UTC()), c.Hash.String(), nil
}

// resolve returns the commit rev names.
func (r *Repo) resolve(rev string) (*object.Commit, error) {
	if rev == "" {
		rev = "HEAD"
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	h, err := r.git.ResolveRevision(plumbing.Revision(rev))
	if err != nil {
		return nil, fmt.Errorf("resolving revision %s: %w", rev, err)
	}
	c, err := r.git.CommitObject(*h)
	if err != nil {
		return nil, fmt.Errorf("reading commit %s: %w", h, err)
	}
	return c, nil
}

// catalogTree returns the hash of the tree of the catalog folder in commit c.
func (r *Repo) catalogTree(c *object.Commit) (plumbing.Hash, error) {
	if r.sub == "" {
		return c.TreeHash, nil
	}
	h, err := r.treePath(c.TreeHash, r.sub)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("reading commit %s: %w", c.Hash, err)
	}
	if h.IsZero() {
		return plumbing.ZeroHash, fmt.Errorf("commit %s has no folder %s", c.Hash, r.sub)
	}
	return h, nil
}

// treePath returns the hash of the tree at slash path p below tree, or the zero hash when there
// is no folder there.
func (r *Repo) treePath(tree plumbing.Hash, p string) (plumbing.Hash, error) {
	for part := range strings.SplitSeq(p, "/") {
		t, err := r.tree(tree)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		e := findEntry(t, part)
		if e == nil || e.Mode != filemode.Dir {
			return plumbing.ZeroHash, nil
		}
		tree = e.Hash
	}
	return tree, nil
}

// findEntry returns the entry of t named name, or nil.
func findEntry(t *object.Tree, name string) *object.TreeEntry {
	for i := range t.Entries {
		if t.Entries[i].Name == name {
			return &t.Entries[i]
		}
	}
	return nil
}

// tree reads a tree object.
func (r *Repo) tree(h plumbing.Hash) (*object.Tree, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return object.GetTree(r.git.Storer, h)
}

// blob reads the whole content of a blob.
func (r *Repo) blob(h plumbing.Hash) ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	o, err := r.git.Storer.EncodedObject(plumbing.BlobObject, h)
	if err != nil {
		return nil, err
	}
	rd, err := o.Reader()
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	data := make([]byte, o.Size())
	if _, err := io.ReadFull(rd, data); err != nil {
		return nil, err
	}
	return data, nil
}

// blobSize returns the size of a blob without reading its content.
func (r *Repo) blobSize(h plumbing.Hash) (int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.git.Storer.EncodedObjectSize(h)
}
