// Package verify checks that the image of every build is exactly what its publisher built and
// signed: the manifest exists at the pinned digest, its configuration agrees with the product file,
// and a cosign signature over that digest verifies with one of the publisher's declared signers.
//
// It is the only package of the marketplace that talks to registries (go-containerregistry) and
// checks signatures (cosign). Everything it learns about a digest is content-addressed, so it is
// kept: in a cache folder, to ask a registry nothing on the next run, and as signature material
// (signatures/sha256-<hex>.json) that lets any mirror re-verify every signature offline with only
// the catalog repository. Offline verification is a cryptographic check of that material, never a
// copy of an earlier verdict.
//
// # What a signature must prove
//
// A signature counts for a build when cosign verifies it (cosign.VerifyImageSignature, the code
// behind `cosign verify`) with one of the signers in the publisher's publisher.toml, and its
// simple-signing payload names the build's digest. A signer is either a PEM public key file beside
// publisher.toml, checked without a transparency log (the publisher's key is the trust anchor), or
// a keyless identity, issuer plus subject or a fully anchored subject_regexp, whose certificate
// must chain to a Fulcio certificate authority of the Sigstore trusted root given in
// Options.TrustedRoot. The trusted root decides what else keyless signatures need, so that it
// works offline: when it lists Rekor logs, a Rekor bundle whose signed entry timestamp verifies
// (it proves the short-lived certificate was valid when used); when it lists CT logs, an embedded
// SCT. The public-good Sigstore root (trusted_root.json from its TUF repository) lists both; a
// private CA's root may list neither, and then the certificate must still be valid now.
//
// # Cache and material
//
// Registry documents (manifest, index, configurations) and signatures are stored per digest in
// the Material format. Before use, a manifest must hash to its digest and a configuration to the
// digest its manifest names, so a damaged cache entry is fetched again and damaged material fails
// offline. Registry facts are reused for ever; signatures are reused while they verify for every
// build that pins the digest, and fetched again otherwise, since a publisher may sign later.
package verify
