package gitrepo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// The functions here keep fetched catalogs in bare repositories — a mirror, or the cache of an
// upstream — so that a catalog is always read at a commit from Git objects and the branch moves
// only when its caller has checked the new commit. Sources are anything go-git can fetch from
// (https, ssh, file:// URLs and local paths, served in process) and Git bundle files.

// InitBare creates a bare repository in dir, which must not hold one yet, and opens it.
func InitBare(dir string) (*Repo, error) {
	if _, err := git.PlainInit(dir, true); err != nil {
		return nil, fmt.Errorf("creating a repository in %s: %w", dir, err)
	}
	return Open(dir)
}

// Fetched is what Fetch brought in.
type Fetched struct {
	Commit string // the fetched commit
	Branch string // the source's branch it is the tip of, such as "main"
}

// Fetch fetches branch ref of source ("" for the source's default branch, or HEAD of a bundle)
// into the reference staging, which is overwritten, and returns the commit. Nothing else in the
// repository changes but its object store. source is a Git URL, a local path, or a bundle file.
func (r *Repo) Fetch(ctx context.Context, source, ref, staging string) (*Fetched, error) {
	useBuiltinFileTransport()
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.removeOrphanIndexes(); err != nil {
		return nil, fmt.Errorf("fetching %s: %w", source, err)
	}
	// The staging reference is overwritten anyway. Removing it first also mends a repository
	// in which a killed fetch of an earlier version left it empty, which go-git would refuse
	// to fetch into.
	if err := r.git.Storer.RemoveReference(plumbing.ReferenceName(staging)); err != nil {
		return nil, fmt.Errorf("fetching %s: removing %s: %w", source, staging, err)
	}
	var f *Fetched
	if IsBundle(source) {
		h, err := unbundle(r.git.Storer, source)
		if err != nil {
			return nil, fmt.Errorf("importing bundle %s: %w", source, err)
		}
		if f, err = pickBranch(h.refs, ref); err != nil {
			return nil, fmt.Errorf("importing bundle %s: %w", source, err)
		}
	} else {
		remote := git.NewRemote(r.git.Storer, &config.RemoteConfig{Name: "source", URLs: []string{remoteURL(source)}})
		refs, err := remote.ListContext(ctx, &git.ListOptions{})
		if err != nil {
			return nil, fmt.Errorf("fetching %s: %w", source, err)
		}
		if f, err = pickBranch(refs, ref); err != nil {
			return nil, fmt.Errorf("fetching %s: %w", source, err)
		}
		spec := config.RefSpec("+" + plumbing.NewBranchReferenceName(f.Branch).String() + ":" + staging)
		err = remote.FetchContext(ctx, &git.FetchOptions{RefSpecs: []config.RefSpec{spec}, Tags: git.NoTags})
		if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
			return nil, fmt.Errorf("fetching %s: %w", source, err)
		}
	}
	hash := plumbing.NewHash(f.Commit)
	if _, err := r.git.CommitObject(hash); err != nil {
		return nil, fmt.Errorf("fetching %s: %s is not a commit: %w", source, f.Commit, err)
	}
	if err := r.git.Storer.SetReference(plumbing.NewHashReference(plumbing.ReferenceName(staging), hash)); err != nil {
		return nil, fmt.Errorf("fetching %s: setting %s: %w", source, staging, err)
	}
	return f, nil
}

// removeOrphanIndexes removes the pack indexes (objects/pack/pack-*.idx) whose pack is missing.
// go-git writes a fetched pack's index in place, then renames the pack into place, and keeps an
// index that already exists: a fetch killed in between leaves an index, often truncated, that the
// next fetch of the same pack keeps beside the pack, and git then refuses the repository ("index
// file ... is too small"). An index without its pack is read by neither go-git nor git.
func (r *Repo) removeOrphanIndexes() error {
	if r.storage == nil {
		return nil
	}
	fsys := r.storage.Filesystem()
	dir := fsys.Join("objects", "pack")
	entries, err := fsys.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("listing the packs: %w", err)
	}
	names := make(map[string]bool, len(entries))
	for _, e := range entries {
		names[e.Name()] = true
	}
	for _, e := range entries {
		base, ok := strings.CutSuffix(e.Name(), ".idx")
		if !ok || !strings.HasPrefix(base, "pack-") || names[base+".pack"] {
			continue
		}
		if err := fsys.Remove(fsys.Join(dir, e.Name())); err != nil {
			return fmt.Errorf("removing the index of a pack a killed fetch left unfinished: %w", err)
		}
	}
	return nil
}

