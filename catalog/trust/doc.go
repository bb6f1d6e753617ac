// Package trust signs a built output with The Update Framework (TUF) and enforces those
// signatures in clients. It is the one package that imports go-tuf: the pipeline calls Sign
// (through Hook) after writing, and clients — the site mirror, a private marketplace reading an
// upstream, the platform agent — call Client before acting on a file.
//
// A key folder made by Init holds the root metadata history (roots/N.root.json, root.json),
// the offline root keys (offline/, to be moved to offline storage) and the online keys that
// sign each build (online/targets.pem, snapshot.pem, timestamp.pem). Sign writes tuf/ into an
// output: N.root.json for every root version, N.targets.json, N.snapshot.json and
// timestamp.json, and tuf/targets/<dir>/<sha256>.<name> hard links to every file a client acts
// on (catalog.json and the per-product JSON, feed.json, search.json, deploy manifests,
// signature material), so the output is a consistent-snapshot TUF repository on any static host.
//
// Clients use go-tuf's own updater; Refusal says which attack it stopped and what to do.
package trust
