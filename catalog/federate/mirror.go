package federate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/hspc/marketplace/catalog"
	"github.com/hspc/marketplace/catalog/gitrepo"
	"github.com/hspc/marketplace/catalog/verify"
)

// A mirror is a bare Git repository holding one branch of a catalog, plus StateFile. Its branch
// only ever points at a commit that was loaded, validated and verified offline with its own
// signatures/ material; a sync fetches into StagingRef first. The state file is written
// atomically before the branch moves, and a mirror whose branch disagrees with it (a sync killed
// between the two) is repaired to the state's commit on the next use: a failed or killed sync
// leaves the mirror on its previous commit, usable.

// StateFile is the mirror's record, at the root of the bare repository.
const StateFile = "marketplace-mirror.json"

// StagingRef is where sync fetches to before the commit is checked.
const StagingRef = "refs/marketplace/staging"

// Mirror kinds.
const (
	KindGit  = "git"  // a bare Git repository of the catalog
	KindSite = "site" // a built site fetched over HTTP(S), checked with TUF metadata
)

// State is what StateFile records.
type State struct {
	Kind   string    `json:"kind"`   // KindGit or KindSite
	Source string    `json:"source"` // URL, path or bundle file synced from
	Branch string    `json:"branch,omitempty"`
	Commit string    `json:"commit,omitempty"` // the checked commit the branch points at
	Synced time.Time `json:"synced"`           // the last successful sync (or the clone)
}

// ReadState reads the state of the mirror in dir.
func ReadState(dir string) (*State, error) {
	data, err := os.ReadFile(filepath.Join(dir, StateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s is not a mirror (no %s): make one with marketplace mirror clone SOURCE %s", dir, StateFile, dir)
	}
	if err != nil {
		return nil, err
	}
	var s State
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("reading %s: %w", filepath.Join(dir, StateFile), err)
	}
	if s.Kind == "" {
		s.Kind = KindGit
	}
	return &s, nil
}

// WriteState writes the state atomically: a temporary file renamed over the old one.
func WriteState(dir string, s *State) error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".state-*")
	if err != nil {
		return err
	}
	if _, err := f.Write(append(data, '\n')); err != nil {
		f.Close()
		os.Remove(f.Name())
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(f.Name())
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return err
	}
	if err := os.Rename(f.Name(), filepath.Join(dir, StateFile)); err != nil {
		os.Remove(f.Name())
		return err
	}
	return nil
}

// Options configure mirror operations.
type Options struct {
	// Ref is the source branch to follow at clone; "" means its default branch.
	Ref string
	// From, at sync, fetches from this source (say this week's bundle) instead of the recorded
	// one, which stays recorded.
	From string
	// AllowRewrite lets a sync follow a source whose history was rewritten.
	AllowRewrite bool
	// Now returns the time recorded as the sync time; nil means time.Now.
	Now func() time.Time
}

func (o Options) now() time.Time {
	if o.Now != nil {
		return o.Now().UTC()
	}
	return time.Now().UTC()
}

// CheckError is returned when the fetched commit has errors; nothing moved.
type CheckError struct {
	Commit      string
	Diagnostics catalog.Diagnostics // every diagnostic, warnings included
}

func (e *CheckError) Error() string {
	n := e.Diagnostics.Errors()
	errs := "errors"
	if n == 1 {
		errs = "error"
	}
	return fmt.Sprintf("commit %s has %d %s; the mirror did not move", short(e.Commit), n, errs)
}

// RewriteError is returned when the source's branch no longer contains the mirror's commit.
type RewriteError struct {
	Source   string
	Branch   string
	Old, New *gitrepo.CommitInfo
}

func (e *RewriteError) Error() string {
	return fmt.Sprintf("the history of %s was rewritten: the mirror is at %s (%s, %q) and %s is now at %s (%s, %q), which does not contain it; "+
		"sync refused, the mirror stays at %s (pass --allow-rewrite to follow the source)",
		e.Source, short(e.Old.Hash), e.Old.Date.Format(time.DateOnly), e.Old.Subject,
		e.Branch, short(e.New.Hash), e.New.Date.Format(time.DateOnly), e.New.Subject, short(e.Old.Hash))
}

// Result is what Clone and Sync did.
type Result struct {
	State       *State
	Old         string // the commit before; "" for a clone
	Products    int
	Diagnostics catalog.Diagnostics // warnings of the checked commit
	Rewritten   bool                // an allowed history rewrite was followed
	Behind      string              // the source's commit when it is behind the mirror (nothing done)
}

