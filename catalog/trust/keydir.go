package trust

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/hspc/marketplace/catalog"
)

// The key folder's layout (see the package comment).
const (
	rootFile   = "root.json" // the current root, to hand to clients
	rootsDir   = "roots"     // N.root.json for every version
	offlineDir = "offline"   // root keys: move them to offline storage
	onlineDir  = "online"    // the keys that sign each build
)

// onlineRoles are the roles whose keys sign every build.
var onlineRoles = []string{metadata.TARGETS, metadata.SNAPSHOT, metadata.TIMESTAMP}

// DefaultRootExpiry is the lifetime of a new root: operators rotate (re-sign) it within a year.
const DefaultRootExpiry = 365 * 24 * time.Hour

// KeyOptions say how many root keys to make and how many must sign.
type KeyOptions struct {
	Keys      int           // root keys; default 3
	Threshold int           // root signatures required; default 2 (1 when Keys is 1)
	Expires   time.Duration // root lifetime; default DefaultRootExpiry
	Now       time.Time     // default time.Now
}

func (o *KeyOptions) defaults() error {
	if o.Keys == 0 {
		o.Keys = 3
	}
	if o.Threshold == 0 {
		o.Threshold = min(2, o.Keys)
	}
	if o.Expires == 0 {
		o.Expires = DefaultRootExpiry
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if o.Keys < 1 || o.Threshold < 1 || o.Threshold > o.Keys {
		return fmt.Errorf("threshold %d of %d keys: want 1 ≤ threshold ≤ keys", o.Threshold, o.Keys)
	}
	return nil
}

// KeyResult describes the root a command wrote.
type KeyResult struct {
	Version   int64
	Threshold int
	RootKeys  []string // key IDs
	RootFile  string   // the root.json to hand to clients
	Offline   string   // the folder of root keys to move offline
	Expires   time.Time
}

// Init creates a key folder at dir (absent or empty): opts.Keys offline root keys of which
// opts.Threshold must sign, one online key for each of targets, snapshot and timestamp, and
// root version 1 signed by every root key. Key files are written 0600 in 0700 folders.
func Init(dir string, opts KeyOptions) (*KeyResult, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("%s %w and is not empty; choose a new folder", dir, errExists)
	}
	for _, d := range []string{offlineDir, onlineDir} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, rootsDir), 0o755); err != nil {
		return nil, err
	}
	root := metadata.Root(opts.Now.UTC().Add(opts.Expires).Truncate(time.Second))
	rootKeys, err := newRootKeys(dir, root, opts)
	if err != nil {
		return nil, err
	}
	for _, role := range onlineRoles {
		k, err := newKey()
		if err != nil {
			return nil, err
		}
		if err := root.Signed.AddKey(k.key, role); err != nil {
			return nil, err
		}
		if err := writeKey(filepath.Join(dir, onlineDir, role+".pem"), k); err != nil {
			return nil, err
		}
	}
	if _, err := signWith(root, root.Signed.Roles[metadata.ROOT], rootKeys); err != nil {
		return nil, err
	}
	return writeRoot(dir, root)
}