// RemoteHead returns the commit at the tip of branch ref of source ("" for its default branch)
// without fetching anything: for a bundle, what its header names.
func RemoteHead(ctx context.Context, source, ref string) (*Fetched, error) {
	useBuiltinFileTransport()
	if IsBundle(source) {
		h, err := readBundleFile(source)
		if err != nil {
			return nil, fmt.Errorf("reading bundle %s: %w", source, err)
		}
		return pickBranch(h.refs, ref)
	}
	remote := git.NewRemote(nil, &config.RemoteConfig{Name: "source", URLs: []string{remoteURL(source)}})
	refs, err := remote.ListContext(ctx, &git.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", source, err)
	}
	return pickBranch(refs, ref)
}

// pickBranch finds the branch to follow among a source's references: ref when given (a branch
// name or refs/heads/ name), else the branch HEAD points to, else the only branch, else main or
// master.
func pickBranch(refs []*plumbing.Reference, ref string) (*Fetched, error) {
	heads := map[string]plumbing.Hash{}
	var names []string
	var head *plumbing.Reference
	for _, r := range refs {
		switch {
		case r.Name() == plumbing.HEAD:
			head = r
		case r.Name().IsBranch() && r.Type() == plumbing.HashReference:
			heads[r.Name().Short()] = r.Hash()
			names = append(names, r.Name().Short())
		}
	}
	slices.Sort(names)
	if ref != "" {
		b := strings.TrimPrefix(ref, "refs/heads/")
		h, ok := heads[b]
		if !ok {
			return nil, fmt.Errorf("no branch %s (branches: %s)", b, strings.Join(names, ", "))
		}
		return &Fetched{Commit: h.String(), Branch: b}, nil
	}
	if head != nil {
		if head.Type() == plumbing.SymbolicReference {
			if h, ok := heads[head.Target().Short()]; ok {
				return &Fetched{Commit: h.String(), Branch: head.Target().Short()}, nil
			}
		} else {
			// A bundle's HEAD is a hash: the branch at the same commit, main and master first.
			for _, b := range append([]string{"main", "master"}, names...) {
				if h, ok := heads[b]; ok && h == head.Hash() {
					return &Fetched{Commit: h.String(), Branch: b}, nil
				}
			}
		}
	}
	if len(names) == 1 {
		return &Fetched{Commit: heads[names[0]].String(), Branch: names[0]}, nil
	}
	for _, b := range []string{"main", "master"} {
		if h, ok := heads[b]; ok {
			return &Fetched{Commit: h.String(), Branch: b}, nil
		}
	}
	if len(names) == 0 {
		return nil, errors.New("the source has no branches")
	}
	return nil, fmt.Errorf("the source has several branches and no default (%s): name one", strings.Join(names, ", "))
}

