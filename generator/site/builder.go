package site

import "github.com/hspc/marketplace/generator/page"

// BuilderPath is the environment builder's page. Its script (theme/static/builder.js) reads
// api/v1/builder.json and the per-product API documents, which generator/api writes.
const BuilderPath = "builder/index.html"

// builderPage is the environment builder: a shell the theme's builder.js fills in. It shows
// nothing of the catalog itself, so its key is only the theme's.
func (g *generator) builderPage() page.Page {
	return g.newPage(BuilderPath, "builder", "Environment builder",
		"Put together an environment of the catalog's services, resolve their dependencies and download the environment file for marketplace env.",
		"builder", nil)
}
