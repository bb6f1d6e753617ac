package verify

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/sigstore/cosign/v2/pkg/cosign/bundle"
	"github.com/sigstore/cosign/v2/pkg/oci"
	"github.com/sigstore/cosign/v2/pkg/oci/static"

	"github.com/hspc/marketplace/catalog"
)

// MaterialSchema is the version of the Material file format.
const MaterialSchema = 1

// Material is everything known about one image digest, as stored in signatures/sha256-<hex>.json
// (and, without Result, in the cache): the registry's manifests and configurations, the cosign
// signatures, and the verdict of the run that wrote it.
//
// Every part can be checked again without a network: the manifest must hash to Digest, each
// configuration to the digest its manifest names, and each signature must verify with a signer
// the catalog declares over a payload that names Digest. Result is informative only; offline
// verification computes its own.
//
// Fields are declared in the order of their JSON keys, so files list keys sorted.
type Material struct {
	// Digest is the image digest, "sha256:<64 hex>".
	Digest string `json:"digest"`
	// Image holds the registry's facts about the digest; nil when they were never fetched (for
	// example, material signed before the image was pushed).
	Image *ImageFacts `json:"image,omitempty"`
	// Result is the verdict of the run that wrote the file; absent in the cache.
	Result *Result `json:"result,omitempty"`
	// Schema is MaterialSchema.
	Schema int `json:"schema"`
	// Signatures are the cosign signatures: in written material, those that verified.
	Signatures []Signature `json:"signatures"`
}

// ImageFacts are the raw registry documents of an image, kept byte for byte so that their
// digests can be checked again.
type ImageFacts struct {
	// Config is the image configuration when Manifest is a single image's manifest.
	Config string `json:"config,omitempty"`
	// Manifest is the manifest or index at the digest, as the registry served it.
	Manifest string `json:"manifest"`
	// MediaType is the media type the registry served the manifest with.
	MediaType string `json:"media_type"`
	// Platforms are the linux/amd64 and linux/386 images of an index (rule 11); other platforms
	// are not fetched.
	Platforms []PlatformImage `json:"platforms,omitempty"`
}

// PlatformImage is one image of an index.
type PlatformImage struct {
	Config   string `json:"config"`
	Digest   string `json:"digest"`
	Manifest string `json:"manifest"`
	Platform string `json:"platform"`
}

// Signature is one cosign signature as cosign stores it in a sha256-<hex>.sig image: the signed
// payload, the signature, and for keyless signing the certificate, its chain and the Rekor bundle.
type Signature struct {
	// Bundle is the Rekor bundle (dev.sigstore.cosign/bundle annotation), if any.
	Bundle json.RawMessage `json:"bundle,omitempty"`
	// Certificate is the PEM signing certificate of a keyless signature.
	Certificate string `json:"certificate,omitempty"`
	// Chain is the PEM chain of Certificate up to its root.
	Chain string `json:"chain,omitempty"`
	// Payload is the signed simple-signing payload, base64-encoded (the exact bytes signed).
	Payload string `json:"payload"`
	// Repository is where the signature was found; informative.
	Repository string `json:"repository,omitempty"`
	// RFC3161Timestamp is the dev.sigstore.cosign/rfc3161timestamp annotation, if any.
	RFC3161Timestamp json.RawMessage `json:"rfc3161_timestamp,omitempty"`
	// Signature is the base64 signature over Payload.
	Signature string `json:"signature"`
}

// Result is the verdict of one run for one digest.
type Result struct {
	// Builds are the builds that pin the digest, by product ID then version.
	Builds []BuildResult `json:"builds"`
	// Verified reports whether every build's signature verified.
	Verified bool `json:"verified"`
}

// BuildResult is the verdict for one build.
type BuildResult struct {
	// Error says why the signature did not verify; empty when it did.
	Error string `json:"error,omitempty"`
	// Image is the build's image reference.
	Image string `json:"image"`
	// Product is the product ID.
	Product string `json:"product"`
	// Signer names the declared signer whose signature verified: the key file
	// ("products/acme/cosign.pub") or "keyless <issuer> <subject>".
	Signer string `json:"signer,omitempty"`
	// Verified reports whether a signature by a declared signer verified.
	Verified bool `json:"verified"`
	// Version is the build's version.
	Version string `json:"version"`
}

