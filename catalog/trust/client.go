package trust

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"
	"github.com/theupdateframework/go-tuf/v2/metadata/config"
	"github.com/theupdateframework/go-tuf/v2/metadata/updater"
)

// Client reads a signed output through go-tuf's updater: every file it returns is listed,
// with its length and hash, by metadata signed with the keys of the root the client trusts,
// no older than what it trusted before and not expired at the reference time. Its local
// folder keeps the last good metadata; a refused update leaves it as it was.
type Client struct {
	// MetadataURL is the output's TUF folder: https://host/site/tuf/, or a local folder
	// holding a copy (offline media).
	MetadataURL string
	// TargetsURL is where the hash-named target files are; default MetadataURL + "targets/".
	TargetsURL string
	// LocalDir keeps the trusted metadata (metadata/) and verified files (targets/).
	LocalDir string
	// TrustedRoot is the root.json the client is configured with. It is used until LocalDir
	// holds a root (which then only changes through rotations the trusted roots sign).
	TrustedRoot []byte
	// RefTime is the time expiry is checked against; zero means now. Offline, set it to the
	// time the metadata is used, never to a time that makes expired metadata valid again.
	RefTime time.Time
	// HTTPClient fetches over HTTP; default http.DefaultClient.
	HTTPClient *http.Client
}

// Snapshot is a verified, current state of an output.
type Snapshot struct {
	Root, Targets, Snapshot, Timestamp int64 // versions
	Expires                            time.Time
	c                                  *Client
	u                                  *updater.Updater
}

// maxTargetsLength bounds targets.json: a large catalog lists many files.
const maxTargetsLength = 256 << 20

// Refresh updates the client's trusted metadata from MetadataURL (root → timestamp →
// snapshot → targets, the TUF client workflow), returning a *Refusal when an update is refused.
func (c Client) Refresh(ctx context.Context) (*Snapshot, error) {
	if c.MetadataURL == "" || c.LocalDir == "" {
		return nil, errors.New("trust client: MetadataURL and LocalDir are required")
	}
	mdDir := filepath.Join(c.LocalDir, "metadata")
	root, err := os.ReadFile(filepath.Join(mdDir, rootFile))
	if errors.Is(err, fs.ErrNotExist) {
		if len(c.TrustedRoot) == 0 {
			return nil, errors.New("trust client: no trusted root: configure the root.json of the publisher (--root FILE)")
		}
		root, err = c.TrustedRoot, nil
	}
	if err != nil {
		return nil, err
	}
	base := ensureSlash(c.MetadataURL)
	cfg, err := config.New(base, root)
	if err != nil {
		return nil, err
	}
	cfg.LocalMetadataDir = mdDir
	cfg.LocalTargetsDir = filepath.Join(c.LocalDir, "targets")
	cfg.RemoteTargetsURL = base + "targets/"
	if c.TargetsURL != "" {
		cfg.RemoteTargetsURL = ensureSlash(c.TargetsURL)
	}
	cfg.TargetsMaxLength = maxTargetsLength
	cfg.Fetcher = &fetcher{ctx: ctx, client: c.HTTPClient}
	u, err := updater.New(cfg)
	if err != nil {
		return nil, refusal(err, nil, mdDir, c.RefTime)
	}
	if !c.RefTime.IsZero() {
		u.UnsafeSetRefTime(c.RefTime.UTC())
	}
	if err := u.Refresh(); err != nil {
		return nil, refusal(err, u, mdDir, c.RefTime)
	}
	t := u.GetTrustedMetadataSet()
	return &Snapshot{
		Root: t.Root.Signed.Version, Targets: t.Targets[metadata.TARGETS].Signed.Version,
		Snapshot: t.Snapshot.Signed.Version, Timestamp: t.Timestamp.Signed.Version,
		Expires: t.Timestamp.Signed.Expires, c: &c, u: u,
	}, nil
}

// Fetch refreshes and returns the verified content of target (a path in the output, such as
// "api/v1/catalog.json"):
//
//	data, err := trust.Client{MetadataURL: "https://marketplace.example.org/tuf/",
//		LocalDir: "/var/lib/agent/tuf", TrustedRoot: root}.Fetch(ctx, "api/v1/catalog.json")
func (c Client) Fetch(ctx context.Context, target string) ([]byte, error) {
	s, err := c.Refresh(ctx)
	if err != nil {
		return nil, err
	}
	return s.Fetch(target)
}

