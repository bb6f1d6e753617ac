package trust

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// Upstream is the published, signed output of a catalog that a private marketplace
// federates. A private marketplace verifies it before merging, and signs its own merged
// output with its own root (build --sign): its agents trust that root only.
type Upstream struct {
	Name string // for messages
	// URL is the upstream site's base URL (its metadata is at URL + "tuf/"), or a folder on media.
	URL string
	// Root is the upstream publisher's root.json, configured by the operator.
	Root []byte
	// StateDir keeps the last trusted metadata between builds (rollback protection needs it).
	StateDir string
	// RefTime is the reference time for expiry; zero means now.
	RefTime    time.Time
	HTTPClient *http.Client
}

// UpstreamSnapshot is an upstream's verified current output.
type UpstreamSnapshot struct {
	*Snapshot
	// Catalog is the verified api/v1/catalog.json.
	Catalog []byte
	// Products maps each product ID of the signed catalog to its builds' image digests.
	Products map[string][]string
}

// CatalogTarget is the path of the catalog document in an output.
const CatalogTarget = "api/v1/catalog.json"

// VerifyUpstream fetches and verifies an upstream's signed output through go-tuf's updater:
// a rolled-back, frozen, mixed, tampered or foreign-signed upstream is refused with a
// *Refusal and its last good state kept in StateDir.
func VerifyUpstream(ctx context.Context, u Upstream) (*UpstreamSnapshot, error) {
	if err := os.MkdirAll(u.StateDir, 0o700); err != nil {
		return nil, err
	}
	c := &Client{MetadataURL: ensureSlash(u.URL) + MetadataDir + "/", LocalDir: u.StateDir, TrustedRoot: u.Root, RefTime: u.RefTime, HTTPClient: u.HTTPClient}
	snap, err := c.Refresh(ctx)
	if err != nil {
		return nil, fmt.Errorf("upstream %s: %w", u.Name, err)
	}
	data, err := snap.Fetch(CatalogTarget)
	if err != nil {
		return nil, fmt.Errorf("upstream %s: %w", u.Name, err)
	}
	var doc struct {
		Products []struct {
			ID     string `json:"id"`
			Builds []struct {
				Digest string `json:"digest"`
			} `json:"builds"`
		} `json:"products"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("upstream %s: reading its signed %s: %w", u.Name, CatalogTarget, err)
	}
	res := &UpstreamSnapshot{Snapshot: snap, Catalog: data, Products: map[string][]string{}}
	for _, p := range doc.Products {
		for _, b := range p.Builds {
			res.Products[p.ID] = append(res.Products[p.ID], b.Digest)
		}
		sort.Strings(res.Products[p.ID])
	}
	return res, nil
}

// CheckMerged compares what a private marketplace merged from an upstream (product ID → its
// builds' image digests, read from the upstream's Git repository) with the upstream's signed
// snapshot, and returns one problem per product or digest the snapshot does not vouch for.
// An empty result means the merged products are exactly those the upstream signed.
func (s *UpstreamSnapshot) CheckMerged(upstream string, merged map[string][]string) []string {
	var problems []string
	ids := make([]string, 0, len(merged))
	for id := range merged {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		signed, ok := s.Products[id]
		if !ok {
			problems = append(problems, fmt.Sprintf("upstream %s: product %s is not in its signed catalog (timestamp v%d)", upstream, id, s.Timestamp))
			continue
		}
		for _, d := range merged[id] {
			i := sort.SearchStrings(signed, d)
			if i == len(signed) || signed[i] != d {
				problems = append(problems, fmt.Sprintf("upstream %s: product %s image %s is not in its signed catalog (timestamp v%d)", upstream, id, d, s.Timestamp))
			}
		}
	}
	return problems
}

// UpstreamStateDir is where a private marketplace keeps an upstream's trusted metadata,
// under its cache folder.
func UpstreamStateDir(cacheDir, name string) string {
	return filepath.Join(cacheDir, "upstreams", name, "tuf")
}

// CheckRecorded refuses a snapshot older than the timestamp version recorded when the
// upstream was last verified (a private marketplace keeps it in upstreams.lock, committed
// with its catalog): a replayed site is then refused as a rollback even by a client whose
// trusted state is new (a fresh clone, an emptied cache).
func (s *UpstreamSnapshot) CheckRecorded(upstream string, recorded int64) error {
	if s.Timestamp >= recorded {
		return nil
	}
	return &Refusal{
		Kind: Rollback,
		Err:  fmt.Errorf("its timestamp is v%d, upstreams.lock recorded v%d", s.Timestamp, recorded),
		What: fmt.Sprintf("upstream %s offers an older signed site than the one verified before", upstream),
		Do:   "an old output is being replayed or its mirror went back in time: do not use it; check the site or use another mirror",
	}
}
