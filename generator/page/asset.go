package page

import (
	"path"
	"strings"
)

// imageExts are the asset types the validator accepts; anything else is not published, so an
// asset can never take the place of a page.
var imageExts = map[string]bool{".svg": true, ".png": true, ".jpg": true, ".jpeg": true, ".webp": true}

// AssetPath maps an asset path from a product file (rel, relative to the publisher folder) to
// its path in the output, for the product productID ("publisher/name"): "<name>/logo.svg"
// becomes products/<publisher>/<name>/logo.svg, beside the product's page, and a file elsewhere
// in the publisher folder, such as a shared "brand/logo.svg", goes to
// products/<publisher>/<name>/files/brand/logo.svg. ok is false for a path that leaves the
// publisher folder or is not an image. The site publishes the file there, and search results
// show the logo from there.
func AssetPath(productID, rel string) (out, clean string, ok bool) {
	clean = path.Clean(rel)
	if rel == "" || path.IsAbs(rel) || strings.Contains(rel, "\\") || clean == "." || clean == ".." || strings.HasPrefix(clean, "../") {
		return "", "", false
	}
	if !imageExts[strings.ToLower(path.Ext(clean))] {
		return "", "", false
	}
	_, name, _ := strings.Cut(productID, "/")
	dir := path.Join("products", productID)
	if rest, under := strings.CutPrefix(clean, name+"/"); under && !strings.HasPrefix(rest, "files/") {
		return path.Join(dir, rest), clean, true
	}
	return path.Join(dir, "files", clean), clean, true
}

// DeployPrefix is what the output paths of a build's deploy manifests start with,
// deploy/PUBLISHER/PRODUCT@VERSION., followed by kubernetes.yaml or compose.yaml: the deploy
// stage writes them there and the site links them, so both take the name from here.
func DeployPrefix(productID, version string) string {
	return "deploy/" + productID + "@" + version + "."
}