// Paths lists the signed files of the snapshot, sorted.
func (s *Snapshot) Paths() []string {
	var paths []string
	for p := range s.u.GetTopLevelTargets() {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	return paths
}

// Fetch returns the verified content of target, from the local cache when it still matches.
func (s *Snapshot) Fetch(target string) ([]byte, error) {
	return s.FetchTo(target, "")
}

// FetchTo is Fetch that also writes the verified content to file ("" means the client's
// targets folder), reusing file when it already holds the signed content.
func (s *Snapshot) FetchTo(target, file string) ([]byte, error) {
	tf, err := s.u.GetTargetInfo(target)
	if err != nil {
		return nil, fmt.Errorf("%s is not a signed file of this output: %w", target, err)
	}
	if file != "" {
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			return nil, err
		}
	}
	if _, data, err := s.u.FindCachedTarget(tf, file); err == nil && data != nil {
		return data, nil
	}
	if file == "" {
		if err := os.MkdirAll(filepath.Join(s.c.LocalDir, "targets"), 0o700); err != nil {
			return nil, err
		}
	}
	_, data, err := s.u.DownloadTarget(tf, file, "")
	if err != nil {
		return nil, refusal(err, s.u, filepath.Join(s.c.LocalDir, "metadata"), s.c.RefTime)
	}
	return data, nil
}

// Kind names the attack, or failure, that made a client refuse an update.
type Kind string

// The refusals; each Refusal's message says what to do.
const (
	Rollback    Kind = "rollback"      // older metadata than the client trusts
	Freeze      Kind = "freeze"        // expired timestamp (or snapshot/targets)
	MixAndMatch Kind = "mix-and-match" // files of different builds
	Tampered    Kind = "tampered"      // a file that does not match its signed length and hash
	WrongKey    Kind = "wrong key"     // not signed by the keys the trusted root names
	ExpiredRoot Kind = "expired root"  // the trusted root itself expired
	Unreachable Kind = "unreachable"   // the metadata could not be fetched
)

// Refusal is an update a client refused; its trusted state is as it was before.
type Refusal struct {
	Kind Kind
	Err  error  // go-tuf's error
	What string // what happened, in words
	Do   string // what to do
	Kept string // the trusted state kept, e.g. "timestamp v4 of 2026-11-20"
}

func (r *Refusal) Error() string {
	msg := fmt.Sprintf("refused (%s): %s: %v; %s", r.Kind, r.What, r.Err, r.Do)
	if r.Kept != "" {
		msg += "; kept the last good state (" + r.Kept + ")"
	}
	return msg
}

func (r *Refusal) Unwrap() error { return r.Err }

