package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hspc/marketplace/catalog"
	"github.com/hspc/marketplace/catalog/federate"
	"github.com/hspc/marketplace/catalog/gitrepo"
	"github.com/hspc/marketplace/catalog/review"
	"github.com/hspc/marketplace/catalog/verify"
)

func newValidate(g *globals) *cobra.Command {
	var format, base, author, ref, cacheDir, material string
	var upstreams federate.UpstreamOptions
	var loadCache loadCacheFlag
	cmd := &cobra.Command{
		Use:   "validate [PATH...]",
		Short: "Check the catalog's TOML files and report every problem at once",
		Long: `validate loads index.toml and every publisher and product file, and reports every problem
at once as path:line:col: severity: message (rule N), sorted by file and position.

With PATH arguments (files or folders of the catalog), only problems in those files are shown;
the whole catalog is still loaded, so cross-file checks stay right. Exit status 1 if any error.

With --base REV, validate reviews a change the way a pull request is reviewed: it compares the
work tree (or --ref REV) with the merge base of REV, shows only the problems of what changed and
of what a change can affect (an edited interface re-checks every product that exposes or needs
it), and, with --author HANDLE, checks that the author may change every file: products/<publisher>/
belongs to that publisher's maintainers as of REV, everything else to the catalog owners (index.toml
[catalog] owners). --format markdown writes the pull-request summary.

A committed .github/CODEOWNERS must match what marketplace codeowners writes.

Upstreams ([[upstreams]] in index.toml) are read at the commits upstreams.lock pins, checked on
their own and merged: their problems show with the upstream's name before the path
(hspc:products/acme/fhir.toml:3:1).`,
		Example: `  marketplace validate
  marketplace validate products/acme
  marketplace validate --format github   # annotations in a GitHub Actions job
  marketplace validate --base main --author jdoe
  marketplace validate --base origin/main --ref HEAD --author jdoe --format markdown`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !slices.Contains(validateFormats, format) {
				return fmt.Errorf("unknown --format %q (want %s)", format, strings.Join(validateFormats, ", "))
			}
			if base == "" && (author != "" || ref != "" || format == "markdown") {
				return errors.New("--author, --ref and --format markdown need --base REV")
			}
			root, err := g.catalogRoot()
			if err != nil {
				return err
			}
			if base != "" {
				if len(args) > 0 {
					return errors.New("--base reviews what changed; it takes no PATH arguments")
				}
				if material == "" {
					material = verify.DefaultMaterial(root)
				}
				return g.validateChange(cmd.Context(), root, changeOptions{base: base, ref: ref, author: author, format: format, cacheDir: cacheDir, material: material})
			}
			filters, err := relPaths(root, args)
			if err != nil {
				return err
			}
			fsys := os.DirFS(root)
			cache := loadCache.open(root)
			c, ds := catalog.CheckCached(fsys, cache)
			loadCache.save(cache, g.stderr)
			ds = append(ds, review.CheckCodeOwners(fsys, c)...)
			if !ds.HasErrors() {
				fed, fds := federate.Federate(cmd.Context(), fsys, c, upstreams.At(root))
				defer fed.Close()
				c, ds = fed.Catalog, append(ds, fds...)
			}
			ds.Sort()
			if len(filters) > 0 {
				ds = slices.DeleteFunc(ds, func(d catalog.Diagnostic) bool { return !underAny(d.Path, filters) })
			}
			if err := ds.Write(g.stdout, format); err != nil {
				return err
			}
			errs, warns := ds.Errors(), len(ds)-ds.Errors()
			summary := fmt.Sprintf("%d products from %d publishers: %s, %s", len(c.Products), len(c.Publishers), plural(errs, "error"), plural(warns, "warning"))
			if errs > 0 {
				return problemsError{summary}
			}
			if format != "json" {
				fmt.Fprintln(g.stderr, summary)
			}
			return nil
		},
	}
	loadCache.register(cmd)
	f := cmd.Flags()
	f.StringVar(&format, "format", "text", "output `FORMAT`: text, github (workflow annotations), json, or markdown (with --base: the pull-request summary)")
	f.StringVar(&base, "base", "", "review the change from the merge base of `REV` (a branch, tag or commit)")
	f.StringVar(&author, "author", "", "with --base: the change's author (a Git host `HANDLE`), whose rights are checked")
	f.StringVar(&ref, "ref", "", "with --base: review revision `REV` instead of the work tree")
	f.StringVar(&cacheDir, "cache", defaultCacheDir(), "with --base: verification cache `DIR`, read offline for the new builds' signatures")
	f.StringVar(&material, "material", "", "with --base: signature material `DIR` (default: the catalog's signatures/ folder)")
	f.BoolVar(&upstreams.Offline, "offline", false, "read upstreams from the upstreams cache only; fetch nothing")
	upstreamFlags(f, &upstreams)
	return cmd
}

var validateFormats = append(slices.Clone(catalog.Formats), "markdown")

type changeOptions struct {
	base, ref, author, format, cacheDir, material string
}

