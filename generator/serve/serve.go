// Package serve is `marketplace serve`: an HTTP server for a folder built by `marketplace
// build`. It serves the static site as any web server would (404.html for missing pages) and
// answers GET /api/search from the folder's bleve index, so the site's search page asks the
// server instead of searching in the browser. A rebuild of the folder (which replaces it in one
// rename) is picked up without a restart.
package serve

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/gzhttp"

	"github.com/hspc/marketplace/generator/headers"
	"github.com/hspc/marketplace/generator/search"
)

// DefaultAddr is where the server listens unless told otherwise: the loopback interface only,
// so that nothing is exposed by accident.
const DefaultAddr = "127.0.0.1:8080"

// Timeouts of the server.
const (
	ReadHeaderTimeout = 5 * time.Second
	ReadTimeout       = 15 * time.Second
	WriteTimeout      = 30 * time.Second
	IdleTimeout       = 120 * time.Second
	SearchTimeout     = 5 * time.Second  // one search
	ShutdownTimeout   = 10 * time.Second // in-flight requests get this long to finish
)

// APIPath is the search endpoint.
const APIPath = "/api/search"

// APIHeader is sent with the compact index's manifest (api/v1/search.json): the path of the
// search API from the site root. Static hosts do not send it, so the search page tells with
// one request that succeeds everywhere whether to ask the API or search in the browser.
const APIHeader = "X-Marketplace-Search-API"

// Server serves one output folder.
type Server struct {
	dir string
	log *log.Logger

	// The open index, replaced in one atomic store when the folder is rebuilt: searches never
	// wait for the check or the reopening, and the old index is closed once the searches using
	// it are done.
	cur       atomic.Pointer[loaded]
	checked   atomic.Int64 // when the folder was last compared with cur's (UnixNano)
	reopening sync.Mutex   // one reopening at a time

	// Settings tests change.
	searchTimeout time.Duration
	checkEvery    time.Duration
	run           func(context.Context, *search.Index, search.Request) (*search.Result, error)
}

// loaded is an index opened from the folder, or why it could not be.
type loaded struct {
	idx    *search.Index
	err    error
	opened os.FileInfo // the folder it was opened from; nil if that failed

	mu     sync.RWMutex // held for reading by each search using idx, for writing to close it
	closed bool
}

// New returns a server for dir, logging one line per request to logOut (nil: no log). The
// index is opened now; a folder without one still serves its files, and the API answers 503.
func New(dir string, logOut io.Writer) (*Server, error) {
	info, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("%s is not a folder", dir)
	}
	if logOut == nil {
		logOut = io.Discard
	}
	s := &Server{
		dir: dir, log: log.New(logOut, "", log.LstdFlags),
		searchTimeout: SearchTimeout, checkEvery: time.Second,
		run: func(ctx context.Context, idx *search.Index, req search.Request) (*search.Result, error) {
			return idx.Search(ctx, req)
		},
	}
	s.cur.Store(s.open())
	s.checked.Store(time.Now().UnixNano())
	return s, nil
}

// Close releases the index.
func (s *Server) Close() error {
	old := s.cur.Swap(&loaded{err: errors.New("the server is closed")})
	return retire(old)
}

// open opens the folder's index.
func (s *Server) open() *loaded {
	info, _ := os.Stat(s.dir)
	idx, err := search.Open(s.dir)
	if err != nil {
		s.log.Printf("search unavailable: %v", err)
	}
	return &loaded{idx: idx, err: err, opened: info}
}

// retire closes an index that is no longer current, once the searches using it are done.
func retire(l *loaded) error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	if l.idx == nil {
		return nil
	}
	return l.idx.Close()
}

// reload reopens the index when the folder has been rebuilt (replaced by a rename) since it
// was opened. It looks at most once per checkEvery, and never makes a search wait: the
// request that finds the folder rebuilt opens the new index while the others go on with the
// old one.
func (s *Server) reload() {
	now, last := time.Now().UnixNano(), s.checked.Load()
	if now-last < int64(s.checkEvery) || !s.checked.CompareAndSwap(last, now) {
		return
	}
	info, err := os.Stat(s.dir)
	if cur := s.cur.Load(); err != nil || (cur.opened != nil && os.SameFile(info, cur.opened)) {
		return
	}
	if !s.reopening.TryLock() {
		return
	}
	defer s.reopening.Unlock()
	s.log.Printf("%s was rebuilt: reopening its search index", s.dir)
	go retire(s.cur.Swap(s.open()))
}

