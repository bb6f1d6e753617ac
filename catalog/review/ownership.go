package review

import (
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/hspc/marketplace/catalog"
)

// owned is what the ownership check found.
type owned struct {
	// located are positioned on the new tree; oldLocated on the old one (a removed publisher).
	located, oldLocated catalog.Diagnostics
	approvers           []string
	// allowed reports whether the author may make every change without another review.
	allowed bool
	// newPublishers are publisher folders that do not exist on the base branch.
	newPublishers []string
}

// ownership decides who may approve each changed file and whether the author may change it:
//
//   - products/<publisher>/** of a publisher that exists on the base branch: its maintainers as of
//     the base branch (or a catalog owner). Anyone else is refused, with an error on the
//     maintainers line of publisher.toml.
//   - a new publisher folder: a catalog owner reviews it (a warning, not a refusal: it is how new
//     publishers arrive).
//   - everything else (index.toml, upstreams.lock, .github/, ...): the catalog owners; anyone else
//     is refused, with an error on the owners line of index.toml.
func ownership(in Input, res *Result) owned {
	var o owned
	o.allowed = in.Author != ""
	owners := res.Owners
	isOwner := in.Author != "" && containsFold(owners, in.Author)
	var approvers []string

	byPublisher := map[string][]string{}
	var pubs []string
	for _, f := range in.Files {
		if pub, _, ok := publisherPath(f); ok {
			if byPublisher[pub] == nil {
				pubs = append(pubs, pub)
			}
			byPublisher[pub] = append(byPublisher[pub], f)
		}
	}
	slices.Sort(pubs)
	for _, pub := range pubs {
		files := byPublisher[pub]
		rules := publisher(in.Rules, pub)
		if rules == nil {
			o.newPublishers = append(o.newPublishers, pub)
			approvers = append(approvers, owners...)
			if isOwner {
				continue
			}
			o.allowed = false
			if in.Author == "" {
				continue
			}
			d := catalog.Diagnostic{
				Path: path.Join(catalog.ProductsDir, pub, catalog.PublisherFile), Severity: catalog.Warning,
				Message: fmt.Sprintf("new publisher %s: a catalog owner (%s) must review it before it is merged", pub, handles(owners, "none declared in index.toml")),
			}
			if exists(in.NewFS, d.Path) {
				d.Line, d.Col = 1, 1
			}
			o.located = append(o.located, d)
			continue
		}
		approvers = append(approvers, rules.Maintainers...)
		if in.Author == "" || isOwner || containsFold(rules.Maintainers, in.Author) {
			continue
		}
		o.allowed = false
		msg := fmt.Sprintf("@%s may not change %s: only the maintainers of %s as of the base branch (%s) or a catalog owner may",
			in.Author, describeFiles(files), pub, handles(rules.Maintainers, "none"))
		if np := publisher(in.New, pub); np != nil && containsFold(np.Maintainers, in.Author) {
			msg += "; a pull request cannot add its own author to maintainers"
		}
		d := catalog.Diagnostic{Path: path.Join(catalog.ProductsDir, pub, catalog.PublisherFile), Severity: catalog.Error, Message: msg, Key: "maintainers"}
		if exists(in.NewFS, d.Path) {
			o.located = append(o.located, d)
		} else {
			o.oldLocated = append(o.oldLocated, d)
		}
	}

	if len(res.Catalog) > 0 {
		approvers = append(approvers, owners...)
		if !isOwner {
			o.allowed = false
			if in.Author != "" {
				d := catalog.Diagnostic{Path: catalog.IndexFile, Severity: catalog.Error, Key: "catalog.owners",
					Message: fmt.Sprintf("@%s may not change %s: only the catalog owners as of the base branch (%s) may",
						in.Author, describeFiles(res.Catalog), handles(owners, "none declared"))}
				if exists(in.NewFS, d.Path) {
					o.located = append(o.located, d)
				} else {
					o.oldLocated = append(o.oldLocated, d)
				}
			}
		}
	}
	o.approvers = sortedUnique(approvers)
	return o
}

// handles renders a list as "@a, @b", or none when it is empty.
func handles(list []string, none string) string {
	if len(list) == 0 {
		return none
	}
	out := make([]string, len(list))
	for i, h := range list {
		out[i] = "@" + h
	}
	return strings.Join(out, ", ")
}

// describeFiles names up to three files and counts the rest.
func describeFiles(files []string) string {
	const shown = 3
	if len(files) <= shown {
		return strings.Join(files, ", ")
	}
	return fmt.Sprintf("%s and %d more files", strings.Join(files[:shown], ", "), len(files)-shown)
}

func exists(fsys fs.FS, name string) bool {
	if fsys == nil {
		return false
	}
	_, err := fs.Stat(fsys, name)
	return err == nil
}

// eligible decides automatic approval, krew-style: a maintainer adds builds to existing products
// and nothing else, every new build's signature verified, and every check passes.
func eligible(in Input, res *Result, o owned) (bool, []string) {
	var why []string
	if in.Author == "" {
		why = append(why, "no pull request author given (--author)")
	} else if !o.allowed {
		why = append(why, fmt.Sprintf("@%s may not make every change without a review", in.Author))
	}
	if len(res.Catalog) > 0 {
		why = append(why, "files outside products/ changed: "+describeFiles(res.Catalog))
	}
	if len(res.Products) == 0 {
		why = append(why, "no product changed")
	}
	for _, pc := range res.Products {
		switch {
		case pc.Kind != Modified:
			why = append(why, fmt.Sprintf("%s is %s", pc.ID, pc.Kind))
		case len(pc.Assets) > 0:
			why = append(why, fmt.Sprintf("%s: asset files changed", pc.ID))
		case !pc.BuildsOnly:
			why = append(why, fmt.Sprintf("%s: more than new builds changed (only version, image, released and notes may differ from the previous build)", pc.ID))
		}
		for _, b := range pc.NewBuilds {
			if b.Signature == nil || !b.Signature.Verified {
				why = append(why, fmt.Sprintf("%s %s: no verified signature", pc.ID, b.Version))
			}
		}
	}
	for _, f := range in.Files {
		if pub, rest, ok := publisherPath(f); ok {
			if _, isProduct := productOf(pub, rest); !isProduct {
				why = append(why, fmt.Sprintf("publisher files changed: %s", f))
			}
		}
	}
	if n := res.Diagnostics.Errors(); n > 0 {
		why = append(why, fmt.Sprintf("the checks found %s", plural(n, "error")))
	}
	return len(why) == 0, why
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
