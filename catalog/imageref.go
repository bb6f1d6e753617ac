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
	// Grammar of github.com/distribution/reference, restricted to what registries accept. The
	// checks below are this regexp written out: it is the validator's hottest (three images a
	// product), and the backtracking host alternative made it cost microseconds a reference.
	//   host      (?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.…)*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?
	//   component [a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*
	//   name      (?:host/)?component(?:/component)*
	tagRE = regexp.MustCompile(`^[\w][\w.-]{0,127}$`)
)

// validRepository reports whether name matches the name grammar above.
func validRepository(name string) bool {
	parts := strings.Split(name, "/")
	if len(parts) > 1 && !validComponent(parts[0]) {
		if !validHost(parts[0]) {
			return false
		}
		parts = parts[1:]
	}
	for _, p := range parts {
		if !validComponent(p) {
			return false
		}
	}
	return true
}

func isLowerAlnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }

func isAlnum(c byte) bool { return isLowerAlnum(c) || c >= 'A' && c <= 'Z' }

// validComponent: lowercase alphanumeric runs joined by ".", "_", "__" or any run of "-".
func validComponent(s string) bool {
	if s == "" || !isLowerAlnum(s[0]) || !isLowerAlnum(s[len(s)-1]) {
		return false
	}
	for i := 0; i < len(s); {
		if isLowerAlnum(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && !isLowerAlnum(s[j]) {
			j++
		}
		switch sep := s[i:j]; {
		case sep == "." || sep == "_" || sep == "__":
		case strings.Trim(sep, "-") == "":
		default:
			return false
		}
		i = j
	}
	return true
}

// validHost: DNS labels joined by ".", or a bracketed IPv6 address, with an optional :port.
func validHost(s string) bool {
	host, port, hasPort := s, "", false
	if i := strings.LastIndexByte(s, ':'); i >= 0 && !strings.HasSuffix(s, "]") {
		host, port, hasPort = s[:i], s[i+1:], true
	}
	if hasPort {
		if port == "" || strings.Trim(port, "0123456789") != "" {
			return false
		}
	}
	if strings.HasPrefix(host, "[") {
		inner, ok := strings.CutSuffix(host[1:], "]")
		return ok && inner != "" && strings.Trim(inner, "0123456789abcdefABCDEF:") == ""
	}
	for _, label := range strings.Split(host, ".") {
		if label == "" || !isAlnum(label[0]) || !isAlnum(label[len(label)-1]) {
			return false
		}
		for k := 0; k < len(label); k++ {
			if !isAlnum(label[k]) && label[k] != '-' {
				return false
			}
		}
	}
	return true
}

// validDigest reports whether d is "sha256:" and 64 lowercase hex digits.
func validDigest(d string) bool {
	hex, ok := strings.CutPrefix(d, "sha256:")
	if !ok || len(hex) != 64 {
		return false
	}
	for k := 0; k < len(hex); k++ {
		if !(hex[k] >= '0' && hex[k] <= '9' || hex[k] >= 'a' && hex[k] <= 'f') {
			return false
		}
	}
	return true
}

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
	if !validRepository(ref.Repository) {
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
	if !validDigest(digest) {
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
