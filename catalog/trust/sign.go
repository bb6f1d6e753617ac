package trust

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// MetadataDir is the folder of an output that holds its TUF repository; clients point their
// metadata URL at it, and target files are served from its targets/ folder.
const MetadataDir = "tuf"

// DefaultTimestampExpiry is the timestamp lifetime when the catalog's policy sets none.
const DefaultTimestampExpiry = 7 * 24 * time.Hour

// metadataExpiry is the lifetime of targets and snapshot metadata. The timestamp, re-signed
// at every build and by `marketplace sign`, carries the freshness promise.
const metadataExpiry = 365 * 24 * time.Hour

// IsTarget reports whether the output file at rel (slash-separated) is one a client acts on,
// and is therefore signed: the JSON API (catalog.json, per-product JSON, search.json), the
// feed, deploy manifests and signature material.
func IsTarget(rel string) bool {
	switch {
	case rel == "feed.json":
		return true
	case strings.HasPrefix(rel, "api/"), strings.HasPrefix(rel, "deploy/"), strings.HasPrefix(rel, "signatures/"):
		return true
	}
	return false
}

// Keys are the root history and the online keys of a key folder: what signing a build needs.
// The offline root keys are not read.
type Keys struct {
	Dir     string
	root    *metadata.Metadata[metadata.RootType]
	history map[int64][]byte
	online  map[string]*privateKey
}

// RootVersion is the version of the key folder's current root.
func (k *Keys) RootVersion() int64 { return k.root.Signed.Version }

// LoadKeys reads a key folder made by Init and checks that its online keys are the ones its
// current root names.
func LoadKeys(dir string) (*Keys, error) {
	root, history, err := currentRoot(dir)
	if err != nil {
		return nil, err
	}
	k := &Keys{Dir: dir, root: root, history: history, online: map[string]*privateKey{}}
	for _, role := range onlineRoles {
		key, err := readKey(filepath.Join(dir, onlineDir, role+".pem"))
		if err != nil {
			return nil, fmt.Errorf("reading the online %s key: %w", role, err)
		}
		if !contains(root.Signed.Roles[role].KeyIDs, key.id) {
			return nil, fmt.Errorf("%s: the online %s key %s is not in root v%d; run marketplace trust rotate --online", filepath.Join(dir, onlineDir, role+".pem"), role, key.id[:12], root.Signed.Version)
		}
		k.online[role] = key
	}
	return k, nil
}

// SignOptions configure Sign.
type SignOptions struct {
	TimestampExpiry time.Duration // default DefaultTimestampExpiry
	Now             time.Time     // default time.Now
}

// Signed describes the metadata Sign wrote.
type Signed struct {
	Root, Targets, Snapshot, Timestamp int64 // versions
	Files                              int   // signed target files
	Expires                            time.Time
}

