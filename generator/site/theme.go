package site

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"html/template"
	"io"
	"io/fs"
	"path"
	"strings"
	"time"
	"unicode"

	"github.com/hspc/marketplace/generator/page"
)

// The templates every page is parsed with, besides its own kind's file.
var sharedTemplates = []string{"templates/base.html", "templates/partials.html"}

// The page kinds: each renders templates/<kind>.html's "content" inside base.html's "base".
var kinds = []string{
	"home", "products", "product", "publishers", "publisher", "interfaces", "interface",
	"categories", "category", "search", "404", "builder",
}

// loadedTheme is a parsed theme: one template set per kind of page, the hash of the files each
// set was parsed from, and the static files.
type loadedTheme struct {
	templates map[string]*template.Template
	hashes    map[string]string // kind → hash of its template files and of every static file
	static    []page.Page       // static/ copied to the output
	versions  map[string]string // static file (relative to static/) → its path from the root, with its hash
}

func loadTheme(fsys fs.FS) (*loadedTheme, error) {
	t := &loadedTheme{
		templates: map[string]*template.Template{},
		hashes:    map[string]string{},
		versions:  map[string]string{},
	}
	// Pages link to static files with their content hash, so every page depends on all of them.
	staticHash := sha256.New()
	err := fs.WalkDir(fsys, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(d.Name(), ".") {
			return err
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		if data, err = minifyStatic(p, data); err != nil {
			return err
		}
		// The file is published under a name with its content hash (style.<hash>.css), so
		// that browsers and CDNs may keep it for a year (package generator/headers).
		sum := sha256.Sum256(data)
		rel := strings.TrimPrefix(p, "static/")
		ext := path.Ext(rel)
		hashed := "static/" + strings.TrimSuffix(rel, ext) + "." + hex.EncodeToString(sum[:5]) + ext
		t.versions[rel] = hashed
		fmt.Fprintf(staticHash, "%s %x\n", p, sum)
		t.static = append(t.static, page.Static(hashed, data))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading the theme's static files: %w", err)
	}
	for _, want := range []string{"style.css"} {
		if _, ok := t.versions[want]; !ok {
			return nil, fmt.Errorf("theme has no static/%s", want)
		}
	}
	staticSum := hex.EncodeToString(staticHash.Sum(nil))

	shared := map[string][]byte{}
	for _, name := range sharedTemplates {
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("reading the theme: %w", err)
		}
		shared[name] = data
	}
	for _, kind := range kinds {
		name := "templates/" + kind + ".html"
		own, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("reading the theme: %w", err)
		}
		tmpl := template.New(kind).Funcs(funcs).Funcs(template.FuncMap{"cached": unboundCached})
		h := sha256.New()
		for _, f := range append(sharedTemplates[:len(sharedTemplates):len(sharedTemplates)], name) {
			data := own
			if f != name {
				data = shared[f]
			}
			if _, err := tmpl.New(f).Parse(string(data)); err != nil {
				return nil, fmt.Errorf("parsing the theme: %w", err)
			}
			fmt.Fprintf(h, "%s %d\n", f, len(data))
			h.Write(data)
		}
		tmpl.Funcs(template.FuncMap{"cached": bindCached(tmpl)})
		if tmpl.Lookup("base") == nil {
			return nil, fmt.Errorf("parsing the theme: %s defines no \"base\" template", sharedTemplates[0])
		}
		t.templates[kind] = tmpl
		t.hashes[kind] = hex.EncodeToString(h.Sum(nil)) + " " + staticSum
	}
	return t, nil
}

// keyVersion names the generator's own contribution to every page: bump it when Go code changes
// what a page looks like for the same data (the Markdown rules, the data handed to templates),
// so incremental builds do not keep pages rendered by the old code.
const keyVersion = "site/1"

// page returns the page at p of the given kind, keyed by exactly what it depends on: the data
// the template sees, and the theme files the template set was parsed from.
func (t *loadedTheme) page(p, kind string, data *pageData, keyed bool) page.Page {
	key := ""
	if keyed {
		key = t.viewKey(kind, data)
	}
	return t.pageKeyed(p, kind, data, key)
}

// viewKey is the key of a page of the given kind made from data.
func (t *loadedTheme) viewKey(kind string, data *pageData) string {
	return page.Key(keyVersion, kind, t.hashes[kind], data)
}

// key is the key of a page of the given kind whose data stands for the page's inputs, not its
// view (see productKey): the kind is marked so, so that it never equals a view's key.
func (t *loadedTheme) key(p, kind string, inputs *pageData) string {
	return page.Key(keyVersion, kind+"/inputs", t.hashes[kind], inputs)
}