// index returns the current index and a function to call when done with it.
func (s *Server) index() (*search.Index, func(), error) {
	s.reload()
	for {
		l := s.cur.Load()
		l.mu.RLock()
		if l.closed { // replaced and closed in between: take the new one
			l.mu.RUnlock()
			continue
		}
		if l.idx == nil {
			l.mu.RUnlock()
			return nil, nil, l.err
		}
		return l.idx, l.mu.RUnlock, nil
	}
}

// Handler returns the server's routes: the search API and the site's files, with the
// security headers on every response, compression of text, and a request log.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(APIPath, s.search)
	mux.Handle("/", s.files())
	return s.logRequests(secure(compress(mux)))
}

// secure adds the headers every response carries (package generator/headers).
func secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, h := range headers.Security {
			w.Header().Set(h[0], h[1])
		}
		next.ServeHTTP(w, r)
	})
}

// compress gzips (or zstd-compresses) text responses for clients that accept it, with
// klauspost/compress's gzhttp. A compressed response's ETag gets a suffix (the same ETag may
// not name two bodies), which is taken off again when the client sends it back, so that
// revalidation still finds the file unchanged.
func compress(next http.Handler) http.Handler {
	wrap, err := gzhttp.NewWrapper(gzhttp.MinSize(512), gzhttp.SuffixETag(etagSuffix))
	if err != nil {
		panic(fmt.Sprintf("serve: gzhttp options: %v", err))
	}
	h := wrap(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if inm := r.Header.Get("If-None-Match"); inm != "" {
			r.Header.Set("If-None-Match", etagSuffixes.ReplaceAllString(inm, `"`))
		}
		h.ServeHTTP(w, r)
	})
}

const etagSuffix = "-gzip" // gzhttp writes -zstd for zstd

var etagSuffixes = regexp.MustCompile(`-(?:gzip|zstd)"`)

// search answers GET and HEAD /api/search?q=…&facet=field:value&from=&size=&highlight=1&facet_size=.
// HEAD answers at once, so the search page can tell the API is there without a search.
func (s *Server) search(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, "use GET")
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	idx, done, err := s.index()
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	if r.Method == http.MethodHead {
		done()
		w.Header().Set("Content-Type", "application/json")
		return
	}
	req, err := parseRequest(r.URL.Query())
	if err == nil {
		err = search.CheckQuery(req.Query)
	}
	if err != nil {
		done()
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	// The search runs on its own, so that its answer is given up at the timeout even where
	// the search itself does not stop at once; it lets go of the index when it does stop.
	ctx, cancel := context.WithTimeout(r.Context(), s.searchTimeout)
	defer cancel()
	type answer struct {
		res *search.Result
		err error
	}
	ch := make(chan answer, 1)
	go func() {
		defer done()
		res, err := s.run(ctx, idx, req)
		ch <- answer{res, err}
	}()
	var a answer
	select {
	case a = <-ch:
	case <-ctx.Done():
		a.err = ctx.Err()
	}
	var qe *search.QueryError
	switch {
	case a.err == nil:
		writeJSON(w, http.StatusOK, a.res)
	case errors.As(a.err, &qe):
		writeError(w, http.StatusBadRequest, a.err.Error())
	case errors.Is(a.err, context.DeadlineExceeded):
		writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("the search took longer than %s; try fewer words or wildcards", s.searchTimeout))
	default:
		writeError(w, http.StatusInternalServerError, a.err.Error())
	}
}

