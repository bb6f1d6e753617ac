package catalog

import (
	"fmt"
	"regexp"
	"strings"
)

// ImageRef is an OCI image reference pinned by digest: [registry/]repository[:tag]@sha256:<hex>.
type ImageRef struct {
	Repository string // including the registry host when one is given
	Tag        string // optional, informative only: the digest is what is deployed
	Digest     string // "sha256:<64 lowercase hex>"
}

// String returns the reference in its canonical form.
func (r ImageRef) String() string {
	s := r.Repository
	if r.Tag != "" {
		s += ":" + r.Tag
	}
	return s + "@" + r.Digest
}

var (
	// Grammar of github.com/distribution/reference, restricted to what registries accept.
	repoComponent = `[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*`
	repoHost      = `(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?`
	repoRE        = regexp.MustCompile(`^(?:` + repoHost + `/)?` + repoComponent + `(?:/` + repoComponent + `)*$`)
	tagRE         = regexp.MustCompile(`^[\w][\w.-]{0,127}$`)
	sha256RE      = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
)

// ParseImageRef parses an image reference and insists that it is pinned by a sha256 digest.
func ParseImageRef(s string) (ImageRef, error) {
	if s == "" {
		return ImageRef{}, fmt.Errorf("image reference is empty")
	}
	if strings.TrimSpace(s) != s {
		return ImageRef{}, fmt.Errorf("image reference %q has surrounding spaces", s)
	}
	name, digest, pinned := strings.Cut(s, "@")
	var ref ImageRef
	ref.Repository = name
	// A colon after the last slash separates the tag; one before it is a registry port.
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		ref.Repository, ref.Tag = name[:i], name[i+1:]
		if !tagRE.MatchString(ref.Tag) {
			return ImageRef{}, fmt.Errorf("image %q has an invalid tag %q", s, ref.Tag)
		}
	}
	if !repoRE.MatchString(ref.Repository) {
		return ImageRef{}, fmt.Errorf("image %q has an invalid repository name %q (lowercase letters, digits, separators)", s, ref.Repository)
	}
	if !pinned {
		if ref.Tag == "" {
			return ImageRef{}, fmt.Errorf("image %q has no digest (no tag means \"latest\", which moves); pin it as %s@sha256:<64 hex>", s, ref.Repository)
		}
		if ref.Tag == "latest" {
			return ImageRef{}, fmt.Errorf("image %q is not pinned: \"latest\" moves; pin it by digest as %s@sha256:<64 hex>", s, ref.Repository)
		}
		return ImageRef{}, fmt.Errorf("image %q is pinned by tag only; tags move, so add the digest: %s@sha256:<64 hex>", s, name)
	}
	if !sha256RE.MatchString(digest) {
		algo, hex, _ := strings.Cut(digest, ":")
		switch {
		case algo != "sha256":
			return ImageRef{}, fmt.Errorf("image %q has digest algorithm %q, want sha256", s, algo)
		case strings.ToLower(hex) == hex && len(hex) != 64:
			return ImageRef{}, fmt.Errorf("image %q has a digest of %d hex digits, want 64", s, len(hex))
		default:
			return ImageRef{}, fmt.Errorf("image %q has a malformed digest %q, want sha256: and 64 lowercase hex digits", s, digest)
		}
	}
	ref.Digest = digest
	return ref, nil
}
