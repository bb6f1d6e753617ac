package gitrepo

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/gitignore"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// MergeBase returns the full hash of the best common ancestor of revisions a and b ("" means
// HEAD): the commit a pull request from b into a branched from, so that comparing it with b shows
// what the pull request changes, as `git diff a...b` does, and not what a gained since.
func (r *Repo) MergeBase(a, b string) (string, error) {
	ca, err := r.resolve(a)
	if err != nil {
		return "", err
	}
	cb, err := r.resolve(b)
	if err != nil {
		return "", err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	bases, err := ca.MergeBase(cb)
	if err != nil {
		return "", fmt.Errorf("finding the merge base of %s and %s: %w", a, b, err)
	}
	if len(bases) == 0 {
		return "", fmt.Errorf("%s and %s have no common history", revName(a), revName(b))
	}
	return bases[0].Hash.String(), nil
}

func revName(rev string) string {
	if rev == "" {
		return "HEAD"
	}
	return rev
}

// WorkTree returns the catalog folder of the work tree on disk, or "" for a bare repository.
func (r *Repo) WorkTree() string {
	wt, err := r.git.Worktree()
	if err != nil {
		return ""
	}
	return filepath.Join(wt.Filesystem.Root(), filepath.FromSlash(r.sub))
}

// ChangedFiles lists the catalog files whose content differs between commit from and revision
// to, or the work tree when to is "": added, modified and deleted files, as slash paths relative
// to the catalog root, sorted. Only content counts: a file whose mode alone changed is not listed.
// In the work tree, files Git ignores (.gitignore, .git/info/exclude) are left out and untracked
// files count as added, as `git status` shows them.
func (r *Repo) ChangedFiles(from, to string) ([]string, error) {
	cf, err := r.resolve(from)
	if err != nil {
		return nil, err
	}
	fromTree, err := r.catalogTree(cf)
	if err != nil {
		return nil, err
	}
	if to == "" {
		return r.changedInWorkTree(fromTree)
	}
	ct, err := r.resolve(to)
	if err != nil {
		return nil, err
	}
	toTree, err := r.catalogTree(ct)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	a, err := object.GetTree(r.git.Storer, fromTree)
	if err != nil {
		return nil, err
	}
	b, err := object.GetTree(r.git.Storer, toTree)
	if err != nil {
		return nil, err
	}
	changes, err := object.DiffTree(a, b)
	if err != nil {
		return nil, fmt.Errorf("comparing %s with %s: %w", from, to, err)
	}
	var out []string
	for _, c := range changes {
		if c.From.Name != "" && c.To.Name != "" && c.From.TreeEntry.Hash == c.To.TreeEntry.Hash {
			continue // mode only
		}
		if c.From.Name != "" {
			out = append(out, c.From.Name)
		}
		if c.To.Name != "" && c.To.Name != c.From.Name {
			out = append(out, c.To.Name)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// blobHashes lists every file of a tree (symlinks included, submodules not) with its blob hash.
func (r *Repo) blobHashes(tree plumbing.Hash) (map[string]plumbing.Hash, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, err := object.GetTree(r.git.Storer, tree)
	if err != nil {
		return nil, err
	}
	out := map[string]plumbing.Hash{}
	w := object.NewTreeWalker(t, true, nil)
	defer w.Close()
	for {
		name, e, err := w.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if e.Mode == filemode.Dir || e.Mode == filemode.Submodule {
			continue
		}
		out[name] = e.Hash
	}
}

// changedInWorkTree compares tree with the catalog folder on disk by blob hash.
func (r *Repo) changedInWorkTree(tree plumbing.Hash) ([]string, error) {
	wt, err := r.git.Worktree()
	if errors.Is(err, git.ErrIsBareRepository) {
		return nil, errors.New("a bare repository has no work tree to compare; pass a revision")
	}
	if err != nil {
		return nil, err
	}
	old, err := r.blobHashes(tree)
	if err != nil {
		return nil, err
	}
	patterns, err := gitignore.ReadPatterns(wt.Filesystem, nil)
	if err != nil {
		return nil, fmt.Errorf("reading .gitignore files: %w", err)
	}
	if info, err := os.ReadFile(filepath.Join(wt.Filesystem.Root(), ".git", "info", "exclude")); err == nil {
		for line := range strings.SplitSeq(string(info), "\n") {
			if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
				patterns = append(patterns, gitignore.ParsePattern(line, nil))
			}
		}
	}
	ignored := gitignore.NewMatcher(patterns)
	// Tracked files count even where an ignore pattern matches them, as in Git.
	trackedDirs := map[string]bool{}
	for p := range old {
		for d := path.Dir(p); d != "." && !trackedDirs[d]; d = path.Dir(d) {
			trackedDirs[d] = true
		}
	}
	var prefix []string
	if r.sub != "" {
		prefix = strings.Split(r.sub, "/")
	}
	root := r.WorkTree()
	var out []string
	seen := map[string]bool{}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if rel == "." {
			return nil
		}
		if d.Name() == ".git" { // a folder, or a file in a linked work tree or submodule
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		parts := append(slices.Clone(prefix), strings.Split(rel, "/")...)
		if ignored.Match(parts, d.IsDir()) {
			if d.IsDir() && !trackedDirs[rel] {
				return fs.SkipDir
			}
			if _, tracked := old[rel]; !d.IsDir() && !tracked {
				return nil
			}
		}
		if d.IsDir() {
			return nil
		}
		var data []byte
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			data = []byte(filepath.ToSlash(target))
		case d.Type().IsRegular():
			if data, err = os.ReadFile(p); err != nil {
				return err
			}
		default:
			return nil
		}
		seen[rel] = true
		if h, ok := old[rel]; !ok || h != plumbing.ComputeHash(plumbing.BlobObject, data) {
			out = append(out, rel)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading the work tree: %w", err)
	}
	for p := range old {
		if !seen[p] {
			out = append(out, p) // deleted (or no longer a file)
		}
	}
	slices.Sort(out)
	return out, nil
}
