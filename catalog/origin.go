package catalog

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

// Origin says which catalog a product or publisher comes from: this catalog ("local") or one of
// the upstreams of index.toml, at the commit upstreams.lock pins.
type Origin struct {
	Name   string `json:"name"`             // LocalOrigin or the upstream's name
	URL    string `json:"url,omitempty"`    // the upstream's url; the catalog's base_url for local
	Commit string `json:"commit,omitempty"` // the upstream commit; empty for local products
}

// LocalOrigin is the origin name of the catalog's own products; no upstream may take it.
const LocalOrigin = "local"

// IsLocal reports whether the origin is the catalog itself.
func (o Origin) IsLocal() bool { return o.Name == "" || o.Name == LocalOrigin }

// LockFile pins every upstream to a commit; `marketplace upstreams update` writes it and it is
// committed with the catalog, so that builds are reproducible.
const LockFile = "upstreams.lock"

// Lock is upstreams.lock.
type Lock struct {
	Upstreams []LockedUpstream `toml:"upstreams"`
}

// LockedUpstream is the pinned state of one upstream.
type LockedUpstream struct {
	Name    string `toml:"name"`
	URL     string `toml:"url"`
	Ref     string `toml:"ref,omitempty"`
	Commit  string `toml:"commit"`
	Fetched string `toml:"fetched"` // when the commit was first fetched, RFC 3339 in UTC
	// Snapshot is the timestamp version of the upstream's signed site the commit was verified
	// against (0 when the upstream has no site): a later update refuses an older one.
	Snapshot int `toml:"snapshot,omitempty"`
}

// Find returns the entry of the upstream called name, or nil.
func (l *Lock) Find(name string) *LockedUpstream {
	if l == nil {
		return nil
	}
	for i := range l.Upstreams {
		if l.Upstreams[i].Name == name {
			return &l.Upstreams[i]
		}
	}
	return nil
}

// Marshal encodes the lock as upstreams.lock, with a comment saying what it is.
func (l *Lock) Marshal() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("# Written by `marketplace upstreams update`: the commit of every upstream this catalog builds\n")
	b.WriteString("# with. Commit it with the catalog; builds read each upstream at exactly this commit.\n")
	for _, u := range l.Upstreams {
		one, err := toml.Marshal(struct {
			Upstreams []LockedUpstream `toml:"upstreams"`
		}{[]LockedUpstream{u}})
		if err != nil {
			return nil, err
		}
		b.WriteString("\n")
		b.Write(one)
	}
	return b.Bytes(), nil
}

var commitRE = regexp.MustCompile(`^[0-9a-f]{40}$`)

// ReadLock reads upstreams.lock from fsys and checks it against the upstreams of idx: every
// upstream is locked, at the url index.toml gives, to a full commit hash. It returns a nil Lock
// when there is no lock file; an index with upstreams then has an error on each.
func ReadLock(fsys fs.FS, idx *Index) (*Lock, Diagnostics) {
	r := newReport()
	var lock *Lock
	data, err := fs.ReadFile(fsys, LockFile)
	switch {
	case err == nil:
		lock = &Lock{}
		r.decoding(LockFile, decodeFile(data, lock))
	case !isNotExist(err):
		r.fileProblem(LockFile, Error, "cannot read: %v", unwrapPathError(err))
	}
	var ups []Upstream
	if idx != nil {
		ups = idx.Upstreams
	}
	for i, u := range ups {
		if u.Name == "" {
			continue
		}
		l := lock.Find(u.Name)
		if l == nil {
			r.errorf(IndexFile, fmt.Sprintf("upstreams[%d].name", i), 0, "upstream %q is not in %s: run `marketplace upstreams update %s` and commit %s", u.Name, LockFile, u.Name, LockFile)
			continue
		}
		j := lockIndex(lock, u.Name)
		if l.URL != u.URL {
			r.errorf(LockFile, fmt.Sprintf("upstreams[%d].url", j), 0, "upstream %q is locked at url %q but index.toml now says %q: run `marketplace upstreams update %s`", u.Name, l.URL, u.URL, u.Name)
		}
	}
	if lock != nil {
		seen := map[string]bool{}
		for j, l := range lock.Upstreams {
			key := fmt.Sprintf("upstreams[%d]", j)
			switch {
			case seen[l.Name]:
				r.errorf(LockFile, key+".name", 0, "upstream %q is locked twice", l.Name)
			case !hasUpstream(ups, l.Name):
				r.warnf(LockFile, key+".name", 0, "upstream %q is locked but index.toml has no such upstream: run `marketplace upstreams update` to drop it", l.Name)
			}
			seen[l.Name] = true
			if !commitRE.MatchString(l.Commit) {
				r.errorf(LockFile, key+".commit", 0, "commit %q must be a full 40-character hexadecimal commit hash", l.Commit)
			}
		}
	}
	return lock, r.diagnostics(fsys)
}

func lockIndex(l *Lock, name string) int {
	for j := range l.Upstreams {
		if l.Upstreams[j].Name == name {
			return j
		}
	}
	return -1
}

func hasUpstream(ups []Upstream, name string) bool {
	for _, u := range ups {
		if u.Name == name {
			return true
		}
	}
	return false
}

// KeyPosition returns the line and column of key (a path such as upstreams[1].publishers) in the
// TOML file at path of fsys, or of its nearest parent present; 1:1 for "" or an unreadable file.
func KeyPosition(fsys fs.FS, path, key string) (line, col int) {
	if key == "" {
		return 1, 1
	}
	data, err := fs.ReadFile(fsys, path)
	if err != nil {
		return 1, 1
	}
	return newKeyIndex(data).position(key, true)
}

// MatchPublisher reports whether publisher ID id matches one of an upstream's publisher globs.
func (u *Upstream) MatchPublisher(id string) bool {
	for _, g := range u.Publishers {
		if ok, err := pathMatch(g, id); err == nil && ok {
			return true
		}
	}
	return false
}

// GlobList quotes the upstream's publisher globs for messages: "hspc-*", "acme".
func (u *Upstream) GlobList() string {
	q := make([]string, len(u.Publishers))
	for i, g := range u.Publishers {
		q[i] = fmt.Sprintf("%q", g)
	}
	return strings.Join(q, ", ")
}

func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }

func pathMatch(glob, id string) (bool, error) { return path.Match(glob, id) }
