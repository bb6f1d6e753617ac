package trust

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// privateKey is an ed25519 key and its TUF key ID.
type privateKey struct {
	priv ed25519.PrivateKey
	key  *metadata.Key
	id   string
}

func newKey() (*privateKey, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	return fromPrivate(priv)
}

func fromPrivate(priv ed25519.PrivateKey) (*privateKey, error) {
	key, err := metadata.KeyFromPublicKey(priv.Public())
	if err != nil {
		return nil, err
	}
	id, err := key.ID()
	if err != nil {
		return nil, err
	}
	return &privateKey{priv: priv, key: key, id: id}, nil
}

// signer returns the key as the signer go-tuf's Sign takes.
func (k *privateKey) signer() (signature.Signer, error) {
	return signature.LoadSigner(k.priv, crypto.Hash(0))
}

// writeKey writes the key as a PKCS #8 PEM file readable by its owner only; it never
// overwrites a file.
func writeKey(path string, k *privateKey) error {
	der, err := x509.MarshalPKCS8PrivateKey(k.priv)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if err := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func readKey(path string) (*privateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("%s: not a PEM PRIVATE KEY", path)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	priv, ok := parsed.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s: %T, want an ed25519 key", path, parsed)
	}
	return fromPrivate(priv)
}

// readKeys reads every *.pem key in dir.
func readKeys(dir string) ([]*privateKey, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.pem"))
	if err != nil {
		return nil, err
	}
	var keys []*privateKey
	for _, p := range paths {
		k, err := readKey(p)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("no *.pem key in %s", dir)
	}
	return keys, nil
}

// signWith signs md with every key whose ID the role lists, and reports how many signed.
func signWith[T metadata.Roles](md *metadata.Metadata[T], role *metadata.Role, keys []*privateKey) (int, error) {
	n := 0
	for _, k := range keys {
		if role == nil || !contains(role.KeyIDs, k.id) {
			continue
		}
		s, err := k.signer()
		if err != nil {
			return n, err
		}
		if _, err := md.Sign(s); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

func contains(ids []string, id string) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

var errExists = errors.New("already exists")
