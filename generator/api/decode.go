package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/hspc/marketplace/catalog"
)

// Decoded is a catalog.json read back by a client: the catalog model it describes, and the Git
// commit it was built from when the build said.
type Decoded struct {
	Catalog *catalog.Catalog
	Source  *Source // nil when the catalog was not built from Git
}

// Decode reads a catalog.json document back into the catalog model, for clients that act on a
// published catalog (the platform agent) with the same code as on a repository: environments
// resolve against it and deployment manifests render from it. Fields unknown to this version
// are ignored (new fields may appear within a schema version), but the document must be whole:
// a truncated, reshaped or foreign document is an error, never a smaller catalog.
func Decode(data []byte) (*Decoded, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var doc Catalog
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("decoding catalog.json: %w", err)
	}
	if dec.More() {
		return nil, errors.New("decoding catalog.json: data after the document")
	}
	if doc.Schema != Schema {
		return nil, fmt.Errorf("catalog.json has schema %d, want %d: this marketplace binary is too old or too new for it", doc.Schema, Schema)
	}
	if doc.Products == nil || doc.Publishers == nil || doc.Interfaces == nil {
		return nil, errors.New("catalog.json is incomplete: it lacks interfaces, publishers or products")
	}
	required := doc.Policy.RequireSignatures
	c := &catalog.Catalog{
		Index: &catalog.Index{
			Catalog:    doc.Catalog,
			Interfaces: doc.Interfaces,
			Policy: catalog.Policy{
				RequireSignatures: &required,
				OpenLicenses:      doc.Policy.OpenLicenses,
				MaxImageMiB:       doc.Policy.MaxImageMiB,
			},
		},
		Publishers: map[string]*catalog.Publisher{},
		Products:   map[string]*catalog.Product{},
	}
	for _, p := range doc.Publishers {
		if p.Publisher == nil || p.ID == "" {
			return nil, errors.New("catalog.json: a publisher has no id")
		}
		if c.Publishers[p.ID] != nil {
			return nil, fmt.Errorf("catalog.json: publisher %s appears twice", p.ID)
		}
		c.Publishers[p.ID] = p.Publisher
	}
	for i := range doc.Products {
		p, err := decodeProduct(&doc.Products[i])
		if err != nil {
			return nil, fmt.Errorf("catalog.json: product %q: %w", doc.Products[i].ID, err)
		}
		if c.Publishers[p.Publisher] == nil {
			return nil, fmt.Errorf("catalog.json: product %s names publisher %q, which the document does not list", p.ID, p.Publisher)
		}
		if c.Products[p.ID] != nil {
			return nil, fmt.Errorf("catalog.json: product %s appears twice", p.ID)
		}
		c.Products[p.ID] = p
	}
	return &Decoded{Catalog: c, Source: doc.Source}, nil
}

func decodeProduct(d *Product) (*catalog.Product, error) {
	pub, _, ok := strings.Cut(d.ID, "/")
	if !ok || pub != d.Publisher {
		return nil, fmt.Errorf("id is not <publisher>/<product> of publisher %q", d.Publisher)
	}
	p := &catalog.Product{
		ID: d.ID, Publisher: d.Publisher, Name: d.Name, Summary: d.Summary, Description: d.Description,
		Homepage: d.Homepage, Support: d.Support, Source: d.Source, License: d.License,
		Evaluation: d.LicenseStatus == "evaluation", Categories: d.Categories, Tags: d.Tags,
		Identity: d.Identity,
	}
	assets := path.Join("products", d.ID) + "/"
	p.Logo = strings.TrimPrefix(d.Logo, assets)
	for _, s := range d.Screenshots {
		p.Screenshots = append(p.Screenshots, catalog.Screenshot{File: strings.TrimPrefix(s.File, assets), Caption: s.Caption})
	}
	// The document lists builds newest first; the model keeps them in file order, which for a
	// client is immaterial: every consumer orders them itself.
	for i := len(d.Builds) - 1; i >= 0; i-- {
		b, err := decodeBuild(&d.Builds[i])
		if err != nil {
			return nil, fmt.Errorf("build %q: %w", d.Builds[i].Version, err)
		}
		p.Builds = append(p.Builds, b)
	}
	return p, nil
}

func decodeBuild(d *Build) (catalog.Build, error) {
	if d.Version == "" || d.Image == "" {
		return catalog.Build{}, errors.New("no version or image")
	}
	if !strings.HasSuffix(d.Image, "@"+d.Digest) {
		return catalog.Build{}, fmt.Errorf("image %s is not pinned to its digest %s", d.Image, d.Digest)
	}
	if len(d.Tasks) == 0 {
		return catalog.Build{}, errors.New("no tasks")
	}
	b := catalog.Build{
		Version: d.Version, Image: d.Image, Notes: d.Notes, Platforms: d.Platforms,
		Parameters: d.Parameters, Exposes: d.Exposes, SmokeTest: d.SmokeTest,
	}
	if d.Published != nil {
		t := d.Published.UTC().Truncate(24 * time.Hour)
		b.Released = &t
	}
	for _, t := range d.Tasks {
		task := catalog.Task{
			Name: t.Name, Command: t.Command, Ports: t.Ports,
			Min: intPtr(t.Min), Max: intPtr(t.Max), Memory: intPtr(t.Memory), StopTimeout: intPtr(t.StopTimeout),
		}
		for _, v := range t.Volumes {
			persistent := v.Persistent
			task.Volumes = append(task.Volumes, catalog.Volume{Path: v.Path, Size: v.Size, Persistent: &persistent})
		}
		task.FSGroup = t.FSGroup
		b.Tasks = append(b.Tasks, task)
	}
	for _, dep := range d.Dependencies {
		required := dep.Required
		b.Dependencies = append(b.Dependencies, catalog.Dependency{Interface: dep.Interface, Required: &required, Bind: dep.Bind})
	}
	return b, nil
}

func intPtr(n int) *int { return &n }
