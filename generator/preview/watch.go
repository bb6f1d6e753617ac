package preview

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/hspc/marketplace/catalog"
)

// watched are the top-level entries of the catalog a build reads; changes elsewhere (an output
// folder inside the repository, .git) do not concern the preview.
var watched = map[string]bool{catalog.IndexFile: true, catalog.ProductsDir: true, "signatures": true}

// watch starts watching the catalog's files and rebuilding after changes, until ctx is done or
// the returned watcher is closed.
func (s *Server) watch(ctx context.Context) (*fsnotify.Watcher, error) {
	root := s.root()
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	if err := w.Add(root); err != nil {
		w.Close()
		return nil, err
	}
	for name := range watched {
		s.addTree(w, filepath.Join(root, name))
	}
	go s.loop(ctx, w, root)
	return w, nil
}

func (s *Server) root() string { return s.opts.Build.Root }

// addTree watches dir and every folder below it (inotify watches one folder at a time).
func (s *Server) addTree(w *fsnotify.Watcher, dir string) {
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		if err := w.Add(p); err != nil {
			s.log.Printf("not watching %s: %v", p, err)
		}
		return nil
	})
}

// relevant reports whether a change at name (absolute) concerns the catalog.
func relevant(root, name string) bool {
	rel, err := filepath.Rel(root, name)
	if err != nil {
		return false
	}
	top, _, _ := strings.Cut(filepath.ToSlash(rel), "/")
	return watched[top]
}

// loop collects events and rebuilds once they pause for Debounce.
func (s *Server) loop(ctx context.Context, w *fsnotify.Watcher, root string) {
	var timer *time.Timer
	var fire <-chan time.Time
	var first string
	changed := map[string]bool{}
	overflow := false // events were lost: what changed is unknown
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-w.Events:
			if !ok {
				return
			}
			if !relevant(root, ev.Name) {
				continue
			}
			if ev.Has(fsnotify.Create) {
				if info, err := os.Stat(ev.Name); err == nil && info.IsDir() {
					s.addTree(w, ev.Name) // a new product's asset folder, a new publisher
				}
			}
			rel, _ := filepath.Rel(root, ev.Name)
			changed[filepath.ToSlash(rel)] = true
			if first == "" {
				first = rel
			}
			if timer == nil {
				timer = time.NewTimer(Debounce)
			} else {
				timer.Reset(Debounce)
			}
			fire = timer.C
		case err, ok := <-w.Errors:
			if !ok {
				return
			}
			s.log.Printf("watching: %v", err)
			overflow = true
		case <-fire:
			fire = nil
			var paths []string
			if !overflow {
				paths = make([]string, 0, len(changed))
				for p := range changed {
					paths = append(paths, p)
				}
			}
			s.rebuild(ctx, filepath.ToSlash(first)+" changed", paths)
			first, changed, overflow = "", map[string]bool{}, false
		}
	}
}
