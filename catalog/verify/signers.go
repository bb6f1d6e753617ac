package verify

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/hspc/marketplace/catalog"
	"github.com/sigstore/cosign/v2/pkg/cosign"
	"github.com/sigstore/cosign/v2/pkg/oci"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/payload"
)

// signer is one identity a publisher declared, ready to check signatures.
type signer struct {
	name     string             // how results and messages name it
	key      signature.Verifier // for a key signer
	identity *cosign.Identity   // for a keyless signer
}

// signerSet is what a publisher's signers came to: those usable, and why others are not.
type signerSet struct {
	publisher string
	signers   []signer
	skipped   []string // reasons, for the message when nothing verifies
}

// loadSigners reads the publisher's declared signers. Problems with the declarations are
// reported on publisher.toml; the signers that remain are still used.
func loadSigners(fsys fs.FS, pub *catalog.Publisher, trusted root.TrustedMaterial) (*signerSet, catalog.Diagnostics) {
	set := &signerSet{publisher: pub.ID}
	var ds catalog.Diagnostics
	report := func(i int, key string, sev catalog.Severity, format string, args ...any) {
		k := fmt.Sprintf("signers[%d]", i)
		if key != "" {
			k += "." + key
		}
		msg := fmt.Sprintf(format, args...)
		ds = append(ds, catalog.Diagnostic{Path: pub.Path, Key: k, Severity: sev, Message: msg})
		set.skipped = append(set.skipped, msg)
	}
	for i, s := range pub.Signers {
		switch {
		case s.Key != "":
			file := path.Join(path.Dir(pub.Path), s.Key)
			if !fs.ValidPath(file) || !strings.HasPrefix(file, path.Dir(pub.Path)+"/") {
				report(i, "key", catalog.Error, "signing key %q must be a file inside %s/", s.Key, path.Dir(pub.Path))
				continue
			}
			v, err := loadKey(fsys, file)
			if err != nil {
				report(i, "key", catalog.Error, "cannot use signing key %s: %v", file, err)
				continue
			}
			set.signers = append(set.signers, signer{name: file, key: v})
		case s.Issuer != "" || s.Subject != "" || s.SubjectRegexp != "":
			if s.Issuer == "" || (s.Subject == "") == (s.SubjectRegexp == "") {
				report(i, "", catalog.Error, "a keyless signer needs issuer and exactly one of subject and subject_regexp")
				continue
			}
			if s.SubjectRegexp != "" {
				if _, err := regexp.Compile(s.SubjectRegexp); err != nil {
					report(i, "subject_regexp", catalog.Error, "subject_regexp does not compile: %v", err)
					continue
				}
			}
			if trusted == nil {
				// A warning only: another signer may still verify the publisher's builds, and
				// builds that no signer verifies are reported on their own.
				report(i, "", catalog.Warning, "keyless signer %s cannot be checked: no Sigstore trusted root was given", keylessName(s))
				continue
			}
			// Anchor the expression: a subject pattern that matches a substring would accept any
			// workflow of any repository whose name contains it.
			re := s.SubjectRegexp
			if re != "" {
				re = "^(?:" + re + ")$"
			}
			set.signers = append(set.signers, signer{
				name:     keylessName(s),
				identity: &cosign.Identity{Issuer: s.Issuer, Subject: s.Subject, SubjectRegExp: re},
			})
		default:
			report(i, "", catalog.Error, "signer declares neither key nor issuer and subject")
		}
	}
	return set, ds
}

func keylessName(s catalog.Signer) string {
	subject := s.Subject
	if subject == "" {
		subject = "~" + s.SubjectRegexp
	}
	return "keyless " + s.Issuer + " " + subject
}

func loadKey(fsys fs.FS, file string) (signature.Verifier, error) {
	data, err := fs.ReadFile(fsys, file)
	if err != nil {
		if pe, ok := err.(*fs.PathError); ok {
			err = pe.Err
		}
		return nil, err
	}
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(data)
	if err != nil {
		return nil, fmt.Errorf("not a PEM public key: %w", err)
	}
	return signature.LoadVerifier(pub, crypto.SHA256)
}

