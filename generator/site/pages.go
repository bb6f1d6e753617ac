package site

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"net/url"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/hspc/marketplace/catalog"
	"github.com/hspc/marketplace/generator/page"
)

// How many entries the home page and the dependency lists show before pointing elsewhere.
const (
	homeNewest     = 6
	homeNewBuilds  = 8
	maxProviders   = 6
	maxChangelog   = 50
	categorySample = 3
	homeStandards  = 10
	publisherLogos = 6
)

// ---- home page

type homeView struct {
	Products    int
	Publishers  int
	Builds      int
	Interfaces  int
	NewProducts []datedCard
	NewBuilds   []datedBuild
	Categories  []categoryCount
	Standards   []interfaceRow // the interfaces most products provide
}

type datedCard struct {
	Card card
	Date time.Time
}

type datedBuild struct {
	Card    card
	Version string
	Anchor  string
	Date    time.Time
}

type categoryCount struct {
	Slug  string
	Title string
	Count int
	Names []string // a few of its products
	Href  string   // its page, from a product's page (there only; see rooted)
}

func (g *generator) homePage() page.Page {
	// Made when rendered (see lazyPage): a preview plans it at every save and rarely shows it.
	return g.lazyPage("index.html", "home", "", g.c.Index.Catalog.Description, "home", func() any { return g.homeView() })
}

// firstN returns the first n of items as slices.SortStableFunc would order them, without
// sorting them all: the home page shows a dozen of the 30 000 builds of a 10 000-product catalog.
func firstN[T any](items []T, n int, cmp func(a, b T) int) []T {
	top := make([]T, 0, n+1)
	for _, it := range items {
		if len(top) == n && (n == 0 || cmp(it, top[n-1]) >= 0) {
			continue
		}
		// After the equal ones, which came first.
		i := sort.Search(len(top), func(j int) bool { return cmp(top[j], it) > 0 })
		top = slices.Insert(top, i, it)
		if len(top) > n {
			top = top[:n]
		}
	}
	return top
}

func (g *generator) homeView() homeView {
	v := homeView{Products: len(g.products), Publishers: len(g.c.Publishers), Interfaces: len(g.c.Index.Interfaces)}
	// Only a dozen of each list is shown: rank small records of every product and build, and
	// make cards of the few shown (sorting 30 000 cards was most of a preview's home page).
	type dated struct {
		date time.Time
		p    *catalog.Product
		b    *catalog.Build
		rank int // position in the product's builds, which are in SemVer order
	}
	var added, builds []dated
	for _, p := range g.products {
		v.Builds += len(p.Builds)
		if a, _ := g.dates(p); !a.IsZero() {
			added = append(added, dated{date: a, p: p})
		}
		for i, b := range g.builds[p.ID] {
			if d := g.in.History.Published(p, b); !d.IsZero() {
				builds = append(builds, dated{date: d, p: p, b: b, rank: i})
			}
		}
	}
	newest := func(a, b dated) int {
		return cmp.Or(b.date.Compare(a.date), cmp.Compare(a.p.ID, b.p.ID), cmp.Compare(a.rank, b.rank))
	}
	for _, d := range firstN(added, homeNewest, newest) {
		v.NewProducts = append(v.NewProducts, datedCard{Card: g.cards[d.p.ID], Date: d.date})
	}
	for _, d := range firstN(builds, homeNewBuilds, newest) {
		v.NewBuilds = append(v.NewBuilds, datedBuild{Card: g.cards[d.p.ID], Version: d.b.Version, Anchor: anchor(d.b.Version), Date: d.date})
	}
	v.Categories = g.categoryCounts()
	for _, row := range g.interfaceRows() {
		if row.Providers > 0 {
			v.Standards = append(v.Standards, row)
		}
	}
	slices.SortStableFunc(v.Standards, func(a, b interfaceRow) int { return cmp.Compare(b.Providers, a.Providers) })
	v.Standards = v.Standards[:min(len(v.Standards), homeStandards)]
	return v
}

// categoryCounts returns every category with its count and a few product names; computed once
// (three pages show it, and each category's cards are sorted to pick the names).
func (g *generator) categoryCounts() []categoryCount {
	g.categoryOnce.Do(func() { g.categoryList = g.countCategories() })
	return g.categoryList
}

