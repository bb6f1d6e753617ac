package gitrepo

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/revlist"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// Git bundles (gitformat-bundle(5)) carry a repository on removable media: a text header naming
// references and prerequisite commits, then a packfile. go-git reads and writes packfiles but not
// the header, which is what this file adds. Versions 2 and 3 are read (version 3 only with the
// sha1 object format and no filter, which is all this program can store); version 2 is written,
// the version `git bundle create` writes for SHA-1 repositories.
const (
	bundleV2 = "# v2 git bundle\n"
	bundleV3 = "# v3 git bundle\n"
)

// bundleHeader is what a bundle's header says.
type bundleHeader struct {
	prerequisites []plumbing.Hash
	refs          []*plumbing.Reference // hash references, in file order; HEAD among them when given
}

// ref returns the hash of the reference called name, and whether there is one.
func (h *bundleHeader) ref(name plumbing.ReferenceName) (plumbing.Hash, bool) {
	for _, r := range h.refs {
		if r.Name() == name {
			return r.Hash(), true
		}
	}
	return plumbing.ZeroHash, false
}

// IsBundle reports whether the file at path is a Git bundle, judging by its first line.
func IsBundle(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	if info, err := f.Stat(); err != nil || !info.Mode().IsRegular() {
		return false
	}
	first := make([]byte, len(bundleV2))
	if _, err := io.ReadFull(f, first); err != nil {
		return false
	}
	return string(first) == bundleV2 || string(first) == bundleV3
}

// readBundleHeader reads the header of a bundle, leaving r at the first byte of the packfile.
func readBundleHeader(r *bufio.Reader) (*bundleHeader, error) {
	first, err := r.ReadString('\n')
	if err != nil {
		return nil, fmt.Errorf("reading the bundle header: %w", err)
	}
	if first != bundleV2 && first != bundleV3 {
		return nil, fmt.Errorf("not a Git bundle (v2 or v3): first line %q", strings.TrimSuffix(first, "\n"))
	}
	h := &bundleHeader{}
	for n := 2; ; n++ {
		line, err := r.ReadString('\n')
		if err != nil {
			return nil, fmt.Errorf("reading the bundle header, line %d: %w", n, err)
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "":
			return h, nil
		case strings.HasPrefix(line, "@"):
			if first == bundleV2 {
				return nil, fmt.Errorf("bundle header line %d: capability %q in a v2 bundle", n, line)
			}
			switch {
			case line == "@object-format=sha1":
			case strings.HasPrefix(line, "@object-format="):
				return nil, fmt.Errorf("bundle header line %d: object format %s is not supported (only sha1)", n, strings.TrimPrefix(line, "@object-format="))
			case strings.HasPrefix(line, "@filter="):
				return nil, fmt.Errorf("bundle header line %d: a filtered (partial) bundle cannot make a mirror; create it without --filter", n)
			default:
				return nil, fmt.Errorf("bundle header line %d: unknown capability %q", n, line)
			}
		case strings.HasPrefix(line, "-"):
			hex, _, _ := strings.Cut(line[1:], " ")
			hash, ok := parseHash(hex)
			if !ok {
				return nil, fmt.Errorf("bundle header line %d: bad prerequisite %q", n, line)
			}
			h.prerequisites = append(h.prerequisites, hash)
		default:
			hex, name, ok := strings.Cut(line, " ")
			hash, okHash := parseHash(hex)
			if !ok || !okHash || name == "" {
				return nil, fmt.Errorf("bundle header line %d: bad reference line %q", n, line)
			}
			h.refs = append(h.refs, plumbing.NewHashReference(plumbing.ReferenceName(name), hash))
		}
	}
}

func parseHash(s string) (plumbing.Hash, bool) {
	if len(s) != 40 || strings.Trim(s, "0123456789abcdef") != "" {
		return plumbing.ZeroHash, false
	}
	return plumbing.NewHash(s), true
}

// readBundleFile reads only the header of the bundle at path.
func readBundleFile(path string) (*bundleHeader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readBundleHeader(bufio.NewReader(f))
}

// unbundle stores the objects of the bundle at path into s and returns its header. Every
// prerequisite commit must already be in s: an incremental bundle applies only on top of the
// history it was cut from.
func unbundle(s storer.Storer, path string) (*bundleHeader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<16)
	h, err := readBundleHeader(r)
	if err != nil {
		return nil, err
	}
	for _, p := range h.prerequisites {
		if err := s.HasEncodedObject(p); err != nil {
			return nil, fmt.Errorf("the bundle is incremental and needs commit %s, which this repository does not have: import the bundles in order, or a full bundle", p)
		}
	}
	if len(h.refs) == 0 {
		return nil, errors.New("the bundle names no references")
	}
	if hasAll(s, h.refs) {
		return h, nil // nothing new: last week's bundle again
	}
	if err := packfile.UpdateObjectStorage(s, r); err != nil {
		return nil, fmt.Errorf("reading the bundle's packfile: %w", err)
	}
	for _, ref := range h.refs {
		if err := s.HasEncodedObject(ref.Hash()); err != nil {
			return nil, fmt.Errorf("the bundle names %s at %s but does not hold that object", ref.Name(), ref.Hash())
		}
	}
	return h, nil
}

// hasAll reports whether s holds every object the references name.
func hasAll(s storer.Storer, refs []*plumbing.Reference) bool {
	for _, r := range refs {
		if s.HasEncodedObject(r.Hash()) != nil {
			return false
		}
	}
	return true
}

// writeBundle writes a v2 bundle of every object reachable from commit, naming it as branch and
// as HEAD, so that `git clone FILE` checks the branch out. With a base commit, the bundle is
// incremental: it leaves out what base has and names base as its prerequisite.
func writeBundle(w io.Writer, s storer.Storer, branch plumbing.ReferenceName, commit, base plumbing.Hash) error {
	var ignore []plumbing.Hash
	if !base.IsZero() {
		ignore = append(ignore, base)
	}
	hashes, err := revlist.Objects(s, []plumbing.Hash{commit}, ignore)
	if err != nil {
		return fmt.Errorf("listing the objects of %s: %w", commit, err)
	}
	var header bytes.Buffer
	header.WriteString(bundleV2)
	if !base.IsZero() {
		fmt.Fprintf(&header, "-%s\n", base)
	}
	fmt.Fprintf(&header, "%s %s\n", commit, branch)
	fmt.Fprintf(&header, "%s %s\n", commit, plumbing.HEAD)
	header.WriteString("\n")
	if _, err := w.Write(header.Bytes()); err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	if _, err := packfile.NewEncoder(bw, s, false).Encode(hashes, 10); err != nil {
		return fmt.Errorf("writing the packfile: %w", err)
	}
	return bw.Flush()
}
