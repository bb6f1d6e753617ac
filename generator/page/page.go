// Package page is the unit of the generator's output: a file path, a key naming everything its
// bytes depend on, and a function that renders it. Stages return pages; the writer renders only
// pages whose key changed since the previous build and reuses the others, which is what makes
// rebuilds incremental.
package page

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
)

// Page is one output file.
type Page struct {
	// Path is slash-separated and relative to the output root, e.g. "products/acme/fhir/index.html".
	Path string
	// Key identifies the inputs of the page: two builds that compute the same Key for a Path
	// produce the same bytes, so the writer may reuse the previous file instead of rendering.
	Key string
	// Render produces the file's bytes. It is called at most once, possibly concurrently with
	// other pages' Render.
	Render func() ([]byte, error)
	// Stream, when set instead of Render, writes the file's bytes to w: for documents too large
	// to hold in memory at once (catalog.json of a large catalog).
	Stream func(w io.Writer) error
	// Update, when set beside Stream, writes the same bytes as Stream given the file the
	// published output holds at Path and the page keys that output was written with: a large
	// document most of which did not change (catalog.json) is copied from there rather than
	// made again. The writer calls it instead of Stream when there is a published file.
	Update func(w io.Writer, prev io.Reader, prevKeys map[string]string) error
	// Shared says that Key names the page's bytes whatever its Path (a badge: its label, value
	// and colour), so that the writer may make the page a hard link to another page of the same
	// Key it wrote in the same build rather than render and create a file again.
	Shared bool
}

// Key hashes the JSON encoding of parts into a page key. Parts must encode deterministically
// (structs, slices, and maps, whose keys encoding/json sorts).
func Key(parts ...any) string {
	h := sha256.New()
	enc := json.NewEncoder(h)
	for _, p := range parts {
		if err := enc.Encode(p); err != nil {
			panic(fmt.Sprintf("page: key part %T does not encode: %v", p, err))
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Bytes returns the page's content, from Render or Stream.
func (p Page) Bytes() ([]byte, error) {
	if p.Stream != nil {
		var b bytes.Buffer
		err := p.Stream(&b)
		return b.Bytes(), err
	}
	return p.Render()
}

// Static returns a page whose bytes are known already.
func Static(path string, data []byte) Page {
	return Page{Path: path, Key: Key(data), Render: func() ([]byte, error) { return data, nil }}
}