// refusal classifies a go-tuf error.
func refusal(err error, u *updater.Updater, mdDir string, ref time.Time) error {
	r := &Refusal{Err: err, Kept: keptState(mdDir)}
	if ref.IsZero() {
		ref = time.Now()
	}
	ref = ref.UTC().Truncate(time.Second)
	var (
		expired   *metadata.ErrExpiredMetadata
		version   *metadata.ErrBadVersionNumber
		unsigned  *metadata.ErrUnsignedMetadata
		hash      *metadata.ErrLengthOrHashMismatch
		length    *metadata.ErrDownloadLengthMismatch
		download  *metadata.ErrDownloadHTTP
		downloadE *metadata.ErrDownload
	)
	switch {
	case errors.As(err, &expired) && strings.Contains(expired.Msg, "root"):
		r.Kind, r.What = ExpiredRoot, "the trusted root has expired"
		if u != nil {
			r.What += " (at " + u.GetTrustedMetadataSet().Root.Signed.Expires.Format(time.RFC3339) + ", reference time " + ref.Format(time.RFC3339) + ")"
		}
		r.Do = "the publisher must rotate its root (marketplace trust rotate) and re-sign; then configure this client with the new root.json"
	case errors.As(err, &expired):
		r.Kind, r.What = Freeze, "the output is no longer fresh"
		if u != nil && u.GetTrustedMetadataSet().Timestamp != nil {
			r.What = fmt.Sprintf("the timestamp expired at %s (reference time %s)", u.GetTrustedMetadataSet().Timestamp.Signed.Expires.Format(time.RFC3339), ref.Format(time.RFC3339))
		}
		r.Do = "the publisher has stopped re-signing or the mirror has stopped syncing: ask the operator to re-sign (marketplace sign) or sync the mirror; offline, bring newer metadata in"
	case errors.As(err, &version) && isRollback(version.Msg):
		r.Kind, r.What = Rollback, "the source offers older metadata than this client already trusts"
		r.Do = "an old catalog is being replayed or the mirror went back in time: do not use it; check the source or use another mirror"
	case errors.As(err, &version):
		r.Kind, r.What = MixAndMatch, "the metadata files come from different builds"
		r.Do = "a mirror in the middle of a sync, or an attacker mixing versions: retry later or use another mirror"
	case errors.As(err, &unsigned):
		r.Kind, r.What = WrongKey, "the metadata is not signed by the keys the trusted root names"
		r.Do = "a forged output, another publisher's output, or a key change the publisher did not sign with the old root: check the root.json this client is configured with"
	case errors.As(err, &hash), errors.As(err, &length):
		r.Kind, r.What = Tampered, "a file does not match its signed length and hash"
		r.Do = "it was changed on the server or in transit: do not use it; fetch from the publisher or another mirror"
	case errors.As(err, &download), errors.As(err, &downloadE):
		r.Kind, r.What = Unreachable, "the signed metadata could not be fetched"
		r.Do = "check the URL (it is the output's tuf/ folder) and that the output was built with --sign"
	default:
		var pathErr *fs.PathError
		var urlErr *url.Error
		if errors.As(err, &pathErr) || errors.As(err, &urlErr) {
			r.Kind, r.What = Unreachable, "the signed metadata could not be read"
			r.Do = "check the URL or folder (the output's tuf/ folder) and that the output was built with --sign"
			return r
		}
		return fmt.Errorf("updating trusted metadata: %w", err)
	}
	return r
}

// isRollback tells go-tuf's version errors of an older file apart from those of a file that
// does not match the version its parent names (mix-and-match).
func isRollback(msg string) bool {
	return strings.HasPrefix(msg, "new ") || strings.Contains(msg, "targets.json version") || strings.HasPrefix(msg, "bad version number")
}

// keptState describes the trusted timestamp in mdDir.
func keptState(mdDir string) string {
	ts, err := metadata.Timestamp().FromFile(filepath.Join(mdDir, "timestamp.json"))
	if err != nil {
		return ""
	}
	return fmt.Sprintf("timestamp v%d, valid until %s", ts.Signed.Version, ts.Signed.Expires.Format(time.RFC3339))
}

func ensureSlash(s string) string {
	if strings.HasSuffix(s, "/") {
		return s
	}
	return s + "/"
}

// fetcher implements go-tuf's Fetcher over HTTP(S) with a context, and over local folders
// (offline media): a missing file is a 404, as the updater expects when it probes for roots.
type fetcher struct {
	ctx    context.Context
	client *http.Client
}

func (f *fetcher) DownloadFile(u string, maxLength int64, _ time.Duration) ([]byte, error) {
	var body io.ReadCloser
	if strings.HasPrefix(u, "http://") || strings.HasPrefix(u, "https://") {
		req, err := http.NewRequestWithContext(f.ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, err
		}
		client := f.client
		if client == nil {
			client = http.DefaultClient
		}
		res, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		if res.StatusCode != http.StatusOK {
			res.Body.Close()
			return nil, &metadata.ErrDownloadHTTP{StatusCode: res.StatusCode, URL: u}
		}
		body = res.Body
	} else {
		file, err := os.Open(filepath.FromSlash(strings.TrimPrefix(u, "file://")))
		if errors.Is(err, fs.ErrNotExist) {
			return nil, &metadata.ErrDownloadHTTP{StatusCode: http.StatusNotFound, URL: u}
		}
		if err != nil {
			return nil, err
		}
		body = file
	}
	defer body.Close()
	data, err := io.ReadAll(io.LimitReader(body, maxLength+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > maxLength {
		return nil, &metadata.ErrDownloadLengthMismatch{Msg: fmt.Sprintf("%s is larger than the %d bytes expected", u, maxLength)}
	}
	return data, nil
}
