package gitrepo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/client"
	"github.com/go-git/go-git/v5/plumbing/transport/server"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// useBuiltinFileTransport makes go-git serve file:// URLs and local paths in process. Its default
// file transport runs the git-upload-pack program, and a mirror must work on a machine without
// Git; its in-process server's own loader would read a non-bare repository's work tree as its
// object store, so the loader here opens repositories as PlainOpen does. The transport table is
// global to go-git, which is used by this package only.
var useBuiltinFileTransport = sync.OnceFunc(func() {
	client.InstallProtocol("file", server.NewClient(localLoader{}))
})

// localLoader opens the repository, bare or not, at an endpoint's path.
type localLoader struct{}

func (localLoader) Load(ep *transport.Endpoint) (storer.Storer, error) {
	repo, err := git.PlainOpenWithOptions(ep.Path, &git.PlainOpenOptions{EnableDotGitCommonDir: true})
	if errors.Is(err, git.ErrRepositoryNotExists) {
		return nil, transport.ErrRepositoryNotFound
	}
	if err != nil {
		return nil, err
	}
	// A push into a local repository (a GitOps target on a shared disk) writes its
	// references as Open's do: by rename.
	if st, ok := repo.Storer.(*filesystem.Storage); ok {
		return filesystem.NewStorage(atomicGitDir(st.Filesystem()), cache.NewObjectLRUDefault()), nil
	}
	return repo.Storer, nil
}

// Clone clones the catalog repository at url into dir, a new or empty folder, checking out ref:
// a branch name or a full reference name such as refs/heads/main; "" means the remote's default
// branch. Only that branch is fetched when ref is given. url may be any URL go-git supports,
// including file:// URLs and local paths, which are made absolute so that Sync works from any
// folder. A failed clone leaves no folder behind.
func Clone(ctx context.Context, url, dir, ref string) error {
	useBuiltinFileTransport()
	opts := &git.CloneOptions{URL: remoteURL(url)}
	if ref != "" {
		opts.ReferenceName = plumbing.ReferenceName(ref)
		if !strings.HasPrefix(ref, "refs/") {
			opts.ReferenceName = plumbing.NewBranchReferenceName(ref)
		}
		opts.SingleBranch = true
	}
	if _, err := git.PlainCloneContext(ctx, dir, false, opts); err != nil {
		return fmt.Errorf("cloning %s into %s: %w", url, dir, err)
	}
	return nil
}

// remoteURL returns url, or the absolute path of url when it names a local folder.
func remoteURL(url string) string {
	if strings.Contains(url, "://") {
		return url
	}
	if _, err := os.Stat(url); err != nil {
		return url // scp-like ssh syntax, or a path that will fail to clone with its own error
	}
	if abs, err := filepath.Abs(url); err == nil {
		return abs
	}
	return url
}

// Sync brings a mirror up to date: it fetches the remote that the checked-out branch tracks and
// resets the branch, the index and the work tree hard to the fetched upstream branch, discarding
// local commits and changes to tracked files (a mirror has none of its own). Untracked files are
// left alone. The branch tracks the remote and branch Clone recorded; without that record, the
// branch of the same name on origin.
func (r *Repo) Sync(ctx context.Context) error {
	useBuiltinFileTransport()
	r.mu.Lock()
	defer r.mu.Unlock()
	head, err := r.git.Reference(plumbing.HEAD, false)
	if err != nil {
		return fmt.Errorf("syncing: reading HEAD: %w", err)
	}
	if head.Type() != plumbing.SymbolicReference || !head.Target().IsBranch() {
		return errors.New("syncing: HEAD is detached; a mirror follows a branch")
	}
	branch := head.Target()
	remote, merge := git.DefaultRemoteName, branch
	cfg, err := r.git.Config()
	if err != nil {
		return fmt.Errorf("syncing: reading the configuration: %w", err)
	}
	if b := cfg.Branches[branch.Short()]; b != nil {
		if b.Remote != "" {
			remote = b.Remote
		}
		if b.Merge != "" {
			merge = b.Merge
		}
	}
	err = r.git.FetchContext(ctx, &git.FetchOptions{RemoteName: remote, Force: true})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return fmt.Errorf("syncing: fetching %s: %w", remote, err)
	}
	upstream := plumbing.NewRemoteReferenceName(remote, merge.Short())
	ref, err := r.git.Reference(upstream, true)
	if err != nil {
		return fmt.Errorf("syncing: reading %s: %w", upstream, err)
	}
	wt, err := r.git.Worktree()
	if err != nil {
		return fmt.Errorf("syncing: %w", err)
	}
	if err := wt.Reset(&git.ResetOptions{Commit: ref.Hash(), Mode: git.HardReset}); err != nil {
		return fmt.Errorf("syncing: resetting to %s: %w", upstream, err)
	}
	return nil
}
