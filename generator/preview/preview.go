// Package preview is `marketplace preview`: a local web server that shows the site a build would
// make from the work tree as it is being edited, for publishers (ISVs) writing their product
// files. It keeps the catalog in memory, watches the catalog's files, plans the site again when
// one is saved (only changed product files are parsed and validated again, and only pages whose
// inputs changed are rendered again, when a browser asks for them), and tells open pages to
// reload through server-sent events. When the saved files have errors, every page shows them in
// an overlay — path:line:col: message, as `marketplace validate` prints them — over the last
// version that had none. Nothing is written to disk.
//
// The watcher uses fsnotify (inotify, kqueue, ReadDirectoryChangesW): an event arrives within
// milliseconds of a save at no cost while nothing changes, where polling 20 000 files of a large
// catalog would cost a core and still be slower. Only index.toml, products/ and signatures/ are
// watched: they are all a build reads.
package preview

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"log"
	"mime"
	"net"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hspc/marketplace/catalog"
	"github.com/hspc/marketplace/generator"
	"github.com/hspc/marketplace/generator/page"
)

// DefaultAddr is where the preview listens unless told otherwise: loopback only.
const DefaultAddr = "127.0.0.1:8080"

// Prefix is the URL folder of the preview's own endpoints; no catalog page lives there.
const Prefix = "/_preview/"

// Debounce is how long the watcher waits after a change for more changes before planning again:
// an editor's save is often several events (write a temporary file, rename it over the old one).
const Debounce = 30 * time.Millisecond

// Options configure a preview.
type Options struct {
	// Build says what to preview: Root, Theme, Verify (and Material, TrustedRoot, CacheDir when
	// verifying). Out and Ref are not used.
	Build generator.Options
	// Log receives one line per rebuild and per problem; nil discards them.
	Log io.Writer
}

// Server is a running preview.
type Server struct {
	opts    Options
	planner *generator.Planner
	log     *log.Logger

	mu      sync.RWMutex
	state   *state
	clients map[chan uint64]struct{}

	// rendered holds rendered pages by key. Pages are rendered when asked for, once per key:
	// after a save only pages whose key changed render again.
	renderMu sync.Mutex
	rendered map[string]*rendering
}

// state is what one run of the planner gave.
type state struct {
	version uint64
	good    *generator.Plan                 // the latest plan without errors, nil before the first
	pages   map[string]page.Page            // the site's
	later   map[string]map[string]page.Page // good.Later's pages by prefix, planned on first use
	latest  *generator.Plan                 // the latest plan, with its diagnostics
	err     error                           // the latest run's error other than the catalog's own
	took    time.Duration
}

type rendering struct {
	once sync.Once
	data []byte
	err  error
}

// New plans the site once. A catalog with errors is not an error here: the preview starts and
// shows them.
func New(ctx context.Context, opts Options) (*Server, error) {
	logOut := opts.Log
	if logOut == nil {
		logOut = io.Discard
	}
	planner, err := generator.NewPlanner(opts.Build)
	if err != nil {
		return nil, err
	}
	s := &Server{opts: opts, planner: planner, log: log.New(logOut, "preview: ", log.Ltime), clients: map[chan uint64]struct{}{},
		rendered: map[string]*rendering{}}
	s.rebuild(ctx, "start", nil)
	return s, nil
}

// Close releases the planner.
func (s *Server) Close() { s.planner.Close() }

// Version is the number of the latest plan; it grows by one with each rebuild.
func (s *Server) Version() uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.state.version
}

// Diagnostics returns the latest plan's diagnostics.
func (s *Server) Diagnostics() catalog.Diagnostics {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.state.latest == nil {
		return nil
	}
	return s.state.latest.Diagnostics
}

// rebuild plans the site again, swaps it in, and tells the open pages to reload. changed are the
// files that changed since the last rebuild, or nil when unknown.
func (s *Server) rebuild(ctx context.Context, why string, changed []string) {
	start := time.Now()
	plan, err := s.planner.Plan(ctx, changed)
	st := &state{latest: plan, took: time.Since(start)}
	if err != nil && !errors.Is(err, generator.ErrInvalid) {
		st.err = err
	}
	s.mu.Lock()
	prev := s.state
	if prev != nil {
		st.version = prev.version + 1
		st.good, st.pages = prev.good, prev.pages
	}
	if err == nil {
		st.good = plan
		st.pages = make(map[string]page.Page, len(plan.Pages))
		for _, p := range plan.Pages {
			st.pages[p.Path] = p
		}
	} else if prev != nil {
		st.later = prev.later
	}
	s.state = st
	for c := range s.clients {
		select {
		case c <- st.version:
		default: // a client that has not read the previous version gets this one instead
			select {
			case <-c:
			default:
			}
			c <- st.version
		}
	}
	s.mu.Unlock()
	if err == nil {
		s.prune(st)
	}
	switch {
	case st.err != nil:
		s.log.Printf("%s: %v", why, st.err)
	case plan != nil && plan.Diagnostics.HasErrors():
		s.log.Printf("%s: %d errors (the preview shows the last version without errors)", why, plan.Diagnostics.Errors())
		for _, d := range plan.Diagnostics {
			if d.Severity == catalog.Error {
				s.log.Print(d.String())
			}
		}
	default:
		s.log.Printf("%s: %d products, %d pages planned in %s", why, len(plan.Catalog.Products), len(plan.Pages), st.took.Round(time.Millisecond))
	}
}