func (g *generator) countCategories() []categoryCount {
	var out []categoryCount
	for _, slug := range slices.Sorted(maps.Keys(g.categories)) {
		cc := categoryCount{Slug: slug, Title: slugTitle(slug), Count: len(g.categories[slug])}
		for _, c := range g.cardsOf(g.categories[slug])[:min(categorySample, cc.Count)] {
			cc.Names = append(cc.Names, c.Name)
		}
		out = append(out, cc)
	}
	return out
}

// ---- products, alphabetically

type letterGroup struct {
	Letter string
	Cards  []card
}

// letterLink points the letter navigation at the first page holding a letter's products.
type letterLink struct {
	Letter string
	Href   string
}

func (g *generator) productsPages() []page.Page {
	letterOf := func(c card) string {
		if r := []rune(strings.TrimSpace(c.Name)); len(r) > 0 && unicode.IsLetter(r[0]) && r[0] < unicode.MaxASCII {
			return strings.ToUpper(string(r[0]))
		}
		return "#"
	}
	type firstAt struct {
		letter string
		page   int
	}
	type sortedProducts struct {
		ids     []string
		letters []firstAt
	}
	// Sorted when a page is first made: a preview plans these pages at every save.
	sorted := sync.OnceValue(func() sortedProducts {
		var sp sortedProducts
		sp.ids = g.sortedByName(g.c.SortedProductIDs())
		for i, id := range sp.ids {
			if l := letterOf(g.cards[id]); len(sp.letters) == 0 || sp.letters[len(sp.letters)-1].letter != l {
				sp.letters = append(sp.letters, firstAt{l, i/PageSize + 1})
			}
		}
		return sp
	})
	total := len(g.products)
	count := pageCount(total)
	out := make([]page.Page, 0, count)
	for n := 1; n <= count; n++ {
		out = append(out, g.lazyPage(inFolder("products/index.html", n), "products", pagedTitle("All products", n),
			"Every product in the catalog, alphabetically.", "products", func() any {
				sp := sorted()
				lo, hi := pageSpan(n, total)
				var groups []letterGroup
				for _, c := range g.cardList(sp.ids[lo:hi]) {
					if l := letterOf(c); len(groups) == 0 || groups[len(groups)-1].Letter != l {
						groups = append(groups, letterGroup{Letter: l})
					}
					groups[len(groups)-1].Cards = append(groups[len(groups)-1].Cards, c)
				}
				var nav []letterLink
				for _, f := range sp.letters {
					href := "#letter-" + f.letter
					if f.page != n {
						href = pageFile(f.page) + href
					}
					nav = append(nav, letterLink{f.letter, href})
				}
				return struct {
					Count   int
					Letters []letterLink
					Groups  []letterGroup
					Pager   pager
				}{total, nav, groups, newPager(n, count, total)}
			}))
	}
	return out
}

// pagedTitle names page n of a listing: its title, and the page number after the first.
func pagedTitle(title string, n int) string {
	if n == 1 {
		return title
	}
	return fmt.Sprintf("%s (page %d)", title, n)
}

// ---- one product

type productView struct {
	Card        card
	Origin      originView
	Description string
	Homepage    link
	Support     link
	Source      link
	Categories  []categoryCount
	Tags        []string
	Screenshots []screenshot
	Identity    catalog.Identity
	PHIDefault  string // the default of the PHI logging parameter in the latest build
	Builds      []buildView
	Latest      *buildView // the build the Deploy section offers
	Changelog   []catalog.Commit
	OlderLog    int // changelog entries left out
	Added       time.Time
	Changed     time.Time
	API         string // paths from the site root, written by other stages
	Badge       string
	BadgeMD     string // Markdown for a README
	Absolute    bool   // BadgeMD uses catalog.base_url
	// Links from the page, made whole (see rooted): the publisher's page, the logo, the badge
	// and the product's JSON.
	PublisherHref, LogoSrc, BadgeSrc, APIHref string
}

type buildView struct {
	Version      string
	Anchor       string
	Latest       bool
	Brief        bool // only the image, signature and notes: the rest is in the product's JSON
	Prerelease   bool
	Image        string
	Repository   string
	Tag          string
	Digest       string
	Published    time.Time
	Status       ImageStatus
	Platforms    []string
	Notes        string
	Tasks        []taskView
	Parameters   []paramView
	Exposes      []exposeView
	Dependencies []dependencyView
	SmokeTest    *catalog.SmokeTest
	Deploy       string // what the paths of this build's manifests start with (page.DeployPrefix), from the site root; "" when not published
	// KubernetesHref and ComposeHref link to the manifests from the product's page, when Deploy is set.
	KubernetesHref, ComposeHref string
	ToSet                       []string // required parameters without a default: what a deployer must supply
}

