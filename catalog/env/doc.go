// Package env is the model of an environment: the services a hospital deploys from the catalog,
// the external services it already runs, and how each dependency of each service is bound to a
// provider (SPEC §8 `marketplace env`, MVP stories 2–4 and 6). It loads and checks environment
// files, resolves them against a catalog and returns a typed result; it touches no network and
// writes nothing. The exporters (generator/deploy), the command line and the agent consume the
// result.
//
// # Files
//
// An environment file is TOML (any path; environments/<name>.toml by convention):
//
//	name = "fhir-prod"                # default: the file's base name; prefixes shared objects
//	platform = "kubernetes"           # kubernetes (default) or compose
//	namespace = "fhir"                # Kubernetes namespace; optional
//
//	[[services]]                      # a build from the catalog
//	name = "fhir"                     # instance name, a DNS label; default: the product's slug
//	product = "acme/fhir"
//	version = "^5"                    # exact version or SemVer constraint; default: newest release
//	params = { FHIR_BASE_URL = "https://fhir.example.org/fhir", OIDC_CLIENT_SECRET = { secret = "FHIR_OIDC_SECRET" } }
//
//	[[externals]]                     # a service the hospital already runs
//	name = "hospital-sso"
//	interface = "oidc"
//	properties = { issuer = "https://sso.example.org", client_id = "fhir", client_secret = { secret = "OIDC_CLIENT_SECRET" } }
//
//	[[bindings]]                      # only where a choice is ambiguous
//	service = "fhir"
//	interface = "postgresql"
//	provider = "db"                   # a service or external name
//
// Load reads such a file into an *Environment, reporting every problem at once with positions
// (the catalog's TOMLFile machinery: syntax, types, unknown keys with "did you mean"). Values are
// text or a secret reference { secret = "NAME" }: the name of a key in the environment's
// secrets file (secrets.env beside the exported manifests), never the secret itself, so the
// environment file can be committed.
//
// The lock (LockPath: fhir.toml → fhir.lock; environment.toml → environment.lock) records the
// build each service resolved to: its version and image digest. LoadLock reads it, Lock.Marshal
// writes it. With a lock, Resolve keeps the locked build as long as it still satisfies the
// constraint; Options.Update resolves every constraint to the newest matching build again.
//
// # Resolution
//
// Resolve(cat, env, lock, opts) picks a build for every service (Masterminds/semver
// constraints; releases before pre-releases) and then, for every dependency of every service
// (in file order), the provider, in this order:
//
//  1. a [[bindings]] entry for (service, interface) names it: a service or an external;
//  2. otherwise the services whose build exposes the interface, or one that substitutes for it
//     (catalog.Satisfies), and the externals of such an interface, other than the consumer
//     itself; exactly one candidate is bound; two or more are an "ambiguous relation" error
//     naming them and showing the [[bindings]] entry to write;
//  3. no candidate: a required dependency is an error that lists the catalog products able to
//     provide it with what they need in turn (transitively); an optional one is a note.
//
// Each binding turns the provider's properties into the consumer's bound parameters
// (bind = { DATABASE_URL = "url" }): an external's properties as written; a service's from its
// exposure: host (the instance's Service name "<instance>-<task>", the same in both formats),
// port and path of the exposed task port, url ("http://host:port/path" for HTTP ports), and
// whatever the exposure's properties templates say ("postgresql://${POSTGRES_USER}:..."),
// evaluated over the provider's own parameter values. Values are Exprs: literal text and secret
// references kept apart, so no renderer can write a secret into a plain manifest. A parameter
// whose value contains a secret (or that is declared secret) lives in the environment's one
// Secret under Param.SecretKey; a required secret parameter nothing sets is generated (a
// provider's own credential, such as POSTGRES_PASSWORD), and every consumer bound to it derives
// its value from the same key.
//
// Dependency cycles among services are errors, as are required parameters without a value.
// Diagnostics are positioned on the environment file; Resolve returns the Resolution even when
// there are errors, so `env deps` can still show the tree.
//
// # Result
//
// A Resolution has the Services in file order (each with its Build, Params and Needs), the
// Externals, every Binding, the Secrets of the environment's one Secret, Notes, the Lock to
// write, Tree() for `env deps` and Report() for its --json (plain data, no secret values).
// Missing lists the unprovided required dependencies with
// Candidates (what `env add --with-deps` adds).
//
// Renderers take a Resolution: generator/deploy's Environment(res, format, secrets) returns the
// files of a Kustomize folder or a Compose file, SecretValues fills in the secrets (keeping the
// values of the last export), and ApplyCommand says how to deploy the folder.
//
// # Editing
//
// Scaffold writes a new file (`env init`); Additions says which services `env add` appends (the
// product, and with its dependencies the catalog products that provide what is missing), and
// AppendServices appends them as text, so comments and layout stay as the user wrote them.
package env