// prune forgets rendered pages no page of st has the key of, and keyless pages of earlier
// versions.
func (s *Server) prune(st *state) {
	keep := make(map[string]bool, len(st.pages))
	for _, p := range st.pages {
		keep[p.Key] = true
	}
	current := versionKey(st.version)
	s.renderMu.Lock()
	defer s.renderMu.Unlock()
	for k := range s.rendered {
		if !keep[k] && !strings.HasPrefix(k, current) {
			delete(s.rendered, k)
		}
	}
}

// versionKey prefixes the memo keys of keyless pages rendered for one plan version.
func versionKey(v uint64) string { return "v" + strconv.FormatUint(v, 10) + ":" }

// render returns the bytes of p, rendering it once per key; a page without a key (a product
// page) once per plan version.
func (s *Server) render(st *state, p page.Page) ([]byte, error) {
	key := p.Key
	if key == "" {
		key = versionKey(st.version) + p.Path
	}
	s.renderMu.Lock()
	r, ok := s.rendered[key]
	if !ok {
		r = &rendering{}
		s.rendered[key] = r
	}
	s.renderMu.Unlock()
	r.once.Do(func() { r.data, r.err = p.Bytes() })
	return r.data, r.err
}

// lookup finds the page for a URL path in st.
func (s *Server) lookup(st *state, urlPath string) (page.Page, bool) {
	p := strings.TrimPrefix(path.Clean("/"+urlPath), "/")
	if p == "" || strings.HasSuffix(urlPath, "/") {
		p = path.Join(p, "index.html")
	}
	if pg, ok := st.pages[p]; ok {
		return pg, true
	}
	if st.good == nil {
		return page.Page{}, false
	}
	// The other outputs are planned when first asked for, by the longest prefix that names them.
	prefix := ""
	for pre := range st.good.Later {
		if strings.HasPrefix(p, pre) && len(pre) > len(prefix) {
			prefix = pre
		}
	}
	if prefix == "" {
		return page.Page{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if st.later == nil {
		st.later = map[string]map[string]page.Page{}
	}
	set := st.later[prefix]
	if set == nil {
		set = map[string]page.Page{}
		for _, pg := range st.good.Later[prefix]() {
			set[pg.Path] = pg
		}
		st.later[prefix] = set
	}
	pg, ok := set[p]
	return pg, ok
}

// Handler serves the preview.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+Prefix+"events", s.events)
	mux.HandleFunc("GET "+Prefix+"live.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		io.WriteString(w, liveJS)
	})
	mux.HandleFunc("GET "+Prefix+"overlay.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		io.WriteString(w, overlayCSS)
	})
	mux.HandleFunc("GET /", s.page)
	return mux
}

func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	s.mu.RLock()
	st := s.state
	s.mu.RUnlock()
	w.Header().Set("Cache-Control", "no-store") // a preview is never stale in the browser
	pg, ok := s.lookup(st, r.URL.Path)
	status := http.StatusOK
	if !ok {
		status = http.StatusNotFound
		pg, ok = st.pages["404.html"]
	}
	if !ok {
		// No plan without errors yet: a bare page that shows the overlay.
		s.write(w, st, status, "index.html", []byte("<!doctype html><html><head><meta charset=\"utf-8\"><title>Preview</title></head><body><p>No preview yet.</p></body></html>"))
		return
	}
	data, err := s.render(st, pg)
	if err != nil {
		s.log.Printf("rendering %s: %v", pg.Path, err)
		http.Error(w, "rendering "+pg.Path+": "+err.Error(), http.StatusInternalServerError)
		return
	}
	s.write(w, st, status, pg.Path, data)
}