type taskView struct {
	Name    string
	Command []string
	Min     int
	Max     int
	Memory  int
	Stop    int
	Ports   []catalog.Port
}

type paramView struct {
	Name        string
	Description string
	Required    bool
	HasDefault  bool
	Default     string
	Pattern     string
	Secret      bool
}

type exposeView struct {
	Interface ifaceRef
	Task      string
	Port      int
	Protocol  string
	Path      string
}

type dependencyView struct {
	Interface ifaceRef
	Required  bool
	Bind      []binding
	Providers []providerLink
	More      int // providers left out; the interface page lists them all
}

// providerLink is a provider with the link to its page from the product's page (see rooted).
type providerLink struct {
	providerRef
	Href string
}

type binding struct {
	Env      string
	Property string
}

// productPage returns a product's page keyed by its view (productKey's fallback, and the tests).
func (g *generator) productPage(p *catalog.Product) page.Page {
	return g.newPage(productPath(p.ID), "product", p.Name, p.Summary, "products", g.productView(p))
}

// streamProductPage renders a product's page into w. Its key came from productKey when it was
// planned: encoding and hashing the view again here was 0.5 s of CPU in a 10 000-product build.
func (g *generator) streamProductPage(p *catalog.Product, w io.Writer) error {
	file := productPath(p.ID)
	return g.theme.pageKeyed(file, "product", g.pageData(file, p.Name, p.Summary, "products", g.productView(p)), "").Stream(w)
}

// productView is what a product's page shows.
func (g *generator) productView(p *catalog.Product) productView {
	v := productView{
		Card:        g.cards[p.ID],
		Origin:      originOf(p.Origin),
		Description: p.Description,
		Homepage:    linkOf(p.Homepage),
		Support:     linkOf(p.Support),
		Source:      linkOf(p.Source),
		Tags:        p.Tags,
		Screenshots: g.shots[p.ID],
		Identity:    p.Identity,
		API:         path.Join("api/v1/products", p.ID+".json"),
		Badge:       path.Join("badges", p.ID+".svg"),
	}
	root := rootOf(productPath(p.ID)) // the links below are from the product's page
	v.PublisherHref = root + pagePath("publishers", p.Publisher)
	if v.Card.Logo != "" {
		v.LogoSrc = root + v.Card.Logo
	}
	v.BadgeSrc, v.APIHref = root+v.Badge, root+v.API
	for _, c := range p.Categories {
		v.Categories = append(v.Categories, categoryCount{Slug: c, Title: slugTitle(c), Href: root + pagePath("categories", c)})
	}
	v.Added, v.Changed = g.dates(p)
	if ph := g.in.History.Product(p.ID); ph != nil {
		v.Changelog = ph.Log[:min(len(ph.Log), maxChangelog)]
		v.OlderLog = len(ph.Log) - len(v.Changelog)
	}
	latest := latestBuild(g.builds[p.ID])
	for _, b := range g.builds[p.ID] {
		bv := g.buildViewOf(p, b, b == latest)
		bv.Latest = b == latest
		if !bv.Latest {
			bv.Deploy = "" // the output has manifests of the offered build only (deploy.Offered)
		} else if bv.Deploy != "" {
			bv.KubernetesHref, bv.ComposeHref = root+bv.Deploy+"kubernetes.yaml", root+bv.Deploy+"compose.yaml"
		}
		v.Builds = append(v.Builds, bv)
	}
	for i := range v.Builds {
		if v.Builds[i].Latest {
			v.Latest = &v.Builds[i]
		}
	}
	if latest != nil && p.Identity.PHILogging != "" {
		if prm := latest.Parameter(p.Identity.PHILogging); prm != nil && prm.Default != nil {
			v.PHIDefault = *prm.Default
		}
	}
	alt := markdownText(p.Name + " on " + g.c.Index.Catalog.Name)
	mdRoot := "" // relative to the site root: only useful inside the site itself
	if g.base != "" {
		mdRoot, v.Absolute = g.base, true
	}
	v.BadgeMD = "[![" + alt + "](" + mdRoot + v.Badge + ")](" + mdRoot + "products/" + p.ID + "/)"
	return v
}

