// Package federate is how a private marketplace gets its catalogs: mirrors (bare Git
// repositories of another catalog, cloned and synced from a URL, a path or a Git bundle carried
// on removable media, moving only to commits that load, validate and verify offline) and
// federation (the [[upstreams]] of index.toml, fetched at the commits upstreams.lock pins and
// merged with the local catalog into one catalog where every product and publisher carries its
// origin).
//
// Git work is delegated to catalog/gitrepo; signature checks to catalog/verify. Nothing here
// renders or writes outputs.
package federate
