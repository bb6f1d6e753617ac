package trust

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// A site mirror is a folder holding a verified copy of a signed output:
//
//	marketplace-mirror.json  its state (kind "site", the source URL, the last sync)
//	root.json                the root it was configured to trust
//	trust/                   the client's trusted metadata (the last good state)
//	site/                    the mirrored files and tuf/: serve it, clients verify it with the same root
//
// A sync verifies everything before it replaces site/; a refused or failed sync leaves it.
const (
	// MirrorStateFile is the site mirror's record; the Git mirror uses the same name and kind field.
	MirrorStateFile = "marketplace-mirror.json"
	// MirrorSiteDir is the folder of a site mirror that holds the servable copy.
	MirrorSiteDir = "site"
	// KindSite is the mirror kind of a site mirror.
	KindSite = "site"
)

// MirrorState is what MirrorStateFile records.
type MirrorState struct {
	Kind      string    `json:"kind"`
	Source    string    `json:"source"` // the site's base URL
	Synced    time.Time `json:"synced"`
	Timestamp int64     `json:"timestamp,omitempty"` // the mirrored timestamp version
	Expires   time.Time `json:"expires,omitzero"`    // when that timestamp expires
}

// MirrorOptions configure site mirror syncs.
type MirrorOptions struct {
	Client *Client // HTTPClient and RefTime are taken from it when set
	// Log receives one line per file fetched, when set.
	Log io.Writer
}

// SiteSync is what a clone or sync did.
type SiteSync struct {
	MirrorState
	Files, Fetched, Reused int
	UpToDate               bool
}

// CloneSite mirrors the signed output at url (the site's base URL; its metadata is at
// url + "tuf/") into dir, which must be absent or empty, trusting root.
func CloneSite(ctx context.Context, url, dir string, root []byte, opts MirrorOptions) (*SiteSync, error) {
	if _, err := metadata.Root().FromBytes(root); err != nil {
		return nil, fmt.Errorf("the trusted root: %w", err)
	}
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("%s %w and is not empty; choose a new folder", dir, errExists)
	}
	created := false
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		created = true
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	st := MirrorState{Kind: KindSite, Source: ensureSlash(url)}
	err := writeFileAtomic(filepath.Join(dir, rootFile), root)
	if err == nil {
		err = writeState(dir, st)
	}
	var res *SiteSync
	if err == nil {
		res, err = SyncSite(ctx, dir, opts)
	}
	if err != nil {
		// Nothing half-made stays behind: remove what this clone wrote.
		if created {
			os.RemoveAll(dir)
		} else {
			for _, name := range []string{rootFile, MirrorStateFile, "trust", MirrorSiteDir, ".staging"} {
				os.RemoveAll(filepath.Join(dir, name))
			}
		}
		return nil, err
	}
	return res, nil
}

// SyncSite brings the site mirror in dir up to the source's current signed output: go-tuf's
// updater checks the metadata, every file is checked against it, and only then does the new
// copy replace site/. Files that did not change are linked, not fetched.
func SyncSite(ctx context.Context, dir string, opts MirrorOptions) (*SiteSync, error) {
	st, err := ReadMirrorState(dir)
	if err != nil {
		return nil, err
	}
	root, err := os.ReadFile(filepath.Join(dir, rootFile))
	if err != nil {
		return nil, err
	}
	c := &Client{MetadataURL: st.Source + MetadataDir + "/", LocalDir: filepath.Join(dir, "trust"), TrustedRoot: root}
	if opts.Client != nil {
		c.HTTPClient, c.RefTime = opts.Client.HTTPClient, opts.Client.RefTime
	}
	snap, err := c.Refresh(ctx)
	if err != nil {
		return nil, err
	}
	res := &SiteSync{MirrorState: *st}
	site := filepath.Join(dir, MirrorSiteDir)
	if _, err := os.Stat(site); err == nil && st.Timestamp == snap.Timestamp {
		res.UpToDate = true
		res.Files = len(snap.Paths())
		return res, nil
	}

	staging := filepath.Join(dir, ".staging")
	if err := os.RemoveAll(staging); err != nil { // a sync interrupted before
		return nil, err
	}
	paths := snap.Paths()
	res.Files = len(paths)
	for _, p := range paths {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		dst := filepath.Join(staging, filepath.FromSlash(p))
		cur := filepath.Join(site, filepath.FromSlash(p))
		if data, err := os.ReadFile(cur); err == nil && snap.matches(p, data) {
			if err := linkOrCopy(cur, dst); err != nil {
				return nil, err
			}
			res.Reused++
			continue
		}
		if _, err := snap.FetchTo(p, dst); err != nil {
			return nil, err
		}
		res.Fetched++
		if opts.Log != nil {
			fmt.Fprintf(opts.Log, "fetched %s\n", p)
		}
	}
	if err := snap.writeRepository(ctx, staging, site); err != nil {
		return nil, err
	}

	old := filepath.Join(dir, ".old")
	if err := os.RemoveAll(old); err != nil {
		return nil, err
	}
	if err := os.Rename(site, old); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err := os.Rename(staging, site); err != nil {
		os.Rename(old, site)
		return nil, err
	}
	if err := os.RemoveAll(old); err != nil {
		return nil, err
	}
	res.Timestamp, res.Expires, res.Synced = snap.Timestamp, snap.Expires, time.Now().UTC()
	if err := writeState(dir, res.MirrorState); err != nil {
		return nil, err
	}
	return res, nil
}