// checker verifies signatures with cosign against a publisher's signers.
type checker struct {
	ctx     context.Context
	trusted root.TrustedMaterial
}

// verdict is the outcome of checking all signatures of a digest for one publisher.
type verdict struct {
	signer   string // the signer that verified, or ""
	verified []int  // indexes of the signatures that verified
	reason   string // why none verified
}

// check verifies every signature against every signer of set, as cosign verify would with the
// signer's key or identity, and requires the signed payload to name digest and, as its
// docker-reference, the repository repo the build declares: a publisher's signature for an image
// in one repository does not vouch for a copy of it that someone else publishes in another.
func (c *checker) check(set *signerSet, sigs []Signature, digest, repo string) verdict {
	var v verdict
	if len(set.signers) == 0 {
		v.reason = fmt.Sprintf("publisher %s declares no usable signer", set.publisher)
		if len(set.skipped) > 0 {
			v.reason += " (" + strings.Join(set.skipped, "; ") + ")"
		}
		return v
	}
	h, err := v1.NewHash(digest)
	if err != nil {
		v.reason = err.Error()
		return v
	}
	var reasons []string
	for i, s := range sigs {
		sig, err := s.ociSignature()
		if err != nil {
			reasons = append(reasons, fmt.Sprintf("signature %d is malformed: %v", i+1, err))
			continue
		}
		var fails []failure
		for _, sg := range set.signers {
			if f := c.checkOne(sig, h, repo, sg); f == nil {
				if v.signer == "" {
					v.signer = sg.name
				}
				v.verified = append(v.verified, i)
				fails = nil
				break
			} else {
				fails = append(fails, *f)
			}
		}
		if len(fails) > 0 {
			reasons = append(reasons, fmt.Sprintf("signature %d %s", i+1, explain(fails)))
		}
	}
	if len(v.verified) == 0 {
		v.reason = fmt.Sprintf("no signature by a signer of publisher %s verifies: %s", set.publisher, strings.Join(reasons, "; "))
	}
	return v
}

// failure is why one signature did not verify with one signer. A higher rank says more about
// what is wrong, and wins in the message.
type failure struct {
	rank   int
	signer string
	text   string // completes "signature N ..."
}

const (
	rankCrypto   = 1 // does not verify: wrong key, or altered bytes
	rankIdentity = 2 // a certificate, but not of a declared identity or not from the trusted root
	rankDigest   = 3 // a valid signature by a declared signer, over another digest or repository
)

// explain summarises the failures of one signature: the highest-ranked kind, naming all the
// signers that failed that way.
func explain(fails []failure) string {
	best := fails[0]
	var names []string
	for _, f := range fails {
		if f.rank > best.rank {
			best, names = f, nil
		}
		if f.rank == best.rank && f.text == best.text {
			names = append(names, f.signer)
		}
	}
	return strings.ReplaceAll(best.text, signersPlaceholder, strings.Join(names, ", "))
}

// signersPlaceholder in a failure's text stands for the names of all signers that failed alike.
const signersPlaceholder = "{signers}"

// claimError is a signature that verified but whose payload names another digest.
type claimError struct {
	found string
	err   error
}

func (e *claimError) Error() string { return e.err.Error() }

// claimVerifier is cosign's SimpleClaimVerifier, with its failure made recognisable.
func claimVerifier(sig oci.Signature, h v1.Hash, ann map[string]any) error {
	if err := cosign.SimpleClaimVerifier(sig, h, ann); err != nil {
		var ss payload.SimpleContainerImage
		if p, perr := sig.Payload(); perr == nil {
			_ = json.Unmarshal(p, &ss)
		}
		return &claimError{found: ss.Critical.Image.DockerManifestDigest, err: err}
	}
	return nil
}