// parseRequest reads a search from query parameters.
func parseRequest(v url.Values) (search.Request, error) {
	req := search.Request{Query: v.Get("q"), Filters: map[string][]string{}}
	for _, f := range v["facet"] {
		field, value, ok := strings.Cut(f, ":")
		if !ok || !slices.Contains(search.Facets, field) {
			return req, fmt.Errorf("facet %q: want FIELD:VALUE with FIELD one of %s", f, strings.Join(search.Facets, ", "))
		}
		req.Filters[field] = append(req.Filters[field], value)
	}
	for _, p := range []struct {
		name string
		dst  *int
		max  int
	}{{"from", &req.From, 1 << 20}, {"size", &req.Size, search.MaxSize}, {"facet_size", &req.FacetSize, 1 << 20}} {
		if s := v.Get(p.name); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 0 || n > p.max {
				return req, fmt.Errorf("%s=%q: want a number from 0 to %d", p.name, s, p.max)
			}
			*p.dst = n
		}
	}
	req.Highlight = v.Get("highlight") == "1" || v.Get("highlight") == "true"
	return req, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var data []byte
	if res, ok := v.(*search.Result); ok {
		// The same bytes as json.Marshal's, without reflection over thousands of facet values.
		data = res.AppendJSON(make([]byte, 0, 64<<10))
	} else {
		var err error
		if data, err = json.Marshal(v); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(append(data, '\n'))
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// files serves the folder like a static host: index.html for folders, 404.html (with status
// 404) for what is missing, and nothing of the search index or dot files. It never lists a
// folder, and never serves a file that resolves outside the folder (through a symbolic link,
// say): os.Root refuses to leave it.
func (s *Server) files() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		p := path.Clean("/" + r.URL.Path)
		if hidden(p) {
			s.notFound(w, r)
			return
		}
		// The folder is opened for each request, so that a rebuild (which renames a new
		// folder into its place) is served at once.
		root, err := os.OpenRoot(s.dir)
		if err != nil {
			s.notFound(w, r)
			return
		}
		defer root.Close()
		name := strings.TrimPrefix(p, "/")
		f, info, err := openFile(root, cmp.Or(name, "."))
		if err == nil && info.IsDir() {
			f.Close()
			if !strings.HasSuffix(r.URL.Path, "/") {
				target := path.Base(p) + "/"
				if r.URL.RawQuery != "" {
					target += "?" + r.URL.RawQuery
				}
				http.Redirect(w, r, target, http.StatusMovedPermanently)
				return
			}
			name = path.Join(name, "index.html")
			f, info, err = openFile(root, name)
		}
		if err != nil || !info.Mode().IsRegular() {
			if err == nil {
				f.Close()
			}
			s.notFound(w, r)
			return
		}
		defer f.Close()
		h := w.Header()
		h.Set("Cache-Control", headers.CacheControl(name))
		h.Set("ETag", etag(info))
		if headers.IsSVG(name) {
			h.Add("Content-Security-Policy", headers.SVGPolicy)
		}
		if name == search.ManifestPath {
			// The search page asks for this file's headers to find out, without an error on
			// static hosts, whether the API is there.
			h.Set(APIHeader, strings.TrimPrefix(APIPath, "/"))
		}
		http.ServeContent(w, r, name, info.ModTime(), f)
	})
}

// openFile opens a file of root with what it is.
func openFile(root *os.Root, name string) (*os.File, os.FileInfo, error) {
	f, err := root.Open(name)
	if err != nil {
		return nil, nil, err
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, info, nil
}

// etag identifies a file's version by its size and modification time, as nginx does: a
// rebuild that changes a file writes it anew.
func etag(info os.FileInfo) string {
	return fmt.Sprintf(`"%x-%x"`, info.ModTime().UnixNano(), info.Size())
}

// hidden reports whether a path is outside what the site publishes.
func hidden(p string) bool {
	for _, seg := range strings.Split(p, "/") {
		if strings.HasPrefix(seg, ".") || seg == search.IndexDir || seg == headers.FileName {
			return true
		}
	}
	return false
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	root, err := os.OpenRoot(s.dir)
	var data []byte
	if err == nil {
		data, err = root.ReadFile("404.html")
		root.Close()
	}
	w.Header().Set("Cache-Control", "no-cache")
	if err != nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusNotFound)
	if r.Method != http.MethodHead {
		w.Write(data)
	}
}

// logRequests writes one line per request: client, method, path and query, status, time, size.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		client, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			client = r.RemoteAddr
		}
		s.log.Printf("%s %s %s %d %s %dB", client, r.Method, r.URL.RequestURI(), rec.status,
			time.Since(start).Round(10*time.Microsecond), rec.bytes)
	})
}

type recorder struct {
	http.ResponseWriter
	status int
	bytes  int
	wrote  bool
}

func (r *recorder) WriteHeader(status int) {
	if !r.wrote {
		r.status, r.wrote = status, true
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.wrote = true
	n, err := r.ResponseWriter.Write(b)
	r.bytes += n
	return n, err
}

// Options configure Run.
type Options struct {
	Dir  string    // the output folder of `marketplace build`
	Addr string    // host:port; "" means DefaultAddr
	Log  io.Writer // request log
	// Ready, when set, is called with the address listened on (useful with port 0).
	Ready func(addr string)
}

// Run serves until ctx is done (SIGTERM, Ctrl-C), then stops accepting connections and gives
// requests in flight ShutdownTimeout to finish before closing them.
func Run(ctx context.Context, opts Options) error {
	s, err := New(opts.Dir, opts.Log)
	if err != nil {
		return err
	}
	defer s.Close()
	addr := opts.Addr
	if addr == "" {
		addr = DefaultAddr
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	if opts.Ready != nil {
		opts.Ready(ln.Addr().String())
	}
	return serveUntil(ctx, ln, s.Handler(), s.log)
}

// serveUntil serves on ln until ctx is done, then shuts down gracefully.
func serveUntil(ctx context.Context, ln net.Listener, h http.Handler, logger *log.Logger) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		WriteTimeout:      WriteTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          logger,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
		return fmt.Errorf("shutting down: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