// matches reports whether data is the signed content of target.
func (s *Snapshot) matches(target string, data []byte) bool {
	tf, ok := s.u.GetTopLevelTargets()[target]
	return ok && tf.VerifyLengthHashes(data) == nil
}

// writeRepository writes the trusted metadata into staging/tuf/ with the root history and
// hash-named target links, so the mirror serves a TUF repository clients verify with the
// publisher's root. Roots already in the previous copy (prevSite) are reused.
func (s *Snapshot) writeRepository(ctx context.Context, staging, prevSite string) error {
	md := filepath.Join(s.c.LocalDir, "metadata")
	out := filepath.Join(staging, MetadataDir)
	if err := os.MkdirAll(filepath.Join(out, "targets"), 0o755); err != nil {
		return err
	}
	copies := map[string]string{
		"root.json":      rootFile,
		"timestamp.json": "timestamp.json",
		"snapshot.json":  fmt.Sprintf("%d.snapshot.json", s.Snapshot),
		"targets.json":   fmt.Sprintf("%d.targets.json", s.Targets),
	}
	for from, to := range copies {
		data, err := os.ReadFile(filepath.Join(md, from))
		if err != nil {
			return err
		}
		if err := writeFileAtomic(filepath.Join(out, to), data); err != nil {
			return err
		}
	}
	f := &fetcher{ctx: ctx, client: s.c.HTTPClient}
	for v := int64(1); v <= s.Root; v++ {
		name := fmt.Sprintf("%d.root.json", v)
		data, err := os.ReadFile(filepath.Join(prevSite, MetadataDir, name))
		if err != nil {
			if data, err = f.DownloadFile(ensureSlash(s.c.MetadataURL)+name, 512000, 0); err != nil {
				return fmt.Errorf("fetching %s: %w", name, err)
			}
		}
		if err := writeFileAtomic(filepath.Join(out, name), data); err != nil {
			return err
		}
	}
	for p, tf := range s.u.GetTopLevelTargets() {
		link := filepath.Join(out, "targets", filepath.FromSlash(hashedPath(p, hex.EncodeToString(tf.Hashes["sha256"]))))
		if err := linkOrCopy(filepath.Join(staging, filepath.FromSlash(p)), link); err != nil {
			return err
		}
	}
	return nil
}

// ReadMirrorState reads the state of the site mirror in dir.
func ReadMirrorState(dir string) (*MirrorState, error) {
	data, err := os.ReadFile(filepath.Join(dir, MirrorStateFile))
	if err != nil {
		return nil, fmt.Errorf("%s is not a mirror (no %s): make one with marketplace mirror clone URL %s --root root.json", dir, MirrorStateFile, dir)
	}
	var st MirrorState
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("reading %s: %w", filepath.Join(dir, MirrorStateFile), err)
	}
	if st.Kind != KindSite {
		return nil, fmt.Errorf("%s is a %q mirror, not a site mirror", dir, st.Kind)
	}
	if !strings.HasSuffix(st.Source, "/") {
		st.Source += "/"
	}
	return &st, nil
}

func writeState(dir string, st MirrorState) error {
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, MirrorStateFile), append(data, '\n'))
}