// validateChange reviews the change from the merge base of o.base to o.ref (the work tree when
// empty): Git supplies the trees and the changed files, the catalog package the checks, verify
// the signatures already verified (offline), and review the rest.
func (g *globals) validateChange(ctx context.Context, root string, o changeOptions) error {
	repo, err := gitrepo.Open(root)
	if err != nil {
		return err
	}
	defer repo.Close()
	ch, err := loadChange(repo, root, o.base, o.ref)
	if err != nil {
		return err
	}
	checks := ch.checks
	checks = append(checks, review.CheckCodeOwners(ch.newFS, ch.new)...)
	in := review.Input{
		Old: ch.old, New: ch.new, OldFS: ch.oldFS, NewFS: ch.newFS, Rules: ch.rules,
		Files: ch.files, Author: o.author, Checks: checks,
		Signatures: verifiedSignatures(ctx, ch, o.cacheDir, o.material),
	}
	res := review.Review(in)
	ds := res.Diagnostics
	errs, warns := ds.Errors(), len(ds)-ds.Errors()
	summary := fmt.Sprintf("%d products changed, %d re-checked: %s, %s", len(res.Products), len(res.Affected), plural(errs, "error"), plural(warns, "warning"))
	switch o.format {
	case "markdown":
		err = res.WriteMarkdown(g.stdout, o.base)
	case "text":
		if err = ds.Write(g.stdout, o.format); err == nil {
			err = res.WriteText(g.stdout)
		}
	default:
		err = ds.Write(g.stdout, o.format)
	}
	if err != nil {
		return err
	}
	if errs > 0 {
		return problemsError{summary}
	}
	if o.format != "json" {
		fmt.Fprintln(g.stderr, summary)
	}
	return nil
}

// change is a catalog change read from Git: the trees and catalogs on each side.
type change struct {
	files           []string
	old, new, rules *catalog.Catalog
	oldFS, newFS    fs.FS
	checks          catalog.Diagnostics // of validating new
}

// loadChange reads the catalog at the merge base of base and ref, at ref (the work tree when ref
// is ""), and at base itself, whose maintainers and owners decide.
func loadChange(repo *gitrepo.Repo, root, base, ref string) (*change, error) {
	mb, err := repo.MergeBase(base, ref)
	if err != nil {
		return nil, err
	}
	ch := &change{}
	if ch.files, err = repo.ChangedFiles(mb, ref); err != nil {
		return nil, err
	}
	if ch.oldFS, _, err = repo.FS(mb); err != nil {
		return nil, err
	}
	rulesFS, _, err := repo.FS(base)
	if err != nil {
		return nil, err
	}
	if ref == "" {
		ch.newFS = os.DirFS(root)
	} else if ch.newFS, _, err = repo.FS(ref); err != nil {
		return nil, err
	}
	ch.old, _ = catalog.Load(ch.oldFS)
	ch.rules, _ = catalog.Load(rulesFS)
	ch.new, ch.checks = catalog.Check(ch.newFS)
	return ch, nil
}

// verifiedSignatures re-verifies, offline, the builds of the changed products from the
// verification cache and the signature material: what an earlier online verify run found.
func verifiedSignatures(ctx context.Context, ch *change, cacheDir, material string) map[string]review.Signature {
	ids := review.ChangedProducts(ch.files, ch.new)
	if len(ids) == 0 {
		return nil
	}
	report, _ := verify.Verify(ctx, ch.newFS, ch.new, ids, verify.Options{Offline: true, CacheDir: cacheDir, Material: material})
	out := map[string]review.Signature{}
	for _, m := range report.Images {
		if m.Result == nil {
			continue
		}
		for _, b := range m.Result.Builds {
			out[m.Digest] = review.Signature{Verified: b.Verified, Signer: b.Signer, Error: b.Error}
		}
	}
	return out
}

// relPaths turns PATH arguments into slash paths relative to the catalog root.
func relPaths(root string, args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		abs, err := filepath.Abs(a)
		if err != nil {
			return nil, err
		}
		if _, err := os.Stat(abs); err != nil && !filepath.IsAbs(a) {
			abs = filepath.Join(root, a) // relative to the catalog, as with -C from elsewhere
		}
		if _, err := os.Stat(abs); err != nil {
			return nil, fmt.Errorf("%s: no such file or folder", a)
		}
		rel, err := filepath.Rel(root, abs)
		if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return nil, fmt.Errorf("%s is outside the catalog %s", a, root)
		}
		out = append(out, filepath.ToSlash(rel))
	}
	return out, nil
}

// underAny reports whether path is one of dirs or inside one of them. A product file also
// covers its asset folder ("products/acme/fhir.toml" covers "products/acme/fhir/").
func underAny(path string, dirs []string) bool {
	for _, d := range dirs {
		if d == "." || path == d || strings.HasPrefix(path, d+"/") || strings.HasPrefix(path, strings.TrimSuffix(d, ".toml")+"/") {
			return true
		}
	}
	return false
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
