package catalog

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"maps"
	"os"
	"slices"
	"unsafe"
)

// The cache file is made to be opened fast and read lazily, so that a check reads only the
// index up front and each product's entry when it needs it, and the entries it does not change
// are copied from the old file to the new one without being held in memory:
//
//	header   magic, the code version (cacheMagic, codeVersion)
//	payloads the encoded product entries, back to back
//	index    uvarint count, then per record: kind, key, and for a product entry the offset,
//	         length and CRC-32C of its payload, for a verdict its message (length-prefixed)
//	trailer  the index's offset (uint64), the CRC-32C of header and index (uint32), cacheEnd
//
// Nothing is trusted unchecked: a file whose header, trailer or index checksum does not match
// is ignored whole (a truncated file has no trailer); a payload whose checksum does not match is
// ignored when it is read, and the product is checked again.
const (
	cacheMagic = "marketplace load cache 3\n"
	cacheEnd   = "\nMLC"
)

const (
	recordProduct = 'p'
	recordVerdict = 'v'
)

const (
	cacheHeaderLen  = len(cacheMagic) + len(codeVersion)
	cacheTrailerLen = 8 + 4 + len(cacheEnd)
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// fileRef is where a product entry's payload lies in the cache file.
type fileRef struct {
	off int64
	n   int
	crc uint32
}

// cacheSource is an open cache file. It is never written: Save writes a new file and renames
// it over the old one, and an open file keeps reading what it held.
type cacheSource struct {
	f *os.File
}

// read returns the payload at ref, or an error when it cannot be read or its checksum does not
// match.
func (s *cacheSource) read(ref fileRef) ([]byte, error) {
	if s == nil {
		return nil, errDamaged
	}
	buf := make([]byte, ref.n)
	if _, err := s.f.ReadAt(buf, ref.off); err != nil {
		return nil, err
	}
	if crc32.Checksum(buf, crcTable) != ref.crc {
		return nil, errDamaged
	}
	return buf, nil
}

// openCacheFile opens a cache file and reads its index. why says why a file that exists was not
// used.
func openCacheFile(name string) (src *cacheSource, entries map[cacheKey]*cacheEntry, verdicts map[cacheKey]string, why string, err error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, nil, nil, "", err
	}
	entries, verdicts, why = readCacheIndex(f)
	if why != "" {
		f.Close()
		return nil, map[cacheKey]*cacheEntry{}, map[cacheKey]string{}, why, nil
	}
	return &cacheSource{f: f}, entries, verdicts, "", nil
}

// readCacheIndex reads and checks the header, trailer and index of a cache file.
func readCacheIndex(f io.ReaderAt) (entries map[cacheKey]*cacheEntry, verdicts map[cacheKey]string, why string) {
	size, err := sizeOf(f)
	if err != nil {
		return nil, nil, fmt.Sprintf("unreadable: %v", err)
	}
	if size < int64(cacheHeaderLen+cacheTrailerLen) {
		return nil, nil, "damaged (too short: truncated)"
	}
	head := make([]byte, cacheHeaderLen)
	tail := make([]byte, cacheTrailerLen)
	if _, err := f.ReadAt(head, 0); err != nil {
		return nil, nil, fmt.Sprintf("unreadable: %v", err)
	}
	if _, err := f.ReadAt(tail, size-int64(cacheTrailerLen)); err != nil {
		return nil, nil, fmt.Sprintf("unreadable: %v", err)
	}
	switch {
	case string(head[:len(cacheMagic)]) != cacheMagic:
		return nil, nil, "not a load cache of this version"
	case !bytes.Equal(head[len(cacheMagic):], codeVersion[:]):
		return nil, nil, "written by another version of the validator"
	case string(tail[12:]) != cacheEnd:
		return nil, nil, "damaged (no index at its end: truncated)"
	}
	indexOff := int64(binary.LittleEndian.Uint64(tail))
	end := size - int64(cacheTrailerLen)
	if indexOff < int64(cacheHeaderLen) || indexOff > end {
		return nil, nil, "damaged (its index is out of place)"
	}
	index := make([]byte, end-indexOff)
	if _, err := f.ReadAt(index, indexOff); err != nil {
		return nil, nil, fmt.Sprintf("unreadable: %v", err)
	}
	crc := crc32.Update(crc32.Checksum(head, crcTable), crcTable, index)
	if crc != binary.LittleEndian.Uint32(tail[8:]) {
		return nil, nil, "damaged (its checksum does not match: truncated or overwritten)"
	}
	entries, verdicts = map[cacheKey]*cacheEntry{}, map[cacheKey]string{}
	d := &decoderState{data: unsafe.String(unsafe.SliceData(index), len(index))}
	n := d.length()
	for range n {
		kind := d.byte()
		var k cacheKey
		if d.off+len(k) > len(d.data) {
			d.fail()
			break
		}
		copy(k[:], d.data[d.off:])
		d.off += len(k)
		switch kind {
		case recordProduct:
			ref := fileRef{off: int64(d.uint()), n: int(d.uint())}
			if d.off+4 > len(d.data) {
				d.fail()
				break
			}
			ref.crc = binary.LittleEndian.Uint32([]byte(d.data[d.off : d.off+4]))
			d.off += 4
			if ref.off < int64(cacheHeaderLen) || ref.off+int64(ref.n) > indexOff {
				d.fail()
			}
			entries[k] = &cacheEntry{ref: ref}
		case recordVerdict:
			verdicts[k] = d.string()
		default:
			d.fail()
		}
		if d.err != nil {
			break
		}
	}
	if d.err != nil || d.off != len(d.data) {
		return nil, nil, "damaged (its index does not decode)"
	}
	return entries, verdicts, ""
}