// write sends a page; HTML pages get the reload script and, when the latest plan failed, the
// overlay with its errors.
func (s *Server) write(w http.ResponseWriter, st *state, status int, name string, data []byte) {
	ctype := mime.TypeByExtension(path.Ext(name))
	if ctype == "" {
		ctype = http.DetectContentType(data)
	}
	w.Header().Set("Content-Type", ctype)
	if strings.HasPrefix(ctype, "text/html") {
		data = inject(data, s.overlay(st), st.version)
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(status)
	w.Write(data)
}

// inject inserts the preview's script (and overlay) before </body>.
func inject(page []byte, overlay string, version uint64) []byte {
	snippet := fmt.Sprintf(`<link rel="stylesheet" href="%soverlay.css">%s<script src="%slive.js" data-version="%d" defer></script>`,
		Prefix, overlay, Prefix, version)
	i := bytes.LastIndex(page, []byte("</body>"))
	if i < 0 {
		return append(page, snippet...)
	}
	out := make([]byte, 0, len(page)+len(snippet))
	out = append(out, page[:i]...)
	out = append(out, snippet...)
	return append(out, page[i:]...)
}

// overlay is the HTML of the error overlay for st, or "" when there is nothing to show.
func (s *Server) overlay(st *state) string {
	var errs []string
	switch {
	case st.err != nil:
		errs = []string{st.err.Error()}
	case st.latest != nil:
		for _, d := range st.latest.Diagnostics {
			if d.Severity == catalog.Error {
				errs = append(errs, d.String())
			}
		}
	}
	if len(errs) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString(`<div id="marketplace-preview-overlay" role="alert"><div class="mpo-box"><p class="mpo-title">`)
	fmt.Fprintf(&b, "%d %s", len(errs), map[bool]string{true: "error", false: "errors"}[len(errs) == 1])
	b.WriteString(` in the catalog</p><p class="mpo-note">`)
	if st.good != nil {
		b.WriteString("This page shows the last version without errors. Fix them and save: the page reloads.")
	} else {
		b.WriteString("There is no version without errors to show yet. Fix them and save: the page reloads.")
	}
	b.WriteString(`</p><ul class="mpo-list">`)
	for _, e := range errs {
		b.WriteString("<li><code>" + html.EscapeString(e) + "</code></li>")
	}
	b.WriteString(`</ul><button type="button" class="mpo-close">Hide</button></div></div>`)
	return b.String()
}

// events streams the plan version to one page: first the current one, then one event per
// rebuild. The page reloads when the version differs from the one it was served with.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	rc.SetWriteDeadline(time.Time{}) // a stream outlives the server's write timeout
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	c := make(chan uint64, 1)
	s.mu.Lock()
	s.clients[c] = struct{}{}
	version := s.state.version
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.clients, c)
		s.mu.Unlock()
	}()
	send := func(v uint64) bool {
		_, err := fmt.Fprintf(w, "event: version\ndata: %d\n\n", v)
		return err == nil && rc.Flush() == nil
	}
	if _, err := io.WriteString(w, "retry: 300\n\n"); err != nil || !send(version) {
		return
	}
	keepalive := time.NewTicker(15 * time.Second)
	defer keepalive.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case v := <-c:
			if !send(v) {
				return
			}
		case <-keepalive.C:
			if _, err := io.WriteString(w, ": keepalive\n\n"); err != nil || rc.Flush() != nil {
				return
			}
		}
	}
}

// Serve watches the catalog and serves the preview on l until ctx is done.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	w, err := s.watch(ctx)
	if err != nil {
		return err
	}
	defer w.Close()
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	srv.Shutdown(shutdown) // event streams end with ctx; pages finish or are cut
	return nil
}

const liveJS = `// marketplace preview: reload this page when the catalog changes; hide the error overlay on demand.
(() => {
  const me = document.currentScript;
  const served = me ? me.dataset.version : "";
  const overlay = document.getElementById("marketplace-preview-overlay");
  if (overlay) {
    overlay.querySelector(".mpo-close").addEventListener("click", () => overlay.remove());
  }
  const events = new EventSource("` + Prefix + `events");
  // Says the page is listening (tests wait for it before saving a file).
  events.addEventListener("open", () => { document.documentElement.dataset.previewLive = "open"; });
  events.addEventListener("version", (e) => {
    if (e.data !== served) {
      events.close();
      location.reload();
    }
  });
})();
`

const overlayCSS = `#marketplace-preview-overlay { position: fixed; inset: 0; z-index: 2147483647; background: rgba(20, 20, 24, .55); display: flex; align-items: flex-start; justify-content: center; padding: 5vh 1rem; overflow: auto; }
#marketplace-preview-overlay .mpo-box { background: #fff; color: #1c1c1c; max-width: 60rem; width: 100%; border-radius: 8px; border-top: 6px solid #c0262d; padding: 1.25rem 1.5rem; box-shadow: 0 10px 40px rgba(0, 0, 0, .35); font: 15px/1.5 system-ui, sans-serif; }
#marketplace-preview-overlay .mpo-title { font-size: 1.25rem; font-weight: 700; color: #c0262d; margin: 0 0 .25rem; }
#marketplace-preview-overlay .mpo-note { margin: 0 0 1rem; }
#marketplace-preview-overlay .mpo-list { margin: 0 0 1rem; padding: 0; list-style: none; }
#marketplace-preview-overlay .mpo-list li { padding: .4rem 0; border-top: 1px solid #eee; }
#marketplace-preview-overlay code { font: 13px/1.45 ui-monospace, monospace; white-space: pre-wrap; word-break: break-word; }
#marketplace-preview-overlay .mpo-close { font: inherit; padding: .3rem .9rem; border: 1px solid #bbb; border-radius: 6px; background: #f6f6f6; cursor: pointer; }
`