// FileName returns the name of the material file for a digest: "sha256-<hex>.json", the way
// cosign names signature tags.
func FileName(digest string) string {
	return strings.Replace(digest, ":", "-", 1) + ".json"
}

// Marshal encodes the material the way WriteMaterial writes it: indented JSON with sorted keys
// and a final newline, the same bytes for the same material.
func (m *Material) Marshal() ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(m); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// WriteFile writes the material into dir as FileName(m.Digest), replacing any older file
// atomically.
func (m *Material) WriteFile(dir string) error {
	data, err := m.Marshal()
	if err != nil {
		return fmt.Errorf("encoding material for %s: %w", m.Digest, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return catalog.WriteFileAtomic(filepath.Join(dir, FileName(m.Digest)), data, 0o644)
}

// readMaterial reads the material for digest from fsys, or from the folder dir when fsys is nil;
// it returns nil and no error when there is none.
func readMaterial(fsys fs.FS, dir, digest string) (*Material, error) {
	var data []byte
	var err error
	switch {
	case fsys != nil:
		data, err = fs.ReadFile(fsys, FileName(digest))
	case dir == "":
		return nil, nil
	default:
		data, err = os.ReadFile(filepath.Join(dir, FileName(digest)))
	}
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var m Material
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("decoding %s: %w", FileName(digest), err)
	}
	if m.Digest != digest {
		return nil, fmt.Errorf("%s is for digest %s, want %s", FileName(digest), m.Digest, digest)
	}
	if m.Schema != MaterialSchema {
		return nil, fmt.Errorf("%s has schema %d, want %d", FileName(digest), m.Schema, MaterialSchema)
	}
	return &m, nil
}

// check verifies that the facts are the registry documents of digest: the manifest hashes to it,
// every platform image is listed in the index and hashes to its digest, and every configuration
// hashes to the digest its manifest names.
func (f *ImageFacts) check(digest string) error {
	if got := sha256Digest(f.Manifest); got != digest {
		return fmt.Errorf("the recorded manifest hashes to %s, not to the digest", got)
	}
	if isIndex(f) {
		idx, err := v1.ParseIndexManifest(strings.NewReader(f.Manifest))
		if err != nil {
			return fmt.Errorf("parsing the index: %w", err)
		}
		listed := map[string]bool{}
		for _, m := range idx.Manifests {
			listed[m.Digest.String()] = true
		}
		for _, p := range f.Platforms {
			if !listed[p.Digest] {
				return fmt.Errorf("the index does not list the recorded %s image %s", p.Platform, p.Digest)
			}
			if got := sha256Digest(p.Manifest); got != p.Digest {
				return fmt.Errorf("the recorded %s manifest hashes to %s, not to %s", p.Platform, got, p.Digest)
			}
			if err := checkConfig(p.Manifest, p.Config); err != nil {
				return fmt.Errorf("%s: %w", p.Platform, err)
			}
		}
		return nil
	}
	return checkConfig(f.Manifest, f.Config)
}

func checkConfig(manifest, config string) error {
	m, err := v1.ParseManifest(strings.NewReader(manifest))
	if err != nil {
		return fmt.Errorf("parsing the manifest: %w", err)
	}
	if got, want := sha256Digest(config), m.Config.Digest.String(); got != want {
		return fmt.Errorf("the recorded configuration hashes to %s, want %s", got, want)
	}
	return nil
}

// isIndex reports whether the facts describe an image index rather than a single image. The
// manifest's own mediaType decides where it has one, since it is covered by the digest.
func isIndex(f *ImageFacts) bool {
	var probe struct {
		MediaType string          `json:"mediaType"`
		Manifests json.RawMessage `json:"manifests"`
	}
	if json.Unmarshal([]byte(f.Manifest), &probe) == nil {
		if probe.MediaType != "" {
			return strings.Contains(probe.MediaType, "index") || strings.Contains(probe.MediaType, "manifest.list")
		}
		if probe.Manifests != nil {
			return true
		}
	}
	return strings.Contains(f.MediaType, "index") || strings.Contains(f.MediaType, "manifest.list")
}

func sha256Digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// key identifies a signature by what it signs and proves, whatever repository it was found in.
func (s Signature) key() string {
	return s.Payload + "\x00" + s.Signature + "\x00" + s.Certificate
}

// ociSignature rebuilds the cosign signature from its material, for cosign to verify.
func (s Signature) ociSignature() (oci.Signature, error) {
	payload, err := base64.StdEncoding.DecodeString(s.Payload)
	if err != nil {
		return nil, fmt.Errorf("decoding the payload: %w", err)
	}
	if _, err := base64.StdEncoding.DecodeString(s.Signature); err != nil {
		return nil, fmt.Errorf("decoding the signature: %w", err)
	}
	var opts []static.Option
	if s.Certificate != "" {
		opts = append(opts, static.WithCertChain([]byte(s.Certificate), []byte(s.Chain)))
	}
	if len(s.Bundle) > 0 {
		var b bundle.RekorBundle
		if err := json.Unmarshal(s.Bundle, &b); err != nil {
			return nil, fmt.Errorf("decoding the Rekor bundle: %w", err)
		}
		opts = append(opts, static.WithBundle(&b))
	}
	if len(s.RFC3161Timestamp) > 0 {
		var ts bundle.RFC3161Timestamp
		if err := json.Unmarshal(s.RFC3161Timestamp, &ts); err != nil {
			return nil, fmt.Errorf("decoding the RFC 3161 timestamp: %w", err)
		}
		opts = append(opts, static.WithRFC3161Timestamp(&ts))
	}
	return static.NewSignature(payload, s.Signature, opts...)
}

// signatureFromOCI records a signature read from a registry, keeping the annotations' bytes.
func signatureFromOCI(sig oci.Signature, repo string) (Signature, error) {
	payload, err := sig.Payload()
	if err != nil {
		return Signature{}, fmt.Errorf("reading the payload: %w", err)
	}
	b64, err := sig.Base64Signature()
	if err != nil {
		return Signature{}, fmt.Errorf("reading the signature: %w", err)
	}
	ann, err := sig.Annotations()
	if err != nil {
		return Signature{}, fmt.Errorf("reading the annotations: %w", err)
	}
	s := Signature{
		Repository:  repo,
		Payload:     base64.StdEncoding.EncodeToString(payload),
		Signature:   b64,
		Certificate: ann[static.CertificateAnnotationKey],
		Chain:       ann[static.ChainAnnotationKey],
	}
	if b := ann[static.BundleAnnotationKey]; b != "" {
		if !json.Valid([]byte(b)) {
			return Signature{}, fmt.Errorf("the Rekor bundle annotation is not JSON")
		}
		s.Bundle = json.RawMessage(b)
	}
	if ts := ann[static.RFC3161TimestampAnnotationKey]; ts != "" {
		if !json.Valid([]byte(ts)) {
			return Signature{}, fmt.Errorf("the RFC 3161 timestamp annotation is not JSON")
		}
		s.RFC3161Timestamp = json.RawMessage(ts)
	}
	return s, nil
}

// mergeSignatures returns the signatures of both lists without duplicates, in a stable order.
func mergeSignatures(lists ...[]Signature) []Signature {
	seen := map[string]bool{}
	var out []Signature
	for _, l := range lists {
		for _, s := range l {
			if k := s.key(); !seen[k] {
				seen[k] = true
				out = append(out, s)
			}
		}
	}
	sortSignatures(out)
	return out
}

func sortSignatures(sigs []Signature) {
	slices.SortFunc(sigs, func(a, b Signature) int { return strings.Compare(a.key(), b.key()) })
}

// MaterialDir is the folder of a catalog repository that holds committed signature material.
const MaterialDir = "signatures"

// DefaultMaterial returns <root>/signatures when the catalog repository keeps signature material
// there, else "": what verify and build read when no --material folder is given.
func DefaultMaterial(root string) string {
	dir := filepath.Join(root, MaterialDir)
	if info, err := os.Stat(dir); err == nil && info.IsDir() {
		return dir
	}
	return ""
}
