package site

import (
	"cmp"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"

	"github.com/hspc/marketplace/catalog"
	"github.com/hspc/marketplace/generator/page"
)

// The views below are the data templates see. Everything in them is plain data that encodes to
// JSON deterministically, because a page's key is the hash of its view.

// card is a product as lists show it.
type card struct {
	ID            string
	Publisher     string
	PublisherName string
	Name          string
	Summary       string
	Logo          string // the logo's path from the site root, or "" for a placeholder
	Initials      string // placeholder text
	Hue           int    // placeholder colour
	Version       string // the latest build's version
	Status        string // the latest build's image state
	License       string
	Evaluation    bool

	sortName string // Name in lower case: cards are sorted by it, often, and lowering is dear
	key      string // the hash of the fields above (see MarshalJSON), set by cardOf
}

// cardFields is a card encoded field by field.
type cardFields card

// MarshalJSON encodes a card as the hash of its fields, computed once when the card is made:
// page keys hash the views pages are made from, and a listing page holds a hundred cards, each
// on several listings. (Nothing else encodes cards.)
func (c card) MarshalJSON() ([]byte, error) {
	if c.key == "" {
		return json.Marshal(cardFields(c))
	}
	return []byte(`"` + c.key + `"`), nil
}

func (g *generator) cardOf(p *catalog.Product) card {
	c := card{
		ID: p.ID, Publisher: p.Publisher, Name: p.Name, Summary: p.Summary,
		Logo: g.logos[p.ID], Initials: initials(p.Name), Hue: hue(p.ID),
		License: p.License, Evaluation: p.Evaluation, PublisherName: p.Publisher,
	}
	if pub := g.c.Publishers[p.Publisher]; pub != nil && pub.Name != "" {
		c.PublisherName = pub.Name
	}
	if b := latestBuild(g.builds[p.ID]); b != nil {
		c.Version = b.Version
		c.Status = g.status(b).State
	}
	c.sortName = strings.ToLower(c.Name)
	if !g.in.Unkeyed { // a preview keys no page
		c.key = page.Key(cardFields(c))
	}
	return c
}

func (g *generator) cardsOf(ids []string) []card {
	return g.cardList(g.sortedByName(ids))
}

// sortedByName returns ids sorted as cardsOf sorts their cards.
func (g *generator) sortedByName(ids []string) []string {
	// Sort the names, then make the cards: moving whole cards was most of a preview's planning.
	type named struct{ sortName, id string }
	keys := make([]named, 0, len(ids))
	for _, id := range ids {
		keys = append(keys, named{g.cards[id].sortName, id})
	}
	slices.SortFunc(keys, func(a, b named) int {
		return cmp.Or(cmp.Compare(a.sortName, b.sortName), cmp.Compare(a.id, b.id))
	})
	out := make([]string, 0, len(ids))
	for _, k := range keys {
		out = append(out, k.id)
	}
	return out
}

// sortBuilds returns pointers to the builds, highest SemVer first. Versions that do not parse
// (the validator reports them) sort last, by text.
func sortBuilds(bs []catalog.Build) []*catalog.Build {
	type parsed struct {
		b *catalog.Build
		v *semver.Version // nil when the version does not parse
	}
	ps := make([]parsed, len(bs))
	for i := range bs {
		ps[i].b = &bs[i]
		ps[i].v, _ = parseVersion(bs[i].Version)
	}
	slices.SortStableFunc(ps, func(a, b parsed) int {
		switch {
		case a.v != nil && b.v != nil:
			return cmp.Or(b.v.Compare(a.v), cmp.Compare(b.b.Version, a.b.Version))
		case a.v == nil && b.v == nil:
			return cmp.Compare(b.b.Version, a.b.Version)
		case a.v == nil:
			return 1
		default:
			return -1
		}
	})
	out := make([]*catalog.Build, len(ps))
	for i, p := range ps {
		out[i] = p.b
	}
	return out
}

func isPrerelease(v string) bool {
	sv, err := parseVersion(v)
	return err == nil && sv.Prerelease() != ""
}

// parseVersion parses a build's version as semver.NewVersion does. The validator accepts only
// strict SemVer, which StrictNewVersion parses without NewVersion's regular expression (8 % of
// a preview's planning went to it: 0.18 of 2.17 s in a profile of 9 plans); anything else takes
// the lenient way.
func parseVersion(v string) (*semver.Version, error) {
	if sv, err := semver.StrictNewVersion(v); err == nil {
		return sv, nil
	}
	return semver.NewVersion(v)
}

// latestBuild returns the build a visitor should deploy: the highest release, or the highest
// pre-release when there is no release.
func latestBuild(sorted []*catalog.Build) *catalog.Build {
	for _, b := range sorted {
		if !isPrerelease(b.Version) {
			return b
		}
	}
	if len(sorted) > 0 {
		return sorted[0]
	}
	return nil
}

