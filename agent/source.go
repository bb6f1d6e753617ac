package agent

import (
	"context"
	"fmt"
	"io"
	"iter"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hspc/marketplace/catalog/trust"
	"github.com/hspc/marketplace/generator/api"
)

// Fetched is what a Source returns: the catalog document, or word that it has not changed.
type Fetched struct {
	Data        []byte // nil when NotModified
	ETag        string // the document's entity tag, to send next time
	NotModified bool   // the document is the one with the ETag the agent sent
}

// Source is where the agent reads the catalog from.
type Source interface {
	// Fetch returns the catalog document, or NotModified when it still has entity tag etag.
	Fetch(ctx context.Context, etag string) (Fetched, error)
	// String names the source in logs and the state file.
	String() string
}

// NewSource returns the source for --catalog: an http(s) URL of a published site (or of its
// catalog.json), or a folder holding a built site.
func NewSource(ref string, client *http.Client) (Source, error) {
	if strings.HasPrefix(ref, "http://") || strings.HasPrefix(ref, "https://") {
		u, err := url.Parse(ref)
		if err != nil {
			return nil, fmt.Errorf("--catalog %s: %w", ref, err)
		}
		if !strings.HasSuffix(u.Path, ".json") {
			u = u.JoinPath(api.CatalogPath)
		}
		if client == nil {
			client = http.DefaultClient
		}
		return &HTTPSource{URL: u.String(), Client: client}, nil
	}
	abs, err := filepath.Abs(ref)
	if err != nil {
		return nil, err
	}
	file := abs
	if fi, err := os.Stat(abs); err == nil && fi.IsDir() {
		file = filepath.Join(abs, filepath.FromSlash(api.CatalogPath))
	}
	if _, err := os.Stat(file); err != nil {
		return nil, fmt.Errorf("--catalog %s: no built catalog there (%s); pass the output folder of `marketplace build` or the site's URL", ref, api.CatalogPath)
	}
	return &FileSource{Path: file}, nil
}

// maxCatalog bounds the catalog document the agent reads: a 100 000-product catalog is far
// below it, an endless response is cut off.
const maxCatalog = 1 << 30

// HTTPSource fetches catalog.json over HTTP with conditional requests.
type HTTPSource struct {
	URL    string
	Client *http.Client
}

func (s *HTTPSource) String() string { return s.URL }

// Fetch sends If-None-Match with etag and reads the whole document; anything but 200 or 304 is
// an error, as is a body shorter than its Content-Length.
func (s *HTTPSource) Fetch(ctx context.Context, etag string) (Fetched, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL, nil)
	if err != nil {
		return Fetched{}, err
	}
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	resp, err := s.Client.Do(req)
	if err != nil {
		return Fetched{}, err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusNotModified:
		return Fetched{ETag: etag, NotModified: true}, nil
	case http.StatusOK:
	default:
		return Fetched{}, fmt.Errorf("GET %s: %s", s.URL, resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxCatalog+1))
	if err != nil {
		return Fetched{}, fmt.Errorf("GET %s: reading: %w", s.URL, err)
	}
	if len(data) > maxCatalog {
		return Fetched{}, fmt.Errorf("GET %s: the document is over %d bytes", s.URL, maxCatalog)
	}
	if resp.ContentLength >= 0 && int64(len(data)) != resp.ContentLength {
		return Fetched{}, fmt.Errorf("GET %s: got %d bytes, want %d (a partial response)", s.URL, len(data), resp.ContentLength)
	}
	return Fetched{Data: data, ETag: resp.Header.Get("ETag")}, nil
}

// FileSource reads catalog.json from a built site on disk; its entity tag is the content's hash.
type FileSource struct{ Path string }

func (s *FileSource) String() string { return s.Path }

// Fetch reads the document; NotModified when its hash is etag.
func (s *FileSource) Fetch(ctx context.Context, etag string) (Fetched, error) {
	data, err := os.ReadFile(s.Path)
	if err != nil {
		return Fetched{}, err
	}
	return fetchedByHash(data, etag), nil
}

func mapsKeys[V any](m map[string]V) iter.Seq[string] { return maps.Keys(m) }

// TUFSource reads catalog.json through the output's signed TUF metadata (`build --sign`):
// go-tuf's updater refuses a rollback, a frozen (expired) or mixed snapshot, a tampered file and
// a wrong key before the agent sees a byte. Its entity tag is the verified document's hash.
type TUFSource struct {
	Site   string // the site's URL or folder, for logs
	Client trust.Client
}

func (s *TUFSource) String() string { return s.Site }

// Fetch refreshes the trusted metadata and returns the verified catalog.json.
func (s *TUFSource) Fetch(ctx context.Context, etag string) (Fetched, error) {
	snap, err := s.Client.Refresh(ctx)
	if err != nil {
		return Fetched{}, err
	}
	data, err := snap.Fetch(api.CatalogPath)
	if err != nil {
		return Fetched{}, err
	}
	return fetchedByHash(data, etag), nil
}

// NewTUFSource returns a source that reads the site at ref (an http(s) URL or a folder holding a
// built, signed output) through its TUF metadata, trusting root (the publisher's root.json) and
// keeping the trusted metadata in dir. at, when not zero, is the time expiry is checked against
// (offline use with metadata carried in on media).
func NewTUFSource(ref string, root []byte, dir string, at time.Time, client *http.Client) (*TUFSource, error) {
	site := ref
	if !strings.HasPrefix(ref, "http://") && !strings.HasPrefix(ref, "https://") {
		abs, err := filepath.Abs(ref)
		if err != nil {
			return nil, err
		}
		site = abs
	}
	md := strings.TrimSuffix(site, "/") + "/tuf/"
	if !strings.HasPrefix(site, "http") {
		md = filepath.Join(site, "tuf") + "/"
		if _, err := os.Stat(md); err != nil {
			return nil, fmt.Errorf("--catalog %s: no tuf/ folder there; is the output signed (build --sign)?", ref)
		}
	}
	return &TUFSource{Site: site, Client: trust.Client{MetadataURL: md, LocalDir: dir, TrustedRoot: root, RefTime: at, HTTPClient: client}}, nil
}

// fetchedByHash is what a source without entity tags of its own returns: the content's hash is
// its tag, and a document whose hash is etag is not modified.
func fetchedByHash(data []byte, etag string) Fetched {
	tag := `"` + sum(data) + `"`
	if tag == etag {
		return Fetched{ETag: tag, NotModified: true}
	}
	return Fetched{Data: data, ETag: tag}
}
