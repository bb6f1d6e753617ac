package gitrepo

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-billy/v5/memfs"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage/memory"
)

// Commit is what PublishFolder writes: the whole content of one folder of a branch, and the
// commit's message and author.
type Commit struct {
	Branch  string            // branch name, e.g. "main"; created when missing
	Folder  string            // slash-separated folder of the repository; "" for its root
	Files   map[string][]byte // path relative to Folder → content; replaces everything under Folder
	Message string
	Author  string // "Name <email>"
	When    time.Time
}

// ErrPushRace reports that the branch moved on the remote between the fetch and the push more
// times than PublishFolder retries.
var ErrPushRace = errors.New("the branch kept moving on the remote while publishing")

// PublishFolder makes c.Folder of c.Branch in the repository at url hold exactly c.Files, as one
// new commit pushed to url, for a GitOps tool (Argo CD, Flux) to apply. Files elsewhere in the
// repository are kept. When the folder already holds exactly those files it commits nothing and
// returns changed false. url is any URL go-git supports: https or ssh (credentials from the ssh
// agent), file:// or a local path (served in process: no git program is needed), a bare
// repository being the usual target. The work happens in memory; a push that loses a race with
// another writer is retried on top of the new branch head, never forced.
func PublishFolder(ctx context.Context, url string, c Commit) (hash string, changed bool, err error) {
	useBuiltinFileTransport()
	if c.Branch == "" {
		return "", false, errors.New("publishing: no branch")
	}
	folder := strings.Trim(path.Clean("/"+c.Folder), "/")
	for attempt := 0; attempt < 3; attempt++ {
		hash, changed, err = publishOnce(ctx, remoteURL(url), folder, c)
		if !errors.Is(err, git.ErrNonFastForwardUpdate) && !isRejected(err) {
			return hash, changed, err
		}
	}
	return "", false, fmt.Errorf("publishing to %s: %w", url, ErrPushRace)
}

func isRejected(err error) bool {
	return err != nil && strings.Contains(err.Error(), "non-fast-forward")
}

func publishOnce(ctx context.Context, url, folder string, c Commit) (string, bool, error) {
	branch := plumbing.NewBranchReferenceName(c.Branch)
	fs := memfs.New()
	repo, err := git.CloneContext(ctx, memory.NewStorage(), fs, &git.CloneOptions{
		URL: url, ReferenceName: branch, SingleBranch: true, Tags: git.NoTags,
	})
	switch {
	case err == nil:
	case errors.Is(err, transport.ErrEmptyRemoteRepository), isMissingRef(err):
		// A new repository, or a new branch: start it with this commit.
		repo, err = git.Init(memory.NewStorage(), fs)
		if err != nil {
			return "", false, err
		}
		if _, err := repo.CreateRemote(&config.RemoteConfig{Name: git.DefaultRemoteName, URLs: []string{url}}); err != nil {
			return "", false, err
		}
		if err := repo.Storer.SetReference(plumbing.NewSymbolicReference(plumbing.HEAD, branch)); err != nil {
			return "", false, err
		}
	default:
		return "", false, fmt.Errorf("fetching %s of %s: %w", c.Branch, url, err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		return "", false, err
	}
	if err := replaceFolder(fs, folder, c.Files); err != nil {
		return "", false, err
	}
	if err := wt.AddWithOptions(&git.AddOptions{All: true}); err != nil {
		return "", false, fmt.Errorf("staging: %w", err)
	}
	status, err := wt.Status()
	if err != nil {
		return "", false, err
	}
	if status.IsClean() {
		head, err := repo.Head()
		if err != nil {
			return "", false, err
		}
		return head.Hash().String(), false, nil
	}
	sig, err := signature(c.Author, c.When)
	if err != nil {
		return "", false, err
	}
	h, err := wt.Commit(c.Message, &git.CommitOptions{Author: sig, Committer: sig})
	if err != nil {
		return "", false, fmt.Errorf("committing: %w", err)
	}
	spec := config.RefSpec(branch.String() + ":" + branch.String())
	if err := repo.PushContext(ctx, &git.PushOptions{RemoteName: git.DefaultRemoteName, RefSpecs: []config.RefSpec{spec}}); err != nil {
		return "", false, fmt.Errorf("pushing %s to %s: %w", c.Branch, url, err)
	}
	return h.String(), true, nil
}

func isMissingRef(err error) bool {
	var nf git.NoMatchingRefSpecError
	return errors.As(err, &nf) || errors.Is(err, plumbing.ErrReferenceNotFound) ||
		(err != nil && strings.Contains(err.Error(), "couldn't find remote ref"))
}

// replaceFolder removes everything under folder of fs and writes files there.
func replaceFolder(fs billy.Filesystem, folder string, files map[string][]byte) error {
	root := folder
	if root == "" {
		root = "."
	}
	if err := removeAll(fs, root, folder == ""); err != nil {
		return err
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		clean := path.Clean(name)
		if !fsValidPath(clean) {
			return fmt.Errorf("publishing: invalid file path %q", name)
		}
		full := path.Join(folder, clean)
		if err := fs.MkdirAll(path.Dir(full), 0o755); err != nil {
			return err
		}
		f, err := fs.Create(full)
		if err != nil {
			return err
		}
		if _, err := f.Write(files[name]); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return nil
}

func fsValidPath(p string) bool {
	return p != "." && p != ".." && !strings.HasPrefix(p, "../") && !strings.HasPrefix(p, "/") &&
		p != ".git" && !strings.HasPrefix(p, ".git/")
}

// removeAll removes the content of dir in fs; at the repository root, .git stays.
func removeAll(fs billy.Filesystem, dir string, keepGit bool) error {
	entries, err := fs.ReadDir(dir)
	if err != nil {
		return nil // no such folder yet
	}
	for _, e := range entries {
		if keepGit && e.Name() == ".git" {
			continue
		}
		p := path.Join(dir, e.Name())
		if e.IsDir() {
			if err := removeAll(fs, p, false); err != nil {
				return err
			}
		}
		if err := fs.Remove(p); err != nil {
			return err
		}
	}
	return nil
}

// signature parses "Name <email>".
func signature(author string, when time.Time) (*object.Signature, error) {
	name, email, ok := strings.Cut(author, "<")
	email, ok2 := strings.CutSuffix(strings.TrimSpace(email), ">")
	if !ok || !ok2 || strings.TrimSpace(name) == "" || email == "" {
		return nil, fmt.Errorf("author %q is not \"Name <email>\"", author)
	}
	if when.IsZero() {
		when = time.Now()
	}
	return &object.Signature{Name: strings.TrimSpace(name), Email: email, When: when}, nil
}