// status returns the verification result of a build's image.
func (g *generator) status(b *catalog.Build) ImageStatus {
	d := b.Digest() // parses the reference
	s, ok := g.in.Images[d]
	if !ok || d == "" {
		return ImageStatus{State: catalog.ImageUnchecked}
	}
	switch s.State {
	case catalog.ImageVerified, catalog.ImageFailed, catalog.ImageUnsigned:
	default:
		s.State = catalog.ImageUnchecked
	}
	return s
}

// link is a URL from a TOML file: URL is "" when the scheme is not one the site links to, and
// the template shows Text instead.
type link struct {
	URL  string
	Text string
}

func linkOf(u string) link {
	l := link{URL: safeURL(u), Text: u}
	if l.URL != "" {
		// Show the address the way people say it: no scheme, no trailing slash.
		text := l.URL
		for _, prefix := range []string{"mailto:", "https://", "http://"} {
			if len(text) > len(prefix) && strings.EqualFold(text[:len(prefix)], prefix) {
				text = text[len(prefix):]
				break
			}
		}
		l.Text = strings.TrimSuffix(text, "/")
	}
	return l
}

type ifaceRef struct {
	ID    string
	Name  string
	Known bool // declared in index.toml, so it has a page
}

func (g *generator) iface(id string) ifaceRef {
	name, ok := g.ifaceNames[id]
	if !ok || name == "" {
		name = id
	}
	return ifaceRef{ID: id, Name: name, Known: ok}
}

// providerRef is a product that can satisfy a dependency.
type providerRef struct {
	ID     string
	Name   string
	Direct bool       // exposes the interface itself
	Via    []ifaceRef // interfaces it exposes that substitute for the wanted one
}

// providersOf returns the products some build of which exposes want, or an interface that
// substitutes for it.
func (g *generator) providersOf(want string) []providerRef {
	if r, ok := g.providers[want]; ok {
		return r
	}
	refs := map[string]*providerRef{}
	for _, have := range slices.Sorted(maps.Keys(g.exposers)) {
		if !g.c.Satisfies(have, want) {
			continue
		}
		for pid := range g.exposers[have] {
			r := refs[pid]
			if r == nil {
				r = &providerRef{ID: pid, Name: g.c.Products[pid].Name}
				refs[pid] = r
			}
			if have == want {
				r.Direct = true
			} else {
				r.Via = append(r.Via, g.iface(have))
			}
		}
	}
	// By name, case aside, then ID: each name is lowered once, not in every comparison (the
	// common interfaces have thousands of providers).
	type named struct {
		lower string
		r     *providerRef
	}
	sorted := make([]named, 0, len(refs))
	g.provides[want] = map[string]bool{}
	for _, r := range refs {
		sorted = append(sorted, named{strings.ToLower(r.Name), r})
		g.provides[want][r.ID] = true
	}
	slices.SortFunc(sorted, func(a, b named) int {
		return cmp.Or(cmp.Compare(a.lower, b.lower), cmp.Compare(a.r.ID, b.r.ID))
	})
	out := make([]providerRef, len(sorted))
	for i, n := range sorted {
		out[i] = *n.r
	}
	g.providers[want] = out
	return out
}

// consumerRef is a product that can use a provider of an interface.
type consumerRef struct {
	ID       string
	Direct   bool       // depends on the interface itself
	Via      []ifaceRef // interfaces it depends on that this one substitutes for
	Required bool       // some build requires (rather than optionally uses) it
}

// consumersOf returns the products some build of which depends on have, or on an interface have
// substitutes for.
func (g *generator) consumersOf(have string) []consumerRef {
	if r, ok := g.consumers[have]; ok {
		return r
	}
	refs := map[string]*consumerRef{}
	for _, want := range slices.Sorted(maps.Keys(g.dependents)) {
		if !g.c.Satisfies(have, want) {
			continue
		}
		for pid := range g.dependents[want] {
			r := refs[pid]
			if r == nil {
				r = &consumerRef{ID: pid}
				refs[pid] = r
			}
			if have == want {
				r.Direct = true
			} else {
				r.Via = append(r.Via, g.iface(want))
			}
			if g.required[want][pid] {
				r.Required = true
			}
		}
	}
	out := make([]consumerRef, 0, len(refs))
	for _, id := range slices.Sorted(maps.Keys(refs)) {
		out = append(out, *refs[id])
	}
	g.consumers[have] = out
	return out
}

// dates returns when a product was added and last changed: from Git history, else from its
// builds' released dates, else zero.
func (g *generator) dates(p *catalog.Product) (added, changed time.Time) {
	if ph := g.in.History.Product(p.ID); ph != nil && !ph.Added.IsZero() {
		return ph.Added, ph.Changed
	}
	for _, b := range g.builds[p.ID] {
		d := g.in.History.Published(p, b)
		if d.IsZero() {
			continue
		}
		if added.IsZero() || d.Before(added) {
			added = d
		}
		if d.After(changed) {
			changed = d
		}
	}
	return added, changed
}

// anchor returns an HTML id for a build version.
func anchor(version string) string {
	return "v" + strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_' || r == '+' {
			return r
		}
		return '-'
	}, version)
}
