// Package api emits the catalog's JSON API: api/v1/catalog.json (everything a client needs, one
// file) and api/v1/products/<publisher>/<product>.json (one product with its changelog). The
// format is versioned by the top-level "schema" number and described by catalog.schema.json.
package api

import (
	"bufio"
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"path"
	"slices"
	"time"

	"github.com/hspc/marketplace/catalog"
	"github.com/hspc/marketplace/generator/deploy"
	"github.com/hspc/marketplace/generator/page"
)

// Schema is the version of the JSON format. It changes only when a field changes meaning or
// goes away; new fields may appear within a version.
const Schema = 1

// JSONSchema is the JSON Schema (draft 2020-12) of catalog.json.
//
//go:embed catalog.schema.json
var JSONSchema []byte

// Input is what the API describes.
type Input struct {
	Catalog *catalog.Catalog
	History *catalog.History               // may be nil
	Images  map[string]catalog.ImageStatus // by digest; missing means unchecked
}

// Catalog is the document at api/v1/catalog.json.
type Catalog struct {
	Schema     int                 `json:"schema"`
	Catalog    catalog.CatalogInfo `json:"catalog"`
	Source     *Source             `json:"source,omitempty"`
	Upstreams  []catalog.Origin    `json:"upstreams,omitempty"` // the upstreams merged in, at their commits
	Policy     Policy              `json:"policy"`
	Interfaces []catalog.Interface `json:"interfaces"`
	Publishers []Publisher         `json:"publishers"`
	Products   []Product           `json:"products"`
}

// Source names the Git commit the catalog was built from.
type Source struct {
	Commit string    `json:"commit"`
	Date   time.Time `json:"date"`
}

// Policy is the catalog's publication policy, with defaults applied.
type Policy struct {
	RequireSignatures bool     `json:"require_signatures"`
	OpenLicenses      []string `json:"open_licenses"`
	MaxImageMiB       int      `json:"max_image_mib"`
	// StatefulCategories are the categories whose products may keep data on persistent volumes.
	StatefulCategories []string `json:"stateful_categories,omitempty"`
}

// Publisher is a publisher and the IDs of its products.
type Publisher struct {
	*catalog.Publisher
	Products []string `json:"products"`
	Links    Links    `json:"links"`
}

// Product is a product with everything derived for clients: license status, dates, builds
// newest first with defaults applied and their verification status, and links.
type Product struct {
	ID            string           `json:"id"`
	Publisher     string           `json:"publisher"`
	Origin        catalog.Origin   `json:"origin"` // the catalog it comes from: local or an upstream
	Name          string           `json:"name"`
	Summary       string           `json:"summary"`
	Description   string           `json:"description,omitempty"`
	Homepage      string           `json:"homepage,omitempty"`
	Support       string           `json:"support,omitempty"`
	Source        string           `json:"source,omitempty"`
	License       string           `json:"license"`
	LicenseStatus string           `json:"license_status"` // "open" or "evaluation"
	Categories    []string         `json:"categories"`
	Tags          []string         `json:"tags"`
	Logo          string           `json:"logo,omitempty"` // path in the output
	Screenshots   []Screenshot     `json:"screenshots,omitempty"`
	Identity      catalog.Identity `json:"identity"`
	Added         *time.Time       `json:"added,omitempty"`
	Changed       *time.Time       `json:"changed,omitempty"`
	Latest        string           `json:"latest,omitempty"` // newest version
	Builds        []Build          `json:"builds"`
	Links         Links            `json:"links"`
	Changelog     []catalog.Commit `json:"changelog,omitempty"` // only in the per-product document
}

// Screenshot is a product image, by its path in the output.
type Screenshot struct {
	File    string `json:"file"`
	Caption string `json:"caption,omitempty"`
}

// Build is one version, with task defaults applied.
type Build struct {
	Version      string              `json:"version"`
	Image        string              `json:"image"`
	Digest       string              `json:"digest"`
	Published    *time.Time          `json:"published,omitempty"`
	Notes        string              `json:"notes,omitempty"`
	Platforms    []string            `json:"platforms"`
	Tasks        []Task              `json:"tasks"`
	Parameters   []catalog.Parameter `json:"parameters"`
	Exposes      []catalog.Exposure  `json:"exposes"`
	Dependencies []Dependency        `json:"dependencies"`
	SmokeTest    *catalog.SmokeTest  `json:"smoke_test,omitempty"`
	Signature    catalog.ImageStatus `json:"signature"`
	Deploy       map[string]string   `json:"deploy,omitempty"` // format → manifest path in the output; the offered build only
}