// Clone makes a mirror of the catalog at source in dir, which must not exist or be empty: it
// fetches the branch, checks the commit and only then records it. A failed clone removes what it
// made.
func Clone(ctx context.Context, source, dir string, opts Options) (res *Result, err error) {
	created, err := makeEmptyDir(dir)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			cleanup(dir, created)
		}
	}()
	repo, err := gitrepo.InitBare(dir)
	if err != nil {
		return nil, err
	}
	defer repo.Close()
	f, err := repo.Fetch(ctx, source, opts.Ref, StagingRef)
	if err != nil {
		return nil, err
	}
	ds, err := CheckCommit(ctx, repo, f.Commit, short(f.Commit))
	if err != nil {
		return nil, err
	}
	if ds.HasErrors() {
		return nil, &CheckError{Commit: f.Commit, Diagnostics: ds}
	}
	st := &State{Kind: KindGit, Source: absSource(source), Branch: f.Branch, Commit: f.Commit, Synced: opts.now()}
	if err := WriteState(dir, st); err != nil {
		return nil, err
	}
	if err := repo.SetBranch(f.Branch, f.Commit); err != nil {
		return nil, err
	}
	repo.RemoveReference(StagingRef)
	return &Result{State: st, Products: countProducts(repo, f.Commit), Diagnostics: ds}, nil
}

// Sync brings the mirror in dir up to date with its source (or opts.From): fetch into the
// staging reference, refuse a rewritten history unless allowed, load, validate and verify the
// commit offline, record it, and move the branch.
func Sync(ctx context.Context, dir string, opts Options) (*Result, error) {
	st, err := ReadState(dir)
	if err != nil {
		return nil, err
	}
	if st.Kind != KindGit {
		return nil, fmt.Errorf("%s is a %s mirror, not a Git mirror", dir, st.Kind)
	}
	repo, err := openMirror(dir, st)
	if err != nil {
		return nil, err
	}
	defer repo.Close()
	source := st.Source
	if opts.From != "" {
		source = absSource(opts.From)
	}
	f, err := repo.Fetch(ctx, source, st.Branch, StagingRef)
	if err != nil {
		return nil, err
	}
	res := &Result{Old: st.Commit}
	if f.Commit != st.Commit && repo.Has(st.Commit) {
		// A source behind the mirror (last week's bundle again) has nothing new: stay.
		if behind, err := repo.IsAncestor(f.Commit, st.Commit); err == nil && behind {
			res.Behind = f.Commit
			f.Commit = st.Commit
		}
	}
	if f.Commit != st.Commit {
		ff, err := repo.IsAncestor(st.Commit, f.Commit)
		if err != nil {
			return nil, err
		}
		if !ff {
			if !opts.AllowRewrite {
				oldInfo, _ := repo.Commit(st.Commit)
				newInfo, _ := repo.Commit(f.Commit)
				return nil, &RewriteError{Source: source, Branch: st.Branch, Old: oldInfo, New: newInfo}
			}
			res.Rewritten = true
		}
		check := CheckCommit
		if !res.Rewritten {
			check = func(ctx context.Context, repo *gitrepo.Repo, commit, prefix string) (catalog.Diagnostics, error) {
				return checkSync(ctx, repo, st.Commit, commit, prefix)
			}
		}
		ds, err := check(ctx, repo, f.Commit, short(f.Commit))
		if err != nil {
			return nil, err
		}
		if ds.HasErrors() {
			return nil, &CheckError{Commit: f.Commit, Diagnostics: ds}
		}
		res.Diagnostics = ds
	}
	next := *st
	next.Commit, next.Synced = f.Commit, opts.now()
	if err := WriteState(dir, &next); err != nil {
		return nil, err
	}
	if err := repo.SetBranch(next.Branch, next.Commit); err != nil {
		return nil, err
	}
	repo.RemoveReference(StagingRef)
	res.State = &next
	res.Products = countProducts(repo, next.Commit)
	return res, nil
}

// openMirror opens the mirror's repository and puts its branch back on the recorded commit when
// a killed sync left it elsewhere.
func openMirror(dir string, st *State) (*gitrepo.Repo, error) {
	repo, err := gitrepo.Open(dir)
	if err != nil {
		return nil, err
	}
	if got, _ := repo.Reference("refs/heads/" + st.Branch); got != st.Commit {
		if err := repo.SetBranch(st.Branch, st.Commit); err != nil {
			repo.Close()
			return nil, fmt.Errorf("restoring %s to the recorded commit %s: %w", st.Branch, st.Commit, err)
		}
	}
	return repo, nil
}

// Status is what `mirror status` prints.
type Status struct {
	State     *State              `json:"state"`
	Commit    *gitrepo.CommitInfo `json:"commit"`
	Age       time.Duration       `json:"-"`
	AgeText   string              `json:"since_sync"`
	Source    string              `json:"source_commit,omitempty"` // the source's tip, when reachable
	Newer     *bool               `json:"source_has_newer,omitempty"`
	SourceErr string              `json:"source_error,omitempty"`
}

