package catalog

import (
	"encoding/json"
	"fmt"
	"os"
)

// RegistryMapFormat names the format of a registry mapping file.
const RegistryMapFormat = "hsp-marketplace/registry-map/1"

// RegistryMap is the registry mapping file `marketplace mirror images` writes: for every image
// it copied to a private registry (with its signatures), where the copy is. Deploy manifests,
// environment exports and the agent rewrite image references with it; digests are unchanged,
// so a rewritten reference names the very image the publisher signed.
//
//	{
//	  "format": "hsp-marketplace/registry-map/1",
//	  "registry": "registry.hospital.internal/hsp",
//	  "images": {
//	    "ghcr.io/acme-health/fhir-server@sha256:3994…": "registry.hospital.internal/hsp/acme-health/fhir-server"
//	  }
//	}
type RegistryMap struct {
	Format string `json:"format"`
	// Registry is the private registry and path prefix the images were copied to.
	Registry string `json:"registry"`
	// Images maps "<source repository>@<digest>" to the repository of the copy.
	Images map[string]string `json:"images"`
}

// NewRegistryMap returns an empty mapping to registry.
func NewRegistryMap(registry string) *RegistryMap {
	return &RegistryMap{Format: RegistryMapFormat, Registry: registry, Images: map[string]string{}}
}

// ReadRegistryMap reads a registry mapping file.
func ReadRegistryMap(path string) (*RegistryMap, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m RegistryMap
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if m.Format != RegistryMapFormat {
		return nil, fmt.Errorf("%s: format %q, want %q (written by marketplace mirror images)", path, m.Format, RegistryMapFormat)
	}
	if m.Images == nil {
		m.Images = map[string]string{}
	}
	return &m, nil
}

// Marshal returns the mapping as indented JSON.
func (m *RegistryMap) Marshal() ([]byte, error) {
	data, err := json.MarshalIndent(m, "", "  ")
	return append(data, '\n'), err
}

// Add records that ref's image was copied to repository.
func (m *RegistryMap) Add(ref ImageRef, repository string) {
	m.Images[ref.Repository+"@"+ref.Digest] = repository
}

// Rewrite returns image (a pinned reference) pointing at its copy, with the same tag and
// digest, and whether the mapping has it.
func (m *RegistryMap) Rewrite(image string) (string, bool) {
	ref, err := ParseImageRef(image)
	if err != nil {
		return image, false
	}
	repo, ok := m.Images[ref.Repository+"@"+ref.Digest]
	if !ok {
		return image, false
	}
	ref.Repository = repo
	return ref.String(), true
}