// pageKeyed returns the page at p of the given kind with the key given. The page streams: the
// template writes into the file's buffered writer, so that no page is held whole in memory (the
// pages' own buffers were a tenth of the allocation of a large build).
func (t *loadedTheme) pageKeyed(p, kind string, data *pageData, key string) page.Page {
	tmpl := t.templates[kind]
	return page.Page{
		Path: p,
		Key:  key,
		Stream: func(w io.Writer) error {
			if err := tmpl.ExecuteTemplate(w, "base", data); err != nil {
				return fmt.Errorf("rendering %s: %w", p, err)
			}
			return nil
		},
	}
}

// pageData is what every template receives: the site-wide facts and the page's own view in Body.
type pageData struct {
	Root        string            // prefix from this page to the site root: "", "../", "../../" …
	Site        siteInfo          //
	Static      map[string]string // static file → its path from the root: static/<name>.<hash>.<ext>
	Title       string            // the page's title, without the site name
	Description string            // for <meta name="description">
	Section     string            // which main navigation entry is current
	Body        any
}

type siteInfo struct {
	Name        string
	Description string
}

// rootOf returns the relative prefix from a page at p to the site root.
func rootOf(p string) string {
	return strings.Repeat("../", strings.Count(p, "/"))
}

// funcs are the template helpers. They see only their arguments, never the catalog.
var funcs = template.FuncMap{
	"markdown": renderMarkdown,
	"safeurl":  safeURL,
	"date": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2 Jan 2006")
	},
	"isodate": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02")
	},
	"title": slugTitle,
	// withRoot hands a partial both the page's root prefix and its own data.
	"withRoot": withRoot,
	"short": func(s string, n int) string {
		if len(s) > n {
			return s[:n]
		}
		return s
	},
	"join": strings.Join,
	"plural": func(n int, one, many string) string {
		if n == 1 {
			return one
		}
		return many
	},
}

// acronyms are the words category titles spell in capitals.
var acronyms = map[string]string{
	"api": "API", "cds": "CDS", "ehr": "EHR", "emr": "EMR", "fhir": "FHIR", "hl7": "HL7",
	"ldap": "LDAP", "oidc": "OIDC", "phi": "PHI", "saml": "SAML", "saml2": "SAML 2", "scim": "SCIM",
	"smart": "SMART", "smtp": "SMTP", "sso": "SSO", "dicom": "DICOM", "pacs": "PACS", "ai": "AI",
	"ml": "ML", "iam": "IAM", "mpi": "MPI", "lis": "LIS", "ris": "RIS",
}

// slugTitle turns a category slug into a title: "fhir-server" → "FHIR server".
// rooted is what withRoot makes: .Root and .V, as the map it was had them, and, for a view
// that has a page (a card, a logoRef, a declared interface), the links to that page and to its
// logo from the page being rendered. A listing page makes one for each of its 100 cards.
type rooted struct {
	Root string
	V    any
	// Href and Logo are the page of the view and its logo ("" for none), from the page: one
	// action in a URL attribute costs half of two ({{.Root}}products/{{.V.ID}}/index.html), as
	// html/template filters, normalizes and escapes each action there (BenchmarkListingPages: a
	// fifth of a listing page's time).
	Href, Logo string
}

// linked is a view withRoot makes links for. It returns the folder and ID of its page (see
// pagePath; "" for none) and its logo's path from the site's root ("" for none).
type linked interface {
	sitePaths() (folder, id, logo string)
}

func (c card) sitePaths() (string, string, string)    { return "products", c.ID, c.Logo }
func (l logoRef) sitePaths() (string, string, string) { return "products", l.ID, l.Logo }
func (r ifaceRef) sitePaths() (string, string, string) {
	if !r.Known {
		return "", "", "" // no page
	}
	return "interfaces", r.ID, ""
}

func withRoot(root string, v any) rooted {
	r := rooted{Root: root, V: v}
	if l, ok := v.(linked); ok {
		folder, id, logo := l.sitePaths()
		if folder != "" {
			r.Href = root + folder + "/" + id + "/index.html" // root + pagePath(folder, id), in one string
		}
		if logo != "" {
			r.Logo = root + logo
		}
	}
	return r
}

func slugTitle(slug string) string {
	words := strings.Split(slug, "-")
	for i, w := range words {
		if a, ok := acronyms[w]; ok {
			words[i] = a
		} else if i == 0 && w != "" {
			r := []rune(w)
			r[0] = unicode.ToUpper(r[0])
			words[i] = string(r)
		}
	}
	return strings.Join(words, " ")
}

// initials returns up to two letters or digits standing for a name, for products without a logo.
func initials(name string) string {
	var out []rune
	for _, w := range strings.FieldsFunc(name, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		out = append(out, unicode.ToUpper([]rune(w)[0]))
		if len(out) == 2 {
			break
		}
	}
	if len(out) == 0 {
		return "?"
	}
	return string(out)
}

// hue picks a stable colour for an ID's placeholder logo.
func hue(id string) int {
	h := fnv.New32a()
	h.Write([]byte(id))
	return int(h.Sum32() % 360)
}
