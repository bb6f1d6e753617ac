package federate

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/hspc/marketplace/catalog"
	"github.com/hspc/marketplace/catalog/trust"
)

// site returns where the signed site of upstream cfg is read from: opts.Sites (a folder
// carried in on media) before index.toml's site; a relative folder is relative to the catalog.
func (o UpstreamOptions) site(cfg catalog.Upstream) string {
	s := cfg.Site
	if m, ok := o.Sites[cfg.Name]; ok {
		s = m // relative to the working directory, as given on the command line
	} else if strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") {
		return s
	} else {
		s = o.resolve(s)
	}
	if abs, err := filepath.Abs(s); err == nil {
		s = abs // go-tuf joins URLs: a folder must be absolute
	}
	return s
}

// verifySite verifies the signed site of upstream cfg (the i-th of index.toml) through TUF,
// refuses one older than the timestamp version upstreams.lock recorded (recorded, at lockKey),
// and checks that every product of the upstream's commit (upFS) that the merge would take, with
// each of its image digests, is in the signed catalog. It returns the timestamp version verified.
func verifySite(ctx context.Context, localFS fs.FS, i int, cfg catalog.Upstream, recorded int64, lockKey string, upFS fs.FS, opts UpstreamOptions) (int64, catalog.Diagnostics) {
	var ds catalog.Diagnostics
	errAt := func(fsys fs.FS, prefix, path, key, format string, args ...any) {
		line, col := catalog.KeyPosition(fsys, path, key)
		if prefix != "" {
			path = prefix + ":" + path
		}
		ds = append(ds, catalog.Diagnostic{Path: path, Line: line, Col: col, Key: key, Severity: catalog.Error, Message: fmt.Sprintf(format, args...)})
	}
	key := fmt.Sprintf("upstreams[%d]", i)
	root, err := fs.ReadFile(localFS, cfg.Root)
	if err != nil {
		errAt(localFS, "", catalog.IndexFile, key+".root", "upstream %q: cannot read its root %s: %v", cfg.Name, cfg.Root, err)
		return 0, ds
	}
	site := opts.site(cfg)
	cache := opts.CacheDir
	if cache == "" {
		cache = DefaultCacheDir()
	}
	snap, err := trust.VerifyUpstream(ctx, trust.Upstream{Name: cfg.Name, URL: site, Root: root, StateDir: trust.UpstreamStateDir(cache, cfg.Name), RefTime: opts.TrustTime})
	if err != nil {
		var r *trust.Refusal
		if errors.As(err, &r) {
			err = r
		}
		errAt(localFS, "", catalog.IndexFile, key+".site", "upstream %q: signed site %s: %v; upstreams.lock not changed for it", cfg.Name, site, err)
		return 0, ds
	}
	if err := snap.CheckRecorded(cfg.Name, recorded); err != nil {
		errAt(localFS, "", catalog.LockFile, lockKey+".snapshot", "upstream %q: signed site %s: %v", cfg.Name, site, err)
		return 0, ds
	}
	uc, _ := catalog.Load(upFS)
	for _, id := range uc.SortedProductIDs() {
		p := uc.Products[id]
		if !cfg.MatchPublisher(p.Publisher) {
			continue // refused by the merge, with its own message
		}
		if problems := snap.CheckMerged(cfg.Name, map[string][]string{id: nil}); len(problems) > 0 {
			errAt(upFS, cfg.Name, p.Path, "", "%s: its Git commit carries a product its signed site does not; wait until the upstream publishes it, or ask its operators", problems[0])
			continue
		}
		for k, b := range p.Builds {
			d := b.Digest()
			if d == "" {
				continue
			}
			if problems := snap.CheckMerged(cfg.Name, map[string][]string{id: {d}}); len(problems) > 0 {
				errAt(upFS, cfg.Name, p.Path, fmt.Sprintf("builds[%d].image", k), "%s: its Git commit carries an image its signed site does not; wait until the upstream publishes it, or ask its operators", problems[0])
			}
		}
	}
	return snap.Timestamp, ds
}
