// Package serve is `marketplace serve`: an HTTP server for a folder built by `marketplace
// build`. It serves the static site as any web server would (404.html for missing pages) and
// answers GET /api/search from the folder's bleve index, so the site's search page asks the
// server instead of searching in the browser. A rebuild of the folder (which replaces it in one
// rename) is picked up without a restart.
package serve

import (
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
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

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

// Server serves one output folder.
type Server struct {
	dir string
	log *log.Logger

	mu      sync.RWMutex // held for reading by searches, for writing to swap the index
	idx     *search.Index
	opened  os.FileInfo // the folder the index was opened from
	checked time.Time   // when the folder was last compared with opened
	openErr error
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
	s := &Server{dir: dir, log: log.New(logOut, "", log.LstdFlags)}
	s.reopen()
	return s, nil
}

// Close releases the index.
func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.idx == nil {
		return nil
	}
	err := s.idx.Close()
	s.idx = nil
	return err
}

// reopen opens the folder's index, replacing the open one. The caller holds s.mu or is New.
func (s *Server) reopen() {
	info, _ := os.Stat(s.dir)
	idx, err := search.Open(s.dir)
	if s.idx != nil {
		s.idx.Close()
	}
	s.idx, s.openErr, s.opened, s.checked = idx, err, info, time.Now()
	if err != nil {
		s.log.Printf("search unavailable: %v", err)
	}
}

// index returns the open index, reopening it first when the folder has been rebuilt since,
// and a function to call when done with it.
func (s *Server) index() (*search.Index, func(), error) {
	s.mu.RLock()
	if time.Since(s.checked) > time.Second {
		info, err := os.Stat(s.dir)
		stale := err == nil && (s.opened == nil || !os.SameFile(info, s.opened))
		s.mu.RUnlock()
		s.mu.Lock()
		if stale && (s.opened == nil || !os.SameFile(info, s.opened)) {
			s.log.Printf("%s was rebuilt: reopening its search index", s.dir)
			s.reopen()
		}
		s.checked = time.Now()
		s.mu.Unlock()
		s.mu.RLock()
	}
	if s.idx == nil {
		err := s.openErr
		s.mu.RUnlock()
		return nil, nil, err
	}
	return s.idx, s.mu.RUnlock, nil
}

// Handler returns the server's routes: the search API and the site's files, with a request log.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(APIPath, s.search)
	mux.Handle("/", s.files())
	return s.logRequests(mux)
}

// search answers GET and HEAD /api/search?q=…&facet=field:value&from=&size=&highlight=1.
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
	defer done()
	if r.Method == http.MethodHead {
		w.Header().Set("Content-Type", "application/json")
		return
	}
	req, err := parseRequest(r.URL.Query())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), SearchTimeout)
	defer cancel()
	res, err := idx.Search(ctx, req)
	if err != nil {
		status := http.StatusInternalServerError
		if errors.Is(err, context.DeadlineExceeded) {
			status = http.StatusServiceUnavailable
		}
		writeError(w, status, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, res)
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
	}{{"from", &req.From, 1 << 20}, {"size", &req.Size, search.MaxSize}} {
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
	data, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
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
// 404) for what is missing, and nothing of the search index or dot files.
func (s *Server) files() http.Handler {
	fileServer := http.FileServer(http.Dir(s.dir))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		p := path.Clean("/" + r.URL.Path)
		if hidden(p) || !exists(filepath.Join(s.dir, filepath.FromSlash(p))) {
			s.notFound(w, r)
			return
		}
		fileServer.ServeHTTP(w, r)
	})
}

// hidden reports whether a path is outside what the site publishes.
func hidden(p string) bool {
	for _, seg := range strings.Split(p, "/") {
		if strings.HasPrefix(seg, ".") || seg == search.IndexDir {
			return true
		}
	}
	return false
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	data, err := os.ReadFile(filepath.Join(s.dir, "404.html"))
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