// Sign writes TUF metadata over the output in dir: targets listing every file IsTarget
// selects with its length and SHA-256, a snapshot, a timestamp expiring after
// opts.TimestampExpiry, and the root history. Versions continue those of the output in prev
// (dir itself when re-signing in place; "" on a first build). The timestamp is written last,
// so a client sees the new version only once everything it names is in place.
func Sign(dir, prev string, keys *Keys, opts SignOptions) (*Signed, error) {
	// An output folder is a link to one of its two trees (generator/write); the walks below do
	// not follow a link at their root, so sign the tree it names.
	var err error
	if dir, err = filepath.EvalSymlinks(dir); err != nil {
		return nil, err
	}
	if prev != "" {
		if prev, err = filepath.EvalSymlinks(prev); err != nil {
			return nil, err
		}
	}
	if opts.TimestampExpiry <= 0 {
		opts.TimestampExpiry = DefaultTimestampExpiry
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	now := opts.Now.UTC().Truncate(time.Second)
	pv, err := readVersions(prev)
	if err != nil {
		return nil, err
	}
	if pv.root > keys.root.Signed.Version {
		return nil, fmt.Errorf("%s is signed with root v%d but %s holds v%d: copy the newer roots into the key folder", prev, pv.root, keys.Dir, keys.root.Signed.Version)
	}
	mdDir := filepath.Join(dir, MetadataDir)
	if err := os.MkdirAll(filepath.Join(mdDir, "targets"), 0o755); err != nil {
		return nil, err
	}

	targets := metadata.Targets(now.Add(max(metadataExpiry, opts.TimestampExpiry)))
	targets.Signed.Version = pv.targets + 1
	if err := addTargets(dir, targets.Signed.Targets); err != nil {
		return nil, err
	}
	if _, err := signAndWrite(targets, keys, metadata.TARGETS, filepath.Join(mdDir, fmt.Sprintf("%d.targets.json", targets.Signed.Version))); err != nil {
		return nil, err
	}

	snapshot := metadata.Snapshot(now.Add(max(metadataExpiry, opts.TimestampExpiry)))
	snapshot.Signed.Version = pv.snapshot + 1
	// Version only, as TUF allows: the signature and the version bind targets to this
	// snapshot, and a client tells a mismatched version (mix-and-match) apart from a damaged file.
	snapshot.Signed.Meta["targets.json"] = metadata.MetaFile(targets.Signed.Version)
	sBytes, err := signAndWrite(snapshot, keys, metadata.SNAPSHOT, filepath.Join(mdDir, fmt.Sprintf("%d.snapshot.json", snapshot.Signed.Version)))
	if err != nil {
		return nil, err
	}

	for v, data := range keys.history {
		if err := writeFileAtomic(filepath.Join(mdDir, fmt.Sprintf("%d.root.json", v)), data); err != nil {
			return nil, err
		}
	}
	if err := writeFileAtomic(filepath.Join(mdDir, rootFile), keys.history[keys.root.Signed.Version]); err != nil {
		return nil, err
	}

	ts := metadata.Timestamp(now.Add(opts.TimestampExpiry))
	ts.Signed.Version = pv.timestamp + 1
	ts.Signed.Meta["snapshot.json"] = metaFile(snapshot.Signed.Version, sBytes)
	if _, err := signAndWrite(ts, keys, metadata.TIMESTAMP, filepath.Join(mdDir, "timestamp.json")); err != nil {
		return nil, err
	}
	// The previous generation stays servable, for clients that read its timestamp just before
	// this one replaced it (and for uploads to a static host that are not atomic).
	keep, err := keepPrevious(dir, prev, pv)
	if err != nil {
		return nil, err
	}
	if filepath.Clean(dir) == filepath.Clean(prev) {
		for rel, tf := range targets.Signed.Targets {
			keep[hashedPath(rel, hex.EncodeToString(tf.Hashes["sha256"]))] = true
		}
		if err := pruneTargets(filepath.Join(mdDir, "targets"), keep); err != nil {
			return nil, err
		}
		if err := pruneMetadata(mdDir, pv); err != nil {
			return nil, err
		}
	}
	return &Signed{
		Root: keys.root.Signed.Version, Targets: targets.Signed.Version, Snapshot: snapshot.Signed.Version,
		Timestamp: ts.Signed.Version, Files: len(targets.Signed.Targets), Expires: ts.Signed.Expires,
	}, nil
}

// Hook returns Sign as a write hook: it signs the new output in its temporary folder, with
// versions continuing the previous output's, before the output replaces the previous one.
func Hook(keys *Keys, opts SignOptions, report func(*Signed)) func(ctx context.Context, dir, prev string) error {
	return func(ctx context.Context, dir, prev string) error {
		s, err := Sign(dir, prev, keys, opts)
		if err != nil {
			return fmt.Errorf("signing: %w", err)
		}
		if report != nil {
			report(s)
		}
		return nil
	}
}

func metaFile(version int64, data []byte) *metadata.MetaFiles {
	m := metadata.MetaFile(version)
	sum := sha256.Sum256(data)
	m.Length = int64(len(data))
	m.Hashes = metadata.Hashes{"sha256": sum[:]}
	return m
}

func signAndWrite[T metadata.Roles](md *metadata.Metadata[T], keys *Keys, role, path string) ([]byte, error) {
	s, err := keys.online[role].signer()
	if err != nil {
		return nil, err
	}
	if _, err := md.Sign(s); err != nil {
		return nil, fmt.Errorf("signing %s: %w", role, err)
	}
	data, err := md.ToBytes(true)
	if err != nil {
		return nil, err
	}
	return data, writeFileAtomic(path, data)
}

// versions are the metadata versions of a signed output.
type versions struct{ root, targets, snapshot, timestamp int64 }

// readVersions reads the versions of the output in dir from its timestamp, snapshot and
// newest root; all zero when dir is "" or carries no metadata. The files are our own previous
// output: they are parsed, not verified (clients verify).
func readVersions(dir string) (versions, error) {
	var v versions
	if dir == "" {
		return v, nil
	}
	md := filepath.Join(dir, MetadataDir)
	tsData, err := os.ReadFile(filepath.Join(md, "timestamp.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return v, nil
	}
	if err != nil {
		return v, err
	}
	ts, err := metadata.Timestamp().FromBytes(tsData)
	if err != nil {
		return v, fmt.Errorf("reading the previous output's timestamp: %w", err)
	}
	v.timestamp = ts.Signed.Version
	v.snapshot = ts.Signed.Meta["snapshot.json"].Version
	snap, err := metadata.Snapshot().FromFile(filepath.Join(md, fmt.Sprintf("%d.snapshot.json", v.snapshot)))
	if err != nil {
		return v, fmt.Errorf("reading the previous output's snapshot: %w", err)
	}
	v.targets = snap.Signed.Meta["targets.json"].Version
	root, err := metadata.Root().FromFile(filepath.Join(md, rootFile))
	if err != nil {
		return v, fmt.Errorf("reading the previous output's root: %w", err)
	}
	v.root = root.Signed.Version
	return v, nil
}

// addTargets hashes every target file of the output in dir into targets and links it as
// tuf/targets/<dir>/<sha256>.<name>, where consistent-snapshot clients fetch it.
func addTargets(dir string, targets map[string]*metadata.TargetFiles) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel == MetadataDir {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || !IsTarget(rel) {
			return nil
		}
		tf, err := metadata.TargetFile().FromFile(p, "sha256")
		if err != nil {
			return fmt.Errorf("hashing %s: %w", rel, err)
		}
		tf.Path = rel
		targets[rel] = tf
		link := filepath.Join(dir, MetadataDir, "targets", filepath.FromSlash(hashedPath(rel, hex.EncodeToString(tf.Hashes["sha256"]))))
		return linkOrCopy(p, link)
	})
}

