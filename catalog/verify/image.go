package verify

import (
	"fmt"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/hspc/marketplace/catalog"
)

// Rules of the seed's packaging requirements that image checks enforce.
const (
	ruleEphemeral = 2  // persistent data in an external service, not in a VOLUME
	ruleX86       = 11 // linux/amd64 or linux/386 only
	ruleHealth    = 15 // health visible to the platform
)

// platformImage is one runnable image of the digest, parsed.
type platformImage struct {
	platform string // "linux/amd64"; "" for a single image whose configuration names none
	config   *v1.ConfigFile
	size     int64 // compressed: configuration and layers
}

// parsedFacts is ImageFacts decoded for the checks.
type parsedFacts struct {
	index     bool
	platforms []string // every platform an index lists, in its order
	images    []platformImage
}

func parseFacts(f *ImageFacts) (*parsedFacts, error) {
	pf := &parsedFacts{index: isIndex(f)}
	if pf.index {
		idx, err := v1.ParseIndexManifest(strings.NewReader(f.Manifest))
		if err != nil {
			return nil, fmt.Errorf("parsing the index: %w", err)
		}
		for _, m := range idx.Manifests {
			pf.platforms = append(pf.platforms, platformString(m.Platform))
		}
		for _, p := range f.Platforms {
			img, err := parseImage(p.Manifest, p.Config)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", p.Platform, err)
			}
			img.platform = p.Platform
			pf.images = append(pf.images, img)
		}
		return pf, nil
	}
	img, err := parseImage(f.Manifest, f.Config)
	if err != nil {
		return nil, err
	}
	if img.config.OS != "" || img.config.Architecture != "" {
		img.platform = platformString(&v1.Platform{OS: img.config.OS, Architecture: img.config.Architecture, Variant: img.config.Variant})
	}
	pf.images = []platformImage{img}
	return pf, nil
}

func parseImage(manifest, config string) (platformImage, error) {
	m, err := v1.ParseManifest(strings.NewReader(manifest))
	if err != nil {
		return platformImage{}, fmt.Errorf("parsing the manifest: %w", err)
	}
	c, err := v1.ParseConfigFile(strings.NewReader(config))
	if err != nil {
		return platformImage{}, fmt.Errorf("parsing the configuration: %w", err)
	}
	size := m.Config.Size
	for _, l := range m.Layers {
		size += l.Size
	}
	return platformImage{config: c, size: size}, nil
}

// osArch drops the variant: rule 11 is about the instruction set, and amd64/v3 is still amd64.
func osArch(platform string) string {
	parts := strings.SplitN(platform, "/", 3)
	if len(parts) < 2 {
		return platform
	}
	return parts[0] + "/" + parts[1]
}

// imageFinding is one problem of an image, before it is attached to a build.
type imageFinding struct {
	key      string // relative to the build: "platforms", "image", "tasks[0].ports[1]"
	severity catalog.Severity
	rule     int
	msg      string
}

// checkImage compares the image with the build's declaration: platforms (rule 11), declared
// ports exposed, no VOLUME (rule 2), size under the policy limit, a health check (rule 15) and
// a non-root user.
func checkImage(pf *parsedFacts, b *catalog.Build, maxMiB int) []imageFinding {
	var out []imageFinding
	add := func(key string, sev catalog.Severity, rule int, format string, args ...any) {
		f := imageFinding{key: key, severity: sev, rule: rule, msg: fmt.Sprintf(format, args...)}
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	platformKey := "image"
	if len(b.Platforms) > 0 {
		platformKey = "platforms"
	}
	declared := b.PlatformsOrDefault()
	declares := func(what string) string {
		if len(b.Platforms) == 0 {
			return "no platforms are declared, so " + what + " is assumed"
		}
		return "platforms declares " + what
	}
	var have []string
	for _, img := range pf.images {
		if img.platform != "" {
			have = append(have, osArch(img.platform))
		}
	}
	if pf.index {
		if len(pf.images) == 0 {
			add(platformKey, catalog.Error, ruleX86, "the image index has no linux/amd64 or linux/386 image (it has %s)", strings.Join(pf.platforms, ", "))
			return out
		}
		for _, d := range declared {
			if !slices.Contains(have, d) {
				add(platformKey, catalog.Error, ruleX86, "%s, but the image index has no %s image (it has %s)", declares(d), d, strings.Join(pf.platforms, ", "))
			}
		}
		for _, h := range have {
			if !slices.Contains(declared, h) {
				add(platformKey, catalog.Warning, ruleX86, "the image index also has a %s image; declare it in platforms", h)
			}
		}
	} else if p := pf.images[0].platform; p != "" {
		switch {
		case !slices.Contains(catalog.Platforms, osArch(p)):
			add(platformKey, catalog.Error, ruleX86, "the image is built for %s; only linux/amd64 and linux/386 images are accepted", p)
			return out
		case len(declared) != 1 || declared[0] != osArch(p):
			add(platformKey, catalog.Error, ruleX86, "%s, but the image is a single %s image", declares(strings.Join(declared, ", ")), osArch(p))
		}
	}

	hasHealthPath := false
	for _, t := range b.Tasks {
		for _, p := range t.Ports {
			hasHealthPath = hasHealthPath || p.Health != ""
		}
	}
	limit := int64(maxMiB) << 20
	for _, img := range pf.images {
		what := "the image"
		if pf.index {
			what = "the " + img.platform + " image"
		}
		cfg := img.config.Config
		for ti, t := range b.Tasks {
			for pi, p := range t.Ports {
				proto := "tcp"
				if p.Protocol == "udp" {
					proto = "udp"
				}
				port := fmt.Sprintf("%d/%s", p.Port, proto)
				if _, ok := cfg.ExposedPorts[port]; !ok {
					add(fmt.Sprintf("tasks[%d].ports[%d]", ti, pi), catalog.Error, 0,
						"task %s declares port %s, but %s does not expose it (it exposes %s)", t.Name, port, what, exposed(cfg.ExposedPorts))
				}
			}
		}
		if len(cfg.Volumes) > 0 {
			add("image", catalog.Warning, ruleEphemeral,
				"%s declares VOLUME %s; persistent data belongs in an external service declared as a dependency", what, strings.Join(sortedKeys(cfg.Volumes), ", "))
		}
		if limit > 0 && img.size > limit {
			add("image", catalog.Warning, 0, "%s is %d MiB compressed, over the policy limit of %d MiB; data payloads belong outside the image", what, img.size>>20, maxMiB)
		}
		if !hasHealthPath && (cfg.Healthcheck == nil || len(cfg.Healthcheck.Test) == 0 || cfg.Healthcheck.Test[0] == "NONE") {
			add("image", catalog.Warning, ruleHealth, "%s has no HEALTHCHECK and no task port declares a health path", what)
		}
		if isRoot(cfg.User) {
			add("image", catalog.Warning, 0, "%s runs as root (USER %q); run it as an unprivileged user", what, cfg.User)
		}
	}
	return out
}

// isRoot reports whether a configuration's USER runs the process as root: unset, root or uid 0,
// with or without a group.
func isRoot(user string) bool {
	u, _, _ := strings.Cut(user, ":")
	return u == "" || u == "root" || u == "0"
}

func exposed(ports map[string]struct{}) string {
	if len(ports) == 0 {
		return "none"
	}
	return strings.Join(sortedKeys(ports), ", ")
}

func sortedKeys(m map[string]struct{}) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