// checkOne runs cosign's verification of one signature with one signer, then compares the
// payload's docker-reference with repo.
func (c *checker) checkOne(sig oci.Signature, h v1.Hash, repo string, sg signer) *failure {
	co := &cosign.CheckOpts{
		ClaimVerifier: claimVerifier,
		Offline:       true,
	}
	if sg.key != nil {
		// The publisher's key is the trust anchor; a transparency log entry adds nothing the
		// catalog relies on, and cannot be checked without one.
		co.SigVerifier = sg.key
		co.IgnoreTlog = true
	} else {
		cert, err := sig.Cert()
		if err != nil {
			return &failure{rankCrypto, sg.name, fmt.Sprintf("has an unreadable certificate: %v", err)}
		}
		if cert == nil {
			return &failure{rankCrypto, sg.name, "has no certificate, so keyless signer " + signersPlaceholder + " cannot verify it"}
		}
		co.Identities = []cosign.Identity{*sg.identity}
		if err := cosign.CheckCertificatePolicy(cert, co); err != nil {
			ce := cosign.CertExtensions{Cert: cert}
			return &failure{rankIdentity, sg.name, fmt.Sprintf("is by certificate identity %s (issuer %s), not by a declared signer",
				strings.Join(cryptoutils.GetSubjectAlternateNames(cert), ", "), ce.GetIssuer())}
		}
		co.TrustedMaterial = c.trusted
		// What the trusted root lists is required: with Rekor logs, a Rekor bundle proving when
		// the short-lived certificate was used; with CT logs, an embedded SCT. A private CA's
		// root lists neither, and then the certificate must still be valid now.
		co.IgnoreTlog = len(c.trusted.RekorLogs()) == 0
		co.IgnoreSCT = len(c.trusted.CTLogs()) == 0
		if b, err := sig.Bundle(); !co.IgnoreTlog && (err != nil || b == nil) {
			return &failure{rankIdentity, sg.name, "has no Rekor bundle, which the trusted root requires to show when its certificate was used"}
		}
		if ok, err := cosign.ContainsSCT(cert.Raw); !co.IgnoreSCT && (err != nil || !ok) {
			return &failure{rankIdentity, sg.name, "has a certificate without an embedded SCT, which the trusted root requires"}
		}
	}
	_, err := cosign.VerifyImageSignature(c.ctx, sig, h, co)
	if err == nil {
		if got, ok := sameRepository(sig, repo); !ok {
			return &failure{rankDigest, sg.name, fmt.Sprintf("is by %s but names repository %s, not %s", sg.name, got, repo)}
		}
		return nil
	}
	var ce *claimError
	switch {
	case errors.As(err, &ce):
		found := ce.found
		if found == "" {
			found = "no digest"
		}
		return &failure{rankDigest, sg.name, fmt.Sprintf("is by %s but signs %s, not this digest", sg.name, found)}
	case sg.key != nil:
		return &failure{rankCrypto, sg.name, "does not verify with " + signersPlaceholder + " (another key signed it, or its payload or signature was altered)"}
	case strings.Contains(err.Error(), "leaf certificate verification failed"):
		return &failure{rankIdentity, sg.name, "has a certificate that the trusted root did not issue, or that was not valid when used"}
	default:
		return &failure{rankCrypto, sg.name, fmt.Sprintf("does not verify for %s: %v", sg.name, err)}
	}
}

// sameRepository reports whether the signed payload's docker-reference (simple signing's
// critical.identity.docker-reference) names repo, both read as go-containerregistry repositories
// so that "nginx" and "index.docker.io/library/nginx" agree. It returns the reference it found.
func sameRepository(sig oci.Signature, repo string) (string, bool) {
	p, err := sig.Payload()
	if err != nil {
		return "an unreadable payload", false
	}
	var ss payload.SimpleContainerImage
	if err := json.Unmarshal(p, &ss); err != nil {
		return "an unreadable payload", false
	}
	found := ss.Critical.Identity.DockerReference
	if found == "" {
		return "no repository", false
	}
	want, err := name.NewRepository(repo)
	if err != nil {
		return found, false
	}
	// Some signers write a tag or digest into the reference; only the repository counts.
	got, err := name.ParseReference(found)
	if err != nil {
		return found, false
	}
	return found, got.Context().Name() == want.Name()
}