// hashedPath is where a consistent-snapshot client fetches target rel: <dir>/<hash>.<name>.
func hashedPath(rel, hash string) string {
	dir, name := path.Split(rel)
	return dir + hash + "." + name
}

func linkOrCopy(src, dst string) error {
	if _, err := os.Lstat(dst); err == nil {
		return nil // named by its hash: the same content is there
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// keepPrevious links the previous generation's snapshot and targets metadata and the
// hash-named files it lists from prev into dir, and returns those files' paths under
// tuf/targets/.
func keepPrevious(dir, prev string, pv versions) (map[string]bool, error) {
	keep := map[string]bool{}
	if prev == "" || pv.targets == 0 {
		return keep, nil
	}
	from, to := filepath.Join(prev, MetadataDir), filepath.Join(dir, MetadataDir)
	targets, err := metadata.Targets().FromFile(filepath.Join(from, fmt.Sprintf("%d.targets.json", pv.targets)))
	if err != nil {
		return nil, fmt.Errorf("reading the previous output's targets: %w", err)
	}
	for rel, tf := range targets.Signed.Targets {
		keep[hashedPath(rel, hex.EncodeToString(tf.Hashes["sha256"]))] = true
	}
	if filepath.Clean(dir) == filepath.Clean(prev) {
		return keep, nil
	}
	for _, name := range []string{fmt.Sprintf("%d.snapshot.json", pv.snapshot), fmt.Sprintf("%d.targets.json", pv.targets)} {
		if err := linkOrCopy(filepath.Join(from, name), filepath.Join(to, name)); err != nil {
			return nil, err
		}
	}
	for p := range keep {
		src := filepath.Join(from, "targets", filepath.FromSlash(p))
		if _, err := os.Stat(src); err != nil {
			continue // not there: nothing to keep
		}
		if err := linkOrCopy(src, filepath.Join(to, "targets", filepath.FromSlash(p))); err != nil {
			return nil, err
		}
	}
	return keep, nil
}

// pruneTargets removes hash-named copies under dir that are not in keep (re-signing in place;
// every file there was written by Sign).
func pruneTargets(dir string, keep map[string]bool) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		if !keep[filepath.ToSlash(rel)] {
			return os.Remove(p)
		}
		return nil
	})
}

// pruneMetadata removes snapshot and targets metadata older than the previous generation
// (re-signing in place).
func pruneMetadata(mdDir string, pv versions) error {
	for role, oldest := range map[string]int64{metadata.SNAPSHOT: pv.snapshot, metadata.TARGETS: pv.targets} {
		paths, err := filepath.Glob(filepath.Join(mdDir, "*."+role+".json"))
		if err != nil {
			return err
		}
		for _, p := range paths {
			v, err := strconv.ParseInt(strings.TrimSuffix(filepath.Base(p), "."+role+".json"), 10, 64)
			if err == nil && v < oldest {
				if err := os.Remove(p); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
