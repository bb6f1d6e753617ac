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
package verify