// Task is a task with min, max, memory and stop_timeout resolved.
type Task struct {
	Name        string         `json:"name"`
	Command     []string       `json:"command,omitempty"`
	Min         int            `json:"min"`
	Max         int            `json:"max"`
	Memory      int            `json:"memory"`
	StopTimeout int            `json:"stop_timeout"`
	Ports       []catalog.Port `json:"ports"`
	Volumes     []Volume       `json:"volumes,omitempty"`
	FSGroup     *int           `json:"fs_group,omitempty"`
}

// Volume is a task's volume with persistent resolved.
type Volume struct {
	Path       string `json:"path"`
	Size       int    `json:"size"` // MiB
	Persistent bool   `json:"persistent"`
}

// Dependency is a dependency with required resolved.
type Dependency struct {
	Interface string            `json:"interface"`
	Required  bool              `json:"required"`
	Bind      map[string]string `json:"bind,omitempty"`
}

// Links are paths in the output, relative to its root.
type Links struct {
	Page  string `json:"page"`
	API   string `json:"api,omitempty"`
	Badge string `json:"badge,omitempty"`
}

// Paths of the API in the output.
const (
	CatalogPath = "api/v1/catalog.json"
	productsDir = "api/v1/products"
)

// ProductPath returns the output path of a product's JSON document.
func ProductPath(id string) string { return path.Join(productsDir, id+".json") }

// Pages returns catalog.json and one JSON page per product. Keys hash the inputs of each
// document (the product as declared, its history, the status of its images), and documents are
// built only in Render, so a large catalog holds no JSON in memory between the stages.
func Pages(in Input) []page.Page {
	c := in.Catalog
	ids := c.SortedProductIDs()
	pages := make([]page.Page, 0, len(ids)+1)
	keys := make([]string, len(ids))
	for i, id := range ids {
		p := c.Products[id]
		keys[i] = page.Key("api/product", Schema, p.KeyPart(), in.History.Product(id), c.IsOpen(p), imagesOf(in, p))
		pages = append(pages, page.Page{
			Path: ProductPath(id),
			Key:  keys[i],
			Stream: func(w io.Writer) error {
				doc := productDoc(in, p)
				if ph := in.History.Product(id); ph != nil {
					doc.Changelog = ph.Log
				}
				// Into the file as it is encoded: a buffer for each of 10 000 documents was
				// 100 MB of a build's allocation.
				enc := json.NewEncoder(w)
				enc.SetEscapeHTML(false) // compact: a product's JSON is read by programs, and there are many
				return enc.Encode(doc)
			},
		})
	}
	var source any
	if h := in.History; h != nil {
		source = []any{h.Commit, h.Date}
	}
	pages = append(pages, page.Page{
		Path:   CatalogPath,
		Key:    page.Key("api/catalog", Schema, c.Index, c.Publishers, source, keys),
		Stream: func(w io.Writer) error { return streamCatalog(w, in, ids, nil) },
		Update: func(w io.Writer, prev io.Reader, prevKeys map[string]string) error {
			// A product's entry is its document without the changelog: the same key for its
			// document means the same entry, which the published catalog.json holds already.
			same := func(i int) bool { return prevKeys[ProductPath(ids[i])] == keys[i] }
			return streamCatalog(w, in, ids, &published{r: prev, same: same})
		},
	})
	return pages
}

// published is the catalog.json of the published output, read along while a new one is
// written: the entries of products whose documents did not change are copied from it.
type published struct {
	r    io.Reader
	same func(i int) bool // whether the entry of ids[i] is unchanged
	br   *bufio.Reader
	line []byte // the current entry line ("," and the product's JSON), nil when none is left
	id   string // its product ID
	bad  bool   // the file is not laid out as streamCatalog writes it: copy nothing
}

// entry returns the published entry of product id, without the separator, or nil.
func (p *published) entry(id string) []byte {
	if p == nil || p.bad {
		return nil
	}
	if p.br == nil {
		p.br = bufio.NewReaderSize(p.r, 1<<16)
		first, err := readLine(p.br, maxEntry)
		if err != nil || !bytes.HasSuffix(first, []byte("\"products\":[\n")) {
			p.bad = true // written before catalog.json put its products on lines of their own
			return nil
		}
		p.next()
	}
	for p.line != nil && p.id < id {
		p.next()
	}
	if p.line == nil || p.id != id {
		return nil
	}
	return bytes.TrimPrefix(p.line, []byte(","))
}

