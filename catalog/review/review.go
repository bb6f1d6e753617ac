// Package review is the pull-request view of a catalog: what a change does to each product,
// which products it can affect, who may make it, and whether it may be approved automatically.
// It compares two loaded catalogs and a list of changed files; it reads no Git, sends nothing over
// the network and writes no files (the Git package lists the files, the command line prints).
package review

import (
	"cmp"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"strings"

	"github.com/hspc/marketplace/catalog"
)

// Input is what a review compares.
type Input struct {
	// Old is the catalog the change starts from (the merge base); New is the proposed catalog.
	Old, New     *catalog.Catalog
	OldFS, NewFS fs.FS
	// Rules is the catalog at the tip of the base branch: its maintainers and owners decide who
	// may change what, so that a pull request cannot grant itself the right to change a file.
	Rules *catalog.Catalog
	// Files are the changed paths, slash-separated, relative to the catalog root.
	Files []string
	// Author is the pull request's author (a Git host handle); "" skips the ownership check.
	Author string
	// Checks are the diagnostics of validating New as a whole; the review keeps those on what
	// changed and what the change can affect.
	Checks catalog.Diagnostics
	// Signatures are verification results of new builds by image digest; a build without an
	// entry counts as not verified.
	Signatures map[string]Signature
}

// Signature is the verification result of one image digest.
type Signature struct {
	Verified bool
	Signer   string // the declared signer that verified, e.g. products/acme/cosign.pub
	Error    string // why it did not verify
}

// Kind says what happened to a product.
type Kind string

// The kinds of product change.
const (
	Added    Kind = "added"
	Removed  Kind = "removed"
	Modified Kind = "modified"
	Renamed  Kind = "renamed"
)

// Result is the outcome of a review.
type Result struct {
	Author string
	// Files are the changed files, sorted.
	Files    []string
	Products []*ProductChange // by product ID
	// Catalog lists changed files outside products/ (index.toml, upstreams.lock, .github/...).
	Catalog []string
	// Interfaces lists the IDs of interfaces index.toml added, removed or changed.
	Interfaces []string
	// PolicyChanged reports whether index.toml's [policy] changed, which re-checks every product.
	PolicyChanged bool
	// Affected lists products re-checked although their own files did not change: users of a
	// changed interface, products of a changed publisher.toml, every product on a policy change.
	Affected []string
	// Diagnostics are the checks on what changed or is affected, and the ownership findings.
	Diagnostics catalog.Diagnostics
	// Approvers are the handles who may approve the change: the maintainers (as of the base
	// branch) of every publisher touched, and the catalog owners for catalog files.
	Approvers []string
	// Owners are the catalog owners as of the base branch.
	Owners []string
	// Eligible reports whether the change may be approved automatically; Reasons say why not.
	Eligible bool
	Reasons  []string
}

// ProductChange is what a change does to one product.
type ProductChange struct {
	ID   string
	Kind Kind
	From string // the old ID of a renamed product
	// Maintainers are the publisher's maintainers as of the base branch (for a new publisher,
	// those it declares).
	Maintainers   []string
	NewBuilds     []BuildChange
	RemovedBuilds []string // versions
	// Fields are changed product fields, and changed fields of builds present on both sides
	// (key builds[5.0.0].image).
	Fields []FieldChange
	// Breaking are parameter and dependency changes between the newest old build and the newest
	// new one: what a deployment must be changed for.
	Breaking []string
	// Assets lists changed files of the product's asset folder.
	Assets []string
	// BuildsOnly reports whether the change only appends builds that differ from the previous
	// newest build in version, image, released and notes alone.
	BuildsOnly bool
}

// BuildChange is one new build.
type BuildChange struct {
	Version, Image, Digest string
	Signature              *Signature // nil when not verified in this run
}

// FieldChange is one changed value, rendered as TOML-like text.
type FieldChange struct {
	Key      string
	Old, New string
}