// Has reports whether the repository holds commit.
func (r *Repo) Has(commit string) bool {
	h, ok := parseHash(commit)
	if !ok {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	_, err := r.git.CommitObject(h)
	return err == nil
}

// Reference returns the commit a reference such as refs/heads/main points to, "" when there is
// no such reference.
func (r *Repo) Reference(name string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ref, err := r.git.Reference(plumbing.ReferenceName(name), true)
	if errors.Is(err, plumbing.ErrReferenceNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return ref.Hash().String(), nil
}

// IsAncestor reports whether commit old is new or one of its ancestors: whether moving a
// branch from old to new is a fast-forward.
func (r *Repo) IsAncestor(old, new string) (bool, error) {
	if old == new {
		return true, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	oc, err := r.git.CommitObject(plumbing.NewHash(old))
	if err != nil {
		return false, fmt.Errorf("reading commit %s: %w", old, err)
	}
	nc, err := r.git.CommitObject(plumbing.NewHash(new))
	if err != nil {
		return false, fmt.Errorf("reading commit %s: %w", new, err)
	}
	return oc.IsAncestor(nc)
}

// SetBranch points branch at commit and HEAD at branch.
func (r *Repo) SetBranch(branch, commit string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	name := plumbing.NewBranchReferenceName(branch)
	if err := r.git.Storer.SetReference(plumbing.NewHashReference(name, plumbing.NewHash(commit))); err != nil {
		return fmt.Errorf("setting %s: %w", name, err)
	}
	if err := r.git.Storer.SetReference(plumbing.NewSymbolicReference(plumbing.HEAD, name)); err != nil {
		return fmt.Errorf("setting HEAD: %w", err)
	}
	return nil
}

// RemoveReference deletes a reference, such as a staging reference no longer needed.
func (r *Repo) RemoveReference(name string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.git.Storer.RemoveReference(plumbing.ReferenceName(name))
}

// CommitInfo is what status shows of a commit.
type CommitInfo struct {
	Hash    string
	Date    time.Time // committer date
	Subject string
}

// Commit returns the hash, date and subject of the commit rev resolves to.
func (r *Repo) Commit(rev string) (*CommitInfo, error) {
	c, err := r.resolve(rev)
	if err != nil {
		return nil, err
	}
	subject, _, _ := strings.Cut(c.Message, "\n")
	return &CommitInfo{Hash: c.Hash.String(), Date: c.Committer.When.UTC(), Subject: subject}, nil
}

// WriteBundle writes a Git bundle (v2, as `git bundle create` writes it) of commit and its
// history, naming it as branch and HEAD: `git clone FILE` and Fetch both read it. With base ("" for
// none), a commit commit descends from, the bundle holds only what base lacks and needs base to
// be imported, as `git bundle create FILE branch ^base` writes it.
func (r *Repo) WriteBundle(w io.Writer, branch, commit, base string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b plumbing.Hash
	if base != "" {
		h, err := r.git.ResolveRevision(plumbing.Revision(base))
		if err != nil {
			return fmt.Errorf("resolving %s: %w", base, err)
		}
		b = *h
		bc, err := r.git.CommitObject(b)
		if err != nil {
			return fmt.Errorf("reading commit %s: %w", base, err)
		}
		cc, err := r.git.CommitObject(plumbing.NewHash(commit))
		if err != nil {
			return fmt.Errorf("reading commit %s: %w", commit, err)
		}
		if ok, err := bc.IsAncestor(cc); err != nil || !ok {
			return fmt.Errorf("%s is not an ancestor of %s: an incremental bundle must build on a commit the receiver has", base, commit)
		}
	}
	return writeBundle(w, r.git.Storer, plumbing.NewBranchReferenceName(branch), plumbing.NewHash(commit), b)
}

// WriteBundleFile writes the bundle to path atomically: a temporary file beside it, renamed
// into place once complete, so that a failed export leaves no half-written bundle.
func (r *Repo) WriteBundleFile(path, branch, commit, base string) error {
	f, err := os.CreateTemp(dirOf(path), ".bundle-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	if err := r.WriteBundle(f, branch, commit, base); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

func dirOf(path string) string {
	if i := strings.LastIndexAny(path, `/\`); i >= 0 {
		return path[:i+1]
	}
	return "."
}

// HeadBranch returns the branch HEAD points to, "" when HEAD is detached.
func (r *Repo) HeadBranch() (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	head, err := r.git.Reference(plumbing.HEAD, false)
	if err != nil {
		return "", err
	}
	if head.Type() != plumbing.SymbolicReference {
		return "", nil
	}
	return head.Target().Short(), nil
}

// ChangedPaths returns the slash paths of the files that differ between the catalog trees of
// commits old and new: added, removed or modified. Subtrees with equal hashes are skipped, so
// the cost follows the size of the change, not of the catalog.
func (r *Repo) ChangedPaths(old, new string) ([]string, error) {
	oc, err := r.resolve(old)
	if err != nil {
		return nil, err
	}
	nc, err := r.resolve(new)
	if err != nil {
		return nil, err
	}
	ot, err := r.catalogTree(oc)
	if err != nil {
		return nil, err
	}
	nt, err := r.catalogTree(nc)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	a, err := object.GetTree(r.git.Storer, ot)
	if err != nil {
		return nil, err
	}
	b, err := object.GetTree(r.git.Storer, nt)
	if err != nil {
		return nil, err
	}
	changes, err := object.DiffTree(a, b)
	if err != nil {
		return nil, err
	}
	var paths []string
	for _, c := range changes {
		for _, name := range []string{c.From.Name, c.To.Name} {
			if name != "" && (len(paths) == 0 || paths[len(paths)-1] != name) {
				paths = append(paths, name)
			}
		}
	}
	return paths, nil
}