// maxEntry bounds the line of one product's entry that a rebuild reads from the published
// catalog.json: a product file is at most catalog.MaxProductFileBytes, and its entry is of that
// order; a longer line is not one a build wrote.
const maxEntry = 64 * catalog.MaxProductFileBytes

// next reads the next entry line.
func (p *published) next() {
	line, err := readLine(p.br, maxEntry)
	if err != nil {
		p.line = nil
		if err != io.EOF {
			p.bad = true
		}
		return
	}
	rest, ok := bytes.CutPrefix(bytes.TrimPrefix(line, []byte(",")), []byte(`{"id":"`))
	end := bytes.IndexByte(rest, '"')
	if !ok || end < 0 {
		p.line = nil // "]}": the end
		return
	}
	id := string(rest[:end])
	if id <= p.id && p.id != "" {
		p.line, p.bad = nil, true // out of order: not ours
		return
	}
	p.line, p.id = line, id
}

// streamCatalog writes catalog.json one product at a time, so its size (tens of MB for a large
// catalog) is never held in memory. It is compact JSON (clients parse it, people read the
// per-product documents) with each product's entry on a line of its own, so that the next build
// can copy the entries that did not change from it (prev; nil means none).
func streamCatalog(w io.Writer, in Input, ids []string, prev *published) error {
	doc := catalogDoc(in, nil)
	head, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	// The document ends with "products":null}; write everything before the null, then the list.
	head, ok := bytes.CutSuffix(head, []byte(`null}`))
	if !ok {
		return fmt.Errorf("catalog.json: unexpected document shape")
	}
	if _, err := w.Write(head); err != nil {
		return err
	}
	io.WriteString(w, "[\n")
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for i, id := range ids {
		if i > 0 {
			io.WriteString(w, ",")
		}
		if prev != nil && prev.same(i) {
			if e := prev.entry(id); e != nil {
				if _, err := w.Write(e); err != nil {
					return err
				}
				continue
			}
		}
		if err := enc.Encode(productDoc(in, in.Catalog.Products[id])); err != nil {
			return err
		}
	}
	_, err = io.WriteString(w, "]}\n")
	return err
}

// readLine reads up to and including the next '\n', failing on a line longer than limit.
func readLine(br *bufio.Reader, limit int) ([]byte, error) {
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if len(line)+len(chunk) > limit {
			return nil, fmt.Errorf("a line longer than %d bytes", limit)
		}
		line = append(line, chunk...)
		if err != bufio.ErrBufferFull {
			return line, err
		}
	}
}

// imagesOf returns the verification status of each of the product's images, in build order.
func imagesOf(in Input, p *catalog.Product) []catalog.ImageStatus {
	out := make([]catalog.ImageStatus, len(p.Builds))
	for i := range p.Builds {
		out[i] = in.Images[p.Builds[i].Digest()]
	}
	return out
}

func catalogDoc(in Input, products []Product) Catalog {
	c := in.Catalog
	idx := c.Index
	if idx == nil {
		idx = &catalog.Index{}
	}
	doc := Catalog{
		Schema:     Schema,
		Catalog:    idx.Catalog,
		Interfaces: idx.Interfaces,
		Policy: Policy{
			RequireSignatures:  idx.Policy.SignaturesRequired(),
			OpenLicenses:       idx.Policy.Licenses(),
			MaxImageMiB:        idx.Policy.MaxImageMiB,
			StatefulCategories: idx.Policy.StatefulCategories,
		},
		Products: products,
	}
	if doc.Policy.MaxImageMiB == 0 {
		doc.Policy.MaxImageMiB = catalog.DefaultMaxImageMiB
	}
	doc.Upstreams = upstreamOrigins(c)
	if doc.Interfaces == nil {
		doc.Interfaces = []catalog.Interface{}
	}
	if h := in.History; h != nil && h.Commit != "" {
		doc.Source = &Source{Commit: h.Commit, Date: h.Date.UTC()}
	}
	byPublisher := map[string][]string{}
	for _, p := range products {
		byPublisher[p.Publisher] = append(byPublisher[p.Publisher], p.ID)
	}
	doc.Publishers = []Publisher{}
	for _, id := range c.SortedPublisherIDs() {
		ps := byPublisher[id]
		if ps == nil {
			ps = []string{}
		}
		doc.Publishers = append(doc.Publishers, Publisher{
			Publisher: c.Publishers[id],
			Products:  ps,
			Links:     Links{Page: "publishers/" + id + "/"},
		})
	}
	return doc
}

