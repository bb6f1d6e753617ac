// Package schema holds the JSON Schemas (draft 2020-12) of the catalog's file kinds:
// index.schema.json for index.toml, publisher.schema.json for products/<publisher>/publisher.toml,
// product.schema.json for products/<publisher>/<product>.toml, upstreams-lock.schema.json for
// upstreams.lock, and environment.schema.json for environment files (`marketplace env`).
//
// The schemas serve editors: Taplo and VS Code's "Even Better TOML" use them for completion,
// hover documentation and checking as an ISV types (see .taplo.toml at the repository root).
// They describe the same keys as the Go model in package catalog, which a test keeps in step;
// `marketplace validate` stays the authority and also checks what a schema cannot express.
package schema

import "embed"

// FS holds the schema files, named as above, so that the binary can write them out.
//
//go:embed *.json
var FS embed.FS
