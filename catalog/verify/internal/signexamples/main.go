// Command signexamples signs the example catalog so that a fresh clone verifies offline.
//
// For every publisher it generates a cosign key pair (ECDSA P-256) with cosign's own code, writes
// the public key to products/<publisher>/cosign.pub, makes it the publisher's only signer, signs
// the digest of every build with a simple-signing payload naming the image's repository, checks
// the result with the verify package, and writes the material to <root>/signatures/ as
// Report.WriteMaterial does. The private keys live in memory only and are gone when it exits:
// re-running it replaces every key and signature.
//
// Usage:
//
//	go run ./catalog/verify/internal/signexamples [-root DIR]
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/hspc/marketplace/catalog"
	"github.com/hspc/marketplace/catalog/verify"
	"github.com/sigstore/cosign/v2/pkg/cosign"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/payload"
)

// KeyFile is the name of the public key written beside each publisher.toml.
const KeyFile = "cosign.pub"

// SignaturesDir is the catalog repository's folder of committed signature material.
const SignaturesDir = "signatures"

func main() {
	root := flag.String("root", ".", "catalog repository to sign")
	flag.Parse()
	if err := run(context.Background(), *root, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "signexamples:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, root string, stdout io.Writer) error {
	c, ds := catalog.Load(os.DirFS(root))
	if ds.HasErrors() {
		var b strings.Builder
		ds.Write(&b, "text")
		return fmt.Errorf("loading the catalog:\n%s", b.String())
	}

	seeds := map[string]*verify.Material{}
	for _, pubID := range c.SortedPublisherIDs() {
		pub := c.Publishers[pubID]
		signer, err := newKey(filepath.Join(root, filepath.FromSlash(filepath.Dir(pub.Path)), KeyFile))
		if err != nil {
			return fmt.Errorf("publisher %s: %w", pubID, err)
		}
		if err := setKeySigner(filepath.Join(root, filepath.FromSlash(pub.Path))); err != nil {
			return fmt.Errorf("publisher %s: %w", pubID, err)
		}
		for _, id := range c.SortedProductIDs() {
			p := c.Products[id]
			if p.Publisher != pubID {
				continue
			}
			for _, b := range p.Builds {
				sig, digest, err := signBuild(signer, b.Image)
				if err != nil {
					return fmt.Errorf("%s %s: %w", id, b.Version, err)
				}
				m := seeds[digest]
				if m == nil {
					m = &verify.Material{Schema: verify.MaterialSchema, Digest: digest}
					seeds[digest] = m
				}
				m.Signatures = append(m.Signatures, sig)
			}
		}
	}

	// Check what was signed the way every mirror will, and write it as verify writes material.
	tmp, err := os.MkdirTemp("", "signexamples-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	for _, m := range seeds {
		if err := m.WriteFile(tmp); err != nil {
			return err
		}
	}
	fsys := os.DirFS(root)
	c, ds = catalog.Load(fsys)
	if ds.HasErrors() {
		return fmt.Errorf("reloading the catalog after setting the signers")
	}
	report, ds := verify.Verify(ctx, fsys, c, nil, verify.Options{Offline: true, Material: tmp})
	for _, d := range ds {
		if d.Severity == catalog.Error {
			return fmt.Errorf("the new signatures do not verify: %s", d)
		}
	}
	dir := filepath.Join(root, SignaturesDir)
	old, _ := filepath.Glob(filepath.Join(dir, "sha256-*.json"))
	for _, f := range old {
		if err := os.Remove(f); err != nil {
			return err
		}
	}
	if err := report.WriteMaterial(dir); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "signed %d digests of %d publishers into %s\n", len(report.Images), len(c.Publishers), dir)
	return nil
}

// newKey generates a cosign key pair, writes the public key to pubFile and returns the signer.
// The private key is encrypted with a random password that is never stored, as an extra guard
// against it being written anywhere by mistake.
func newKey(pubFile string) (signature.Signer, error) {
	pass := make([]byte, 32)
	if _, err := rand.Read(pass); err != nil {
		return nil, err
	}
	keys, err := cosign.GenerateKeyPair(func(bool) ([]byte, error) { return pass, nil })
	if err != nil {
		return nil, fmt.Errorf("generating a key pair: %w", err)
	}
	sv, err := cosign.LoadPrivateKey(keys.PrivateBytes, pass, nil)
	if err != nil {
		return nil, fmt.Errorf("loading the new key: %w", err)
	}
	if err := os.WriteFile(pubFile, keys.PublicBytes, 0o644); err != nil {
		return nil, err
	}
	return sv, nil
}

// signBuild signs the digest of image as `cosign sign` would, and returns the signature material.
func signBuild(s signature.Signer, image string) (verify.Signature, string, error) {
	ref, err := catalog.ParseImageRef(image)
	if err != nil {
		return verify.Signature{}, "", err
	}
	d, err := name.NewDigest(ref.Repository + "@" + ref.Digest)
	if err != nil {
		return verify.Signature{}, "", err
	}
	p, err := payload.Cosign{Image: d}.MarshalJSON()
	if err != nil {
		return verify.Signature{}, "", err
	}
	sig, err := s.SignMessage(bytes.NewReader(p))
	if err != nil {
		return verify.Signature{}, "", err
	}
	return verify.Signature{
		Payload:    base64.StdEncoding.EncodeToString(p),
		Signature:  base64.StdEncoding.EncodeToString(sig),
		Repository: d.Context().Name(),
	}, ref.Digest, nil
}

// setKeySigner rewrites publisher.toml so that its only signer is KeyFile, keeping everything
// else: [[signers]] tables and a top-level signers array are removed, and one table appended.
func setKeySigner(file string) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	out := replaceSigners(string(data))
	return os.WriteFile(file, []byte(out), 0o644)
}

func replaceSigners(src string) string {
	var keep []string
	inSigners := false // inside a [[signers]] table
	depth := 0         // open brackets of a top-level signers = [ ... ] being removed
	for _, line := range strings.SplitAfter(src, "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case depth > 0:
			depth += strings.Count(line, "[") - strings.Count(line, "]")
			continue
		case strings.HasPrefix(trimmed, "[[signers]]"):
			inSigners = true
			continue
		case strings.HasPrefix(trimmed, "["):
			inSigners = false
		case inSigners:
			continue
		case strings.HasPrefix(trimmed, "signers") && strings.HasPrefix(strings.TrimSpace(strings.TrimPrefix(trimmed, "signers")), "="):
			depth = strings.Count(line, "[") - strings.Count(line, "]")
			continue
		}
		keep = append(keep, line)
	}
	body := strings.TrimRight(strings.Join(keep, ""), "\n \t")
	return body + "\n\n[[signers]]\nkey = \"" + KeyFile + "\"\n"
}
