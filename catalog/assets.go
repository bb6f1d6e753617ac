package catalog

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"
)

// assetKind says what a referenced file must be.
type assetKind struct {
	what  string   // for messages: "logo", "screenshot", "signer key"
	exts  []string // accepted extensions
	types []string // accepted content types by sniffing
	limit int64    // bytes
}

var (
	assetLogo       = assetKind{"logo", []string{".svg", ".png", ".jpg", ".jpeg", ".webp"}, []string{"image/svg+xml", "image/png", "image/jpeg", "image/webp"}, 256 << 10}
	assetScreenshot = assetKind{"screenshot", []string{".png", ".jpg", ".jpeg", ".webp"}, []string{"image/png", "image/jpeg", "image/webp"}, 2 << 20}
	assetKey        = assetKind{"signer key", []string{".pub", ".pem"}, []string{"PEM public key"}, 16 << 10}
)

// extType is the content type each extension promises.
var extType = map[string]string{
	".svg": "image/svg+xml", ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
	".webp": "image/webp", ".pub": "PEM public key", ".pem": "PEM public key",
}

// asset checks a file a product or publisher refers to: a relative path inside the publisher's
// folder, no symlink leaving it, present, within the size limit, and of the declared type by content.
func (v *validator) asset(file, key, publisher, rel string, kind assetKind) {
	dir := path.Join(ProductsDir, publisher)
	switch {
	case rel == "":
		v.r.errorf(file, key, 0, "%s path is empty", kind.what)
		return
	case strings.HasPrefix(rel, "/") || strings.Contains(rel, "\\") || (len(rel) > 1 && rel[1] == ':'):
		v.r.errorf(file, key, 0, "%s path %q must be relative to the file's folder (%s/), with forward slashes", kind.what, rel, dir)
		return
	case slices.Contains(strings.Split(rel, "/"), ".."):
		v.r.errorf(file, key, 0, "%s path %q leaves the publisher's folder: \"..\" is not allowed", kind.what, rel)
		return
	}
	ext := strings.ToLower(path.Ext(rel))
	if !slices.Contains(kind.exts, ext) {
		v.r.errorf(file, key, 0, "%s %q must be one of %s", kind.what, rel, strings.Join(kind.exts, ", "))
		return
	}
	full := path.Join(dir, rel)
	info, err := v.noEscapingSymlink(dir, rel)
	if err != nil {
		v.r.errorf(file, key, 0, "%s %q: %v", kind.what, rel, err)
		return
	}
	if info == nil { // a symlink on the way (inside the folder), or no Lstat: follow it
		info, err = fs.Stat(v.fsys, full)
	}
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			v.r.errorf(file, key, 0, "%s %s does not exist", kind.what, full)
		} else {
			v.r.errorf(file, key, 0, "%s %s: %v", kind.what, full, unwrapPathError(err))
		}
		return
	}
	if !info.Mode().IsRegular() {
		v.r.errorf(file, key, 0, "%s %s is not a regular file", kind.what, full)
		return
	}
	if info.Size() > kind.limit {
		v.r.errorf(file, key, 0, "%s %s is %s, want at most %s", kind.what, full, humanBytes(info.Size()), humanBytes(kind.limit))
		return
	}
	// With a cache, a file whose stamp the cache knows has the verdict of its content already.
	var st fileStamp
	var stampOK bool
	if v.cache != nil && kind.what != assetKey.what {
		if st, stampOK = stampFor(info, time.Now()); stampOK {
			if h, ok := v.cache.stampedHash(full, st); ok {
				if msg, ok := v.cache.verdict(verdictKeyOf(kind.what, full, h)); ok {
					if msg != "" {
						v.r.errorf(file, key, 0, "%s", msg)
					}
					return
				}
			}
		}
	}
	data, err := fs.ReadFile(v.fsys, full)
	if err != nil {
		v.r.errorf(file, key, 0, "%s %s: %v", kind.what, full, unwrapPathError(err))
		return
	}
	if kind.what == assetKey.what {
		der, err := checkPublicKey(data)
		if err != nil {
			v.r.errorf(file, key, 0, "signer key %s %v", full, err)
		} else if v.keys != nil {
			v.keys[string(der)] = append(v.keys[string(der)], keyUse{publisher: publisher, file: file, key: key, path: full})
		}
		return
	}
	var msg string
	if v.cache == nil {
		msg = contentProblem(kind, full, ext, data)
	} else {
		// The content checks (sniffing, and for SVG a scan for anything active) depend on the
		// content only: a load cache keeps their verdicts by its hash.
		h := contentHash(data)
		if stampOK {
			v.cache.putStamp(full, st, h)
		}
		k := verdictKeyOf(kind.what, full, h)
		var ok bool
		if msg, ok = v.cache.verdict(k); !ok {
			msg = contentProblem(kind, full, ext, data)
			v.cache.putVerdict(k, msg)
		}
	}
	if msg != "" {
		v.r.errorf(file, key, 0, "%s", msg)
	}
}

// contentProblem says what is wrong with the content of an image file at full, or "".
func contentProblem(kind assetKind, full, ext string, data []byte) string {
	if got, want := sniff(data), extType[ext]; got != want {
		return fmt.Sprintf("%s %s is %s by content, but its name says %s", kind.what, full, describeType(got), want)
	}
	if ext == ".svg" {
		if what, line := ActiveSVG(data); what != "" {
			return fmt.Sprintf("%s %s: line %d %s", kind.what, full, line, what)
		}
	}
	return ""
}