// Review compares in.Old with in.New.
func Review(in Input) *Result {
	in.Files = slices.Sorted(slices.Values(in.Files))
	res := &Result{Author: in.Author, Files: in.Files}
	if in.Rules != nil && in.Rules.Index != nil {
		res.Owners = in.Rules.Index.Catalog.Owners
	}
	changed := map[string]bool{}  // product IDs whose own files changed
	affected := map[string]bool{} // product IDs re-checked
	for _, f := range in.Files {
		pub, rest, ok := publisherPath(f)
		if !ok {
			res.Catalog = append(res.Catalog, f)
			continue
		}
		if id, ok := productOf(pub, rest); ok {
			changed[id] = true
			continue
		}
		for _, c := range []*catalog.Catalog{in.Old, in.New} {
			for id, p := range products(c) {
				if p.Publisher == pub {
					affected[id] = true
				}
			}
		}
	}

	// index.toml: changed interfaces re-check their users; a changed policy re-checks all.
	if slices.Contains(res.Catalog, catalog.IndexFile) {
		res.Interfaces, res.PolicyChanged = indexChanges(in.Old, in.New)
		for id, p := range products(in.New) {
			if res.PolicyChanged || usesAny(p, res.Interfaces) {
				affected[id] = true
			}
		}
	}

	for _, id := range slices.Sorted(maps.Keys(changed)) {
		res.Products = append(res.Products, compareProduct(in, id))
	}
	res.Products = detectRenames(res.Products, in)
	slices.SortFunc(res.Products, func(a, b *ProductChange) int { return strings.Compare(a.ID, b.ID) })
	for id := range affected {
		if !changed[id] {
			if _, ok := products(in.New)[id]; ok {
				res.Affected = append(res.Affected, id)
			}
		}
	}
	slices.Sort(res.Affected)

	res.Diagnostics = relevant(in, changed, affected)
	own := ownership(in, res)
	catalog.Locate(in.NewFS, own.located)
	if in.OldFS != nil {
		catalog.Locate(in.OldFS, own.oldLocated)
	}
	res.Diagnostics = append(res.Diagnostics, own.located...)
	res.Diagnostics = append(res.Diagnostics, own.oldLocated...)
	res.Diagnostics.Sort()
	res.Approvers = own.approvers
	res.Eligible, res.Reasons = eligible(in, res, own)
	return res
}

// productFile returns the path of a product's file.
func productFile(id string) string { return catalog.ProductsDir + "/" + id + ".toml" }

// publisherPath splits products/<pub>/<rest> into pub and rest.
func publisherPath(f string) (pub, rest string, ok bool) {
	after, ok := strings.CutPrefix(f, catalog.ProductsDir+"/")
	if !ok {
		return "", "", false
	}
	pub, rest, ok = strings.Cut(after, "/")
	return pub, rest, ok
}

// productOf returns the product a file of a publisher folder belongs to: <id>.toml or a file in
// the asset folder <id>/.
func productOf(pub, rest string) (string, bool) {
	if rest == catalog.PublisherFile {
		return "", false
	}
	if dir, _, ok := strings.Cut(rest, "/"); ok {
		return pub + "/" + dir, true
	}
	if id, ok := strings.CutSuffix(rest, ".toml"); ok {
		return pub + "/" + id, true
	}
	return "", false
}

func products(c *catalog.Catalog) map[string]*catalog.Product {
	if c == nil {
		return nil
	}
	return c.Products
}

func publisher(c *catalog.Catalog, id string) *catalog.Publisher {
	if c == nil {
		return nil
	}
	return c.Publishers[id]
}