// newRootKeys makes opts.Keys root keys in dir/offline and makes them root's root role.
func newRootKeys(dir string, root *metadata.Metadata[metadata.RootType], opts KeyOptions) ([]*privateKey, error) {
	var keys []*privateKey
	for range opts.Keys {
		k, err := newKey()
		if err != nil {
			return nil, err
		}
		if err := root.Signed.AddKey(k.key, metadata.ROOT); err != nil {
			return nil, err
		}
		name := fmt.Sprintf("root-v%d-%s.pem", root.Signed.Version, k.id[:12])
		if err := writeKey(filepath.Join(dir, offlineDir, name), k); err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	root.Signed.Roles[metadata.ROOT].Threshold = opts.Threshold
	return keys, nil
}

func writeRoot(dir string, root *metadata.Metadata[metadata.RootType]) (*KeyResult, error) {
	data, err := root.ToBytes(true)
	if err != nil {
		return nil, err
	}
	v := root.Signed.Version
	if err := writeFileAtomic(filepath.Join(dir, rootsDir, fmt.Sprintf("%d.root.json", v)), data); err != nil {
		return nil, err
	}
	if err := writeFileAtomic(filepath.Join(dir, rootFile), data); err != nil {
		return nil, err
	}
	r := root.Signed.Roles[metadata.ROOT]
	return &KeyResult{
		Version: v, Threshold: r.Threshold, RootKeys: r.KeyIDs, Expires: root.Signed.Expires,
		RootFile: filepath.Join(dir, rootFile), Offline: filepath.Join(dir, offlineDir),
	}, nil
}

// RotateOptions configure a root rotation.
type RotateOptions struct {
	KeyOptions
	// Online also replaces the online keys (after a leak, or on schedule); the old key files are
	// kept beside them as <role>.v<N>.pem.
	Online bool
	// OfflineDir holds the current root keys; default <dir>/offline.
	OfflineDir string
}

// Rotate writes root version N+1 into the key folder: new root keys (and with opts.Online new
// online keys), signed by a threshold of the current root keys and by the new ones, so clients
// that trust version N accept N+1 and forget the old keys.
func Rotate(dir string, opts RotateOptions) (*KeyResult, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	cur, _, err := currentRoot(dir)
	if err != nil {
		return nil, err
	}
	offline := opts.OfflineDir
	if offline == "" {
		offline = filepath.Join(dir, offlineDir)
	}
	oldKeys, err := readKeys(offline)
	if err != nil {
		return nil, fmt.Errorf("reading the current root keys: %w", err)
	}
	oldRole := cur.Signed.Roles[metadata.ROOT]
	have := 0
	for _, k := range oldKeys {
		if contains(oldRole.KeyIDs, k.id) {
			have++
		}
	}
	if have < oldRole.Threshold {
		return nil, fmt.Errorf("rotating root v%d needs %d of its keys, %s holds %d; bring the offline keys", cur.Signed.Version, oldRole.Threshold, offline, have)
	}

	next := metadata.Root(opts.Now.UTC().Add(opts.Expires).Truncate(time.Second))
	next.Signed.Version = cur.Signed.Version + 1
	if err := os.MkdirAll(filepath.Join(dir, offlineDir), 0o700); err != nil {
		return nil, err
	}
	newKeys, err := newRootKeys(dir, next, opts.KeyOptions)
	if err != nil {
		return nil, err
	}
	for _, role := range onlineRoles {
		if !opts.Online {
			for _, id := range cur.Signed.Roles[role].KeyIDs {
				if err := next.Signed.AddKey(cur.Signed.Keys[id], role); err != nil {
					return nil, err
				}
			}
			continue
		}
		k, err := newKey()
		if err != nil {
			return nil, err
		}
		if err := next.Signed.AddKey(k.key, role); err != nil {
			return nil, err
		}
		path := filepath.Join(dir, onlineDir, role+".pem")
		old := filepath.Join(dir, onlineDir, role+".v"+strconv.FormatInt(cur.Signed.Version, 10)+".pem")
		if err := os.Rename(path, old); err != nil && !os.IsNotExist(err) {
			return nil, err
		}
		if err := writeKey(path, k); err != nil {
			return nil, err
		}
	}
	// Signed by the old root's threshold (so clients trusting N accept it) and the new one's.
	if _, err := signWith(next, oldRole, oldKeys); err != nil {
		return nil, err
	}
	if _, err := signWith(next, next.Signed.Roles[metadata.ROOT], newKeys); err != nil {
		return nil, err
	}
	return writeRoot(dir, next)
}

// currentRoot reads the key folder's root.json and the bytes of every root version.
func currentRoot(dir string) (*metadata.Metadata[metadata.RootType], map[int64][]byte, error) {
	data, err := os.ReadFile(filepath.Join(dir, rootFile))
	if err != nil {
		return nil, nil, fmt.Errorf("%s is not a trust key folder (made by marketplace trust init): %w", dir, err)
	}
	root, err := metadata.Root().FromBytes(data)
	if err != nil {
		return nil, nil, fmt.Errorf("reading %s: %w", filepath.Join(dir, rootFile), err)
	}
	history := map[int64][]byte{}
	for v := int64(1); v <= root.Signed.Version; v++ {
		b, err := os.ReadFile(filepath.Join(dir, rootsDir, fmt.Sprintf("%d.root.json", v)))
		if err != nil {
			return nil, nil, fmt.Errorf("the root history is incomplete: %w", err)
		}
		history[v] = b
	}
	return root, history, nil
}

// writeFileAtomic writes data to path through a temporary file in the same folder.
func writeFileAtomic(path string, data []byte) error {
	return catalog.WriteFileAtomic(path, data, 0o644)
}