// productKey is the key of a product's page (the key of productPage's view, in effect) computed
// from the view's inputs rather than from the view: building and encoding ten thousand views
// was most of a one-product rebuild. p.Sum stands for everything the loader made from the
// product's file and index.toml (so interface names, the catalog's name and base URL too); the
// rest is what comes from elsewhere — its card (publisher name, logo, latest status), screenshots,
// history, each build's image status and date, and the providers listed for each dependency of
// the offered build. TestProductKeyCoversView checks that whatever changes the view changes
// this key. A product without a Sum (not loaded from a file) is keyed by its view.
func (g *generator) productKey(p *catalog.Product) string {
	if p.Sum == "" {
		return g.productPage(p).Key
	}
	type buildInputs struct {
		Status    ImageStatus
		Published time.Time
		Providers []string // per dependency of the offered build: providerKeys
	}
	in := struct {
		Sum     string
		Origin  catalog.Origin
		Card    card
		Shots   []screenshot
		History *catalog.ProductHistory
		Builds  []buildInputs
	}{Sum: p.Sum, Origin: p.Origin, Card: g.cards[p.ID], Shots: g.shots[p.ID], History: g.in.History.Product(p.ID)}
	latest := latestBuild(g.builds[p.ID])
	for _, b := range g.builds[p.ID] {
		bi := buildInputs{Status: g.status(b), Published: g.in.History.Published(p, b)}
		if b == latest {
			for i := range b.Dependencies {
				bi.Providers = append(bi.Providers, g.providerKeys[b.Dependencies[i].Interface])
			}
		}
		in.Builds = append(in.Builds, bi)
	}
	return g.theme.key(productPath(p.ID), "product", &pageData{
		Root: rootOf(productPath(p.ID)), Site: g.site(), Static: g.theme.versions,
		Title: p.Name, Description: p.Summary, Section: "products", Body: in,
	})
}

// providerKey hashes what buildViewOf may show of the providers of interface want: the first
// maxProviders+1 (one may be the product itself, which is left out) and how many there are.
func providerKey(all []providerRef) string {
	return page.Key(all[:min(len(all), maxProviders+1)], len(all))
}

// buildViewOf returns what the page shows of a build. Only the offered build (full) shows its
// tasks, parameters, interfaces and dependencies; older builds show their image, signature and
// release notes, and point to the product's JSON for the rest: the page of a product with many
// builds stays small, and so does the work of rendering every product page.
func (g *generator) buildViewOf(p *catalog.Product, b *catalog.Build, full bool) buildView {
	bv := buildView{
		Version:    b.Version,
		Anchor:     anchor(b.Version),
		Prerelease: isPrerelease(b.Version),
		Image:      b.Image,
		Published:  g.in.History.Published(p, b),
		Status:     g.status(b),
		Platforms:  b.PlatformsOrDefault(),
		Notes:      b.Notes,
		SmokeTest:  b.SmokeTest,
		Deploy:     page.DeployPrefix(p.ID, b.Version),
	}
	if ref, err := catalog.ParseImageRef(b.Image); err == nil {
		bv.Repository, bv.Tag, bv.Digest = ref.Repository, ref.Tag, ref.Digest
	}
	if !full {
		bv.Brief, bv.SmokeTest = true, nil
		return bv
	}
	for i := range b.Tasks {
		t := &b.Tasks[i]
		bv.Tasks = append(bv.Tasks, taskView{
			Name: t.Name, Command: t.Command, Min: t.MinInstances(), Max: t.MaxInstances(),
			Memory: t.MemoryMiB(), Stop: t.StopSeconds(), Ports: t.Ports,
		})
	}
	for _, prm := range b.Parameters {
		pv := paramView{Name: prm.Name, Description: prm.Description, Required: prm.Required, Pattern: prm.Pattern, Secret: prm.Secret}
		if prm.Default != nil {
			pv.HasDefault, pv.Default = true, *prm.Default
		}
		if prm.Required && prm.Default == nil {
			bv.ToSet = append(bv.ToSet, prm.Name)
		}
		bv.Parameters = append(bv.Parameters, pv)
	}
	for _, e := range b.Exposes {
		ev := exposeView{Interface: g.iface(e.Interface), Task: e.Task, Port: e.Port, Path: e.Path}
		if t := b.Task(e.Task); t != nil {
			for _, port := range t.Ports {
				if port.Port == e.Port {
					ev.Protocol = cmp.Or(port.Protocol, "tcp")
				}
			}
		}
		bv.Exposes = append(bv.Exposes, ev)
	}
	for i := range b.Dependencies {
		d := &b.Dependencies[i]
		dv := dependencyView{Interface: g.iface(d.Interface), Required: d.IsRequired()}
		for _, env := range slices.Sorted(maps.Keys(d.Bind)) {
			dv.Bind = append(dv.Bind, binding{Env: env, Property: d.Bind[env]})
		}
		all := g.providersOf(d.Interface)
		root := rootOf(productPath(p.ID))
		for _, r := range all {
			if len(dv.Providers) == maxProviders {
				break
			}
			if r.ID != p.ID {
				dv.Providers = append(dv.Providers, providerLink{r, root + productPath(r.ID)})
			}
		}
		dv.More = len(all) - len(dv.Providers)
		if g.provides[d.Interface][p.ID] {
			dv.More-- // the product itself is not listed
		}
		bv.Dependencies = append(bv.Dependencies, dv)
	}
	return bv
}

