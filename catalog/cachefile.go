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
// strings and the index up front and each product's entry when it needs it, and the entries it
// does not change are copied from the old file to the new one without being held in memory:
//
//	header   magic, the code version (cacheMagic, codeVersion)
//	payloads the encoded product entries, back to back; their strings are numbers in the table
//	strings  the string table: uvarint count, then each string, length-prefixed; string 0 is ""
//	index    uvarint count, then per record: kind, key, and for a product entry the offset,
//	         length and CRC-32C of its payload, for a verdict its message (length-prefixed);
//	         for a file's stamp the key is its content's hash, followed by its path and stamp
//	trailer  the offsets of the strings and of the index, the size of the strings when the
//	         table was last made afresh (uint64 each), the CRC-32C of header, strings and
//	         index (uint32), cacheEnd
//
// The table holds each distinct string once, so the catalog's repeated text (descriptions of
// the same parameter, release notes, commands) is read and kept once, and decoding an entry
// allocates no string. Save appends the strings of new entries to the table and copies the
// others; when the table has grown to twice its fresh size it is made afresh (every entry
// encoded again), which bounds what strings of removed products cost.
//
// Nothing is trusted unchecked: a file whose header, trailer, strings or index do not match
// their checksum is ignored whole (a truncated file has no trailer); a payload whose checksum
// does not match is ignored when it is read, and the product is checked again.
const (
	cacheMagic = "marketplace load cache 4\n"
	cacheEnd   = "\nMLC"
)

const (
	recordProduct = 'p'
	recordVerdict = 'v'
	recordStamp   = 's'
)

const (
	cacheHeaderLen  = len(cacheMagic) + len(codeVersion)
	cacheTrailerLen = 3*8 + 4 + len(cacheEnd)
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
	f    *os.File
	tab  *stringTable // the file's strings (and, after a Save, those it appended)
	base int          // the size of the strings when the table was last made afresh
}

// stringTable numbers distinct strings; number 0 is "".
type stringTable struct {
	list  []string
	ids   map[string]uint64 // made on the first encoding
	bytes int
}

func newStringTable() *stringTable { return &stringTable{list: []string{""}} }

func (t *stringTable) id(s string) uint64 {
	if t.ids == nil {
		t.ids = make(map[string]uint64, len(t.list))
		for i, s := range t.list {
			t.ids[s] = uint64(i)
		}
	}
	if i, ok := t.ids[s]; ok {
		return i
	}
	i := uint64(len(t.list))
	t.list = append(t.list, s)
	t.ids[s] = i
	t.bytes += len(s)
	return i
}

// read returns the payload at ref, or an error when it cannot be read or its checksum does not
// match.
func (s *cacheSource) read(ref fileRef) ([]byte, error) { return s.readInto(ref, nil) }

// readInto is read into buf when it is large enough.
func (s *cacheSource) readInto(ref fileRef, buf []byte) ([]byte, error) {
	if s == nil {
		return nil, errDamaged
	}
	if cap(buf) < ref.n {
		buf = make([]byte, ref.n)
	}
	buf = buf[:ref.n]
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
func openCacheFile(name string) (src *cacheSource, entries map[cacheKey]*cacheEntry, verdicts map[cacheKey]string, stamps map[string]stamped, why string, err error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, nil, nil, nil, "", err
	}
	src = &cacheSource{f: f}
	entries, verdicts, stamps, why = readCacheIndex(src)
	if why != "" {
		f.Close()
		return nil, nil, nil, nil, why, nil
	}
	return src, entries, verdicts, stamps, "", nil
}

// readCacheIndex reads and checks the header, trailer, strings and index of src's file, and
// sets src's string table.
func readCacheIndex(src *cacheSource) (entries map[cacheKey]*cacheEntry, verdicts map[cacheKey]string, stamps map[string]stamped, why string) {
	f := src.f
	size, err := sizeOf(f)
	if err != nil {
		return nil, nil, nil, fmt.Sprintf("unreadable: %v", err)
	}
	if size < int64(cacheHeaderLen+cacheTrailerLen) {
		return nil, nil, nil, "damaged (too short: truncated)"
	}
	head := make([]byte, cacheHeaderLen)
	tail := make([]byte, cacheTrailerLen)
	if _, err := f.ReadAt(head, 0); err != nil {
		return nil, nil, nil, fmt.Sprintf("unreadable: %v", err)
	}
	if _, err := f.ReadAt(tail, size-int64(cacheTrailerLen)); err != nil {
		return nil, nil, nil, fmt.Sprintf("unreadable: %v", err)
	}
	switch {
	case string(head[:len(cacheMagic)]) != cacheMagic:
		return nil, nil, nil, "not a load cache of this version"
	case !bytes.Equal(head[len(cacheMagic):], codeVersion[:]):
		return nil, nil, nil, "written by another version of the validator"
	case string(tail[28:]) != cacheEnd:
		return nil, nil, nil, "damaged (no index at its end: truncated)"
	}
	stringsOff := int64(binary.LittleEndian.Uint64(tail))
	indexOff := int64(binary.LittleEndian.Uint64(tail[8:]))
	base := binary.LittleEndian.Uint64(tail[16:])
	end := size - int64(cacheTrailerLen)
	if stringsOff < int64(cacheHeaderLen) || indexOff < stringsOff || indexOff > end || base > uint64(end) {
		return nil, nil, nil, "damaged (its index is out of place)"
	}
	// One read for the strings and the index; the strings keep sharing it.
	buf := make([]byte, end-stringsOff)
	if _, err := f.ReadAt(buf, stringsOff); err != nil {
		return nil, nil, nil, fmt.Sprintf("unreadable: %v", err)
	}
	crc := crc32.Update(crc32.Checksum(head, crcTable), crcTable, buf)
	if crc != binary.LittleEndian.Uint32(tail[24:]) {
		return nil, nil, nil, "damaged (its checksum does not match: truncated or overwritten)"
	}
	data := unsafe.String(unsafe.SliceData(buf), len(buf))
	d := &decoderState{data: data[:indexOff-stringsOff]}
	tab := &stringTable{list: make([]string, d.length())}
	for i := range tab.list {
		tab.list[i] = d.string()
		tab.bytes += len(tab.list[i])
	}
	if d.err != nil || d.off != len(d.data) || len(tab.list) == 0 || tab.list[0] != "" {
		return nil, nil, nil, "damaged (its strings do not decode)"
	}

	entries, verdicts, stamps = map[cacheKey]*cacheEntry{}, map[cacheKey]string{}, map[string]stamped{}
	d = &decoderState{data: data[indexOff-stringsOff:]}
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
			if ref.off < int64(cacheHeaderLen) || ref.off+int64(ref.n) > stringsOff {
				d.fail()
			}
			entries[k] = &cacheEntry{ref: ref}
		case recordVerdict:
			verdicts[k] = d.string()
		case recordStamp:
			path := d.string()
			stamps[path] = stamped{hash: k, stamp: fileStamp{size: d.int(), mtime: d.int(), ctime: d.int(), ino: d.uint(), dev: d.uint()}}
		default:
			d.fail()
		}
		if d.err != nil {
			break
		}
	}
	if d.err != nil || d.off != len(d.data) {
		return nil, nil, nil, "damaged (its index does not decode)"
	}
	src.tab, src.base = tab, int(base)
	return entries, verdicts, stamps, ""
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