// indexChanges lists the interfaces added, removed or changed, and whether the policy changed.
func indexChanges(old, cur *catalog.Catalog) (ids []string, policy bool) {
	oi, ni := index(old), index(cur)
	byID := func(x *catalog.Index) map[string]string {
		m := map[string]string{}
		for _, in := range x.Interfaces {
			m[in.ID] = render(in)
		}
		return m
	}
	om, nm := byID(oi), byID(ni)
	for id, v := range nm {
		if om[id] != v {
			ids = append(ids, id)
		}
	}
	for id := range om {
		if _, ok := nm[id]; !ok {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids, render(oi.Policy) != render(ni.Policy)
}

func index(c *catalog.Catalog) *catalog.Index {
	if c == nil || c.Index == nil {
		return &catalog.Index{}
	}
	return c.Index
}

// usesAny reports whether a build of p exposes or depends on one of the interfaces ids.
func usesAny(p *catalog.Product, ids []string) bool {
	for _, b := range p.Builds {
		for _, e := range b.Exposes {
			if slices.Contains(ids, e.Interface) {
				return true
			}
		}
		for _, d := range b.Dependencies {
			if slices.Contains(ids, d.Interface) {
				return true
			}
		}
	}
	return false
}

// relevant keeps the diagnostics on changed files, affected products and their publishers.
func relevant(in Input, changed, affected map[string]bool) catalog.Diagnostics {
	files := map[string]bool{}
	for _, f := range in.Files {
		files[f] = true
	}
	var out catalog.Diagnostics
	for _, d := range in.Checks {
		keep := files[d.Path]
		if pub, rest, ok := publisherPath(d.Path); ok && !keep {
			if id, ok := productOf(pub, rest); ok {
				keep = changed[id] || affected[id]
			} else {
				keep = touchesPublisher(in.Files, pub)
			}
		}
		if keep {
			out = append(out, d)
		}
	}
	return out
}

func touchesPublisher(files []string, pub string) bool {
	for _, f := range files {
		if p, _, ok := publisherPath(f); ok && p == pub {
			return true
		}
	}
	return false
}

// detectRenames pairs a removed product with an added one that pins the same image digests, the
// same publisher's or another's, and reports them as one rename.
func detectRenames(list []*ProductChange, in Input) []*ProductChange {
	var out []*ProductChange
	used := map[string]bool{}
	for _, added := range list {
		if added.Kind != Added {
			continue
		}
		want := digests(in.New.Products[added.ID])
		if want == "" {
			continue
		}
		for _, removed := range list {
			if removed.Kind != Removed || used[removed.ID] {
				continue
			}
			if digests(in.Old.Products[removed.ID]) == want {
				used[removed.ID], used[added.ID] = true, true
				rc := compareProducts(in, removed.ID, added.ID)
				rc.Kind, rc.From = Renamed, removed.ID
				rc.Assets = append(removed.Assets, added.Assets...)
				out = append(out, rc)
				break
			}
		}
	}
	for _, pc := range list {
		if !used[pc.ID] {
			out = append(out, pc)
		}
	}
	return out
}

func digests(p *catalog.Product) string {
	if p == nil {
		return ""
	}
	var ds []string
	for i := range p.Builds {
		ds = append(ds, p.Builds[i].Digest())
	}
	slices.Sort(ds)
	return strings.Join(ds, ",")
}

// compareProduct describes what happened to the product id.
func compareProduct(in Input, id string) *ProductChange {
	pc := compareProducts(in, id, id)
	prefix := catalog.ProductsDir + "/" + id + "/"
	for _, f := range in.Files {
		if strings.HasPrefix(f, prefix) {
			pc.Assets = append(pc.Assets, f)
		}
	}
	return pc
}

// compareProducts compares the old product oldID with the new product newID.
func compareProducts(in Input, oldID, newID string) *ProductChange {
	op, np := products(in.Old)[oldID], products(in.New)[newID]
	pc := &ProductChange{ID: newID, Kind: Modified}
	// A file that is there but does not decode is not added or removed: its diagnostics say why.
	switch {
	case op == nil && !exists(in.OldFS, productFile(oldID)):
		pc.Kind = Added
	case np == nil && !exists(in.NewFS, productFile(newID)):
		pc.Kind = Removed
	}
	pub, _, _ := strings.Cut(newID, "/")
	if p := publisher(in.Rules, pub); p != nil {
		pc.Maintainers = p.Maintainers
	} else if p := publisher(in.New, pub); p != nil {
		pc.Maintainers = p.Maintainers
	}
	if np == nil {
		return pc
	}
	oldBuilds := map[string]*catalog.Build{}
	if op != nil {
		for i := range op.Builds {
			oldBuilds[op.Builds[i].Version] = &op.Builds[i]
		}
		pc.Fields = fieldChanges("", productFields(op), productFields(np))
	}
	newBuilds := map[string]bool{}
	for i := range np.Builds {
		b := &np.Builds[i]
		newBuilds[b.Version] = true
		ob := oldBuilds[b.Version]
		if ob == nil {
			bc := BuildChange{Version: b.Version, Image: b.Image, Digest: b.Digest()}
			if s, ok := in.Signatures[bc.Digest]; ok {
				bc.Signature = &s
			}
			pc.NewBuilds = append(pc.NewBuilds, bc)
			continue
		}
		pc.Fields = append(pc.Fields, fieldChanges("builds["+b.Version+"].", buildFields(ob), buildFields(b))...)
	}
	if op != nil {
		for i := range op.Builds {
			if !newBuilds[op.Builds[i].Version] {
				pc.RemovedBuilds = append(pc.RemovedBuilds, op.Builds[i].Version)
			}
		}
		pc.Breaking = breaking(op.Latest(), np.Latest())
	}
	pc.BuildsOnly = op != nil && len(pc.Fields) == 0 && len(pc.RemovedBuilds) == 0 && len(pc.NewBuilds) > 0 &&
		appendsOnly(op, np)
	return pc
}

// appendsOnly reports whether every new build of np repeats the configuration of op's newest
// build: only version, image, released and notes differ.
func appendsOnly(op, np *catalog.Product) bool {
	prev := op.Latest()
	if prev == nil {
		return false
	}
	old := map[string]bool{}
	for _, b := range op.Builds {
		old[b.Version] = true
	}
	want := buildConfig(prev)
	for i := range np.Builds {
		if !old[np.Builds[i].Version] && buildConfig(&np.Builds[i]) != want {
			return false
		}
	}
	return true
}

// buildConfig renders what a build asks of a platform: everything but version, image, released
// and notes.
func buildConfig(b *catalog.Build) string {
	c := *b
	c.Version, c.Image, c.Released, c.Notes = "", "", nil, ""
	return render(c)
}

// breaking lists parameter and dependency changes from build a to build b.
func breaking(a, b *catalog.Build) []string {
	if a == nil || b == nil {
		return nil
	}
	var out []string
	for _, p := range b.Parameters {
		op := a.Parameter(p.Name)
		switch {
		case op == nil && p.Required && p.Default == nil:
			out = append(out, fmt.Sprintf("parameter `%s` added, required: deployments must set it", p.Name))
		case op == nil:
			out = append(out, fmt.Sprintf("parameter `%s` added", p.Name))
		case render(*op) != render(p):
			out = append(out, fmt.Sprintf("parameter `%s` changed: %s → %s", p.Name, render(*op), render(p)))
		}
	}
	for _, p := range a.Parameters {
		if b.Parameter(p.Name) == nil {
			out = append(out, fmt.Sprintf("parameter `%s` removed", p.Name))
		}
	}
	dep := func(list []catalog.Dependency, id string) *catalog.Dependency {
		for i := range list {
			if list[i].Interface == id {
				return &list[i]
			}
		}
		return nil
	}
	for _, d := range b.Dependencies {
		od := dep(a.Dependencies, d.Interface)
		switch {
		case od == nil && d.IsRequired():
			out = append(out, fmt.Sprintf("dependency on `%s` added, required: deployments must provide it", d.Interface))
		case od == nil:
			out = append(out, fmt.Sprintf("optional dependency on `%s` added", d.Interface))
		case render(*od) != render(d):
			out = append(out, fmt.Sprintf("dependency on `%s` changed: %s → %s", d.Interface, render(*od), render(d)))
		}
	}
	for _, d := range a.Dependencies {
		if dep(b.Dependencies, d.Interface) == nil {
			out = append(out, fmt.Sprintf("dependency on `%s` removed", d.Interface))
		}
	}
	return out
}

// sortedUnique returns the handles sorted case-insensitively, each once.
func sortedUnique(list []string) []string {
	out := slices.Clone(list)
	slices.SortFunc(out, func(a, b string) int {
		return cmp.Or(strings.Compare(strings.ToLower(a), strings.ToLower(b)), strings.Compare(a, b))
	})
	return slices.CompactFunc(out, strings.EqualFold)
}

// containsFold reports whether list holds handle, ignoring case as Git hosts do.
func containsFold(list []string, handle string) bool {
	return slices.ContainsFunc(list, func(s string) bool { return strings.EqualFold(s, handle) })
}

// ChangedProducts returns the IDs of the products of c whose own files are among files (the
// product file or its asset folder), sorted: what a pull request asks to verify online.
func ChangedProducts(files []string, c *catalog.Catalog) []string {
	var out []string
	for _, f := range files {
		pub, rest, ok := publisherPath(f)
		if !ok {
			continue
		}
		if id, ok := productOf(pub, rest); ok && products(c)[id] != nil {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