// markdownText escapes the characters that would end a Markdown link text early.
func markdownText(s string) string { return markdownEscaper.Replace(s) }

// markdownEscaper is made once: a Replacer builds its tables when first used, and one made per
// call built them for every badge snippet.
var markdownEscaper = strings.NewReplacer(`\`, `\\`, `[`, `\[`, `]`, `\]`, "\n", " ")

// ---- publishers

type publisherRow struct {
	ID    string
	Name  string
	URL   link
	Count int
	Logos []logoRef // of its first products, by name
}

// logoRef is what a product's logo, or its placeholder, needs.
type logoRef struct {
	ID       string
	Name     string
	Logo     string
	Initials string
	Hue      int
}

func (g *generator) publishersPages() []page.Page {
	var rows []publisherRow
	for _, id := range g.c.SortedPublisherIDs() {
		pub := g.c.Publishers[id]
		row := publisherRow{ID: id, Name: cmp.Or(pub.Name, id), URL: linkOf(pub.URL), Count: len(g.pubProds[id])}
		for _, c := range g.cardsOf(g.pubProds[id])[:min(row.Count, publisherLogos)] {
			row.Logos = append(row.Logos, logoRef{ID: c.ID, Name: c.Name, Logo: c.Logo, Initials: c.Initials, Hue: c.Hue})
		}
		rows = append(rows, row)
	}
	slices.SortStableFunc(rows, func(a, b publisherRow) int {
		return cmp.Or(cmp.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)), cmp.Compare(a.ID, b.ID))
	})
	count := pageCount(len(rows))
	out := make([]page.Page, 0, count)
	for n := 1; n <= count; n++ {
		lo, hi := pageSpan(n, len(rows))
		out = append(out, g.newPage(inFolder("publishers/index.html", n), "publishers", pagedTitle("Publishers", n),
			"The organisations that publish products in the catalog.", "publishers", struct {
				Rows  []publisherRow
				Pager pager
			}{rows[lo:hi], newPager(n, count, len(rows))}))
	}
	return out
}

type publisherView struct {
	ID          string
	Name        string
	URL         link
	Contact     link
	Maintainers []string
	Signers     []catalog.Signer
	Count       int
	Products    []card // this page's
	Pager       pager
	Origin      originView
}

func (g *generator) publisherPages(pub *catalog.Publisher) []page.Page {
	n := len(g.pubProds[pub.ID])
	sorted := sync.OnceValue(func() []string { return g.sortedByName(g.pubProds[pub.ID]) })
	count := pageCount(n)
	name := cmp.Or(pub.Name, pub.ID)
	out := make([]page.Page, 0, count)
	for i := 1; i <= count; i++ {
		lo, hi := pageSpan(i, n)
		out = append(out, g.lazyPage(inFolder(path.Join("publishers", pub.ID, "index.html"), i), "publisher",
			pagedTitle(name, i), "Products published by "+name+".", "publishers", func() any {
				return publisherView{
					ID: pub.ID, Name: name, URL: linkOf(pub.URL), Contact: linkOf(pub.Contact),
					Maintainers: pub.Maintainers, Signers: pub.Signers, Count: n, Products: g.cardList(sorted()[lo:hi]),
					Pager: newPager(i, count, n), Origin: originOf(pub.Origin),
				}
			}))
	}
	return out
}

// ---- interfaces

type interfaceRow struct {
	Ref       ifaceRef
	Version   string
	Providers int
	Consumers int
}

func (g *generator) interfacesPage() page.Page {
	return g.newPage("interfaces/index.html", "interfaces", "Interfaces",
		"The standards products expose and depend on.", "interfaces", g.interfaceRows())
}

// interfaceRows returns the declared interfaces by name, with how many products provide and use each.
func (g *generator) interfaceRows() []interfaceRow {
	g.rowsOnce.Do(func() { g.rows = g.countInterfaces() })
	return g.rows
}

func (g *generator) countInterfaces() []interfaceRow {
	var rows []interfaceRow
	for _, in := range g.c.Index.Interfaces {
		rows = append(rows, interfaceRow{Ref: g.iface(in.ID), Version: in.Version,
			Providers: len(g.providersOf(in.ID)), Consumers: len(g.consumersOf(in.ID))})
	}
	slices.SortStableFunc(rows, func(a, b interfaceRow) int {
		return cmp.Or(cmp.Compare(strings.ToLower(a.Ref.Name), strings.ToLower(b.Ref.Name)), cmp.Compare(a.Ref.ID, b.Ref.ID))
	})
	return rows
}

type interfaceView struct {
	ID             string
	Name           string
	URI            link
	Version        string
	Properties     []string
	SubstitutesFor []ifaceRef
	SubstitutedBy  []ifaceRef
	ProviderCount  int
	ConsumerCount  int
	Providers      []providerCard // this page's
	Consumers      []consumerCard // this page's
	Pager          pager          // over providers and consumers side by side: page N shows the Nth slice of each
}

type providerCard struct {
	Card   card
	Direct bool
	Via    []ifaceRef
}

type consumerCard struct {
	Card     card
	Direct   bool
	Via      []ifaceRef
	Required bool
}

func (g *generator) interfacePages(in *catalog.Interface) []page.Page {
	v := interfaceView{ID: in.ID, Name: cmp.Or(in.Name, in.ID), URI: linkOf(in.URI), Version: in.Version, Properties: in.Properties}
	for _, s := range in.SubstitutesFor {
		v.SubstitutesFor = append(v.SubstitutesFor, g.iface(s))
	}
	for _, other := range g.c.Index.Interfaces {
		if slices.Contains(other.SubstitutesFor, in.ID) {
			v.SubstitutedBy = append(v.SubstitutedBy, g.iface(other.ID))
		}
	}
	providers := g.providersOf(in.ID) // the memo: nothing to hold
	providerCards := func(refs []providerRef) []providerCard {
		out := make([]providerCard, len(refs))
		for i, r := range refs {
			out[i] = providerCard{Card: g.cards[r.ID], Direct: r.Direct, Via: r.Via}
		}
		return out
	}
	// Sorted by name (before the cards are made: sorting thousands of cards moved each whole),
	// when a page is first made: a preview plans every interface page and shows few.
	consumers := sync.OnceValue(func() []consumerRef {
		type named struct {
			consumerRef
			sortName string
		}
		var refs []named
		for _, r := range g.consumersOf(in.ID) {
			refs = append(refs, named{r, g.cards[r.ID].sortName})
		}
		slices.SortStableFunc(refs, func(a, b named) int {
			return cmp.Or(cmp.Compare(a.sortName, b.sortName), cmp.Compare(a.ID, b.ID))
		})
		out := make([]consumerRef, len(refs))
		for i, r := range refs {
			out[i] = r.consumerRef
		}
		return out
	})
	consumerCount := len(g.consumersOf(in.ID))
	consumerCards := func(refs []consumerRef) []consumerCard {
		out := make([]consumerCard, len(refs))
		for i, r := range refs {
			out[i] = consumerCard{Card: g.cards[r.ID], Direct: r.Direct, Via: r.Via, Required: r.Required}
		}
		return out
	}
	v.ProviderCount, v.ConsumerCount = len(providers), consumerCount
	desc := v.Name
	if in.Version != "" {
		desc += " " + in.Version
	}
	count := max(pageCount(len(providers)), pageCount(consumerCount))
	out := make([]page.Page, 0, count)
	for n := 1; n <= count; n++ {
		out = append(out, g.lazyPage(inFolder(path.Join("interfaces", in.ID, "index.html"), n), "interface",
			pagedTitle(v.Name, n), "Products that provide and use "+desc+".", "interfaces", func() any {
				pv := v
				lo, hi := pageSpan(n, len(providers))
				pv.Providers = providerCards(providers[lo:hi])
				lo, hi = pageSpan(n, consumerCount)
				pv.Consumers = consumerCards(consumers()[lo:hi])
				pv.Pager = newPager(n, count, max(len(providers), consumerCount))
				return pv
			}))
	}
	return out
}

// ---- categories

func (g *generator) categoriesPage() page.Page {
	return g.newPage("categories/index.html", "categories", "Categories",
		"Browse the catalog by category.", "categories", g.categoryCounts())
}

func (g *generator) categoryPages(slug string) []page.Page {
	title := slugTitle(slug)
	n := len(g.categories[slug])
	sorted := sync.OnceValue(func() []string { return g.sortedByName(g.categories[slug]) })
	count := pageCount(n)
	out := make([]page.Page, 0, count)
	for i := 1; i <= count; i++ {
		lo, hi := pageSpan(i, n)
		out = append(out, g.lazyPage(inFolder(path.Join("categories", slug, "index.html"), i), "category",
			pagedTitle(title, i), "Products in the category "+title+".", "categories", func() any {
				return struct {
					Slug  string
					Title string
					Count int
					Cards []card
					Pager pager
				}{slug, title, n, g.cardList(sorted()[lo:hi]), newPager(i, count, n)}
			}))
	}
	return out
}

// ---- search and 404

type option struct {
	Value string
	Label string
	Count int
}

func (g *generator) searchPage() page.Page {
	var v struct {
		Categories []option
		Publishers []option
		Licenses   []option
		Interfaces []option
	}
	for _, cc := range g.categoryCounts() {
		v.Categories = append(v.Categories, option{cc.Slug, cc.Title, cc.Count})
	}
	for _, id := range g.c.SortedPublisherIDs() {
		v.Publishers = append(v.Publishers, option{id, cmp.Or(g.c.Publishers[id].Name, id), len(g.pubProds[id])})
	}
	open := 0
	for _, p := range g.products {
		if !p.Evaluation {
			open++
		}
	}
	v.Licenses = []option{{"open", "Open license", open}, {"evaluation", "Evaluation (freemium)", len(g.products) - open}}
	for _, in := range g.c.Index.Interfaces {
		if n := len(g.providersOf(in.ID)); n > 0 {
			v.Interfaces = append(v.Interfaces, option{in.ID, cmp.Or(in.Name, in.ID), n})
		}
	}
	slices.SortStableFunc(v.Interfaces, func(a, b option) int { return cmp.Compare(strings.ToLower(a.Label), strings.ToLower(b.Label)) })
	return g.newPage("search/index.html", "search", "Search", "Search the catalog.", "search", v)
}

// notFoundPage is served by static hosts in place of any missing path, at any depth, so
// relative links would resolve against that path: its links are root-relative, from the path
// of catalog.base_url ("/" when none is set, or it has no path). They so work on any host that
// serves the site at that path, and under `marketplace serve`, and never send a reader to the
// production host from a copy elsewhere.
func (g *generator) notFoundPage() page.Page {
	return g.theme.page("404.html", "404", &pageData{
		Root: rootPath(g.base), Site: g.site(), Static: g.theme.versions, Title: "Page not found",
	}, true)
}

// rootPath returns the path of a base URL, with a trailing slash: "/" for "" or a host alone.
func rootPath(base string) string {
	u, err := url.Parse(base)
	if err != nil || u.Path == "" {
		return "/"
	}
	return strings.TrimSuffix(u.EscapedPath(), "/") + "/"
}

// originView says where a product or publisher comes from: this catalog, or an upstream at a
// commit.
type originView struct {
	Local  bool
	Name   string
	URL    string
	Commit string
	Short  string // the commit's first 12 characters
}

func originOf(o catalog.Origin) originView {
	v := originView{Local: o.IsLocal(), Name: cmp.Or(o.Name, catalog.LocalOrigin), URL: o.URL, Commit: o.Commit}
	v.Short = o.Commit[:min(12, len(o.Commit))]
	return v
}