func productDoc(in Input, p *catalog.Product) Product {
	doc := Product{
		ID: p.ID, Publisher: p.Publisher, Origin: p.Origin, Name: p.Name, Summary: p.Summary, Description: p.Description,
		Homepage: p.Homepage, Support: p.Support, Source: p.Source, License: p.License,
		LicenseStatus: "evaluation",
		Categories:    nonNil(p.Categories), Tags: nonNil(p.Tags), Identity: p.Identity,
		Links: Links{
			Page:  path.Join("products", p.ID) + "/",
			API:   ProductPath(p.ID),
			Badge: path.Join("badges", p.ID+".svg"),
		},
	}
	if in.Catalog.IsOpen(p) {
		doc.LicenseStatus = "open"
	}
	assets := path.Join("products", p.ID)
	if p.Logo != "" {
		doc.Logo = path.Join(assets, p.Logo)
	}
	for _, s := range p.Screenshots {
		doc.Screenshots = append(doc.Screenshots, Screenshot{File: path.Join(assets, s.File), Caption: s.Caption})
	}
	if ph := in.History.Product(p.ID); ph != nil {
		doc.Added, doc.Changed = timePtr(ph.Added), timePtr(ph.Changed)
	}
	doc.Builds = []Build{}
	for _, b := range p.BuildsNewestFirst() {
		doc.Builds = append(doc.Builds, buildDoc(in, p, b))
	}
	if len(doc.Builds) > 0 {
		doc.Latest = doc.Builds[0].Version
	}
	return doc
}

func buildDoc(in Input, p *catalog.Product, b *catalog.Build) Build {
	doc := Build{
		Version: b.Version, Image: b.Image, Digest: b.Digest(), Notes: b.Notes,
		Platforms:    b.PlatformsOrDefault(),
		Published:    timePtr(in.History.Published(p, b)),
		Parameters:   nonNil(b.Parameters),
		Exposes:      nonNil(b.Exposes),
		SmokeTest:    b.SmokeTest,
		Signature:    catalog.ImageStatus{State: catalog.ImageUnchecked},
		Dependencies: []Dependency{},
	}
	if b == deploy.Offered(p) { // the output has manifests of the offered build only
		doc.Deploy = map[string]string{}
		for _, f := range deploy.Formats {
			doc.Deploy[f] = deploy.ManifestPath(p.ID, b.Version, f)
		}
	}
	if st, ok := in.Images[doc.Digest]; ok {
		doc.Signature = st
	}
	for _, t := range b.Tasks {
		ports := nonNil(slices.Clone(t.Ports)) // the model is shared: never write into it
		for i := range ports {
			if ports[i].Protocol == "" {
				ports[i].Protocol = "tcp"
			}
		}
		task := Task{
			Name: t.Name, Command: t.Command, Min: t.MinInstances(), Max: t.MaxInstances(),
			Memory: t.MemoryMiB(), StopTimeout: t.StopSeconds(), Ports: ports,
		}
		for _, v := range t.Volumes {
			task.Volumes = append(task.Volumes, Volume{Path: v.Path, Size: v.Size, Persistent: v.IsPersistent()})
		}
		task.FSGroup = t.FSGroup
		doc.Tasks = append(doc.Tasks, task)
	}
	for _, d := range b.Dependencies {
		doc.Dependencies = append(doc.Dependencies, Dependency{Interface: d.Interface, Required: d.IsRequired(), Bind: d.Bind})
	}
	return doc
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

// upstreamOrigins lists the origins of the upstream publishers, by name.
func upstreamOrigins(c *catalog.Catalog) []catalog.Origin {
	seen := map[string]catalog.Origin{}
	for _, p := range c.Publishers {
		if !p.Origin.IsLocal() {
			seen[p.Origin.Name] = p.Origin
		}
	}
	var out []catalog.Origin
	for _, name := range slices.Sorted(maps.Keys(seen)) {
		out = append(out, seen[name])
	}
	return out
}