// checkPublicKey accepts a PEM "PUBLIC KEY" block holding a PKIX public key, as cosign writes
// to cosign.pub, and returns the key in canonical DER, so that two files holding one key compare
// equal however they are wrapped.
func checkPublicKey(data []byte) ([]byte, error) {
	block, _ := pem.Decode(data)
	switch {
	case block == nil:
		return nil, fmt.Errorf("is not a PEM public key: want a -----BEGIN PUBLIC KEY----- block, as `cosign generate-key-pair` writes to cosign.pub")
	case strings.Contains(block.Type, "PRIVATE KEY"):
		return nil, fmt.Errorf("is a PRIVATE key (%s): remove it from the repository, rotate it (it is public now), and commit only the public key", block.Type)
	case block.Type != "PUBLIC KEY":
		return nil, fmt.Errorf("is a PEM %s block, want PUBLIC KEY", block.Type)
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("has a PUBLIC KEY block that is not a PKIX public key (is it truncated?)")
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return block.Bytes, nil
	}
	return der, nil
}

// keyUse is one signer key file a publisher declares.
type keyUse struct {
	publisher string
	file, key string // publisher.toml and the signer's key path in it
	path      string // the key file
}

// sharedKeys reports every signer key that is the same public key as a signer key of another
// publisher: a signature by it would count for both, so either could publish images in the
// other's name.
func (v *validator) sharedKeys() {
	for _, uses := range v.keys {
		for _, u := range uses {
			var others []string
			for _, o := range uses {
				if o.publisher != u.publisher && !slices.Contains(others, o.path) {
					others = append(others, o.path)
				}
			}
			if len(others) > 0 {
				slices.Sort(others)
				v.r.errorf(u.file, u.key, 0, "signer key %s is the same public key as %s, a signer of another publisher: each publisher signs with a key of its own", u.path, strings.Join(others, ", "))
			}
		}
	}
}

// noEscapingSymlink walks rel below dir and fails on a symlink whose target leaves dir. File
// systems without symlinks (fstest.MapFS, Git trees read as data) pass. When no symlink was on
// the way it returns what Lstat said of the file (nil when it could not tell). Folders found not
// to be symlinks are remembered for the check (v.dirs).
func (v *validator) noEscapingSymlink(dir, rel string) (fs.FileInfo, error) {
	if full := path.Join(dir, rel); strings.HasPrefix(full, dir+"/") {
		if info, ok := noSymlinkOnTheWay(v.fsys, full, len(dir)+1, v.dirs); ok {
			return info, nil
		}
	}
	parts := strings.Split(rel, "/")
	var last fs.FileInfo
	for hops := 0; hops <= 8; hops++ {
		cur, resolved := dir, ""
		for i, part := range parts {
			cur = path.Join(cur, part)
			final := hops == 0 && i == len(parts)-1
			if v.dirs != nil && !final {
				if _, ok := v.dirs.Load(cur); ok {
					continue
				}
			}
			info, err := fs.Lstat(v.fsys, cur)
			if err != nil {
				return nil, nil // missing files are reported by Stat; FSs without Lstat have no symlinks
			}
			if info.Mode()&fs.ModeSymlink == 0 {
				switch {
				case final:
					last = info
				case v.dirs != nil && info.IsDir():
					v.dirs.Store(cur, true)
				}
				continue
			}
			target, err := fs.ReadLink(v.fsys, cur)
			if err != nil {
				return nil, fmt.Errorf("unreadable symlink %s: %v", cur, unwrapPathError(err))
			}
			if path.IsAbs(target) {
				return nil, fmt.Errorf("%s is a symlink to the absolute path %s, outside the repository", cur, target)
			}
			resolved = path.Join(path.Dir(cur), target)
			if resolved != dir && !strings.HasPrefix(resolved, dir+"/") {
				return nil, fmt.Errorf("%s is a symlink to %s, outside the publisher's folder %s/", cur, target, dir)
			}
			// Start again from the target, with the parts after the link.
			parts = append(strings.Split(strings.TrimPrefix(strings.TrimPrefix(resolved, dir), "/"), "/"), parts[i+1:]...)
			parts = slices.DeleteFunc(parts, func(s string) bool { return s == "" })
			break
		}
		if resolved == "" {
			if hops > 0 {
				last = nil // the Lstat was of a link's target path, not of rel
			}
			return last, nil
		}
	}
	return nil, fmt.Errorf("too many levels of symlinks")
}

// sniff returns the content type of image data: "image/svg+xml", or whatever
// http.DetectContentType says.
func sniff(data []byte) string {
	if isSVG(data) {
		return "image/svg+xml"
	}
	t := http.DetectContentType(data)
	t, _, _ = strings.Cut(t, ";")
	return t
}

// isSVG reports whether the first element of data is an <svg> root in the SVG namespace.
func isSVG(data []byte) bool {
	if !bytes.Contains(data[:min(len(data), 4096)], []byte("<svg")) {
		return false
	}
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = false
	for {
		tok, err := d.Token()
		if err != nil {
			return false
		}
		if se, ok := tok.(xml.StartElement); ok {
			return se.Name.Local == "svg"
		}
		if err == io.EOF {
			return false
		}
	}
}

func describeType(t string) string {
	switch t {
	case "image/svg+xml", "image/png", "image/jpeg", "image/webp", "image/gif":
		return t
	case "text/plain":
		return "plain text"
	}
	return t
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
