// Package catalog is the model of a marketplace catalog repository and everything that can be
// checked about it without a network or Git history: loading index.toml, publisher.toml and
// product files from an fs.FS, and validating them into positioned diagnostics.
//
// The package never touches the network, never renders HTML and never reads Git; those stages
// live in catalog/verify, generator and the Git package, and take a *Catalog as input.
package catalog