func sizeOf(f io.ReaderAt) (int64, error) {
	if st, ok := f.(interface{ Stat() (os.FileInfo, error) }); ok {
		info, err := st.Stat()
		if err != nil {
			return 0, err
		}
		return info.Size(), nil
	}
	return 0, errors.New("no size")
}

// writeCacheFile writes entries and verdicts to f (a new file, open for reading and writing):
// an entry that came from src is copied from it (its payload checked again on the way), others
// are encoded. It returns where each entry's payload now lies in f.
func writeCacheFile(f *os.File, src *cacheSource, entries map[cacheKey]*cacheEntry, verdicts map[cacheKey]string) (map[cacheKey]fileRef, error) {
	w := bufio.NewWriterSize(f, 1<<20)
	crc := crc32.Checksum([]byte(cacheMagic), crcTable)
	crc = crc32.Update(crc, crcTable, codeVersion[:])
	w.WriteString(cacheMagic)
	w.Write(codeVersion[:])
	off := int64(cacheHeaderLen)

	keys := slices.SortedFunc(maps.Keys(entries), func(a, b cacheKey) int { return bytes.Compare(a[:], b[:]) })
	refs := make(map[cacheKey]fileRef, len(keys))
	var scratch encoder
	for _, k := range keys {
		e := entries[k]
		var payload []byte
		if e.product == nil || (e.ref.n > 0 && !e.dirty) {
			// Unchanged since read: copy it (a payload that no longer reads back whole is
			// left out).
			data, err := src.read(e.ref)
			if err != nil {
				if e.product == nil {
					continue
				}
			} else {
				payload = data
			}
		}
		if payload == nil {
			scratch.buf = scratch.buf[:0]
			encodeEntry(&scratch, e)
			payload = scratch.buf
		}
		if _, err := w.Write(payload); err != nil {
			return nil, err
		}
		refs[k] = fileRef{off: off, n: len(payload), crc: crc32.Checksum(payload, crcTable)}
		off += int64(len(payload))
	}

	index := &encoder{}
	vkeys := slices.SortedFunc(maps.Keys(verdicts), func(a, b cacheKey) int { return bytes.Compare(a[:], b[:]) })
	index.uint(uint64(len(refs) + len(vkeys)))
	for _, k := range keys {
		ref, ok := refs[k]
		if !ok {
			continue
		}
		index.buf = append(index.buf, recordProduct)
		index.buf = append(index.buf, k[:]...)
		index.uint(uint64(ref.off))
		index.uint(uint64(ref.n))
		index.buf = binary.LittleEndian.AppendUint32(index.buf, ref.crc)
	}
	for _, k := range vkeys {
		index.buf = append(index.buf, recordVerdict)
		index.buf = append(index.buf, k[:]...)
		index.string(verdicts[k])
	}
	crc = crc32.Update(crc, crcTable, index.buf)
	w.Write(index.buf)
	var tail []byte
	tail = binary.LittleEndian.AppendUint64(tail, uint64(off))
	tail = binary.LittleEndian.AppendUint32(tail, crc)
	tail = append(tail, cacheEnd...)
	w.Write(tail)
	return refs, w.Flush()
}