// writeCacheFile writes entries and verdicts to f (a new file, open for reading and writing).
// An entry that came from src is copied from it (its payload checked again on the way) when the
// new file keeps src's string table; others are encoded. It returns where each entry's payload
// now lies in f, and f as a source.
func writeCacheFile(f *os.File, src *cacheSource, entries map[cacheKey]*cacheEntry, verdicts map[cacheKey]string, stamps map[string]stamped) (map[cacheKey]fileRef, *cacheSource, error) {
	out := &cacheSource{f: f}
	if src != nil && src.tab.bytes <= 2*src.base+1<<20 {
		out.tab, out.base = src.tab, src.base
	} else {
		src = nil // nothing is copied: every entry is encoded with a fresh table
		out.tab = newStringTable()
	}
	w := bufio.NewWriterSize(f, 1<<20)
	crc := crc32.Checksum([]byte(cacheMagic), crcTable)
	crc = crc32.Update(crc, crcTable, codeVersion[:])
	w.WriteString(cacheMagic)
	w.Write(codeVersion[:])
	off := int64(cacheHeaderLen)

	keys := slices.SortedFunc(maps.Keys(entries), func(a, b cacheKey) int { return bytes.Compare(a[:], b[:]) })
	refs := make(map[cacheKey]fileRef, len(keys))
	scratch := encoder{tab: out.tab}
	for _, k := range keys {
		e := entries[k]
		var payload []byte
		if src != nil && e.ref.n > 0 && !e.dirty {
			// Unchanged since read: copied (a payload that no longer reads back whole is
			// encoded again, or left out when it was never decoded).
			payload, _ = src.read(e.ref)
		}
		if payload == nil {
			if e.product == nil {
				continue
			}
			scratch.buf = scratch.buf[:0]
			encodeEntry(&scratch, e)
			payload = scratch.buf
		}
		if _, err := w.Write(payload); err != nil {
			return nil, nil, err
		}
		refs[k] = fileRef{off: off, n: len(payload), crc: crc32.Checksum(payload, crcTable)}
		off += int64(len(payload))
	}
	stringsOff := off
	if out.base == 0 {
		out.base = out.tab.bytes
	}

	var tail encoder
	tail.uint(uint64(len(out.tab.list)))
	for _, s := range out.tab.list {
		tail.string(s)
		if len(tail.buf) >= 1<<20 {
			crc = crc32.Update(crc, crcTable, tail.buf)
			w.Write(tail.buf)
			off += int64(len(tail.buf))
			tail.buf = tail.buf[:0]
		}
	}
	crc = crc32.Update(crc, crcTable, tail.buf)
	w.Write(tail.buf)
	off += int64(len(tail.buf))
	indexOff := off

	index := &encoder{}
	vkeys := slices.SortedFunc(maps.Keys(verdicts), func(a, b cacheKey) int { return bytes.Compare(a[:], b[:]) })
	index.uint(uint64(len(refs) + len(vkeys) + len(stamps)))
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
	for _, path := range slices.Sorted(maps.Keys(stamps)) {
		s := stamps[path]
		index.buf = append(index.buf, recordStamp)
		index.buf = append(index.buf, s.hash[:]...)
		index.string(path)
		index.int(s.stamp.size)
		index.int(s.stamp.mtime)
		index.int(s.stamp.ctime)
		index.uint(s.stamp.ino)
		index.uint(s.stamp.dev)
	}
	crc = crc32.Update(crc, crcTable, index.buf)
	w.Write(index.buf)
	var trailer []byte
	trailer = binary.LittleEndian.AppendUint64(trailer, uint64(stringsOff))
	trailer = binary.LittleEndian.AppendUint64(trailer, uint64(indexOff))
	trailer = binary.LittleEndian.AppendUint64(trailer, uint64(out.base))
	trailer = binary.LittleEndian.AppendUint32(trailer, crc)
	trailer = append(trailer, cacheEnd...)
	w.Write(trailer)
	return refs, out, w.Flush()
}