// MirrorStatus reports on the mirror in dir and asks its source (or opts.From) whether it has
// newer commits; an unreachable source is reported, not an error.
func MirrorStatus(ctx context.Context, dir string, opts Options) (*Status, error) {
	st, err := ReadState(dir)
	if err != nil {
		return nil, err
	}
	if st.Kind != KindGit {
		return &Status{State: st}, nil
	}
	repo, err := openMirror(dir, st)
	if err != nil {
		return nil, err
	}
	defer repo.Close()
	info, err := repo.Commit(st.Commit)
	if err != nil {
		return nil, err
	}
	s := &Status{State: st, Commit: info, Age: opts.now().Sub(st.Synced)}
	s.AgeText = s.Age.Round(time.Second).String()
	source := st.Source
	if opts.From != "" {
		source = absSource(opts.From)
	}
	rh, err := gitrepo.RemoteHead(ctx, source, st.Branch)
	if err != nil {
		s.SourceErr = err.Error()
		return s, nil
	}
	s.Source = rh.Commit
	newer := rh.Commit != st.Commit
	if newer && repo.Has(rh.Commit) {
		// The source is behind the mirror (say last week's bundle): nothing newer there.
		if behind, err := repo.IsAncestor(rh.Commit, st.Commit); err == nil && behind {
			newer = false
		}
	}
	s.Newer = &newer
	return s, nil
}

// Export writes a Git bundle of the mirror in dir (or of any catalog repository's HEAD) to file:
// the whole history, or with since (a commit the receiving mirror has, such as the commit its
// `mirror status` shows) only what came after it.
func Export(dir, file, since string) (*gitrepo.CommitInfo, error) {
	repo, err := gitrepo.Open(dir)
	if err != nil {
		return nil, err
	}
	defer repo.Close()
	branch, rev := "main", "HEAD"
	if st, err := ReadState(dir); err == nil && st.Kind == KindGit {
		branch, rev = st.Branch, st.Commit
	} else if head, err := repo.HeadBranch(); err == nil && head != "" {
		branch = head
	}
	info, err := repo.Commit(rev)
	if err != nil {
		return nil, err
	}
	if err := repo.WriteBundleFile(file, branch, info.Hash, since); err != nil {
		return nil, fmt.Errorf("writing %s: %w", file, err)
	}
	return info, nil
}

// CheckCommit loads, validates and verifies offline the catalog at commit of repo, with the
// signature material in its own signatures/ folder. Paths in the diagnostics are prefixed with
// prefix + ":" when prefix is given, naming the upstream or commit they come from, as in
// "hspc:products/acme/fhir.toml" or "658ca446a164:products/acme/fhir.toml".
func CheckCommit(ctx context.Context, repo *gitrepo.Repo, commit, prefix string) (catalog.Diagnostics, error) {
	fsys, _, err := repo.FS(commit)
	if err != nil {
		return nil, err
	}
	c, ds := catalog.Check(fsys)
	if !ds.HasErrors() {
		ds = append(ds, VerifyOffline(ctx, fsys, c)...)
	}
	ds.Sort()
	return Prefix(ds, prefix), nil
}

// VerifyOffline verifies the images of c against its publishers' signers with the signature
// material in fsys's signatures/ folder, sending nothing.
func VerifyOffline(ctx context.Context, fsys fs.FS, c *catalog.Catalog) catalog.Diagnostics {
	_, ds := verify.Verify(ctx, fsys, c, nil, verify.Options{Offline: true, Material: verify.MaterialDir, MaterialFS: materialFS(fsys)})
	return ds
}

// materialFS returns the signatures/ folder of fsys, or an empty file system when it has none.
func materialFS(fsys fs.FS) fs.FS {
	if info, err := fs.Stat(fsys, verify.MaterialDir); err == nil && info.IsDir() {
		if sub, err := fs.Sub(fsys, verify.MaterialDir); err == nil {
			return sub
		}
	}
	return emptyFS{}
}

type emptyFS struct{}

func (emptyFS) Open(name string) (fs.File, error) {
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}

// Prefix returns ds with "prefix:" before every path, when prefix is not "".
func Prefix(ds catalog.Diagnostics, prefix string) catalog.Diagnostics {
	if prefix == "" {
		return ds
	}
	for i := range ds {
		ds[i].Path = prefix + ":" + ds[i].Path
	}
	return ds
}

// makeEmptyDir creates dir, or accepts an existing empty folder; created says which.
func makeEmptyDir(dir string) (created bool, err error) {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return false, err
		}
		return true, nil
	case err != nil:
		return false, err
	case len(entries) > 0:
		return false, fmt.Errorf("%s is not empty: a mirror is cloned into a new or empty folder", dir)
	}
	return false, nil
}

// cleanup removes what a failed clone made: the folder when it created it, else its content.
func cleanup(dir string, created bool) {
	if created {
		os.RemoveAll(dir)
		return
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		os.RemoveAll(filepath.Join(dir, e.Name()))
	}
}

// absSource makes a local path absolute, so that a mirror syncs from any working directory.
func absSource(source string) string {
	if _, err := os.Stat(source); err == nil {
		if abs, err := filepath.Abs(source); err == nil {
			return abs
		}
	}
	return source
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}
