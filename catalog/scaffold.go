package catalog

import (
	"fmt"
	"path"
	"strings"
)

// Scaffold returns the files `marketplace new` writes for product "<publisher>/<product>": the
// product file, a placeholder logo, and publisher.toml when withPublisher is set. Every file is
// commented for the ISV and the result validates with no errors as it is.
func Scaffold(productID string, withPublisher bool) (map[string][]byte, error) {
	pub, prod, ok := strings.Cut(productID, "/")
	if !ok || strings.Contains(prod, "/") {
		return nil, fmt.Errorf("want PUBLISHER/PRODUCT, got %q", productID)
	}
	for _, id := range []string{pub, prod} {
		if !IDPattern.MatchString(id) {
			return nil, fmt.Errorf("%q must match %s (lowercase letters, digits and inner hyphens)", id, IDPattern)
		}
	}
	title := titleCase(prod)
	dir := path.Join(ProductsDir, pub)
	files := map[string][]byte{
		path.Join(dir, prod+".toml"):     []byte(fmt.Sprintf(productTemplate, title, prod, pub, prod)),
		path.Join(dir, prod, "logo.svg"): []byte(fmt.Sprintf(logoTemplate, title, initials(title))),
	}
	if withPublisher {
		files[path.Join(dir, PublisherFile)] = []byte(fmt.Sprintf(publisherTemplate, titleCase(pub), pub, pub, pub, pub))
	}
	return files, nil
}

func titleCase(id string) string {
	words := strings.Split(id, "-")
	for i, w := range words {
		words[i] = strings.ToUpper(w[:1]) + w[1:]
	}
	return strings.Join(words, " ")
}

func initials(title string) string {
	var b strings.Builder
	for _, w := range strings.Fields(title) {
		b.WriteString(strings.ToUpper(w[:1]))
		if b.Len() == 2 {
			break
		}
	}
	return b.String()
}

const publisherTemplate = `#:schema ../../catalog/schema/publisher.schema.json
# The publisher: who you are and which identities may sign your images.
# Reference: CONTRIBUTING.md, "publisher.toml".

name = %[1]q
url = "https://%[2]s.example"
contact = "mailto:security@%[3]s.example"

# Git host handles allowed to change products/%[4]s/** in a pull request.
maintainers = ["%[5]s-bot"]

# Identities whose cosign signatures the marketplace accepts for your images. Either a PEM public
# key file beside this file:
#   [[signers]]
#   key = "cosign.pub"
# or a keyless (Fulcio) identity, as below.
[[signers]]
issuer = "https://token.actions.githubusercontent.com"
subject_regexp = "^https://github\\.com/%[5]s/.+/\\.github/workflows/release\\.yml@refs/tags/v.+$"
`

const productTemplate = `#:schema ../../catalog/schema/product.schema.json
# %[1]s — fill in every field, then run ` + "`marketplace validate`" + ` until it prints no errors.
# Reference: CONTRIBUTING.md, "The product file". Rule N = item N of the HSP packaging rules.

name = %[1]q
summary = "One line, at most 140 characters, saying what it does for a hospital"
description = """
What the service does, who it is for, and what it needs to run. Markdown (tables included);
raw HTML is not rendered.
"""
homepage = "https://example.org/%[2]s"
support = "mailto:support@example.org"
source = "https://example.org/%[2]s/source"
license = "Apache-2.0"          # SPDX expression; outside the catalog's open licenses, set evaluation = true
categories = ["integration"]
tags = ["fhir"]
logo = "%[4]s/logo.svg"          # relative to this file's folder; svg, png, jpeg or webp, at most 256 KiB

[identity]
sso = []                        # no user logins; if users log in: ["oidc"] and/or ["saml2"], with the matching dependency below
scim = false                    # true if users and groups can be provisioned over SCIM 2
tracing = "none"                # opentelemetry, opentracing or none
# phi_logging = "LOG_PHI"       # the parameter that turns PHI/PII logging on and off (rule 16)

[[builds]]
version = "0.1.0"               # SemVer, unique within the product
# Pinned by digest (tags move): the output of ` + "`crane digest`" + ` or ` + "`docker buildx imagetools inspect`" + `.
image = "registry.example.org/%[3]s/%[2]s:0.1.0@sha256:0000000000000000000000000000000000000000000000000000000000000000"
platforms = ["linux/amd64"]     # linux/amd64 and/or linux/386 (rule 11)
notes = "First release."

  [[builds.tasks]]              # one entry process per task (rule 7)
  name = "web"
  min = 1                       # instances the platform keeps running (rules 5, 6)
  max = 3
  memory = 512                  # MiB per instance (rule 10)
  stop_timeout = 10             # seconds; stop within 10 (rule 13)
  ports = [{ port = 8080, protocol = "http", health = "/healthz" }]

  [[builds.parameters]]         # configuration comes from environment variables only (rule 3)
  name = "BASE_URL"
  description = "Public base URL of the service"
  required = true
  pattern = "^https?://.+$"

  # [[builds.exposes]]          # an interface of index.toml this build provides
  # interface = "hl7-fhir-r4"
  # task = "web"
  # port = 8080
  # path = "/fhir"

  # [[builds.dependencies]]     # an interface this build needs, bound to its parameters
  # interface = "postgresql"
  # bind = { DATABASE_URL = "url" }

  # [builds.smoke_test]         # required when the build exposes an interface (rule 4)
  # task = "web"
  # command = ["/app/smoke-test"]
  # timeout = 120
`

const logoTemplate = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64" role="img" aria-label="%s">
  <rect width="64" height="64" rx="14" fill="#0b6e69"/>
  <text x="32" y="41" text-anchor="middle" font-family="sans-serif" font-size="24" font-weight="700" fill="#fff">%s</text>
</svg>
`
