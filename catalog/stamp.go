package catalog

import (
	"crypto/sha256"
	"io/fs"
	"time"
)

// A file's stamp — size, modification and change times, inode and device — stands for its
// content between checks, as Git's index does for a work tree: a product file or logo whose
// stamp is the one the cache recorded beside its content hash is not read again. The change
// time cannot be set back (editors, checkouts, tar and cp -p all move it), and a stamp is only
// recorded for a file untouched for stampSettle, so that a change within the same clock tick as
// the recording cannot go unseen. File systems that give no stamp (Git trees, test file
// systems, other operating systems) have every file read and hashed.
type fileStamp struct {
	size, mtime, ctime int64
	ino, dev           uint64
}

// stampSettle is how long a file must have been left alone before its stamp is trusted.
var stampSettle = 2 * time.Second

// stamped is a recorded stamp and the SHA-256 of the content the file had then.
type stamped struct {
	stamp fileStamp
	hash  [sha256.Size]byte
}

// stampFor returns the stamp of a file from its FileInfo, when the file system gives one and the
// file has settled.
func stampFor(info fs.FileInfo, now time.Time) (fileStamp, bool) {
	if info == nil || !info.Mode().IsRegular() {
		return fileStamp{}, false
	}
	st, ok := sysStamp(info)
	if !ok {
		return fileStamp{}, false
	}
	settled := now.Add(-stampSettle).UnixNano()
	if st.mtime > settled || st.ctime > settled {
		return fileStamp{}, false
	}
	return st, true
}
